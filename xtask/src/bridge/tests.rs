//! The bridge end to end, without the product: DynamoDB Local with the template's table, a
//! stand-in for `cargo lambda watch`'s Invoke endpoint that records what it is sent (and
//! fails the first stream batch, to prove it is retried whole), and items written to the
//! table. Ignored by a plain `cargo test` since it needs Java and DynamoDB Local; run it with
//! `cargo test -p xtask -- --ignored bridge::` (it starts DynamoDB Local on port 8031, or uses
//! the one `AWS_ENDPOINT_URL_DYNAMODB` names, as `cargo xtask test` does).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use super::*;
use crate::{stack, tools};

const OWN_DYNAMODB_PORT: u16 = 8031;
/// How long the stand-in takes over a sweep, so that overlapping sweeps would show.
const SWEEP_TIME: Duration = Duration::from_millis(150);

/// What the stand-in was sent, in order of arrival, and how it answered.
#[derive(Default)]
struct StandIn {
    requests: Mutex<Vec<(String, Value, u16)>>,
    failed_once: AtomicBool,
    sweeps_running: AtomicUsize,
    most_sweeps_at_once: AtomicUsize,
}

impl StandIn {
    fn serve() -> (Arc<Self>, String) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binding the stand-in");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let stand_in = Arc::new(Self::default());
        let serving = stand_in.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming().flatten() {
                let serving = serving.clone();
                std::thread::spawn(move || serving.answer(connection));
            }
        });
        (stand_in, url)
    }

    fn answer(&self, connection: TcpStream) {
        let Ok(mut reader) = connection.try_clone().map(BufReader::new) else {
            return;
        };
        let mut request_line = String::new();
        let _ = reader.read_line(&mut request_line);
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let status = if body.get("Records").is_some() {
            // The first stream batch fails, as a function error does behind watch.
            if self.failed_once.swap(true, Ordering::SeqCst) {
                200
            } else {
                500
            }
        } else {
            let running = self.sweeps_running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_sweeps_at_once
                .fetch_max(running, Ordering::SeqCst);
            std::thread::sleep(SWEEP_TIME);
            self.sweeps_running.fetch_sub(1, Ordering::SeqCst);
            200
        };
        self.requests
            .lock()
            .expect("the stand-in's record")
            .push((path, body, status));
        let answer = if status == 200 {
            "null"
        } else {
            r#"{"errorType":"Stand-in","errorMessage":"failing once"}"#
        };
        let mut connection = connection;
        let _ = write!(
            connection,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{answer}",
            answer.len()
        );
    }

    fn requests(&self) -> Vec<(String, Value, u16)> {
        self.requests.lock().expect("the stand-in's record").clone()
    }

    /// The records of the stream invocations the function took, in order.
    fn delivered(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|(_, body, status)| *status == 200 && body.get("Records").is_some())
            .flat_map(|(_, body, _)| body["Records"].as_array().cloned().unwrap_or_default())
            .collect()
    }
}

async fn wait_for(what: &str, stand_in: &StandIn, done: impl Fn(&StandIn) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done(stand_in) {
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}; the stand-in got {:#?}",
            stand_in.requests()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn pk(record: &Value) -> &str {
    record["dynamodb"]["Keys"]["PK"]["S"]
        .as_str()
        .unwrap_or("?")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Java and DynamoDB Local: cargo test -p xtask -- --ignored bridge::"]
async fn the_stream_and_the_sweep_reach_the_function_as_lambda_sends_them() {
    let table = format!("bridge-test-{}", uuid::Uuid::new_v4().simple());
    let shared = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|url| table::is_loopback(url));
    let (endpoint, _own_dynamodb) = match shared {
        Some(endpoint) => {
            table::create_local(&endpoint, &table).await.unwrap();
            (endpoint, None)
        }
        None => {
            tools::ensure_java().unwrap();
            let dynamodb = tools::ensure_dynamodb_local().unwrap();
            let service =
                stack::start_dynamodb(&dynamodb, OWN_DYNAMODB_PORT, &table, "bridge-test-dynamodb")
                    .await
                    .unwrap();
            (stack::dynamodb_url(OWN_DYNAMODB_PORT), Some(service))
        }
    };
    let client = table::local_client(&endpoint);
    let put = |pk: &str, sk: &str, extra: &[(&str, AttributeValue)]| {
        let mut request = client
            .put_item()
            .table_name(&table)
            .item("PK", s(pk))
            .item("SK", s(sk));
        for (name, value) in extra {
            request = request.item(*name, value.clone());
        }
        request.send()
    };

    // Changes made before the bridge starts: read from the stream's start, more than one
    // batch holds, so the first batch is full (and fails once, to be retried whole).
    let queues: Vec<String> = (0..120).map(|n| format!("QUEUE#q-{n:03}")).collect();
    for queue in &queues {
        put(queue, "QUEUE", &[]).await.unwrap();
    }

    let (stand_in, api_url) = StandIn::serve();
    let log = paths::logs_dir().join(format!("{table}.log"));
    let bridge = start(Config {
        dynamodb_endpoint: endpoint.clone(),
        table: table.clone(),
        api_url,
        function: ROUTE_TASKS.to_owned(),
        template: paths::template(),
        log: log.clone(),
        debug: true,
        sweep_interval: Duration::from_millis(100),
        pacing: Pacing {
            idle_poll: Duration::from_millis(100),
            retry: Backoff {
                first: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
        },
    })
    .await
    .unwrap();

    // Then a task created, changed and deleted, and a tenant item the filter keeps out.
    put(
        "TASK#t-1",
        "TASK",
        &[
            ("state", s("queued")),
            ("priority", AttributeValue::N("5".to_owned())),
            ("urgent", AttributeValue::Bool(true)),
            ("note", AttributeValue::Null(true)),
            (
                "skills",
                AttributeValue::Ss(vec!["de".to_owned(), "en".to_owned()]),
            ),
            (
                "offers",
                AttributeValue::L(vec![AttributeValue::M(HashMap::from([(
                    "agent".to_owned(),
                    s("a-1"),
                )]))]),
            ),
        ],
    )
    .await
    .unwrap();
    put("TENANT#t-1", "TENANT", &[("name", s("Contoso"))])
        .await
        .unwrap();
    client
        .update_item()
        .table_name(&table)
        .key("PK", s("TASK#t-1"))
        .key("SK", s("TASK"))
        .update_expression("SET #state = :offered")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":offered", s("offered"))
        .send()
        .await
        .unwrap();
    client
        .delete_item()
        .table_name(&table)
        .key("PK", s("TASK#t-1"))
        .key("SK", s("TASK"))
        .send()
        .await
        .unwrap();

    wait_for("every change", &stand_in, |stand_in| {
        stand_in.delivered().len() >= 123
    })
    .await;
    let requests = stand_in.requests();
    for (path, _, _) in &requests {
        assert_eq!(path, "/2015-03-31/functions/route-tasks/invocations");
    }
    let batches: Vec<&(String, Value, u16)> = requests
        .iter()
        .filter(|(_, body, _)| body.get("Records").is_some())
        .collect();
    let size = |batch: &(String, Value, u16)| batch.1["Records"].as_array().map_or(0, Vec::len);
    // The batch that failed, sent again whole; then the rest (the other 20 queues, with the
    // task's first changes if they were in the stream by then).
    assert_eq!((batches[0].2, size(batches[0])), (500, 100));
    assert_eq!(batches[1].2, 200);
    assert_eq!(
        batches[0].1, batches[1].1,
        "the retry carries the same batch"
    );
    assert!(batches.iter().all(|batch| (1..=100).contains(&size(batch))));

    let delivered = stand_in.delivered();
    let keys: Vec<(&str, &str)> = delivered
        .iter()
        .map(|record| (record["eventName"].as_str().unwrap_or("?"), pk(record)))
        .collect();
    let mut expected: Vec<(&str, &str)> = queues.iter().map(|q| ("INSERT", q.as_str())).collect();
    expected.extend([
        ("INSERT", "TASK#t-1"),
        ("MODIFY", "TASK#t-1"),
        ("REMOVE", "TASK#t-1"),
    ]);
    assert_eq!(keys, expected, "in stream order, the tenant item left out");

    let stream_arn = stream_arn(&endpoint, &table).await.unwrap();
    for record in &delivered {
        assert_eq!(record["eventSource"], "aws:dynamodb");
        assert_eq!(record["eventSourceARN"], stream_arn.as_str());
        for field in ["eventID", "eventVersion", "awsRegion"] {
            assert!(record[field].is_string(), "{field} in {record}");
        }
        let change = &record["dynamodb"];
        assert_eq!(change["StreamViewType"], "NEW_AND_OLD_IMAGES");
        assert!(change["SequenceNumber"].is_string(), "{record}");
        assert!(change["SizeBytes"].as_i64().is_some_and(|size| size > 0));
        assert!(change["ApproximateCreationDateTime"]
            .as_i64()
            .is_some_and(|t| t > 0));
    }
    let (insert, modify, remove) = (&delivered[120], &delivered[121], &delivered[122]);
    let task_batch = batches
        .iter()
        .rfind(|batch| {
            batch.1["Records"]
                .as_array()
                .is_some_and(|records| records.contains(insert))
        })
        .expect("the batch the task's insert came in");
    println!(
        "captured invocation:\n{}",
        serde_json::to_string_pretty(&task_batch.1).unwrap()
    );
    for record in [insert, modify, remove] {
        assert_eq!(
            record["dynamodb"]["Keys"],
            json!({"PK": {"S": "TASK#t-1"}, "SK": {"S": "TASK"}})
        );
    }
    assert_eq!(
        insert["dynamodb"]["NewImage"],
        json!({
            "PK": {"S": "TASK#t-1"},
            "SK": {"S": "TASK"},
            "state": {"S": "queued"},
            "priority": {"N": "5"},
            "urgent": {"BOOL": true},
            "note": {"NULL": true},
            "skills": {"SS": ["de", "en"]},
            "offers": {"L": [{"M": {"agent": {"S": "a-1"}}}]},
        })
    );
    assert!(insert["dynamodb"].get("OldImage").is_none());
    assert_eq!(
        modify["dynamodb"]["OldImage"]["state"],
        json!({"S": "queued"})
    );
    assert_eq!(
        modify["dynamodb"]["NewImage"]["state"],
        json!({"S": "offered"})
    );
    assert_eq!(
        remove["dynamodb"]["OldImage"]["state"],
        json!({"S": "offered"})
    );
    assert!(remove["dynamodb"].get("NewImage").is_none());

    // The timer: the local sweep payload, one sweep at a time.
    wait_for("three sweeps", &stand_in, |stand_in| {
        stand_in
            .requests()
            .iter()
            .filter(|(_, body, _)| *body == local_sweep_payload())
            .count()
            >= 3
    })
    .await;
    assert_eq!(stand_in.most_sweeps_at_once.load(Ordering::SeqCst), 1);

    bridge.stop().await;
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("route-tasks failed on a batch of 100"),
        "{log_text}"
    );
    let _ = client.delete_table().table_name(&table).send().await;
    let _ = std::fs::remove_file(&log);
}

//! Latency of the local stack, against a running one (`cargo xtask bench` starts it and sets
//! the environment this reads: that of the black-box tests, the functions' configuration,
//! `STRATUS_BENCH_BIN_DIR` and `STRATUS_BENCH_RESULTS_DIR`):
//!
//! 1. warm latency of `GET /user/{id}` and `POST /user` through `cargo lambda watch`, one
//!    client sending sequentially, next to DynamoDB Local's own GetItem latency on the same
//!    table, measured in the same run;
//! 2. cold start of one function binary: from spawning the process to the runtime API
//!    receiving the answer to its first invocation, served by a tiny Lambda runtime API here.
//!
//! The API allows 60 operations per minute per tenant and application, so requests rotate
//! over `APPS` registered applications and no application exceeds 60 in the whole run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};
use stratus_blackbox_tests::{new_id, Stack, TestTenant, LICENSE_USAGE_PATH};

/// Applications the requests rotate over.
const APPS: usize = 20;
/// Unmeasured requests per route before measuring.
const WARM_UP: usize = 20;
/// Measured requests per route (and GetItems).
const REQUESTS: usize = 500;
/// Cold starts per function; the median is reported.
const COLD_RUNS: usize = 10;
const COLD_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let stack = Stack::from_env();
    let tenant = TestTenant::create(&stack).await;
    let mut apps = vec![tenant.app_id.clone()];
    while apps.len() < APPS {
        apps.push(tenant.register_app(&[&tenant.sales_ou]).await);
    }
    let tokens: Vec<String> = apps.iter().map(|app| tenant.token_for_app(app)).collect();
    let user = new_id();
    stack
        .create_user(
            &tokens[0],
            json!({ "o365Id": user, "organizationUnitId": tenant.sales_ou }),
        )
        .await
        .assert_status(200);

    // ---- warm latency through cargo lambda watch ----------------------------------------
    let new_user = || json!({ "o365Id": new_id(), "organizationUnitId": tenant.sales_ou });
    for i in 0..WARM_UP {
        stack
            .get_user(&tokens[i % APPS], &user)
            .await
            .assert_status(200);
        stack
            .create_user(&tokens[i % APPS], new_user())
            .await
            .assert_status(200);
    }
    let mut get = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let reply = stack.get_user(&tokens[i % APPS], &user).await;
        reply.assert_status(200);
        get.push(reply.elapsed);
    }
    let mut post = Vec::with_capacity(REQUESTS);
    for i in 0..REQUESTS {
        let reply = stack.create_user(&tokens[i % APPS], new_user()).await;
        reply.assert_status(200);
        post.push(reply.elapsed);
    }
    let get_item = get_item_latencies(&tenant.id, &user).await?;

    // ---- cold start of a function binary ------------------------------------------------
    let bin_dir = std::env::var_os("STRATUS_BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release"));
    let results_dir = std::env::var_os("STRATUS_BENCH_RESULTS_DIR").map(PathBuf::from);
    let log_dir = results_dir.clone().unwrap_or_else(std::env::temp_dir);
    let user_path = format!("/api/public-api-next/user/{user}");
    let cold_cases = [
        ColdCase {
            function: "get-user",
            route_key: "GET /api/public-api-next/user/{userO365Id}",
            path: user_path.clone(),
            path_parameters: json!({ "userO365Id": user }),
        },
        ColdCase {
            function: "get-license-usage",
            route_key: "GET /api/public-api-next/user/license-usage",
            path: LICENSE_USAGE_PATH.to_owned(),
            path_parameters: Value::Null,
        },
    ];
    let mut cold = Vec::new();
    let mut run = 0;
    for case in &cold_cases {
        let binary = bin_dir.join(case.function);
        let log = log_dir.join(format!("cold-start-{}.log", case.function));
        let _ = std::fs::remove_file(&log);
        let mut runs = Vec::with_capacity(COLD_RUNS);
        for _ in 0..COLD_RUNS {
            let event = case.event(&tokens[run % APPS]);
            run += 1;
            runs.push(
                cold_start(&binary, case.function, &event, &log)
                    .with_context(|| format!("cold start of {}", binary.display()))?,
            );
        }
        cold.push((case, runs));
    }

    let markdown = render(&get, &post, &get_item, &cold, &bin_dir);
    println!("\n{markdown}");
    if let Some(dir) = results_dir {
        let path = dir.join("api_latency.md");
        std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `REQUESTS` strongly consistent GetItems of the user's item, straight to DynamoDB Local
/// (after `WARM_UP` unmeasured ones), with the client the functions use.
async fn get_item_latencies(tenant: &str, user: &str) -> anyhow::Result<Vec<Duration>> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("STRATUS_TABLE_NAME").unwrap_or_else(|_| "stratus".to_owned());
    let get = || {
        client
            .get_item()
            .table_name(&table)
            .key("PK", AttributeValue::S(format!("TENANT#{tenant}")))
            .key("SK", AttributeValue::S(format!("USER#{user}")))
            .consistent_read(true)
            .send()
    };
    for _ in 0..WARM_UP {
        let found = get().await.context("GetItem")?;
        if found.item.is_none() {
            bail!("GetItem found no item for user {user} in table {table}");
        }
    }
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let found = get().await.context("GetItem")?;
        times.push(started.elapsed());
        if found.item.is_none() {
            bail!("GetItem found no item");
        }
    }
    Ok(times)
}

// ---- cold start ---------------------------------------------------------------------------

/// One function and the API Gateway request it answers.
struct ColdCase {
    function: &'static str,
    route_key: &'static str,
    path: String,
    path_parameters: Value,
}

impl ColdCase {
    /// An API Gateway HTTP API (payload 2.0) event for this request.
    fn event(&self, token: &str) -> Value {
        let now_ms = epoch_ms();
        let mut event = json!({
            "version": "2.0",
            "routeKey": self.route_key,
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": {
                "accept": "application/json",
                "authorization": format!("Bearer {token}"),
                "content-length": "0",
                "host": "bench.execute-api.us-east-1.amazonaws.com",
                "user-agent": "stratus-bench",
                "x-forwarded-proto": "https"
            },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "bench",
                "domainName": "bench.execute-api.us-east-1.amazonaws.com",
                "domainPrefix": "bench",
                "http": {
                    "method": "GET",
                    "path": self.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "stratus-bench"
                },
                "requestId": new_id(),
                "routeKey": self.route_key,
                "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000",
                "timeEpoch": now_ms
            },
            "isBase64Encoded": false
        });
        if !self.path_parameters.is_null() {
            event["pathParameters"] = self.path_parameters.clone();
        }
        event
    }
}

/// One cold start: times from spawning the process.
struct ColdRun {
    /// Until the runtime asked for its first invocation (start-up done).
    init: Duration,
    /// Until the runtime API received the answer.
    total: Duration,
}

/// What the runtime API saw, in order.
enum RuntimeEvent {
    Next(Instant),
    Response(Instant, String),
    Error(String),
}

/// A Lambda runtime API serving exactly one invocation.
struct RuntimeApi {
    event: String,
    request_id: String,
    delivered: AtomicBool,
    stopped: AtomicBool,
    events: Mutex<Sender<RuntimeEvent>>,
}

impl RuntimeApi {
    fn report(&self, event: RuntimeEvent) {
        if let Ok(events) = self.events.lock() {
            let _ = events.send(event);
        }
    }
}

/// Spawns `binary` against a fresh runtime API handing it `event`, waits for its answer and
/// kills it. The function's configuration comes from this process's environment.
fn cold_start(binary: &Path, function: &str, event: &Value, log: &Path) -> anyhow::Result<ColdRun> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let port = listener.local_addr()?.port();
    let (sender, receiver) = mpsc::channel();
    let api = Arc::new(RuntimeApi {
        event: event.to_string(),
        request_id: new_id(),
        delivered: AtomicBool::new(false),
        stopped: AtomicBool::new(false),
        events: Mutex::new(sender),
    });
    let server = {
        let api = api.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if api.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let api = api.clone();
                std::thread::spawn(move || {
                    let _ = serve_connection(stream, &api);
                });
            }
        })
    };

    let output = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(function_env())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output);
    let started = Instant::now();
    let mut child = command.spawn()?;

    let mut init = None;
    let outcome = loop {
        let left = COLD_TIMEOUT.saturating_sub(started.elapsed());
        match receiver.recv_timeout(left) {
            Ok(RuntimeEvent::Next(at)) => init = Some(at - started),
            Ok(RuntimeEvent::Response(at, body)) => break Ok((at - started, body)),
            Ok(RuntimeEvent::Error(body)) => {
                break Err(anyhow!("the function reported an error: {body}"))
            }
            Err(_) => break Err(anyhow!("no answer within {} s", COLD_TIMEOUT.as_secs())),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    api.stopped.store(true, Ordering::SeqCst);
    // Wakes the accept loop so that it sees `stopped`.
    let _ = TcpStream::connect(("127.0.0.1", port));
    let _ = server.join();

    let (total, body) = outcome.with_context(|| format!("see {}", log.display()))?;
    let answer: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let status = answer["statusCode"].as_u64().unwrap_or(0) as u16;
    if status != 200 {
        bail!("{function} answered {status}, not 200: {body}");
    }
    Ok(ColdRun {
        init: init.unwrap_or(total),
        total,
    })
}

/// The functions' configuration (as `cargo xtask bench` gives it to watch), nothing else.
fn function_env() -> Vec<(String, String)> {
    const NAMES: [&str; 10] = [
        "STRATUS_TABLE_NAME",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "STRATUS_AUTH_ISSUER",
        "STRATUS_AUTH_AUDIENCE",
        "STRATUS_AUTH_JWKS_URL",
        "STRATUS_OPERATOR_TENANT_ID",
        "STRATUS_RATE_LIMIT_MAX_DELAY_MS",
    ];
    NAMES
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)))
        .collect()
}

/// Serves the runtime's requests on one connection (it keeps connections alive).
fn serve_connection(stream: TcpStream, api: &RuntimeApi) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    while let Some((method, path, body)) = read_request(&mut reader)? {
        let at = Instant::now();
        let response = if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            if api.delivered.swap(true, Ordering::SeqCst) {
                // One invocation per process: hold the next poll until the process is killed.
                while !api.stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Ok(());
            }
            api.report(RuntimeEvent::Next(at));
            let deadline = epoch_ms() + COLD_TIMEOUT.as_millis() as u64;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Length: {length}\r\n\r\n{event}",
                id = api.request_id,
                length = api.event.len(),
                event = api.event,
            )
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/") {
            if path.ends_with("/response") {
                api.report(RuntimeEvent::Response(at, body));
            } else {
                // `/invocation/{id}/error` or `/init/error`.
                api.report(RuntimeEvent::Error(body));
            }
            let accepted = "{\"status\":\"OK\"}";
            format!(
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{accepted}",
                accepted.len()
            )
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned()
        };
        writer.write_all(response.as_bytes())?;
        writer.flush()?;
    }
    Ok(())
}

/// Reads one HTTP/1.1 request: method, path and body (by Content-Length or chunked);
/// `None` when the client closed the connection.
fn read_request(
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<Option<(String, String, String)>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "content-length" {
            length = value.parse().unwrap_or(0);
        } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            if size == 0 {
                // Trailers, up to the blank line.
                let mut trailer = String::new();
                while reader.read_line(&mut trailer)? > 0 && !trailer.trim().is_empty() {
                    trailer.clear();
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            reader.read_line(&mut String::new())?;
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some((
        method,
        path,
        String::from_utf8_lossy(&body).into_owned(),
    )))
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

// ---- results ------------------------------------------------------------------------------

/// Nearest-rank percentile of unsorted samples.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The middle sample, or the mean of the two middle ones.
fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1000.0)
}

fn render(
    get: &[Duration],
    post: &[Duration],
    get_item: &[Duration],
    cold: &[(&ColdCase, Vec<ColdRun>)],
    bin_dir: &Path,
) -> String {
    let base = percentile(get_item, 50.0).as_secs_f64();
    let row = |what: &str, samples: &[Duration]| {
        let p50 = percentile(samples, 50.0);
        format!(
            "| {what} | {} | {} | {} | {:.2} |\n",
            samples.len(),
            ms(p50),
            ms(percentile(samples, 99.0)),
            p50.as_secs_f64() / base
        )
    };
    let mut out = String::from(
        "## Warm latency through `cargo lambda watch --release` (sequential, one client)\n\n\
         | request | n | p50 ms | p99 ms | p50 / p50(GetItem) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    out.push_str(&row("GET /api/public-api-next/user/{id} (get-user)", get));
    out.push_str(&row("POST /api/public-api-next/user (create-user)", post));
    out.push_str(&row(
        "DynamoDB Local GetItem of the user item (consistent read, same table)",
        get_item,
    ));
    out.push_str(&format!(
        "\nClient-side times, request sent to answer read. {APPS} applications round-robin; \
         {WARM_UP} unmeasured warm-up requests per route first.\n\n"
    ));

    out.push_str(&format!(
        "## Cold start: process start → first request answered ({})\n\n\
         | function | request | runs | median spawn → first /next ms | median spawn → answer ms | min ms | max ms |\n\
         |---|---|---:|---:|---:|---:|---:|\n",
        bin_dir.display()
    ));
    for (case, runs) in cold {
        let init: Vec<Duration> = runs.iter().map(|r| r.init).collect();
        let total: Vec<Duration> = runs.iter().map(|r| r.total).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            case.function,
            case.route_key,
            runs.len(),
            ms(median(&init)),
            ms(median(&total)),
            ms(total.iter().copied().min().unwrap_or_default()),
            ms(total.iter().copied().max().unwrap_or_default()),
        ));
    }
    out.push_str(
        "\nEach run spawns the binary against a one-invocation Lambda runtime API in the bench \
         and kills it after the answer; the first request includes fetching the JWKS from the \
         dev issuer and the DynamoDB reads/writes of the operation.\n",
    );
    out
}

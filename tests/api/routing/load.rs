//! Many tasks, many agents and state changing underneath: nothing lost, nothing doubled.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use stratus_blackbox_tests::*;

use super::Floor;

/// `[from, to)` intervals of one agent never overlap.
fn assert_no_overlap(what: &str, agent: &str, mut spans: Vec<(i64, i64)>) {
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "agent {agent} held two {what} at once: {pair:?}"
        );
    }
}

#[tokio::test]
async fn fifty_calls_against_ten_agents_while_presence_flips_lose_nothing_and_double_nothing() {
    let stack = Stack::from_env();
    let ring_ms = 10_000;
    let floor = Floor::open(
        &stack,
        10,
        json!({ "ringTimeoutSeconds": 10, "maxQueueLength": 100, "autoPauseAfterMissedOffers": 0 }),
    )
    .await;
    let submitted = futures::future::join_all((0..50).map(|n| {
        let floor = &floor;
        async move {
            floor
                .submit(json!({ "modality": "audio", "caller": format!("+4144555{n:04}") }))
                .await
        }
    }))
    .await;

    // Each agent's client answers its offers; three agents flip to Away and back meanwhile.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients = floor.agents.iter().enumerate().map(|(i, agent)| {
        let floor = &floor;
        let done = done.clone();
        async move {
            let token = floor.agent_token(agent);
            let mut flips = if i < 3 { 4 } else { 0 };
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if flips > 0 {
                    flips -= 1;
                    let to = if flips % 2 == 1 { "Away" } else { "Available" };
                    floor.presence(agent, to).await;
                }
                let offers = floor
                    .t
                    .stack
                    .request(Request::new(Method::GET, "/api/me/offers").bearer(&token))
                    .await
                    .ok();
                for offer in offers["items"].as_array().into_iter().flatten() {
                    let id = offer["taskId"].as_str().unwrap();
                    if floor.act(agent, id, "accept").await.status == 200 {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        floor.act(agent, id, "complete").await.assert_status(200);
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    });
    let waiter = async {
        for id in &submitted {
            floor
                .until(id, Duration::from_secs(300), |t| t["state"] == "completed")
                .await;
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    futures::join!(futures::future::join_all(clients), waiter);

    let mut calls: std::collections::HashMap<String, Vec<(i64, i64)>> = Default::default();
    let mut rings: std::collections::HashMap<String, Vec<(i64, i64)>> = Default::default();
    for id in &submitted {
        let task = floor.task(id).await;
        assert_eq!(task["outcome"], "answered", "{task:#}");
        let offers = task["offers"].as_array().unwrap();
        let accepted: Vec<&Value> = offers.iter().filter(|o| o["state"] == "accepted").collect();
        assert_eq!(accepted.len(), 1, "one accepted offer: {task:#}");
        let agent = task["assignedTo"].as_str().unwrap().to_owned();
        assert_eq!(accepted[0]["agentId"], agent.as_str());
        let answered = task["answeredAtMs"].as_i64().unwrap();
        let ended = task["endedAtMs"].as_i64().unwrap();
        calls.entry(agent).or_default().push((answered, ended));
        for offer in offers {
            let offered = offer["expiresAtMs"].as_i64().unwrap() - ring_ms;
            let resolved = offer["resolvedAtMs"].as_i64().unwrap();
            rings
                .entry(offer["agentId"].as_str().unwrap().to_owned())
                .or_default()
                .push((offered, resolved));
        }
    }
    for (agent, spans) in calls {
        assert_no_overlap("calls", &agent, spans);
    }
    for (agent, spans) in rings {
        assert_no_overlap("open offers", &agent, spans);
    }
    let queue = floor.queue(&floor.app()).await;
    assert_eq!(queue["tasks"], json!([]));
    assert_eq!(queue["inProgress"], 0);

    // The call detail records reconcile: one per task, answered, by the agent who took it.
    let records = call_detail_records(&floor.t.id, &floor.service).await;
    assert_eq!(records.len(), submitted.len(), "one record per task");
    for id in &submitted {
        let record = records
            .iter()
            .find(|r| r["taskId"] == id.as_str())
            .unwrap_or_else(|| panic!("no record of task {id}"));
        assert_eq!(record["outcome"], "answered");
        assert_eq!(record["answeredBy"].as_array().map(Vec::len), Some(1));
        assert!(
            record["expiresAt"].as_i64().is_some(),
            "records expire: {record}"
        );
    }
}

/// The service's call detail records of today (and yesterday, around midnight), read
/// straight from the stack's table: reporting has no API yet.
async fn call_detail_records(tenant: &str, service: &str) -> Vec<Value> {
    let table =
        std::env::var("STRATUS_TABLE_NAME").expect("STRATUS_TABLE_NAME (the stack's table)");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let mut found = Vec::new();
    for days_ago in [0, 1] {
        let day = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
        let pk = format!(
            "CDR#{tenant}#{:04}-{:02}-{:02}",
            day.year(),
            u8::from(day.month()),
            day.day()
        );
        let items = client
            .query()
            .table_name(&table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await;
        for item in items {
            let record: Value =
                serde_dynamo::from_item(item.expect("reading records")).expect("a record");
            if record["serviceId"] == service {
                found.push(record);
            }
        }
    }
    found
}

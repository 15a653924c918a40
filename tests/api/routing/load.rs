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
    let queue = stack
        .request(
            Request::new(
                Method::GET,
                format!("/api/services/{}/queue", floor.service),
            )
            .bearer(&floor.app()),
        )
        .await
        .ok();
    assert_eq!(queue["tasks"], json!([]));
    assert_eq!(queue["inProgress"], 0);
}

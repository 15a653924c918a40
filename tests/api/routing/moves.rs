//! Tasks moving on without an agent's answer: the queue timeout, a transfer to one user, an
//! outbound task falling due, and an agent deleted while rung.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use stratus_blackbox_tests::*;

use super::{call, id_of, new_service, open_offers, Contains, Floor};

#[tokio::test]
async fn past_the_queue_timeout_a_task_overflows_to_the_overflow_service() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let backup = new_service(&floor.t, json!({})).await;
    floor
        .t
        .stack
        .request(Request::put_distribution(
            &floor.t.admin_token(),
            &floor.service,
            json!({ "queueTimeoutSeconds": 10, "overflow": { "type": "service", "serviceId": backup } }),
        ))
        .await
        .assert_status(200);
    floor.presence(&floor.agents[0], "Offline").await;
    let id = floor.submit(call()).await;
    let task = floor
        .until(&id, Duration::from_secs(60), |t| {
            t["serviceId"] == backup.as_str()
        })
        .await;
    assert_eq!(task["state"], "queued");
    let moved = &task["transfers"][0];
    assert_eq!(moved["kind"], "overflow");
    assert_eq!(moved["reason"], "queue timeout");
    assert_eq!(moved["fromServiceId"], floor.service.as_str());
    assert_eq!(moved["toServiceId"], backup.as_str());
}

#[tokio::test]
async fn a_task_transferred_to_a_user_rings_them_only() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 2, json!({})).await;
    let id = floor.submit(call()).await;
    let first = floor.offered(&id).await;
    let other = floor.agents.iter().find(|a| **a != first).unwrap().clone();
    floor.act(&first, &id, "accept").await.ok();
    let moved = stack
        .request(
            Request::new(Method::POST, format!("/api/tasks/{id}/transfer"))
                .bearer(&floor.app())
                .body(json!({ "toUser": other })),
        )
        .await
        .ok();
    assert_eq!(moved["state"], "queued");
    assert_eq!(floor.offered(&id).await, other);
    let task = floor.task(&id).await;
    assert_eq!(task["transfers"][0]["toUser"], other.as_str());
    assert_eq!(task["transfers"][0]["fromAgentId"], first.as_str());
    assert_eq!(task["directedTo"], other.as_str());
    // Not a member of the service: refused, nothing moves.
    stack
        .request(
            Request::new(Method::POST, format!("/api/tasks/{id}/transfer"))
                .bearer(&floor.app())
                .body(json!({ "toUser": new_id() })),
        )
        .await
        .assert_problem_containing(400, "is not an agent of the task's service");
}

#[tokio::test]
async fn an_outbound_task_is_distributed_when_it_falls_due() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let due = time::OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let at = due
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let reply = stack
        .request(
            Request::new(
                Method::POST,
                format!("/api/services/{}/outbound-tasks", floor.service),
            )
            .bearer(&floor.app())
            .body(json!({ "scheduledAt": at, "callee": "+4930123456" })),
        )
        .await;
    reply.assert_status(202);
    let id = id_of(&reply);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        floor.task(&id).await["state"],
        "queued",
        "not before it is due"
    );
    assert_eq!(floor.offered(&id).await, floor.agents[0]);
    let task = floor.task(&id).await;
    assert_eq!(task["direction"], "outbound");
    let offered_at = task["offers"][0]["expiresAtMs"].as_i64().unwrap() - 30_000;
    assert!(
        offered_at >= (due.unix_timestamp_nanos() / 1_000_000) as i64,
        "offered before its time: {task:#}"
    );
}

#[tokio::test]
async fn an_agent_deleted_while_rung_does_not_hold_the_task() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 2, json!({ "ringTimeoutSeconds": 5 })).await;
    let id = floor.submit(call()).await;
    let gone = floor.offered(&id).await;
    floor.t.delete_user(&gone, None).await.assert_status(200);
    // The offer rings out with nobody to clear, and the other agent gets the task.
    let task = floor
        .until(&id, Duration::from_secs(60), |t| {
            t["state"] == "offered" && !open_offers(t).contains(&gone)
        })
        .await;
    let other = open_offers(&task)[0].clone();
    assert_ne!(other, gone);
    floor.t.delete_user(&other, None).await.assert_status(200);
    // Abandoning it withdraws an offer whose agent no longer exists.
    let abandoned = stack
        .request(
            Request::new(Method::POST, format!("/api/tasks/{id}/abandon")).bearer(&floor.app()),
        )
        .await
        .ok();
    assert_eq!(abandoned["state"], "abandoned");
}

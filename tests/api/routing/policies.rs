//! Live decisions by the service's plugin: skill steps relaxing while a task waits,
//! time-of-day overflow outside hours, a failing plugin falling back (counted on its
//! version), and a shadow policy compared in the shadow report.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

#[path = "../../../shared/routing/tests/fixtures/mod.rs"]
mod fixtures;

use super::{call, Floor, ROUTED_WITHIN};

async fn upload(floor: &Floor, name: &str, bytes: Vec<u8>) {
    floor
        .t
        .stack
        .upload_plugin(&floor.t.admin_token(), name, bytes)
        .await
        .assert_status(201);
}

async fn assign(floor: &Floor, body: Value) {
    floor
        .t
        .stack
        .request(Request::put_distribution(
            &floor.t.admin_token(),
            &floor.service,
            body,
        ))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn skill_steps_relax_while_the_task_waits_and_it_keeps_its_place() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let agent = floor.agents[0].clone();
    let billing = floor.t.create_skill("billing", &floor.t.sales_ou).await;
    floor
        .t
        .patch_user(
            &agent,
            json!({ "skills": [{ "skillId": billing, "level": 50 }] }),
        )
        .await
        .assert_status(200);
    upload(&floor, "skills", built_in_plugin("skill_based")).await;
    assign(
        &floor,
        json!({ "policy": { "plugin": "skills", "version": 1, "configuration": { "steps": [
            { "afterSeconds": 0, "requirements": [{ "skill": "billing", "minLevel": 80 }] },
            { "afterSeconds": 4, "requirements": [{ "skill": "billing", "minLevel": 40 }] }
        ] } } }),
    )
    .await;
    let started = Instant::now();
    let id = floor.submit(call()).await;
    let later = floor.submit(call()).await;
    assert_eq!(floor.offered(&id).await, agent);
    // Waiting did not cost the first task its place: the later one is still waiting.
    assert_eq!(floor.task(&later).await["state"], "queued");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "offered before the step relaxed"
    );
    let task = floor.task(&id).await;
    let decisions = task["decisions"].as_array().unwrap();
    let first = &decisions[0];
    assert!(
        first["action"]["wait"].as_u64().is_some_and(|s| s <= 4),
        "{first:#}"
    );
    assert_eq!(first["policy"]["plugin"], "skills");
    assert_eq!(first["policy"]["version"], 1);
    assert_eq!(first["policy"]["fellBack"], false);
    assert!(first["policy"]["fuelUsed"].as_u64().unwrap() > 0);
    let last = decisions.last().unwrap();
    assert_eq!(last["action"]["offer"]["agents"][0], agent.as_str());
    assert!(last["waitedSeconds"].as_u64().unwrap() >= 4, "{last:#}");
}

#[tokio::test]
async fn outside_hours_the_time_of_day_policy_overflows() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    upload(&floor, "hours", built_in_plugin("time_of_day")).await;
    // Closed today wherever the service is: yesterday, today and tomorrow are holidays.
    let day = |offset: i64| {
        let t = time::OffsetDateTime::now_utc() + time::Duration::days(offset);
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
    };
    assign(
        &floor,
        json!({ "timeZone": "Pacific/Kiritimati", "policy": { "plugin": "hours", "version": 1,
            "configuration": {
                "windows": [{ "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                              "from": "00:00", "to": "24:00", "strategy": "longest-idle" }],
                "holidays": [day(-1), day(0), day(1), day(2)],
                "outOfHours": { "reason": "closed", "target": "voicemail" } } } }),
    )
    .await;
    let id = floor.submit(call()).await;
    let task = floor
        .until(&id, ROUTED_WITHIN, |t| t["state"] == "overflowed")
        .await;
    assert_eq!(task["outcome"], "overflowed");
    assert_eq!(task["transfers"][0]["kind"], "overflow");
    assert_eq!(task["transfers"][0]["toTarget"], "voicemail");
    assert_eq!(task["transfers"][0]["reason"], "closed");
    assert_eq!(
        task["decisions"][0]["action"]["overflow"]["to"]["target"],
        "voicemail"
    );
    assert_eq!(task["offers"], json!([]));
}

#[tokio::test]
async fn a_failing_plugin_fails_its_decision_only_and_a_shadow_is_compared() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let agent = floor.agents[0].clone();
    let spinner =
        fixtures::componentize(&fixtures::module(1, "(loop $l (br $l)) (unreachable)", ""));
    upload(&floor, "spinner", spinner).await;
    upload(&floor, "skills", built_in_plugin("skill_based")).await;
    // Live: the spinner (it never answers); shadow: skill steps anyone qualifies for.
    assign(
        &floor,
        json!({
            "policy": { "plugin": "spinner", "version": 1, "configuration": {} },
            "shadowPolicy": { "plugin": "skills", "version": 1, "configuration": { "steps": [
                { "afterSeconds": 0, "requirements": [] }] } }
        }),
    )
    .await;
    let id = floor.submit(call()).await;
    assert_eq!(floor.offered(&id).await, agent, "the fallback decided");
    let task = floor.task(&id).await;
    let decision = &task["decisions"][0];
    assert_eq!(decision["policy"]["fellBack"], true, "{decision:#}");
    assert_eq!(decision["policy"]["builtIn"], "longestIdle");
    assert!(
        ["fuel-exhausted", "deadline-exceeded"].contains(
            &decision["policy"]["failure"]["code"]
                .as_str()
                .unwrap_or_default()
        ),
        "{decision:#}"
    );
    assert_eq!(task["pluginFailures"], 1);
    assert_eq!(decision["shadow"]["plugin"], "skills");
    assert_eq!(decision["shadow"]["fellBack"], false);
    assert_eq!(decision["shadowComparison"]["agrees"], true);
    let version = stack
        .get_plugin(&floor.t.admin_token(), "spinner", 1)
        .await
        .ok();
    assert_eq!(version["decisionFailures"], 1, "{version:#}");

    let report = stack
        .request(
            Request::new(
                reqwest::Method::GET,
                format!("/api/admin/services/{}/shadow-report", floor.service),
            )
            .bearer(&floor.t.admin_token()),
        )
        .await
        .ok();
    assert_eq!(report["shadowPolicy"]["plugin"], "skills");
    let shadow = &report["shadows"][0];
    assert_eq!(shadow["current"], true);
    assert_eq!(shadow["decisionsCompared"], 1);
    assert_eq!(shadow["agreementRate"], 1.0);
    assert_eq!(shadow["firstChoiceAgreementRate"], 1.0);
    assert_eq!(shadow["shadowFailures"], 0);
    // A version held as a shadow is in use: it cannot be deleted.
    stack
        .delete_plugin(&floor.t.admin_token(), "skills", 1)
        .await
        .assert_problem_status(409);
}

#[tokio::test]
async fn a_ring_all_policy_rings_everyone_and_the_first_to_accept_takes_it() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 3, json!({})).await;
    upload(&floor, "ring", built_in_plugin("classic")).await;
    assign(
        &floor,
        json!({ "policy": { "plugin": "ring", "version": 1,
                            "configuration": { "strategy": "ring-all" } } }),
    )
    .await;
    let id = floor.submit(call()).await;
    let task = floor
        .until(&id, ROUTED_WITHIN, |t| super::open_offers(t).len() == 3)
        .await;
    assert_eq!(
        task["decisions"][0]["action"]["offer"]["simultaneous"],
        true
    );
    // Two agents answer at once: one takes the task, the other is told it is gone.
    let (a, b) = (&floor.agents[0], &floor.agents[1]);
    let (first, second) = futures::join!(floor.act(a, &id, "accept"), floor.act(b, &id, "accept"));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", first.text, second.text);
    let task = floor.task(&id).await;
    assert_eq!(task["state"], "assigned");
    let states: Vec<&str> = task["offers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["state"].as_str())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "accepted").count(),
        1,
        "{task:#}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "withdrawn").count(),
        2,
        "{task:#}"
    );
    for agent in &floor.agents {
        let offers = stack
            .request(
                Request::new(reqwest::Method::GET, "/api/me/offers")
                    .bearer(&floor.agent_token(agent)),
            )
            .await
            .ok();
        assert_eq!(offers["items"], json!([]), "nobody still rings");
    }
}

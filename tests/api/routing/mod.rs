//! Live routing through the local stack, end to end: a routing application submits tasks,
//! the table's stream (DynamoDB Local's, through the stack's bridge) and the sweep timer run
//! `route-tasks`, and agents answer with their own tokens. Routing is asynchronous, so the
//! tests wait for states to arrive (bounded, generously: the function's first invocation is
//! built on demand).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use stratus_blackbox_tests::*;

mod load;
mod moves;
mod policies;

const ROUTING: &str = "Routing.Tasks";
/// Long enough for `route-tasks` to be built and started on its first invocation.
const ROUTED_WITHIN: Duration = Duration::from_secs(120);

/// A tenant with a skill-based service, `agents` licensed agents on duty for it and
/// available, and the tenant's app able to submit tasks.
struct Floor {
    t: TestTenant,
    service: String,
    profile: String,
    agents: Vec<String>,
}

fn id_of(reply: &Reply) -> String {
    reply.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {}", reply.text))
        .to_owned()
}

async fn new_service(t: &TestTenant, distribution: Value) -> String {
    let reply = t
        .stack
        .request(Request::create_service(
            &t.admin_token(),
            json!({
                "name": "Support", "upn": format!("q-{}@contoso.com", &new_id()[..8]),
                "organizationUnitId": t.support_ou, "licenseType": "ContactCenter",
                "assignmentType": "SkillBased", "region": "ch-01"
            }),
        ))
        .await;
    reply.assert_status(201);
    let service = id_of(&reply);
    t.stack
        .request(Request::put_distribution(
            &t.admin_token(),
            &service,
            distribution,
        ))
        .await
        .assert_status(200);
    service
}

impl Floor {
    async fn open(stack: &Stack, agents: usize, distribution: Value) -> Floor {
        let mut licenses = default_licenses();
        licenses["ContactCenter"] = json!(40);
        let t = TestTenant::create_with_licenses(stack, licenses).await;
        let service = new_service(&t, distribution).await;
        let profile = stack
            .request(
                Request::new(Method::POST, "/api/admin/responsibility-profiles")
                    .bearer(&t.admin_token())
                    .body(json!({ "name": "Day", "serviceIds": [service] })),
            )
            .await;
        profile.assert_status(201);
        let mut floor = Floor {
            t,
            service,
            profile: id_of(&profile),
            agents: Vec::new(),
        };
        for _ in 0..agents {
            let agent = floor.hire(&floor.service.clone()).await;
            floor.agents.push(agent);
        }
        floor
    }

    /// A licensed agent of `service`, on duty and available.
    async fn hire(&self, service: &str) -> String {
        let admin = self.t.admin_token();
        let agent = self.t.new_user(&self.t.sales_ou).await;
        self.t
            .patch_user(&agent, json!({ "licenses": ["ContactCenter"] }))
            .await
            .assert_status(200);
        self.t
            .stack
            .request(Request::add_service_agent(&admin, service, &agent))
            .await
            .assert_status(200);
        self.t
            .stack
            .request(Request::put_my_state(
                &self.agent_token(&agent),
                json!({ "activeProfileId": self.profile }),
            ))
            .await
            .assert_status(200);
        self.presence(&agent, "Available").await;
        agent
    }

    async fn presence(&self, agent: &str, availability: &str) {
        self.t
            .stack
            .request(Request::put_presence(
                &self.t.admin_token(),
                agent,
                None,
                json!({ "availability": availability, "activity": availability }),
            ))
            .await
            .assert_status(200);
    }

    /// The service's queue as a wallboard reads it (a tenant admin's or the app's token).
    async fn queue(&self, token: &str) -> Value {
        self.t
            .stack
            .request(
                Request::new(Method::GET, format!("/api/services/{}/queue", self.service))
                    .bearer(token),
            )
            .await
            .ok()
    }

    fn agent_token(&self, agent: &str) -> String {
        self.t
            .token(&self.t.stack.spec().tenant(&self.t.id).object_id(agent))
    }

    fn app(&self) -> String {
        self.t.app_token_with_roles(&[ROUTING])
    }

    async fn submit_to(&self, service: &str, body: Value) -> Reply {
        self.t
            .stack
            .request(
                Request::new(Method::POST, format!("/api/services/{service}/tasks"))
                    .bearer(&self.app())
                    .body(body),
            )
            .await
    }

    async fn submit(&self, body: Value) -> String {
        let reply = self.submit_to(&self.service, body).await;
        reply.assert_status(202);
        id_of(&reply)
    }

    async fn task(&self, id: &str) -> Value {
        self.t
            .stack
            .request(Request::new(Method::GET, format!("/api/tasks/{id}")).bearer(&self.app()))
            .await
            .ok()
    }

    /// The task once `done` holds for it; panics with the last answer after `within`.
    async fn until(&self, id: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let task = self.task(id).await;
            if done(&task) {
                return task;
            }
            if started.elapsed() > within {
                panic!("task {id} did not get there in {within:?}: {task:#}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The agent the task is now offered to.
    async fn offered(&self, id: &str) -> String {
        let task = self
            .until(id, ROUTED_WITHIN, |t| t["state"] == "offered")
            .await;
        open_offers(&task)
            .first()
            .cloned()
            .unwrap_or_else(|| panic!("offered without an open offer: {task:#}"))
    }

    async fn act(&self, agent: &str, id: &str, action: &str) -> Reply {
        self.t
            .stack
            .request(
                Request::new(Method::POST, format!("/api/tasks/{id}/{action}"))
                    .bearer(&self.agent_token(agent)),
            )
            .await
    }
}

fn open_offers(task: &Value) -> Vec<String> {
    task["offers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["state"] == "open")
        .filter_map(|o| o["agentId"].as_str().map(str::to_owned))
        .collect()
}

trait Contains {
    fn assert_problem_containing(&self, status: u16, part: &str);
}

impl Contains for Reply {
    fn assert_problem_containing(&self, status: u16, part: &str) {
        let detail = self.assert_problem_status(status);
        assert!(detail.contains(part), "{part:?} not in {detail:?}");
    }
}

fn call() -> Value {
    json!({ "modality": "audio", "caller": "+41445551234" })
}

#[tokio::test]
async fn a_call_is_offered_accepted_completed_and_traced() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let agent = floor.agents[0].clone();
    let id = floor.submit(call()).await;
    assert_eq!(floor.offered(&id).await, agent);

    // The agent's client sees the offer.
    let offers = stack
        .request(Request::new(Method::GET, "/api/me/offers").bearer(&floor.agent_token(&agent)))
        .await
        .ok();
    assert_eq!(offers["items"][0]["taskId"], id.as_str());
    assert_eq!(offers["items"][0]["caller"], "+41445551234");
    assert!(offers["items"][0]["expiresAt"].is_string());

    // Only the offered agent may answer.
    let other = floor.hire(&floor.service).await;
    floor.act(&other, &id, "accept").await.assert_status(409);
    let accepted = floor.act(&agent, &id, "accept").await.ok();
    assert_eq!(accepted["state"], "assigned");
    assert_eq!(accepted["assignedTo"], agent.as_str());
    let completed = floor.act(&agent, &id, "complete").await.ok();
    assert_eq!(completed["state"], "completed");

    let task = floor.task(&id).await;
    for field in [
        "id",
        "serviceId",
        "state",
        "assignedTo",
        "offers",
        "decisions",
        "transfers",
    ] {
        assert!(task.get(field).is_some(), "{field} missing: {task:#}");
    }
    assert_eq!(task["offers"][0]["state"], "accepted");
    assert_eq!(task["outcome"], "answered");
    let decision = &task["decisions"][0];
    assert_eq!(decision["policy"]["builtIn"], "longestIdle");
    assert_eq!(decision["policy"]["fellBack"], false);
    assert_eq!(decision["action"]["offer"]["agents"][0], agent.as_str());
    let traced: Vec<&str> = decision["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["agentId"].as_str())
        .collect();
    assert!(traced.contains(&agent.as_str()), "{decision:#}");

    let queue = floor.queue(&floor.t.admin_token()).await;
    assert_eq!(queue["tasks"], json!([]));
    assert_eq!(queue["offers"], json!([]));
}

#[tokio::test]
async fn a_decline_or_a_missed_offer_goes_to_the_next_agent_and_misses_pause() {
    let stack = Stack::from_env();
    let floor = Floor::open(
        &stack,
        2,
        json!({ "ringTimeoutSeconds": 5, "autoPauseAfterMissedOffers": 1 }),
    )
    .await;
    let id = floor.submit(call()).await;
    let first = floor.offered(&id).await;
    floor.act(&first, &id, "decline").await.ok();
    let second = floor
        .until(&id, ROUTED_WITHIN, |t| {
            t["state"] == "offered" && !open_offers(t).contains(&first)
        })
        .await;
    let second = open_offers(&second)[0].clone();
    assert_ne!(
        second, first,
        "the decliner is not offered the task again at once"
    );

    // The second agent lets it ring out: the offer expires and they are paused.
    let task = floor
        .until(&id, Duration::from_secs(60), |t| {
            t["offers"].as_array().is_some_and(|o| {
                o.iter()
                    .any(|o| o["agentId"] == second.as_str() && o["state"] == "expired")
            })
        })
        .await;
    assert_eq!(task["offers"][0]["state"], "declined");
    let eligibility = stack
        .request(Request::eligibility(&floor.t.admin_token(), &floor.service))
        .await
        .ok();
    let member = eligibility["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["o365Id"] == second.as_str())
        .unwrap()
        .clone();
    assert_eq!(member["eligible"], false, "{member:#}");
    assert_eq!(
        member["reasons"][0]["reason"], "Missed offers",
        "{member:#}"
    );
    // Once the decline is no longer recent, the first agent gets it again.
    let again = floor
        .until(&id, Duration::from_secs(60), |t| {
            open_offers(t).contains(&first)
        })
        .await;
    assert_eq!(again["state"], "offered");
}

#[tokio::test]
async fn the_queue_orders_by_priority_then_arrival_and_a_full_queue_overflows() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({ "maxQueueLength": 2 })).await;
    let agent = floor.agents[0].clone();
    floor.presence(&agent, "Offline").await;
    let low = floor.submit(call()).await;
    let high = floor
        .submit(json!({ "modality": "audio", "caller": "+41", "priority": 9 }))
        .await;
    let reply = floor.submit_to(&floor.service, call()).await;
    reply.assert_status(202);
    assert_eq!(reply.body["state"], "overflowed", "{}", reply.text);
    let queue = floor.queue(&floor.app()).await;
    let order: Vec<&str> = queue["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(order, [high.as_str(), low.as_str()]);
    let overflowed = floor.task(&id_of(&reply)).await;
    assert_eq!(overflowed["outcome"], "overflowed");
    assert_eq!(overflowed["transfers"][0]["toTarget"], "disconnect");

    // The agent comes back: the urgent task first.
    floor.presence(&agent, "Available").await;
    assert_eq!(floor.offered(&high).await, agent);
    assert_eq!(floor.task(&low).await["state"], "queued");
}

#[tokio::test]
async fn wrap_up_holds_the_agent_until_it_ends_and_chats_share_an_agent() {
    let stack = Stack::from_env();
    let floor = Floor::open(
        &stack,
        1,
        json!({ "wrapUpSeconds": 600, "concurrentChatsPerAgent": 2 }),
    )
    .await;
    let agent = floor.agents[0].clone();
    let first = floor
        .submit(json!({ "modality": "chat", "caller": "anna@example.com" }))
        .await;
    floor.offered(&first).await;
    floor.act(&agent, &first, "accept").await.ok();
    let second = floor
        .submit(json!({ "modality": "chat", "caller": "bert@example.com" }))
        .await;
    assert_eq!(floor.offered(&second).await, agent, "a second chat fits");
    floor.act(&agent, &second, "accept").await.ok();
    let third = floor
        .submit(json!({ "modality": "chat", "caller": "carl@example.com" }))
        .await;
    let done = floor.act(&agent, &first, "complete").await.ok();
    assert_eq!(done["state"], "wrapUp");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        floor.task(&third).await["state"],
        "queued",
        "in wrap-up: no new task"
    );
    let ended = stack
        .request(
            Request::new(Method::POST, "/api/me/wrap-up/end").bearer(&floor.agent_token(&agent)),
        )
        .await
        .ok();
    assert_eq!(ended["state"], "completed");
    assert_eq!(floor.offered(&third).await, agent);
    stack
        .request(
            Request::new(Method::POST, "/api/me/wrap-up/end").bearer(&floor.agent_token(&agent)),
        )
        .await
        .assert_status(409);
}

#[tokio::test]
async fn abandon_transfer_and_idempotent_submission() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 1, json!({})).await;
    let agent = floor.agents[0].clone();
    let app = floor.app();

    let body = json!({ "modality": "audio", "caller": "+41", "idempotencyKey": "call-7" });
    let first = floor.submit_to(&floor.service, body.clone()).await;
    let again = floor.submit_to(&floor.service, body).await;
    again.assert_status(202);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["duplicate"], true);
    let id = id_of(&first);

    floor.offered(&id).await;
    floor.act(&agent, &id, "accept").await.ok();
    let other = new_service(&floor.t, json!({})).await;
    let moved = stack
        .request(
            Request::new(Method::POST, format!("/api/tasks/{id}/transfer"))
                .bearer(&app)
                .body(json!({ "toService": other })),
        )
        .await
        .ok();
    assert_eq!(moved["state"], "queued");
    assert_eq!(moved["serviceId"], other.as_str());
    let task = floor.task(&id).await;
    assert_eq!(
        task["transfers"][0]["fromServiceId"],
        floor.service.as_str()
    );
    assert_eq!(task["transfers"][0]["fromAgentId"], agent.as_str());
    assert_eq!(task["transfers"][0]["toServiceId"], other.as_str());
    let abandoned = stack
        .request(Request::new(Method::POST, format!("/api/tasks/{id}/abandon")).bearer(&app))
        .await
        .ok();
    assert_eq!(abandoned["state"], "abandoned");
    stack
        .request(Request::new(Method::POST, format!("/api/tasks/{id}/abandon")).bearer(&app))
        .await
        .assert_status(409);
    // The agent is free again: a new call reaches them.
    let next = floor.submit(call()).await;
    assert_eq!(floor.offered(&next).await, agent);
}

#[tokio::test]
async fn outbound_tasks_stop_at_the_tenants_limit() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 0, json!({})).await;
    let outbound = |n: usize| json!({ "scheduledAt": "2027-01-15T09:00:00Z", "callee": format!("+4930{n:04}") });
    let submit = |body: Value| {
        let floor = &floor;
        async move {
            floor
                .t
                .stack
                .request(
                    Request::new(
                        Method::POST,
                        format!("/api/services/{}/outbound-tasks", floor.service),
                    )
                    .bearer(&floor.app())
                    .body(body),
                )
                .await
        }
    };
    for n in 0..20 {
        submit(outbound(n)).await.assert_status(202);
    }
    let refused = submit(outbound(20)).await;
    refused.assert_problem_status(409);
    assert!(
        refused.detail().contains("20 outbound tasks"),
        "{}",
        refused.text
    );
    for (limit, more) in [(50, 30), (1, 0)] {
        stack
            .request(Request::patch_tenant_settings(
                &floor.t.admin_token(),
                None,
                json!({ "outbound": { "maxScheduledTasksPerService": limit } }),
            ))
            .await
            .assert_status(200);
        for n in 0..more {
            submit(outbound(100 + n)).await.assert_status(202);
        }
        submit(outbound(999)).await.assert_problem_status(409);
    }
}

#[tokio::test]
async fn tasks_are_refused_clearly() {
    let stack = Stack::from_env();
    let floor = Floor::open(&stack, 0, json!({})).await;
    let path = format!("/api/services/{}/tasks", floor.service);
    let post = |token: String, body: Value| {
        Request::new(Method::POST, path.clone())
            .bearer(&token)
            .body(body)
    };
    stack
        .request(post(floor.t.admin_token(), call()))
        .await
        .assert_problem_containing(403, "Routing.Tasks");
    let stranger = new_id();
    stack
        .request(post(
            floor.t.stack.app_token(&floor.t.id, &stranger, &[ROUTING]),
            call(),
        ))
        .await
        .assert_problem_containing(403, "not registered");
    stack
        .request(post(
            floor.app(),
            json!({ "modality": "fax", "caller": "+41" }),
        ))
        .await
        .assert_problem_containing(400, "\"modality\"");
    stack
        .request(post(
            floor.app(),
            json!({ "modality": "audio", "caller": "+41",
                    "requiredSkills": [{ "skill": "Klingon", "minLevel": 10 }] }),
        ))
        .await
        .assert_problem_containing(400, "not a skill of this tenant");
    stack
        .request(
            Request::new(Method::POST, format!("/api/services/{}/tasks", new_id()))
                .bearer(&floor.app())
                .body(call()),
        )
        .await
        .assert_problem_status(404);
    stack
        .request(Request::new(Method::GET, format!("/api/tasks/{}", new_id())).bearer(&floor.app()))
        .await
        .assert_problem_status(404);
}

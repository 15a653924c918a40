//! Routing-policy plugin management over HTTP: uploading versions of the built-in policies and
//! of hostile components, listing, getting, deleting, validating configurations, and
//! simulating decisions — with hand-computed expectations, DST and holidays resolved on the
//! host, and a failing plugin that fails only its decision.

#[path = "../../shared/routing/tests/fixtures/mod.rs"]
mod fixtures;

use serde_json::{json, Value};
use stratus_blackbox_tests::*;
use stratus_routing::sha256_hex;
use stratus_routing::stored::PluginStore;

fn order(simulation: &Value) -> Vec<String> {
    assert_eq!(
        simulation["decision"]["type"], "offer",
        "expected an offer: {simulation}"
    );
    simulation["decision"]["order"]
        .as_array()
        .expect("order")
        .iter()
        .map(|o| o["agentId"].as_str().expect("agentId").to_owned())
        .collect()
}

/// Uploads and returns the new version number.
async fn upload(t: &TestTenant, name: &str, bytes: Vec<u8>) -> u32 {
    let reply = t.stack.upload_plugin(&t.admin_token(), name, bytes).await;
    reply.assert_status(201);
    reply.body["version"].as_u64().expect("version") as u32
}

#[tokio::test]
async fn versions_are_uploaded_listed_read_and_deleted() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let bytes = built_in_plugin("skill_based");

    let first = stack.upload_plugin(&admin, "skills", bytes.clone()).await;
    first.assert_status(201);
    let v1 = first.body.clone();
    assert_eq!(v1["name"], "skills");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["sourceSha256"], sha256_hex(&bytes));
    assert_eq!(v1["sourceSize"], bytes.len() as u64);
    // The precompiled artifact is stored too, chunked: far beyond one 400 KB item.
    assert!(v1["artifactSize"].as_u64().unwrap_or(0) > 0, "{v1}");
    assert_eq!(v1["artifactSha256"].as_str().map(str::len), Some(64));
    let exports: Vec<&str> = v1["exports"]
        .as_array()
        .expect("exports")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(exports.contains(&"decide") && exports.contains(&"validate-config"));
    for import in v1["imports"].as_array().expect("imports") {
        assert!(
            import
                .as_str()
                .unwrap_or("")
                .starts_with("stratus:routing/"),
            "{import}"
        );
    }
    assert_eq!(v1["limits"]["fuel"], 10_000_000);
    assert_eq!(v1["limits"]["maxBinaryBytes"], 4 * 1024 * 1024);
    assert_eq!(v1["inUse"], false);
    assert!(v1["compileMicros"].as_u64().is_some());

    assert_eq!(upload(&t, "skills", bytes.clone()).await, 2);
    assert_eq!(upload(&t, "classic", built_in_plugin("classic")).await, 1);
    let classic = stack.get_plugin(&admin, "classic", 1).await.ok();
    assert!(
        classic["artifactSize"].as_u64().unwrap_or(0) > 350_000,
        "expected an artifact stored in more than one chunk: {classic}"
    );

    let listed = stack.list_plugins(&admin).await.ok();
    let names: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["classic", "skills"]);
    let versions: Vec<u64> = listed[1]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter_map(|v| v["version"].as_u64())
        .collect();
    assert_eq!(versions, [1, 2]);

    let got = stack.get_plugin(&admin, "skills", 1).await.ok();
    for field in [
        "sourceSha256",
        "artifactSha256",
        "sourceSize",
        "uploadedAt",
        "exports",
    ] {
        assert_eq!(got[field], v1[field], "{field}");
    }
    assert!(got.get("compileMicros").is_none());

    stack
        .delete_plugin(&admin, "skills", 2)
        .await
        .assert_status(204);
    stack
        .get_plugin(&admin, "skills", 2)
        .await
        .assert_problem(404, "Plugin skills has no version 2");
    stack
        .delete_plugin(&admin, "skills", 2)
        .await
        .assert_problem(404, "Plugin skills has no version 2");
    // Numbers are never reused: the next upload is 3, even though 2 is gone.
    assert_eq!(upload(&t, "skills", bytes).await, 3);
    // Version 1 still loads and decides after its neighbour's chunks were deleted.
    let body = json!({ "configuration": skill_config(), "candidates": agents(),
                       "task": { "waitedSeconds": 5 } });
    let simulated = stack.simulate(&admin, "skills", 1, body).await.ok();
    assert_eq!(order(&simulated), ["ben", "dan", "ana"]);
}

#[tokio::test]
async fn broken_uploads_are_refused_with_the_problem_named_and_nothing_stored() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "garbage",
            b"MZ\x90\0 definitely not wasm".to_vec(),
            400,
            "The plugin was rejected (not-wasm)",
        ),
        (
            "core module",
            wat_module("(module (func (export \"decide\")))"),
            400,
            "The plugin was rejected (core-module)",
        ),
        (
            "wrong world",
            fixtures::componentize_world(MISSING_DECIDE, "missing-decide"),
            400,
            "The plugin was rejected (wrong-world)",
        ),
        (
            "WASI import",
            fixtures::componentize_world(
                &fixtures::module(
                    1,
                    &fixtures::offer(0, 0),
                    r#"(import "wasi:cli/environment@0.2.0" "get-arguments" (func $args (param i32)))"#,
                ),
                "with-wasi",
            ),
            400,
            "The plugin was rejected (disallowed-imports): imports outside the allow-list: \
             wasi:cli/environment@0.2.0",
        ),
        (
            "start-up loop",
            fixtures::componentize(&fixtures::module(
                1,
                &fixtures::offer(0, 0),
                "(func $spin (loop $l (br $l))) (start $spin)",
            )),
            400,
            "The plugin was rejected (startup-failed)",
        ),
        (
            "many functions",
            fixtures::shapes::many_functions(10_000),
            400,
            "The plugin was rejected (too-complex): too complex to compile: 10001 functions, \
             the limit is 10000",
        ),
        (
            "one huge function",
            fixtures::shapes::huge_function(600 * 1024),
            400,
            "The plugin was rejected (too-complex): too complex to compile: 614",
        ),
        (
            "deep nesting",
            fixtures::shapes::deep_nesting(5_000),
            400,
            "The plugin was rejected (too-complex): too complex to compile: 2001 blocks nested \
             in one function, the limit is 2000",
        ),
        (
            "oversized",
            vec![0u8; 4 * 1024 * 1024 + 1],
            413,
            "The plugin is too large: the binary is 4194305 bytes, the limit is 4194304 bytes",
        ),
        (
            "empty",
            Vec::new(),
            400,
            "The request body must be the plugin: a WebAssembly component (application/wasm)",
        ),
    ];
    let mut refusals: Vec<Refusal> = cases
        .into_iter()
        .map(|(what, bytes, status, detail)| {
            let upload = Request::upload_plugin(&admin, "hostile", bytes);
            (what, upload, status, Detail::starts_with(detail))
        })
        .collect();
    refusals.push((
        "a name that is no plugin name",
        Request::upload_plugin(&admin, "Not_A_Name", built_in_plugin("classic")),
        400,
        Detail::Any,
    ));
    stack.assert_refusals(refusals).await;
    assert_eq!(stack.list_plugins(&admin).await.ok(), json!([]));
}

/// Exports only `validate-config`.
const MISSING_DECIDE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 8192))
  (func (export "validate-config") (param i32 i32) (result i32)
    (i32.store8 (i32.const 1024) (i32.const 0)) (i32.const 1024)))"#;

fn wat_module(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("WAT")
}

#[tokio::test]
async fn only_the_tenants_own_admins_see_and_change_its_plugins() {
    let stack = Stack::from_env();
    let a = TestTenant::create(&stack).await;
    let b = TestTenant::create(&stack).await;
    assert_eq!(upload(&a, "mine", built_in_plugin("classic")).await, 1);
    let other = b.admin_token();
    assert_eq!(stack.list_plugins(&other).await.ok(), json!([]));
    for reply in [
        stack.get_plugin(&other, "mine", 1).await,
        stack.delete_plugin(&other, "mine", 1).await,
        stack
            .simulate(&other, "mine", 1, json!({ "candidates": [] }))
            .await,
        stack.validate_config(&other, "mine", 1, json!({})).await,
    ] {
        reply.assert_problem(404, "Plugin mine has no version 1");
    }
    // A provisioning application is no tenant admin; no token is nobody.
    let app = a.app_token();
    stack
        .list_plugins(&app)
        .await
        .assert_problem(403, ADMIN_MISSING);
    stack
        .upload_plugin(&app, "mine", built_in_plugin("classic"))
        .await
        .assert_problem(403, ADMIN_MISSING);
    stack
        .send(reqwest::Method::GET, PLUGINS_PATH, None, Body::None)
        .await
        .assert_status(401);
    // Still there for its owner.
    stack
        .get_plugin(&a.admin_token(), "mine", 1)
        .await
        .assert_status(200);
}

fn agents() -> Value {
    json!([
        { "agentId": "ana", "skills": { "billing": 90, "german": 60 }, "idleSeconds": 10 },
        { "agentId": "ben", "skills": { "billing": 85, "german": 70 }, "idleSeconds": 50 },
        { "agentId": "cem", "skills": { "billing": 50 }, "idleSeconds": 500 },
        { "agentId": "dan", "skills": { "billing": 80, "german": 70 }, "idleSeconds": 20 },
        { "agentId": "eve", "skills": { "german": 90 }, "idleSeconds": 900 }
    ])
}

#[tokio::test]
async fn skill_based_simulation_escalates_as_the_task_waits() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    upload(&t, "skills", built_in_plugin("skill_based")).await;
    let simulate = |waited: u32, candidates: Value| {
        let body = json!({
            "configuration": skill_config(),
            "task": { "id": "t-1", "waitedSeconds": waited, "modality": "audio" },
            "candidates": candidates,
        });
        let stack = stack.clone();
        let admin = admin.clone();
        async move { stack.simulate(&admin, "skills", 1, body).await.ok() }
    };

    // Step 1 (billing ≥ 80 and german ≥ 50), by summed level, then longest idle:
    // ben 155; dan 150 idle 20; ana 150 idle 10.
    let first = simulate(5, agents()).await;
    assert_eq!(order(&first), ["ben", "dan", "ana"]);
    assert_eq!(first["fellBack"], false);
    assert_eq!(first["error"], Value::Null);
    assert!(first["fuelUsed"].as_u64().unwrap_or(0) > 0, "{first}");
    assert!(first["elapsedMicros"].as_u64().is_some());
    assert_eq!(first["limits"]["fuel"], 10_000_000);

    // Step 2 after 30 s (billing ≥ 40): ana 90, ben 85, dan 80, cem 50.
    let later = simulate(45, agents()).await;
    assert_eq!(order(&later), ["ana", "ben", "dan", "cem"]);

    // Nobody with billing: wait for the next step, then overflow past the last one.
    let only_eve = json!([{ "agentId": "eve", "skills": { "german": 90 } }]);
    let early = simulate(5, only_eve.clone()).await;
    assert_eq!(
        early["decision"],
        json!({ "type": "wait", "recheckSeconds": 25 })
    );
    let late = simulate(45, only_eve).await;
    assert_eq!(
        late["decision"],
        json!({ "type": "overflow", "reason": "no billing agent", "target": "billing-backup" })
    );
}

#[tokio::test]
async fn configurations_are_checked_by_the_plugin_itself() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    upload(&t, "skills", built_in_plugin("skill_based")).await;
    let valid = stack
        .validate_config(&admin, "skills", 1, skill_config())
        .await
        .ok();
    assert_eq!(valid, json!({ "valid": true }));
    let bad = json!({ "steps": [{ "afterSeconds": 10, "requirements": [] }] });
    let invalid = stack
        .validate_config(&admin, "skills", 1, bad.clone())
        .await
        .ok();
    assert_eq!(invalid["valid"], false);
    let reason = invalid["reason"].as_str().expect("reason").to_owned();
    assert!(!reason.is_empty());
    let simulate = |version: u32, body: Value| Request::simulate(&admin, "skills", version, body);
    let cases = vec![
        // Simulate refuses the same configuration with the plugin's words.
        (
            "configuration the plugin rejects",
            simulate(1, json!({ "configuration": bad, "candidates": [] })),
            400,
            Detail::is(format!(
                "\"configuration\" was rejected by the plugin: {reason}"
            )),
        ),
        // Bad simulation input is named.
        (
            "no candidates",
            simulate(1, json!({})),
            400,
            Detail::is("\"candidates\": invalid type: null, expected a sequence"),
        ),
        (
            "unknown field",
            simulate(1, json!({ "candidates": [], "colour": "red" })),
            400,
            Detail::is(
                "\"colour\" is not a simulation field (configuration, task, candidates, moment)",
            ),
        ),
        (
            "skill level above 100",
            simulate(
                1,
                json!({ "candidates": [{ "agentId": "a", "skills": { "billing": 101 } }] }),
            ),
            400,
            Detail::is("\"candidates[0].skills.billing\" is 101; levels are 1 to 100"),
        ),
        (
            "unknown time zone",
            simulate(
                1,
                json!({
                    "candidates": [],
                    "moment": { "at": "2026-01-01T00:00:00Z", "timeZone": "Mars/Olympus" }
                }),
            ),
            400,
            Detail::is(
                "\"timeZone\" is \"Mars/Olympus\", not an IANA time zone such as \"Europe/Berlin\"",
            ),
        ),
        (
            "version 0",
            simulate(0, json!({ "candidates": [] })),
            400,
            Detail::is("\"version\" \"0\" is not a version number (1, 2, …)"),
        ),
    ];
    stack.assert_refusals(cases).await;
}

#[tokio::test]
async fn time_of_day_follows_the_services_clock_through_dst_and_holidays() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    upload(&t, "hours", built_in_plugin("time_of_day")).await;
    let config = json!({
        "windows": [
            { "days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:00",
              "strategy": "longest-idle" },
            { "days": ["fri"], "from": "22:00", "to": "06:00", "strategy": "longest-idle" }
        ],
        "holidays": ["2026-12-25"],
        "outOfHours": { "reason": "closed", "target": "voicemail" }
    });
    let candidates = json!([
        { "agentId": "a", "idleSeconds": 5 },
        { "agentId": "b", "idleSeconds": 50 }
    ]);
    let at = |at: &str, holidays: Value| {
        let body = json!({
            "configuration": config,
            "candidates": candidates,
            "moment": { "at": at, "timeZone": "Europe/Berlin", "holidays": holidays },
        });
        let stack = stack.clone();
        let admin = admin.clone();
        async move { stack.simulate(&admin, "hours", 1, body).await.ok() }
    };
    let closed = json!({ "type": "overflow", "reason": "closed", "target": "voicemail" });

    // 06:30 UTC is 07:30 in Berlin on Friday 27 March (CET): closed…
    assert_eq!(
        at("2026-03-27T06:30:00Z", json!([])).await["decision"],
        closed
    );
    // …and 08:30 on Monday 30 March, after the clocks went forward (CEST): open.
    let open = at("2026-03-30T06:30:00Z", json!([])).await;
    assert_eq!(order(&open), ["b", "a"]);
    // The Friday night window runs past midnight: Saturday 05:30 local is in, 06:30 out.
    assert_eq!(
        order(&at("2026-03-28T04:30:00Z", json!([])).await),
        ["b", "a"]
    );
    assert_eq!(
        at("2026-03-28T05:30:00Z", json!([])).await["decision"],
        closed
    );
    // A configured holiday, and a holiday the host flags from the service's calendar.
    assert_eq!(
        at("2026-12-25T10:00:00Z", json!([])).await["decision"],
        closed
    );
    assert_eq!(
        order(&at("2026-12-24T10:00:00Z", json!([])).await),
        ["b", "a"]
    );
    assert_eq!(
        at("2026-12-24T10:00:00Z", json!(["2026-12-24"])).await["decision"],
        closed
    );
}

#[tokio::test]
async fn random_strategies_are_repeatable_given_the_seed() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    upload(&t, "classic", built_in_plugin("classic")).await;
    let candidates: Vec<Value> = (0..12)
        .map(|i| json!({ "agentId": format!("agent-{i}") }))
        .collect();
    let draw = |seed: u64| {
        let body = json!({
            "configuration": { "strategy": "random" },
            "candidates": candidates,
            "moment": { "at": "2026-06-01T12:00:00Z", "seed": seed },
        });
        let stack = stack.clone();
        let admin = admin.clone();
        async move { order(&stack.simulate(&admin, "classic", 1, body).await.ok()) }
    };
    let first = draw(7).await;
    assert_eq!(first.len(), 12);
    assert_eq!(draw(7).await, first);
    assert_ne!(draw(8).await, first);
}

#[tokio::test]
async fn a_failing_plugin_fails_only_its_decision_and_longest_idle_decides() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let spinner =
        fixtures::componentize(&fixtures::module(1, "(loop $l (br $l)) (unreachable)", ""));
    upload(&t, "spinner", spinner).await;
    let body = json!({ "candidates": [
        { "agentId": "short", "idleSeconds": 5 },
        { "agentId": "long", "idleSeconds": 500 },
        { "agentId": "mid", "idleSeconds": 50 }
    ] });
    let result = stack.simulate(&admin, "spinner", 1, body).await.ok();
    assert_eq!(result["fellBack"], true);
    // Whichever limit strikes first on a busy machine: the instruction budget or the deadline.
    match result["error"]["code"].as_str() {
        Some("fuel-exhausted") => {
            assert_eq!(
                result["error"]["message"],
                "instruction budget of 10000000 fuel exhausted"
            );
            assert_eq!(result["fuelUsed"], 10_000_000);
        }
        Some("deadline-exceeded") => assert_eq!(
            result["error"]["message"],
            "wall-clock deadline of 20 ms exceeded"
        ),
        _ => panic!("expected a fuel or deadline failure: {result}"),
    }
    assert_eq!(order(&result), ["long", "mid", "short"]);
    assert_eq!(result["reason"], "longest idle");
    // The function lives on: the next request is served.
    stack
        .get_plugin(&admin, "spinner", 1)
        .await
        .assert_status(200);
}

/// Whoever can write the table can replace an artifact and its digest, but cannot seal it:
/// the host refuses it before deserializing, compiles the stored source again, decides as
/// before, and writes a sealed artifact back.
#[tokio::test]
async fn an_artifact_rewritten_in_the_table_is_never_loaded() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let version = upload(&t, "classic", built_in_plugin("classic")).await;
    let body = json!({
        "configuration": { "strategy": "longest-idle" },
        "candidates": [
            { "agentId": "ana", "idleSeconds": 30 },
            { "agentId": "ben", "idleSeconds": 300 }
        ]
    });

    let store = stratus_kernel::table::Table::from_env()
        .await
        .expect("table");
    let tenant = stratus_kernel::Guid::parse(&t.id).expect("tenant id");
    let stored = store
        .plugin_version(&tenant, "classic", version)
        .await
        .expect("read")
        .expect("stored");
    let forged = b"\0asm not a real artifact, and no key to seal it".to_vec();
    let rewritten = stratus_routing::stored::PluginVersion {
        artifact_sha256: sha256_hex(&forged),
        artifact_size: forged.len() as u64,
        artifact_seal: Some("00".repeat(32)),
        ..stored.clone()
    };
    store
        .replace_plugin_artifact(&tenant, &rewritten, &forged)
        .await
        .expect("rewrite the artifact");

    let simulation = stack.simulate(&admin, "classic", version, body).await.ok();
    assert_eq!(simulation["fellBack"], false, "{simulation}");
    assert_eq!(order(&simulation), ["ben", "ana"]);

    let repaired = store
        .plugin_version(&tenant, "classic", version)
        .await
        .expect("read")
        .expect("stored");
    // Compiling is deterministic: the same artifact, under the same seal, is filed again.
    assert_eq!(
        repaired.artifact_sha256, stored.artifact_sha256,
        "written back"
    );
    assert_eq!(repaired.artifact_seal, stored.artifact_seal);
}

/// Tests that keep the plugin compiler busy for seconds. `cargo xtask test` runs them after
/// the other black-box tests, one at a time: on a 2-core machine their compiles would starve
/// the parallel tests' decisions of the CPU that their 20 ms deadlines count on.
mod compiler_heavy {
    use super::*;

    #[tokio::test]
    async fn a_javascript_policy_runs_under_the_interpreted_profile() {
        let stack = Stack::from_env();
        let t = TestTenant::create(&stack).await;
        let admin = t.admin_token();
        // Rust, host calls and all, is compiled code.
        let classic = stack
            .upload_plugin(&admin, "classic", built_in_plugin("classic"))
            .await;
        classic.assert_status(201);
        assert_eq!(classic.body["profile"], "compiled");
        assert_eq!(classic.body["limits"]["fuel"], 10_000_000);
        let uploaded = stack
            .upload_plugin(&admin, "js-threshold", javascript_plugin())
            .await;
        uploaded.assert_status(201);
        assert_eq!(uploaded.body["profile"], "interpreted");
        assert_eq!(uploaded.body["limits"]["fuel"], 60_000_000);
        assert_eq!(uploaded.body["limits"]["maxCoreInstances"], 16);
        assert_eq!(uploaded.body["limits"]["maxMemories"], 4);
        let version = uploaded.body["version"].as_u64().expect("version") as u32;
        let got = stack.get_plugin(&admin, "js-threshold", version).await.ok();
        assert_eq!(got["profile"], "interpreted");

        let check = stack
            .validate_config(
                &admin,
                "js-threshold",
                version,
                json!({ "skill": "billing", "minLevel": 101 }),
            )
            .await
            .ok();
        assert_eq!(check["valid"], false);
        assert!(
            check["reason"]
                .as_str()
                .unwrap_or_default()
                .starts_with("minLevel:"),
            "{check}"
        );

        let simulation = stack
            .simulate(
                &admin,
                "js-threshold",
                version,
                json!({
                    "configuration": { "skill": "billing", "minLevel": 50 },
                    "candidates": [
                        { "agentId": "ana", "skills": { "billing": 90 }, "idleSeconds": 30 },
                        { "agentId": "ben", "skills": { "billing": 60 }, "idleSeconds": 300 },
                        { "agentId": "cy", "skills": { "billing": 20 }, "idleSeconds": 1000 }
                    ]
                }),
            )
            .await
            .ok();
        assert_eq!(simulation["profile"], "interpreted");
        assert_eq!(simulation["fellBack"], false, "{simulation}");
        assert_eq!(order(&simulation), ["ben", "ana"]);
    }

    /// An upload that keeps the compiler busy for seconds holds up no other: a second upload
    /// started meanwhile is answered first, and both are answered.
    #[tokio::test]
    async fn a_second_upload_during_a_slow_one_answers_normally() {
        let stack = Stack::from_env();
        let t = TestTenant::create(&stack).await;
        let admin = t.admin_token();
        let slow = {
            let (stack, admin) = (stack.clone(), admin.clone());
            let bytes = fixtures::shapes::branchy(20_000);
            tokio::spawn(async move {
                let reply = stack.upload_plugin(&admin, "slow", bytes).await;
                (reply, std::time::Instant::now())
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let quick = stack
            .upload_plugin(
                &admin,
                "quick",
                fixtures::componentize(&fixtures::fixed_offer(&[0], "ok")),
            )
            .await;
        let quick_done = std::time::Instant::now();
        quick.assert_status(201);
        let (slow, slow_done) = slow.await.expect("slow upload task");
        // Accepted, or refused for its compile budget: answered either way.
        assert!(
            slow.status == 201 || slow.detail().contains("compile-timeout"),
            "{} {}",
            slow.status,
            slow.text
        );
        assert!(
            quick_done < slow_done,
            "the quick upload ({:?}) waited for the slow one ({:?})",
            quick.elapsed,
            slow.elapsed
        );
        eprintln!(
            "uploads: 20,000-branch function {} after {:?}; small component 201 after {:?}",
            slow.status, slow.elapsed, quick.elapsed
        );
    }
}

//! The host against well-behaved and hostile components: every failure is typed, bounded in
//! time and memory, and (per decision) answered by the longest-idle fallback.

mod fixtures;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fixtures::*;
use stratus_routing::{
    CompiledPolicy, Decision, DecisionResult, Limits, PluginError, Policy, PolicyEngine,
};

fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::new(Limits::default()).expect("engine"))
}

fn compile(wat: &str) -> CompiledPolicy {
    Policy::compile(engine(), &componentize(wat))
        .expect("component is accepted")
        .policy
}

fn order(result: &DecisionResult) -> Vec<u32> {
    match &result.outcome.decision {
        Decision::Offer(offer) => offer.order.clone(),
        other => panic!("expected an offer, got {other:?}"),
    }
}

/// The plugin failed with `expected`, the fallback (longest idle) decided, quickly.
fn assert_fell_back(result: &DecisionResult, expected: impl Fn(&PluginError) -> bool) {
    let error = result.error.as_ref().expect("the plugin failed");
    assert!(expected(error), "unexpected error: {error:?}");
    assert_eq!(order(result), vec![1, 2, 0], "longest idle decides instead");
    assert!(
        result.elapsed < Duration::from_secs(1),
        "bounded time: {:?}",
        result.elapsed
    );
}

// --- well-behaved ---

const REVERSE_WITH_HOST_ID: &str = r#"
    (local $n i32) (local $i i32)
    (local.set $n (i32.load offset=48 (local.get $args)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store
          (i32.add (i32.const 2048) (i32.shl (local.get $i) (i32.const 2)))
          (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    ;; reason = the id of the first candidate offered, asked of the host
    (call $candidate_id (i32.sub (local.get $n) (i32.const 1)) (i32.const 3072))
    (i32.store8 (i32.const 1024) (i32.const 0))
    (i32.store (i32.const 1028) (i32.const 2048))
    (i32.store (i32.const 1032) (local.get $n))
    (i32.store8 (i32.const 1036) (i32.const 1))
    (i32.store (i32.const 1048) (i32.load (i32.const 3072)))
    (i32.store (i32.const 1052) (i32.load (i32.const 3076)))
    (i32.const 1024)
"#;

#[test]
fn well_behaved_component_orders_candidates_through_an_artifact() {
    let wat = module(
        1,
        REVERSE_WITH_HOST_ID,
        r#"(import "stratus:routing/host@1.0.0" "candidate-id" (func $candidate_id (param i32 i32)))"#,
    );
    let uploaded = Policy::compile(engine(), &componentize(&wat)).expect("accepted");
    assert_eq!(uploaded.artifact_sha256.len(), 64);
    assert!(uploaded
        .policy
        .imports()
        .contains(&"stratus:routing/host@1.0.0".to_owned()));
    assert!(uploaded.policy.exports().contains(&"decide".to_owned()));

    // The routing path: from the stored artifact, hash checked.
    let policy =
        CompiledPolicy::from_artifact(engine(), &uploaded.artifact, &uploaded.artifact_seal)
            .expect("artifact loads");
    let result = policy.decide(&input());
    assert_eq!(result.error, None);
    assert_eq!(order(&result), vec![2, 1, 0]);
    assert_eq!(result.outcome.reason, "agent-c");
    match &result.outcome.decision {
        Decision::Offer(offer) => assert!(offer.simultaneous),
        other => panic!("{other:?}"),
    }
    assert!(
        result.fuel_used > 0 && result.fuel_used < 10_000,
        "fuel {}",
        result.fuel_used
    );

    // Deterministic and reusable: a fresh store per decision.
    for _ in 0..3 {
        let again = policy.decide(&input());
        assert_eq!(again.outcome, result.outcome);
        assert_eq!(again.fuel_used, result.fuel_used);
    }
    assert_eq!(policy.validate_config("{}"), Ok(()));
}

#[test]
fn validate_config_rejection_is_reported() {
    // validate-config answering err("bad weights")
    let wat = module(1, &offer(0, 0), r#"(data (i32.const 4096) "bad weights")"#).replace(
        "(i32.store8 (i32.const 1024) (i32.const 0))\n    (i32.const 1024))",
        "(i32.store8 (i32.const 1024) (i32.const 1))
         (i32.store (i32.const 1028) (i32.const 4096))
         (i32.store (i32.const 1032) (i32.const 11))
         (i32.const 1024))",
    );
    let policy = compile(&wat);
    assert_eq!(
        policy.validate_config("{\"weights\":[]}"),
        Err(stratus_routing::ConfigError::Rejected("bad weights".into()))
    );
}

// --- hostile at decision time: fallback ---

#[test]
fn infinite_loop_is_stopped_by_fuel() {
    let policy = compile(&module(1, "(loop $l (br $l)) (unreachable)", ""));
    let started = Instant::now();
    let result = policy.decide(&input());
    assert_fell_back(&result, |e| {
        matches!(
            e,
            PluginError::FuelExhausted { .. } | PluginError::DeadlineExceeded { .. }
        )
    });
    assert!(started.elapsed() < Duration::from_millis(500));
    // The process carries on: the next decision runs too.
    assert!(policy.decide(&input()).fell_back());
}

#[test]
fn infinite_loop_is_stopped_by_the_epoch_deadline_when_fuel_is_ample() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        deadline_ticks: 20,
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits).expect("engine");
    let bytes = componentize(&module(1, "(loop $l (br $l)) (unreachable)", ""));
    let policy = Policy::compile(&engine, &bytes).expect("accepted").policy;
    let started = Instant::now();
    let result = policy.decide(&input());
    assert_fell_back(&result, |e| {
        matches!(e, PluginError::DeadlineExceeded { .. })
    });
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(15) && took < Duration::from_millis(500),
        "{took:?}"
    );
}

#[test]
fn host_call_storm_is_bounded() {
    // Asks the host for a string forever; each answer is allocated in guest memory.
    let wat = module(
        1,
        "(loop $l (call $candidate_id (i32.const 0) (i32.const 3072)) (br $l)) (unreachable)",
        r#"(import "stratus:routing/host@1.0.0" "candidate-id" (func $candidate_id (param i32 i32)))"#,
    );
    let result = compile(&wat).decide(&input());
    assert_fell_back(&result, |e| {
        matches!(
            e,
            PluginError::FuelExhausted { .. }
                | PluginError::DeadlineExceeded { .. }
                | PluginError::MemoryLimit { .. }
        )
    });
}

#[test]
fn compiled_policies_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<CompiledPolicy>();
    assert_send_sync::<PolicyEngine>();
    let policy = compile(&fixed_offer(&[0], "x"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let policy = policy.clone();
            std::thread::spawn(move || policy.decide(&input()))
        })
        .collect();
    for handle in handles {
        let result = handle.join().expect("thread");
        assert_eq!(result.error, None);
        assert_eq!(order(&result), vec![0]);
    }
}

#[test]
fn unbounded_recursion_overflows_the_capped_stack() {
    let wat = module(1, "(call $down) (unreachable)", "(func $down (call $down))");
    let result = compile(&wat).decide(&input());
    assert_fell_back(&result, |e| *e == PluginError::StackOverflow);
}

#[test]
fn memory_growth_hits_the_memory_cap() {
    let wat = module(
        1,
        "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (unreachable)",
        "",
    );
    let result = compile(&wat).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::MemoryLimit { limit } if *limit == 16 << 20),
    );
}

#[test]
fn table_growth_hits_the_table_cap() {
    let wat = module(
        1,
        "(loop $l (drop (table.grow $t (ref.null func) (i32.const 1000))) (br $l)) (unreachable)",
        "(table $t 1 funcref)",
    );
    let result = compile(&wat).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::TableLimit { limit } if *limit == 10_000),
    );
}

#[test]
fn trap_falls_back() {
    let result = compile(&module(1, "(unreachable)", "")).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::Trap(m) if m.contains("unreachable")),
    );
}

#[test]
fn out_of_range_index_is_invalid_output() {
    let result = compile(&fixed_offer(&[0, 3], "x")).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::InvalidOutput(m) if m.contains("index 3 is out of range")),
    );
}

#[test]
fn duplicate_index_is_invalid_output() {
    let result = compile(&fixed_offer(&[2, 2], "x")).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::InvalidOutput(m) if m.contains("more than once")),
    );
}

#[test]
fn order_longer_than_the_candidates_is_invalid_output() {
    let result = compile(&fixed_offer(&[0, 1, 2, 0], "x")).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::InvalidOutput(m) if m.contains("only 3 candidates")),
    );
}

#[test]
fn oversized_reason_is_invalid_output() {
    let reason = "r".repeat(201);
    let result = compile(&fixed_offer(&[1], &reason)).decide(&input());
    assert_fell_back(
        &result,
        |e| matches!(e, PluginError::InvalidOutput(m) if m.contains("reason is 201 characters")),
    );
}

#[test]
fn huge_list_returned_is_bounded_by_guest_memory_and_rejected() {
    // Claims a 1M-entry order (4 MiB, inside the guest's 16 MiB of memory).
    let wat = module(80, &offer(1_000_000, 1), &data(&[0], "x"));
    let result = compile(&wat).decide(&input());
    assert_fell_back(&result, |e| matches!(e, PluginError::InvalidOutput(_)));
}

// --- hostile at upload: typed rejection ---

fn rejection(bytes: &[u8]) -> PluginError {
    match Policy::compile(engine(), bytes) {
        Ok(_) => panic!("should have been rejected"),
        Err(e) => {
            assert!(
                e.is_upload_rejection() || matches!(e, PluginError::ExceedsLimits(_)),
                "{e:?}"
            );
            e
        }
    }
}

#[test]
fn infinite_loop_at_start_up_is_rejected_at_upload() {
    let wat = module(
        1,
        &offer(0, 0),
        "(func $spin (loop $l (br $l))) (start $spin)",
    );
    let err = rejection(&componentize(&wat));
    assert!(
        matches!(&err, PluginError::StartupFailed(inner)
            if matches!(**inner, PluginError::FuelExhausted { .. } | PluginError::DeadlineExceeded { .. })),
        "{err}"
    );
}

#[test]
fn trap_at_start_up_is_rejected_at_upload() {
    let wat = module(1, &offer(0, 0), "(func $boom (unreachable)) (start $boom)");
    let err = rejection(&componentize(&wat));
    assert!(
        matches!(&err, PluginError::StartupFailed(inner) if matches!(**inner, PluginError::Trap(_))),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("start-up failed: plugin trapped"),
        "{err}"
    );
}

#[test]
fn huge_initial_memory_is_rejected_at_upload() {
    let err = rejection(&componentize(&module(1000, &offer(0, 0), "")));
    assert!(
        matches!(&err, PluginError::ExceedsLimits(m) if m.contains("memory")),
        "{err}"
    );
}

#[test]
fn huge_table_is_rejected_at_upload() {
    let err = rejection(&componentize(&module(
        1,
        &offer(0, 0),
        "(table 100000 funcref)",
    )));
    assert!(
        matches!(&err, PluginError::ExceedsLimits(m) if m.contains("table")),
        "{err}"
    );
}

#[test]
fn wasi_import_is_outside_the_allow_list() {
    let wat = module(
        1,
        &offer(0, 0),
        r#"(import "wasi:cli/environment@0.2.0" "get-arguments" (func $args (param i32)))"#,
    );
    let err = rejection(&componentize_world(&wat, "with-wasi"));
    assert_eq!(
        err,
        PluginError::DisallowedImports(vec!["wasi:cli/environment@0.2.0".into()])
    );
    assert!(err
        .to_string()
        .starts_with("imports outside the allow-list: wasi:cli/environment"));
}

#[test]
fn missing_decide_is_the_wrong_world() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 8192))
      (func (export "validate-config") (param i32 i32) (result i32)
        (i32.store8 (i32.const 1024) (i32.const 0)) (i32.const 1024)))"#;
    let err = rejection(&componentize_world(wat, "missing-decide"));
    assert!(
        matches!(&err, PluginError::WrongWorld { detail } if detail.contains("decide")),
        "{err}"
    );
}

#[test]
fn decide_with_another_signature_is_the_wrong_world() {
    let wat = r#"(module
      (memory (export "memory") 1)
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 8192))
      (func (export "decide") (param i32) (result i32) (local.get 0))
      (func (export "validate-config") (param i32 i32) (result i32)
        (i32.store8 (i32.const 1024) (i32.const 0)) (i32.const 1024)))"#;
    let err = rejection(&componentize_world(wat, "wrong-signature"));
    assert!(
        matches!(&err, PluginError::WrongWorld { detail } if detail.contains("decide")),
        "{err}"
    );
}

#[test]
fn core_module_is_not_a_component() {
    let core = wat::parse_str(fixed_offer(&[0], "x")).expect("wat");
    assert_eq!(rejection(&core), PluginError::CoreModule);
}

#[test]
fn garbage_bytes_are_not_wasm() {
    assert_eq!(rejection(b"definitely not wasm"), PluginError::NotWasm);
    // A component header followed by garbage is an invalid component.
    let mut bytes = componentize(&fixed_offer(&[0], "x"));
    bytes.truncate(40);
    assert!(matches!(rejection(&bytes), PluginError::Invalid(_)));
}

#[test]
fn oversized_binary_is_rejected_before_parsing() {
    let mut bytes = componentize(&fixed_offer(&[0], "x"));
    bytes.resize(4 * 1024 * 1024 + 1, 0);
    assert_eq!(
        rejection(&bytes),
        PluginError::TooLarge {
            size: 4 * 1024 * 1024 + 1,
            limit: 4 * 1024 * 1024
        }
    );
}

#[test]
fn tampered_artifact_is_refused_before_deserializing() {
    let uploaded = Policy::compile(engine(), &componentize(&fixed_offer(&[0], "x"))).expect("ok");
    let mut artifact = uploaded.artifact.clone();
    let middle = artifact.len() / 2;
    artifact[middle] ^= 0xff;
    match CompiledPolicy::from_artifact(engine(), &artifact, &uploaded.artifact_seal) {
        Err(PluginError::ArtifactTampered { expected, actual }) => {
            assert_eq!(expected, uploaded.artifact_seal);
            assert_ne!(actual, expected);
        }
        Err(other) => panic!("unexpected {other:?}"),
        Ok(_) => panic!("tampered artifact loaded"),
    }
    // The untouched artifact still loads.
    assert!(
        CompiledPolicy::from_artifact(engine(), &uploaded.artifact, &uploaded.artifact_seal)
            .is_ok()
    );
}

#[test]
fn an_artifact_over_this_engines_limits_exceeds_them() {
    // Compiled and sealed where 20 MiB of memory is allowed, loaded where 16 MiB is.
    let roomy = PolicyEngine::new(Limits {
        max_memory_bytes: 32 << 20,
        ..Limits::default()
    })
    .expect("engine")
    .with_artifact_key(engine().artifact_key().clone());
    let uploaded = Policy::compile(&roomy, &componentize(&module(320, &offer(0, 0), "")))
        .expect("fits the roomy engine");
    match CompiledPolicy::from_artifact(engine(), &uploaded.artifact, &uploaded.artifact_seal) {
        Err(PluginError::ExceedsLimits(m)) => assert!(m.contains("memory"), "{m}"),
        Err(other) => panic!("expected exceeds-limits, got {other:?}"),
        Ok(_) => panic!("20 MiB of memory loaded under a 16 MiB limit"),
    }
}

#[test]
fn an_artifact_compiled_otherwise_is_unusable() {
    // Unmetered code has no fuel checks: no engine that meters fuel may run it.
    let unmetered = PolicyEngine::new(Limits {
        fuel_metering: false,
        ..Limits::default()
    })
    .expect("engine")
    .with_artifact_key(engine().artifact_key().clone());
    let uploaded =
        Policy::compile(&unmetered, &componentize(&fixed_offer(&[0], "x"))).expect("accepted");
    match CompiledPolicy::from_artifact(engine(), &uploaded.artifact, &uploaded.artifact_seal) {
        Err(PluginError::ArtifactUnusable(_)) => {}
        Err(other) => panic!("expected artifact-unusable, got {other:?}"),
        Ok(_) => panic!("an unmetered artifact loaded into a metering engine"),
    }
}

// --- what the compiler is given ---------------------------------------------------------

fn too_complex(bytes: &[u8]) -> (String, u64) {
    let started = Instant::now();
    match rejection(bytes) {
        PluginError::TooComplex { what, limit, .. } => {
            eprintln!(
                "{} bytes refused ({what}) in {:?}",
                bytes.len(),
                started.elapsed()
            );
            (what, limit)
        }
        other => panic!("expected too-complex, got {other:?}"),
    }
}

#[test]
fn shapes_that_cost_the_compiler_most_are_refused_before_compiling() {
    let limits = engine().limits().compile.clone();
    assert_eq!(
        too_complex(&shapes::many_functions(limits.max_functions)),
        ("functions".into(), limits.max_functions.into())
    );
    assert_eq!(
        too_complex(&shapes::huge_function(limits.max_function_body_bytes + 1)),
        (
            "bytes in one function body".into(),
            limits.max_function_body_bytes.into()
        )
    );
    assert_eq!(
        too_complex(&shapes::many_locals(limits.max_locals_per_function + 1)),
        (
            "locals in one function".into(),
            limits.max_locals_per_function.into()
        )
    );
    assert_eq!(
        too_complex(&shapes::deep_nesting(limits.max_nesting_depth + 1)),
        (
            "blocks nested in one function".into(),
            limits.max_nesting_depth.into()
        )
    );
    let message = rejection(&shapes::deep_nesting(limits.max_nesting_depth + 1)).to_string();
    assert!(
        message.contains(&format!("the limit is {}", limits.max_nesting_depth)),
        "{message}"
    );
}

#[test]
fn shapes_just_inside_the_limits_compile() {
    let limits = engine().limits().compile.clone();
    // The module has a few functions of its own besides the generated ones.
    for (shape, bytes) in [
        (
            "many functions",
            shapes::many_functions(limits.max_functions - 10),
        ),
        (
            "deep nesting",
            shapes::deep_nesting(limits.max_nesting_depth),
        ),
        (
            "many locals",
            shapes::many_locals(limits.max_locals_per_function),
        ),
    ] {
        let started = Instant::now();
        if let Err(e) = Policy::compile(engine(), &bytes) {
            panic!("{shape}: refused: {e}");
        }
        eprintln!("{shape}: compiled in {:?}", started.elapsed());
    }
}

#[test]
fn a_compile_over_its_budget_is_refused_and_abandoned() {
    let mut limits = Limits::default();
    limits.compile.budget = Duration::from_millis(1);
    let hurried = PolicyEngine::new(limits).expect("engine");
    let bytes = shapes::branchy(2_000);
    match Policy::compile(&hurried, &bytes) {
        Err(PluginError::CompileTimeout { budget_ms: 1 }) => {}
        Err(other) => panic!("expected compile-timeout, got {other:?}"),
        Ok(_) => panic!("a 2,000-branch function compiled within 1 ms"),
    }
}

#[test]
fn a_slow_compile_holds_up_no_other() {
    let slow = shapes::branchy(20_000);
    let small = componentize(&fixed_offer(&[0], "ok"));
    let (done, finished) = std::sync::mpsc::channel();
    let slow_done = done.clone();
    let started = Instant::now();
    let slow_thread = std::thread::spawn(move || {
        let result = Policy::compile(engine(), &slow).map(|_| ());
        let _ = slow_done.send("slow");
        result
    });
    // The slow compile is under way; a small upload on the same engine goes straight through.
    std::thread::sleep(Duration::from_millis(50));
    let small_thread = std::thread::spawn(move || {
        let result = Policy::compile(engine(), &small).map(|_| ());
        let _ = done.send("small");
        result
    });
    assert_eq!(finished.recv().expect("an answer"), "small");
    small_thread.join().expect("small").expect("small accepted");
    let slow_result = slow_thread.join().expect("slow");
    eprintln!(
        "20,000-branch function: {:?} after {:?}",
        slow_result.as_ref().map_err(PluginError::code),
        started.elapsed()
    );
}

// --- text, waits and host calls -----------------------------------------------------------

#[test]
fn host_calls_are_charged_fuel() {
    const CALLS: u32 = 1_000;
    let calls = format!(
        "(local $i i32)
         (block $done (loop $l
           (br_if $done (i32.ge_u (local.get $i) (i32.const {CALLS})))
           (call $candidate_id (i32.const 0) (i32.const 3072))
           (local.set $i (i32.add (local.get $i) (i32.const 1)))
           (br $l)))
         {}",
        offer(1, 1)
    );
    let import = r#"(import "stratus:routing/host@1.0.0" "candidate-id" (func $candidate_id (param i32 i32)))"#;
    let extra = format!("{import} {}", data(&[1], "x"));
    let calling = compile(&module(1, &calls, &extra)).decide(&input());
    let quiet = compile(&fixed_offer(&[1], "x")).decide(&input());
    assert_eq!(calling.error, None);
    // Each call costs the call fee plus the bytes of "agent-a".
    let charged = u64::from(CALLS) * (stratus_routing::HOST_CALL_FUEL + 7);
    assert!(
        calling.fuel_used >= quiet.fuel_used + charged,
        "{} calls used {} fuel, a policy without them {}",
        CALLS,
        calling.fuel_used,
        quiet.fuel_used
    );
}

#[test]
fn attribute_keys_past_the_cap_are_not_looked_up() {
    let key = "k".repeat(stratus_routing::MAX_ATTRIBUTE_KEY_BYTES + 1);
    // task-attribute(key) -> option<string>: (ptr, len, return area); a `some` traps.
    let body = format!(
        "(call $task_attribute (i32.const {TEXT}) (i32.const {len}) (i32.const 3072))
         (if (i32.load8_u (i32.const 3072)) (then unreachable))
         {}",
        offer(1, 0),
        len = key.len()
    );
    let import = r#"(import "stratus:routing/host@1.0.0" "task-attribute" (func $task_attribute (param i32 i32 i32)))"#;
    let extra = format!("{import} {}", data(&[0], &key));
    let mut input = input();
    let mut strings = (*input.strings).clone();
    strings.task_attributes.insert(key.clone(), "v".into());
    input.strings = std::sync::Arc::new(strings);
    let result = compile(&module(1, &body, &extra)).decide(&input);
    assert_eq!(result.error, None, "the over-long key was looked up");
}

#[test]
fn control_characters_in_a_reason_do_not_leave_the_host() {
    // "a\nb\x1b[31m": a forged log line and an ANSI colour.
    let wat = module(1, &offer(1, 8), &data(&[1], "a\\0ab\\1b[31m"));
    let result = compile(&wat).decide(&input());
    assert_eq!(result.error, None);
    assert_eq!(result.outcome.reason, "a\u{FFFD}b\u{FFFD}[31m");
}

#[test]
fn a_wait_past_the_limit_is_clamped_and_says_so() {
    let body = format!(
        "(i32.store8 (i32.const {RET}) (i32.const 1))
         (i32.store (i32.const {payload}) (i32.const -1))
         (i32.store (i32.const {rp}) (i32.const {TEXT}))
         (i32.store (i32.const {rl}) (i32.const 0))
         (i32.const {RET})",
        payload = RET + 4,
        rp = RET + 24,
        rl = RET + 28,
    );
    let result = compile(&module(1, &body, "")).decide(&input());
    assert_eq!(result.error, None);
    let max = engine().limits().max_wait_seconds;
    assert!(matches!(result.outcome.decision, Decision::Wait(s) if s == max));
    assert_eq!(result.wait_clamped_from, Some(u32::MAX));
}

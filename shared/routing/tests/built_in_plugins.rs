//! The built-in policies (plugins/, built separately for wasm32-wasip2) through this host:
//! accepted at upload (only allowed imports), loaded from their artifact, deciding as their
//! README says. Build them first with `cargo xtask policies` (`cargo xtask test` does); they
//! are found wherever cargo put them. A missing component fails the test: a skipped case
//! proves nothing.

mod fixtures;

use std::path::PathBuf;

use fixtures::input;
use stratus_routing::{
    CompiledPolicy, ConfigError, Decision, Limits, PluginError, Policy, PolicyEngine, Profile,
};

#[path = "../../../plugins/locate.rs"]
mod locate;

fn built(name: &str) -> Vec<u8> {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    locate::built_policy(&repo_root, name)
}

fn load(engine: &PolicyEngine, bytes: &[u8]) -> CompiledPolicy {
    let uploaded = Policy::compile(engine, bytes).unwrap_or_else(|e| panic!("rejected: {e}"));
    CompiledPolicy::from_artifact(engine, &uploaded.artifact, &uploaded.artifact_seal)
        .expect("artifact loads")
}

fn order(decision: &Decision) -> Vec<u32> {
    match decision {
        Decision::Offer(offer) => offer.order.clone(),
        other => panic!("expected an offer, got {other:?}"),
    }
}

#[test]
fn built_in_policies_run_in_the_host() {
    let engine = PolicyEngine::new(Limits::default()).expect("engine");

    {
        let bytes = built("skill_based");
        let policy = load(&engine, &bytes);
        let config =
            r#"{"steps":[{"afterSeconds":0,"requirements":[{"skill":"english","minLevel":10}]}]}"#;
        assert_eq!(policy.validate_config(config), Ok(()));
        assert!(policy.validate_config("{\"steps\": 3}").is_err());
        let mut input = input();
        input.context.config = config.into();
        let result = policy.decide(&input);
        assert_eq!(result.error, None);
        // english levels 50, 60, 70: by proficiency.
        assert_eq!(order(&result.outcome.decision), vec![2, 1, 0]);
        eprintln!(
            "skill_based: fuel {} in {:?}",
            result.fuel_used, result.elapsed
        );
    }

    {
        let bytes = built("classic");
        let policy = load(&engine, &bytes);
        let config = r#"{"strategy":"longest-idle"}"#;
        assert_eq!(policy.validate_config(config), Ok(()));
        let mut input = input();
        input.context.config = config.into();
        let result = policy.decide(&input);
        assert_eq!(result.error, None);
        assert_eq!(order(&result.outcome.decision), vec![1, 2, 0]);
        eprintln!("classic: fuel {} in {:?}", result.fuel_used, result.elapsed);
    }

    {
        let bytes = built("time_of_day");
        let policy = load(&engine, &bytes);
        // Friday 10:00 local: inside the window, longest idle decides.
        let config = r#"{"windows":[{"days":["fri"],"from":"08:00","to":"17:00","strategy":"longest-idle"}]}"#;
        assert_eq!(policy.validate_config(config), Ok(()));
        let mut input = input();
        input.context.config = config.into();
        let result = policy.decide(&input);
        assert_eq!(result.error, None);
        assert_eq!(order(&result.outcome.decision), vec![1, 2, 0]);
        eprintln!(
            "time_of_day: fuel {} in {:?}",
            result.fuel_used, result.elapsed
        );
    }
}

/// The JavaScript example (plugins/examples/js, jco with QuickJS): a component that carries a
/// language runtime, which the compiled profile's limits refuse and the interpreted one runs.
#[test]
fn javascript_example_runs_under_the_interpreted_profile() {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bytes = locate::built_js_policy(&repo_root);
    assert_eq!(Profile::of(&bytes), Profile::Interpreted);
    // The built-ins stay compiled, also those whose host calls bring wit-component's shims.
    for name in ["skill_based", "classic", "time_of_day"] {
        assert_eq!(Profile::of(&built(name)), Profile::Compiled, "{name}");
    }

    let compiled = PolicyEngine::new(Limits::default()).expect("engine");
    match Policy::compile(&compiled, &bytes) {
        Err(PluginError::ExceedsLimits(why)) => assert!(why.contains("core"), "{why}"),
        Err(other) => panic!("expected exceeds-limits, got {other:?}"),
        Ok(_) => panic!("the compiled profile took a component with 11 core instances"),
    }

    // The budget is AWS's; a debug build on a busy 2-core machine (the test suite compiling
    // beside it) can take longer, and the budget is not what this test is about.
    let mut limits = Profile::Interpreted.limits();
    limits.compile.budget = std::time::Duration::from_secs(60);
    let engine = PolicyEngine::new(limits).expect("engine");
    let started = std::time::Instant::now();
    let policy = load(&engine, &bytes);
    eprintln!("javascript: compiled and loaded in {:?}", started.elapsed());
    let config = r#"{"skill":"english","minLevel":55}"#;
    assert_eq!(policy.validate_config(config), Ok(()));
    match policy.validate_config(r#"{"skill":"english","minLevel":101}"#) {
        Err(ConfigError::Rejected(reason)) => assert!(reason.contains("minLevel"), "{reason}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let mut input = input();
    input.context.config = config.into();
    let result = policy.decide(&input);
    assert_eq!(result.error, None);
    // english 50, 60, 70 and idle 10, 30, 20: candidates 1 and 2 qualify, longest idle first.
    assert_eq!(order(&result.outcome.decision), vec![1, 2]);
    eprintln!(
        "javascript: fuel {} in {:?}",
        result.fuel_used, result.elapsed
    );
}

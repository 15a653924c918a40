//! Decision latency of the routing host. Baseline: the same skill-based policy written
//! natively in Rust (`native::skill_based`) on the same inputs.
//!
//! Needs the built-in plugins built first (the bench stops with this hint otherwise); they are
//! found wherever cargo put them:
//!   cargo xtask policies
//!   cargo bench -p stratus-routing --bench decision
//!
//! Rows: warm decision (fresh store + instantiate + call) for 10/100/1000 candidates, plugin
//! and native; the same with fuel metering off (fuel overhead); fresh instantiation of a
//! trivial component; first decision from a precompiled artifact (deserialize, InstancePre,
//! decide) in a warm process, and in a new process (this binary started again, once per
//! sample: engine + load + decide, the way a cold routing function meets a policy);
//! upload-time compile (artifact size printed once).

#[path = "../tests/fixtures/mod.rs"]
mod fixtures;

use std::path::PathBuf;

use criterion::{criterion_group, BenchmarkId, Criterion};
use stratus_routing::{
    native, ArtifactKey, CompiledPolicy, DecisionInput, Limits, Policy, PolicyEngine, Profile,
    SkillRequirement,
};

const SKILLS: usize = 8;
const CONFIG: &str = r#"{"steps":[{"afterSeconds":0,"requirements":[{"skill":"s0","minLevel":20},{"skill":"s1","minLevel":10}]}]}"#;

#[path = "../../../plugins/locate.rs"]
mod locate;

fn skill_based_plugin() -> Option<Vec<u8>> {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    Some(locate::built_policy(&repo_root, "skill_based"))
}

/// `n` candidates over an 8-skill table, levels and idle times from a fixed LCG.
fn input(n: u32) -> DecisionInput {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u32| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as u32) % m
    };
    let mut input = fixtures::input();
    let n_us = n as usize;
    input.skill_names = (0..SKILLS).map(|i| format!("s{i}")).collect();
    input.task.required_skills = vec![];
    input.candidates.count = n;
    input.candidates.skill_levels = (0..n_us * SKILLS).map(|_| next(101) as u8).collect();
    input.candidates.idle_seconds = (0..n).map(|_| next(3600)).collect();
    input.candidates.handled_today = vec![0; n_us];
    input.candidates.talk_seconds_today = vec![0; n_us];
    input.candidates.last_offered_seconds_ago = vec![u32::MAX; n_us];
    input.candidates.last_answered_seconds_ago = vec![u32::MAX; n_us];
    input.context.config = CONFIG.into();
    input
}

fn bench(c: &mut Criterion) {
    let engine = PolicyEngine::new(Limits::default()).expect("engine");
    let unmetered = PolicyEngine::new(Limits {
        fuel_metering: false,
        ..Limits::default()
    })
    .expect("engine");
    let required = [
        SkillRequirement {
            skill: 0,
            min_level: 20,
        },
        SkillRequirement {
            skill: 1,
            min_level: 10,
        },
    ];

    let plugin = skill_based_plugin();
    let compiled = plugin.as_ref().map(|bytes| {
        let uploaded = Policy::compile(&engine, bytes).expect("skill-based accepted");
        eprintln!(
            "skill-based: component {} bytes, artifact {} bytes",
            bytes.len(),
            uploaded.artifact.len()
        );
        let unmetered = Policy::compile(&unmetered, bytes).expect("accepted").policy;
        (uploaded, unmetered)
    });

    let mut group = c.benchmark_group("skill_based");
    for n in [10u32, 100, 1000] {
        let input = input(n);
        group.bench_with_input(BenchmarkId::new("native", n), &input, |b, input| {
            b.iter(|| native::skill_based(&required, SKILLS, &input.candidates))
        });
        if let Some((uploaded, unmetered)) = &compiled {
            let first = uploaded.policy.decide(&input);
            assert_eq!(first.error, None, "plugin decided");
            assert_eq!(
                first.outcome.decision,
                native::skill_based(&required, SKILLS, &input.candidates).decision,
                "plugin and native agree"
            );
            group.bench_with_input(BenchmarkId::new("plugin", n), &input, |b, input| {
                b.iter(|| uploaded.policy.decide(input))
            });
            group.bench_with_input(
                BenchmarkId::new("plugin_fuel_off", n),
                &input,
                |b, input| b.iter(|| unmetered.decide(input)),
            );
        }
    }
    group.finish();

    javascript(c);
    large_data(c, &engine);

    // Fresh store + instantiate + a call that only writes a constant answer.
    let trivial = Policy::compile(
        &engine,
        &fixtures::componentize(&fixtures::fixed_offer(&[], "")),
    )
    .expect("trivial accepted")
    .policy;
    let small = fixtures::input();
    c.bench_function("instantiate_and_trivial_call", |b| {
        b.iter(|| trivial.decide(&small))
    });

    if let Some((uploaded, _)) = &compiled {
        let input = input(100);
        c.bench_function("first_decision_from_artifact_100", |b| {
            b.iter(|| {
                let policy = CompiledPolicy::from_artifact(
                    &engine,
                    &uploaded.artifact,
                    &uploaded.artifact_seal,
                )
                .expect("loads");
                policy.decide(&input)
            })
        });
        let bytes = plugin.as_deref().unwrap_or_default();
        let mut slow = c.benchmark_group("upload");
        slow.sample_size(10);
        slow.bench_function("compile_skill_based", |b| {
            b.iter(|| Policy::compile(&engine, bytes).expect("accepted"))
        });
        slow.finish();
    }
}

/// The JavaScript example (jco, QuickJS) under the interpreted profile, next to the rows above:
/// its policy (longest idle above a skill threshold) is simpler than skill-based, so the
/// comparison shows what the interpreter costs, not what the policy does.
fn javascript(c: &mut Criterion) {
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bytes = locate::built_js_policy(&repo_root);
    let engine = PolicyEngine::new(Profile::Interpreted.limits()).expect("engine");
    let started = std::time::Instant::now();
    let uploaded = Policy::compile(&engine, &bytes).expect("javascript accepted");
    eprintln!(
        "javascript: component {} bytes, artifact {} bytes, compiled in {:?}",
        bytes.len(),
        uploaded.artifact.len(),
        started.elapsed()
    );
    let mut group = c.benchmark_group("javascript");
    for n in [10u32, 100, 1000] {
        let mut input = input(n);
        input.context.config = r#"{"skill":"s0","minLevel":20}"#.into();
        let first = uploaded.policy.decide(&input);
        assert_eq!(first.error, None, "javascript decided");
        eprintln!("javascript: {n} candidates, fuel {}", first.fuel_used);
        group.bench_with_input(BenchmarkId::new("plugin", n), &input, |b, input| {
            b.iter(|| uploaded.policy.decide(input))
        });
    }
    let mut input = input(100);
    input.context.config = r#"{"skill":"s0","minLevel":20}"#.into();
    group.sample_size(20);
    group.bench_function("first_decision_from_artifact_100", |b| {
        b.iter(|| {
            CompiledPolicy::from_artifact(&engine, &uploaded.artifact, &uploaded.artifact_seal)
                .expect("loads")
                .decide(&input)
        })
    });
    group.finish();
}

/// A policy whose memory starts with 4 MB of data (as large as the upload limit allows): what its first decision costs (cold load
/// of a large artifact) and what its next ones cost (copy-on-write memory images: a fresh
/// instance maps the initial memory instead of copying it, so it should cost what a small
/// policy's does).
fn large_data(c: &mut Criterion, engine: &PolicyEngine) {
    let data = "a".repeat(4_000_000);
    let wat = fixtures::module(
        80,
        &fixtures::offer(1, 1),
        &format!(
            r#"{} (data (i32.const 65536) "{data}")"#,
            fixtures::data(&[0], "x")
        ),
    );
    let bytes = fixtures::componentize(&wat);
    let uploaded = Policy::compile(engine, &bytes).expect("accepted");
    eprintln!(
        "4 MB data: component {} bytes, artifact {} bytes",
        bytes.len(),
        uploaded.artifact.len()
    );
    let input = input(100);
    let mut group = c.benchmark_group("large_data_4mb");
    group.sample_size(20);
    group.bench_function("first_decision_from_artifact", |b| {
        b.iter(|| {
            CompiledPolicy::from_artifact(engine, &uploaded.artifact, &uploaded.artifact_seal)
                .expect("loads")
                .decide(&input)
        })
    });
    group.bench_function("decide", |b| b.iter(|| uploaded.policy.decide(&input)));
    group.finish();
}

/// Set in a child process: the artifact to meet for the first time.
const CHILD_ARTIFACT: &str = "STRATUS_BENCH_FIRST_DECISION_ARTIFACT";
const NEW_PROCESS_SAMPLES: usize = 30;

/// The child's part: engine, load, one decision, timed from `main`; prints
/// `<engine µs> <load+decide µs>`.
fn first_decision_in_this_process(artifact_path: &str) {
    let started = std::time::Instant::now();
    let key = std::env::var("STRATUS_BENCH_ARTIFACT_KEY").expect("key");
    let key = ArtifactKey::from_secret(&key).expect("key");
    let engine = PolicyEngine::new(Limits::default())
        .expect("engine")
        .with_artifact_key(key);
    let engine_ready = started.elapsed();
    let artifact = std::fs::read(artifact_path).expect("artifact");
    let seal = std::env::var("STRATUS_BENCH_ARTIFACT_SEAL").expect("seal");
    let input = input(100);
    let loading = std::time::Instant::now();
    let policy = CompiledPolicy::from_artifact(&engine, &artifact, &seal).expect("loads");
    let result = policy.decide(&input);
    let decided = loading.elapsed();
    assert_eq!(result.error, None);
    println!("{} {}", engine_ready.as_micros(), decided.as_micros());
}

/// Starts this binary again per sample and reports the medians.
fn first_decision_in_new_processes() {
    let Some(bytes) = skill_based_plugin() else {
        return;
    };
    let engine = PolicyEngine::new(Limits::default()).expect("engine");
    let uploaded = Policy::compile(&engine, &bytes).expect("accepted");
    let dir = std::env::temp_dir().join(format!("stratus-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("skill_based.cwasm");
    std::fs::write(&path, &uploaded.artifact).expect("artifact written");
    let exe = std::env::current_exe().expect("own path");
    let mut engine_us = Vec::new();
    let mut total_us = Vec::new();
    for _ in 0..NEW_PROCESS_SAMPLES {
        let out = std::process::Command::new(&exe)
            .env(CHILD_ARTIFACT, &path)
            .env("STRATUS_BENCH_ARTIFACT_KEY", engine.artifact_key().secret())
            .env("STRATUS_BENCH_ARTIFACT_SEAL", &uploaded.artifact_seal)
            .output()
            .expect("child runs");
        assert!(out.status.success(), "child failed: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text
            .split_whitespace()
            .map(|f| f.parse::<u64>().expect("µs"));
        let (engine_part, decide_part) = (
            fields.next().expect("engine"),
            fields.next().expect("decide"),
        );
        engine_us.push(engine_part);
        total_us.push(decide_part);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    println!(
        "first_decision_new_process_100: load artifact + decide median {} µs, engine start \
         median {} µs ({NEW_PROCESS_SAMPLES} processes)",
        median(&mut total_us),
        median(&mut engine_us)
    );
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(artifact) = std::env::var(CHILD_ARTIFACT) {
        first_decision_in_this_process(&artifact);
        return;
    }
    // `cargo test --benches` runs this binary with --test/--bench filters: measure only when
    // benchmarking for real.
    if std::env::args().any(|a| a == "--bench") {
        first_decision_in_new_processes();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! `cargo xtask test`: formatting, template lint, unit tests against DynamoDB Local (the
//! stream bridge's too), then the black-box tests over HTTP against a full local stack, the
//! bridge to route-tasks included. Uses its own ports, so a `dev` stack may keep running.
//! Every step runs even after another failed, where it can; the exit code is non-zero if any
//! failed.

use std::process::Command;
use std::time::Duration;

use anyhow::bail;

use crate::process::{self, ensure_port_free, Service, TestCounts};
use crate::stack::{
    self, test_api_port, test_dynamodb_port, test_graph_port, test_issuer_port, Auth,
};
use crate::{bridge, paths, policies, table, tools};

/// Watch starts up to this many instances of a function for parallel tests.
const WATCH_CONCURRENCY: &str = "8";
/// As many parallel tests as watch runs instances: with more, requests queue for the two
/// cores and a plugin's 20 ms wall-clock decision deadline can run out while its thread
/// waits to be scheduled (seen at 16 threads on this machine, in an upload's trial start-up).
const TEST_THREADS: &str = "8";
const RATE_LIMIT_MAX_DELAY_MS: u64 = 5000;
/// The one black-box test binary (tests/api/main.rs); the filters below are module paths in it.
const BLACKBOX_TEST: &str = "api";
/// The tests that freeze the stack's dependencies (tests/api/outage.rs).
const OUTAGE_TESTS: &str = "outage::";
/// The black-box tests that keep the plugin compiler busy (tests/api/plugins.rs).
const COMPILER_HEAVY_TESTS: &str = "plugins::compiler_heavy::";
/// The black-box tests that load the stack on purpose (tests/api/routing/load.rs).
const LOAD_TESTS: &str = "routing::load::";

struct Step {
    name: String,
    ok: bool,
    counts: Option<TestCounts>,
}

#[derive(Default)]
struct Report {
    steps: Vec<Step>,
}

impl Report {
    fn record(&mut self, name: &str, result: anyhow::Result<()>) -> bool {
        let ok = match result {
            Ok(()) => true,
            Err(err) => {
                eprintln!("FAILED: {name}: {err:#}");
                false
            }
        };
        self.steps.push(Step {
            name: name.to_owned(),
            ok,
            counts: None,
        });
        ok
    }

    fn record_tests(&mut self, name: &str, result: anyhow::Result<(TestCounts, bool)>) -> bool {
        let (counts, ok) = match result {
            Ok((counts, ok)) => (Some(counts), ok),
            Err(err) => {
                eprintln!("FAILED: {name}: {err:#}");
                (None, false)
            }
        };
        self.steps.push(Step {
            name: name.to_owned(),
            ok,
            counts,
        });
        ok
    }

    fn failed(&self) -> usize {
        self.steps.iter().filter(|step| !step.ok).count()
    }

    fn print(&self) {
        println!("\n== cargo xtask test ==");
        let mut total = TestCounts::default();
        for step in &self.steps {
            let counts = match step.counts {
                Some(counts) => {
                    total += counts;
                    format!(
                        " ({} passed, {} failed, {} ignored)",
                        counts.passed, counts.failed, counts.ignored
                    )
                }
                None => String::new(),
            };
            let status = if step.ok { "ok    " } else { "FAILED" };
            println!("  {status}  {}{counts}", step.name);
        }
        println!(
            "summary: {} passed, {} failed, {} skipped",
            total.passed, total.failed, total.ignored
        );
    }
}

pub async fn command() -> anyhow::Result<()> {
    let dynamodb = tools::ensure_stack_tools()?;
    tools::ensure_cfn_lint()?;
    ensure_port_free(test_dynamodb_port(), "DynamoDB Local (test)")?;
    ensure_port_free(test_api_port(), "the API (test)")?;
    ensure_port_free(test_issuer_port(), "the dev issuer (test)")?;
    ensure_port_free(test_graph_port(), "the Graph stand-in (test)")?;
    let root = paths::repo_root();
    let mut report = Report::default();

    report.record(
        "cargo fmt --check",
        process::run(
            "checking formatting",
            Command::new("cargo")
                .current_dir(&root)
                .args(["fmt", "--all", "--", "--check"]),
        ),
    );
    report.record(
        "cfn-lint infra/template.yaml",
        process::run(
            "linting the SAM template",
            Command::new("cfn-lint")
                .current_dir(&root)
                .arg("infra/template.yaml"),
        ),
    );

    let table = table::table_name();
    let auth = Auth::dev(test_issuer_port());
    let operator_tenant = stack::operator_tenant_id();
    let mut env = stack::function_env(
        test_dynamodb_port(),
        &table,
        &auth,
        &operator_tenant,
        Some(RATE_LIMIT_MAX_DELAY_MS),
    )?;
    env.extend(stack::graph_env(test_graph_port(), test_api_port()));

    let mut database =
        match stack::start_dynamodb(&dynamodb, test_dynamodb_port(), &table, "test-dynamodb").await
        {
            Ok(service) => service,
            Err(err) => {
                report.record("DynamoDB Local", Err(err));
                report.print();
                bail!("DynamoDB Local did not start");
            }
        };

    // The built-in routing policies: their logic natively, then the components the host's
    // tests and the black-box tests load (plugins/ is a workspace of its own, built for
    // wasm32-wasip2 only). The CARGO_TARGET_DIR check runs first: on a clean clone nothing
    // is in the default place yet, so a reader that assumes it fails there.
    let mut logic = Command::new("cargo");
    logic
        .current_dir(&root)
        .arg("test")
        .arg("--manifest-path")
        .arg(policies::manifest())
        .args(["-p", "policy-logic"]);
    report.record_tests(
        "routing policy logic (plugins/policy-logic)",
        process::run_tests("routing policy logic", &mut logic),
    );
    report.record_tests(
        "built-in policies found under another CARGO_TARGET_DIR",
        policies_under_another_target_dir(),
    );
    let policy_dir = match policies::build(None) {
        Ok(dir) => {
            report.record("build built-in routing policies (wasm32-wasip2)", Ok(()));
            dir
        }
        Err(err) => {
            report.record("build built-in routing policies (wasm32-wasip2)", Err(err));
            policies::dir(None).unwrap_or_default()
        }
    };
    let mut env = with_policy_dir(env, &policy_dir);
    let js_policy = policies::build_js_example().map(|path| {
        env.push((
            policies::JS_POLICY_VAR.to_owned(),
            path.display().to_string(),
        ));
    });
    report.record("build the JavaScript example policy (jco)", js_policy);

    let mut unit = Command::new("cargo");
    unit.current_dir(&root).args([
        "test",
        "--no-fail-fast",
        "--workspace",
        "--exclude",
        "stratus-blackbox-tests",
    ]);
    stack::apply_env(&mut unit, &env);
    report.record_tests("unit tests", process::run_tests("unit tests", &mut unit));
    // Each feature's storage against DynamoDB Local; no API stack needed.
    let mut storage = Command::new("cargo");
    storage.current_dir(&root).args([
        "test",
        "--no-fail-fast",
        "-p",
        "stratus-blackbox-tests",
        "--test",
        "storage",
    ]);
    stack::apply_env(&mut storage, &env);
    report.record_tests(
        "storage tests (DynamoDB Local)",
        process::run_tests("storage tests", &mut storage),
    );
    // The stream bridge's end-to-end test (ignored by a plain `cargo test`: it needs
    // DynamoDB Local, here the running one). The workspace's feature set, as in the unit-test
    // step, so the test binary built there is the one that runs.
    let mut bridge_test = Command::new("cargo");
    bridge_test
        .current_dir(&root)
        .args(["test", "--workspace", "--exclude", "stratus-blackbox-tests"])
        .args(["--bin", "xtask", "--", "--ignored", "bridge::"]);
    stack::apply_env(&mut bridge_test, &env);
    report.record_tests(
        "stream bridge (DynamoDB Local)",
        process::run_tests("stream bridge test", &mut bridge_test),
    );

    // Build everything the black-box run needs before watch starts, so that watch's first
    // request per function only starts a built binary.
    let built = report.record("build functions and black-box tests", build_for_blackbox());
    let mut watch = None;
    let mut bridge_log = None;
    if built {
        let result = run_blackbox(
            &mut database,
            &env,
            &mut watch,
            &mut bridge_log,
            &mut report,
        )
        .await;
        if let Err(err) = result {
            report.record("black-box stack", Err(err));
        }
    }

    let failed = report.failed();
    if failed > 0 {
        let mut logs = vec![database.log().to_owned()];
        if let Some(watch) = &watch {
            logs.push(watch.log().to_owned());
        }
        logs.extend(bridge_log);
        let logs: Vec<&std::path::Path> = logs.iter().map(|log| log.as_path()).collect();
        stack::print_log_tails(&logs);
    }
    if let Some(mut watch) = watch {
        watch.stop();
    }
    database.stop();
    report.print();
    if failed > 0 {
        bail!("{failed} step(s) failed");
    }
    Ok(())
}

fn with_policy_dir(
    mut env: Vec<(String, String)>,
    policy_dir: &std::path::Path,
) -> Vec<(String, String)> {
    env.push((
        policies::POLICY_DIR_VAR.to_owned(),
        policy_dir.display().to_string(),
    ));
    env
}

/// A user whose cargo puts build output elsewhere (`CARGO_TARGET_DIR`) must get working
/// plugin tests: the policies are built into a fresh temporary target dir, and the host's
/// test that loads them runs with that variable set and no `STRATUS_POLICY_DIR`, so it has to
/// ask cargo where they are. The host itself builds into the usual target dir
/// (`--target-dir` wins over the variable), so this costs one small guest build.
fn policies_under_another_target_dir() -> anyhow::Result<(TestCounts, bool)> {
    let elsewhere = std::env::temp_dir().join(format!("stratus-target-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&elsewhere);
    let result = (|| {
        let dir = policies::build(Some(&elsewhere))?;
        if !dir.starts_with(&elsewhere) {
            bail!(
                "with CARGO_TARGET_DIR={} the policies were looked for in {}",
                elsewhere.display(),
                dir.display()
            );
        }
        let mut host = Command::new("cargo");
        host.current_dir(paths::repo_root())
            // The workspace's feature set, as in the unit-test step, so the host built here
            // is the one that step uses (one package alone unifies features differently and
            // would rebuild half the dependency tree).
            .args(["test", "--workspace", "--exclude", "stratus-blackbox-tests"])
            .args([
                "--test",
                "built_in_plugins",
                "built_in_policies_run_in_the_host",
            ])
            .arg("--target-dir")
            .arg(paths::target_dir())
            .env("CARGO_TARGET_DIR", &elsewhere)
            .env_remove(policies::POLICY_DIR_VAR);
        process::run_tests(
            "the host's built-in policy tests, policies in CARGO_TARGET_DIR",
            &mut host,
        )
    })();
    let _ = std::fs::remove_dir_all(&elsewhere);
    result
}

fn build_for_blackbox() -> anyhow::Result<()> {
    stack::build_bins()?;
    process::run(
        "building the black-box tests",
        Command::new("cargo").current_dir(paths::repo_root()).args([
            "test",
            "-p",
            "stratus-blackbox-tests",
            "--test",
            BLACKBOX_TEST,
            "--no-run",
        ]),
    )
}

async fn run_blackbox(
    database: &mut Service,
    env: &[(String, String)],
    watch_slot: &mut Option<Service>,
    bridge_log: &mut Option<std::path::PathBuf>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let (_issuer, mut issuer_process) =
        stack::start_dev_issuer(test_issuer_port(), "test-issuer").await?;
    let mut graph_process = stack::start_dev_graph(test_graph_port(), "test-graph").await?;
    let watch = watch_slot.insert(stack::start_watch(
        test_api_port(),
        &["--ignore-changes", "--concurrency", WATCH_CONCURRENCY],
        env,
        "test-watch",
    )?);
    let api = stack::api_url(test_api_port());
    stack::wait_for_api(watch, &api, Duration::from_secs(10 * 60)).await?;
    let bridge = bridge::start_local(
        &stack::dynamodb_url(test_dynamodb_port()),
        &table::table_name(),
        &api,
        "test-bridge",
    )
    .await?;
    *bridge_log = bridge.as_ref().map(|bridge| bridge.log().to_owned());
    stack::warm_functions(watch, &api).await?;

    let blackbox = |filter: &[&str], threads: &str| {
        let mut command = Command::new("cargo");
        command
            .current_dir(paths::repo_root())
            .args(["test", "--no-fail-fast", "-p", "stratus-blackbox-tests"])
            .args(["--test", BLACKBOX_TEST])
            .args(filter)
            .args(["--", "--test-threads", threads]);
        stack::apply_env(&mut command, env);
        command
            .env("STRATUS_API_URL", &api)
            .env("STRATUS_DEV_ISSUER_DIR", paths::issuer_dir())
            .env("STRATUS_DEV_ISSUER_PORT", test_issuer_port().to_string())
            .env("STRATUS_DEV_GRAPH_URL", stack::api_url(test_graph_port()));
        command
    };
    // Three kinds of test run after the parallel ones, one at a time: long compiles and load
    // tests, which would starve parallel tests of the CPU their timings count on (a plugin's
    // 20 ms decision deadline, the rate limit's "not delayed"), and the outage tests, which
    // freeze DynamoDB Local and the issuer that every other test needs.
    let mut shared = blackbox(&[], TEST_THREADS);
    shared.args([
        "--skip",
        OUTAGE_TESTS,
        "--skip",
        COMPILER_HEAVY_TESTS,
        "--skip",
        LOAD_TESTS,
    ]);
    report.record_tests(
        "black-box tests",
        process::run_tests("black-box tests", &mut shared),
    );
    let mut heavy = blackbox(&[COMPILER_HEAVY_TESTS], "1");
    heavy.arg("--nocapture");
    report.record_tests(
        "black-box tests: long compiles, one at a time",
        process::run_tests("black-box tests: long compiles", &mut heavy),
    );
    let mut load = blackbox(&[LOAD_TESTS], "1");
    report.record_tests(
        "black-box tests: load, on its own",
        process::run_tests("black-box tests: load", &mut load),
    );
    let mut outage = blackbox(&[OUTAGE_TESTS], "1");
    // Their timings are figures worth seeing in every run.
    outage.arg("--nocapture");
    outage
        .env("STRATUS_DYNAMODB_PID", database.pid().to_string())
        .env("STRATUS_DEV_ISSUER_PID", issuer_process.pid().to_string());
    report.record_tests(
        "black-box tests: dependencies down",
        process::run_tests("black-box tests: dependencies down", &mut outage),
    );
    if let Some(bridge) = bridge {
        bridge.ensure_running()?;
        bridge.stop().await;
    }
    issuer_process.ensure_running()?;
    graph_process.ensure_running()?;
    database.ensure_running()?;
    watch.ensure_running()?;
    Ok(())
}

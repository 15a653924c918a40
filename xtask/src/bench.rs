//! `cargo xtask bench`: the numbers behind the design, on this machine, in one table.
//!
//! 1. DynamoDB round trips of one warm call of every operation, and a few operations' time
//!    next to the same number of raw SDK round trips (`tests/benches/operations.rs`, in
//!    process against DynamoDB Local);
//! 2. live routing: arrival → offer with 10, 100 and 1,000 eligible agents (median, p99,
//!    round trips) and decisions per second of one service (`tests/benches/routing.rs`, in
//!    process against DynamoDB Local);
//! 3. warm latency of GET and POST user through `cargo lambda watch --release`, next to
//!    DynamoDB Local's own GetItem latency, and the cold start of a function binary
//!    (`tests/benches/api_latency.rs`, against a bench stack on ports 8030/9030/9300);
//! 4. with `--sizes`: release binary size per function from `cargo lambda build --arm64`
//!    (a long cross build); the x86_64 release binaries' sizes are always listed.
//!
//! Each bench writes its section to `target/stratus-bench/`; the sections are printed and
//! collected in `target/stratus-bench/results.md`. A step that fails is reported in its
//! section and makes the command fail, after the other steps ran.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::process::{self, ensure_port_free, Service};
use crate::stack::{self, Auth};
use crate::{paths, table, tools};

pub const BENCH_DYNAMODB_PORT: u16 = 8030;
pub const BENCH_ISSUER_PORT: u16 = 9030;
pub const BENCH_API_PORT: u16 = 9300;
const RATE_LIMIT_MAX_DELAY_MS: u64 = 5000;
const ARM64_TARGET: &str = "aarch64-unknown-linux-gnu";

/// One part of the results, in markdown; `failed` when (some of) it could not be measured.
struct Section {
    markdown: String,
    failed: bool,
}

impl Section {
    fn from(title: &str, result: anyhow::Result<String>) -> Self {
        match result {
            Ok(markdown) => Self {
                markdown,
                failed: false,
            },
            Err(err) => Self {
                markdown: format!("## {title}\n\nNOT MEASURED: {err:#}\n"),
                failed: true,
            },
        }
    }
}

pub async fn command(args: &[String]) -> anyhow::Result<()> {
    let sizes = match args {
        [] => false,
        [flag] if flag == "--sizes" => true,
        _ => bail!("usage: cargo xtask bench [--sizes]"),
    };
    let dynamodb = tools::ensure_stack_tools()?;
    ensure_port_free(BENCH_DYNAMODB_PORT, "DynamoDB Local (bench)")?;
    ensure_port_free(BENCH_API_PORT, "the API (bench)")?;
    ensure_port_free(BENCH_ISSUER_PORT, "the dev issuer (bench)")?;
    let out_dir = paths::target_dir().join("stratus-bench");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    for stale in [
        "operations.md",
        "routing.md",
        "api_latency.md",
        "results.md",
    ] {
        let _ = std::fs::remove_file(out_dir.join(stale));
    }

    // Everything is built first: watch then starts built release binaries, and nothing
    // compiles while a bench measures.
    build()?;

    let table = table::table_name();
    let auth = Auth::dev(BENCH_ISSUER_PORT);
    let operator_tenant = stack::operator_tenant_id();
    let mut env = stack::function_env(
        BENCH_DYNAMODB_PORT,
        &table,
        &auth,
        &operator_tenant,
        Some(RATE_LIMIT_MAX_DELAY_MS),
    )?;
    env.push((
        "STRATUS_BENCH_RESULTS_DIR".into(),
        out_dir.display().to_string(),
    ));

    let mut sections = Vec::new();
    let mut database =
        stack::start_dynamodb(&dynamodb, BENCH_DYNAMODB_PORT, &table, "bench-dynamodb").await?;
    sections.push(Section::from(
        "DynamoDB round trips per operation",
        operations(&env, &out_dir),
    ));
    sections.push(Section::from(
        "Live routing",
        run_bench(
            "timing arrival → offer in process",
            cargo().args([
                "bench",
                "-p",
                "stratus-blackbox-tests",
                "--bench",
                "routing",
            ]),
            &env,
            &out_dir.join("routing.md"),
        ),
    ));
    sections.push(Section::from("Latency", latency(&env, &out_dir).await));
    database.stop();
    sections.push(binary_sizes(sizes));

    let failed = sections.iter().filter(|s| s.failed).count();
    let mut results = header();
    for section in &sections {
        results.push('\n');
        results.push_str(&section.markdown);
    }
    let path = out_dir.join("results.md");
    std::fs::write(&path, &results).with_context(|| format!("writing {}", path.display()))?;
    println!("\n{results}\n(written to {})", path.display());
    if failed > 0 {
        bail!("{failed} part(s) could not be measured; see above");
    }
    Ok(())
}

fn header() -> String {
    let now = stratus_kernel::clock::now_rfc3339();
    let commit = command_output(Command::new("git").args(["rev-parse", "--short", "HEAD"]));
    let dirty = command_output(Command::new("git").args(["status", "--porcelain"]));
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!(
        "# Stratus benchmarks\n\n{now}, commit {}{}, {cpus} CPUs, `cargo xtask bench`\n",
        commit.as_deref().unwrap_or("?").trim(),
        if dirty.is_some_and(|d| !d.trim().is_empty()) {
            " (with uncommitted changes)"
        } else {
            ""
        },
    )
}

/// Stdout of a command that succeeded.
fn command_output(command: &mut Command) -> Option<String> {
    let output = command.current_dir(paths::repo_root()).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn cargo() -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(paths::repo_root());
    command
}

fn build() -> anyhow::Result<()> {
    process::run(
        "building every function (release)",
        cargo().args(["build", "--release", "--workspace", "--bins"]),
    )?;
    // One package per command, as the benches run: built together, the packages would
    // unify features differently and the run would compile again.
    for (package, bench) in [
        ("stratus-blackbox-tests", "operations"),
        ("stratus-blackbox-tests", "routing"),
        ("stratus-blackbox-tests", "api_latency"),
    ] {
        process::run(
            &format!("building the {bench} bench"),
            cargo().args(["bench", "--no-run", "-p", package, "--bench", bench]),
        )?;
    }
    Ok(())
}

/// Runs a bench and reads the section it wrote.
fn run_bench(
    what: &str,
    command: &mut Command,
    env: &[(String, String)],
    section: &Path,
) -> anyhow::Result<String> {
    stack::apply_env(command, env);
    process::run(what, command)?;
    std::fs::read_to_string(section)
        .with_context(|| format!("{what} wrote no results to {}", section.display()))
}

fn operations(env: &[(String, String)], out_dir: &Path) -> anyhow::Result<String> {
    run_bench(
        "counting and timing each operation in process",
        cargo().args([
            "bench",
            "-p",
            "stratus-blackbox-tests",
            "--bench",
            "operations",
        ]),
        env,
        &out_dir.join("operations.md"),
    )
}

/// The bench stack (dev issuer, watch in release mode) around the latency bench.
async fn latency(env: &[(String, String)], out_dir: &Path) -> anyhow::Result<String> {
    let (_issuer, _issuer_process) =
        stack::start_dev_issuer(BENCH_ISSUER_PORT, "bench-issuer").await?;
    let mut watch = stack::start_watch(
        BENCH_API_PORT,
        &["--release", "--ignore-changes"],
        env,
        "bench-watch",
    )?;
    let api = stack::api_url(BENCH_API_PORT);
    let result = measure_latency(&mut watch, &api, env, out_dir).await;
    watch.stop();
    let mut section = result?;
    section.push_str(&watch_binaries(watch.log())?);
    Ok(section)
}

async fn measure_latency(
    watch: &mut Service,
    api: &str,
    env: &[(String, String)],
    out_dir: &Path,
) -> anyhow::Result<String> {
    stack::wait_for_api(watch, api, Duration::from_secs(10 * 60)).await?;
    stack::warm_functions(watch, api).await?;
    let mut env = env.to_vec();
    env.extend([
        ("STRATUS_API_URL".to_owned(), api.to_owned()),
        (
            "STRATUS_DEV_ISSUER_DIR".to_owned(),
            paths::issuer_dir().display().to_string(),
        ),
        (
            "STRATUS_DEV_ISSUER_PORT".to_owned(),
            BENCH_ISSUER_PORT.to_string(),
        ),
        (
            "STRATUS_BENCH_BIN_DIR".to_owned(),
            release_dir().display().to_string(),
        ),
    ]);
    let load = load_average();
    let mut section = run_bench(
        "measuring latency",
        cargo().args([
            "bench",
            "-p",
            "stratus-blackbox-tests",
            "--bench",
            "api_latency",
        ]),
        &env,
        &out_dir.join("api_latency.md"),
    )?;
    watch.ensure_running()?;
    if let Some(load) = load {
        section.push_str(&format!(
            "\nLoad average (1, 5, 15 min) when the latency bench started: {load}.\n"
        ));
    }
    Ok(section)
}

/// The system's load average, to tell a quiet machine from a busy one.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(", "))
}

/// Which binaries watch ran, from its log (cargo prints "Running `target/<profile>/<bin>`").
fn watch_binaries(log: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let release = text.matches("Running `target/release/").count();
    let debug = text.matches("Running `target/debug/").count();
    if release == 0 || debug > 0 {
        bail!(
            "watch did not run only release binaries ({release} release, {debug} debug \
             starts in {})",
            log.display()
        );
    }
    Ok(format!(
        "\nwatch started target/release binaries only ({release} starts, none from \
         target/debug; log {}).\n",
        log.display()
    ))
}

fn release_dir() -> PathBuf {
    paths::target_dir().join("release")
}

/// The function packages (`functions/<name>`, one binary each, named like the package).
fn functions() -> anyhow::Result<Vec<String>> {
    let dir = paths::repo_root().join("functions");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

fn size_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|meta| meta.len())
}

fn show_size(size: Option<u64>) -> String {
    match size {
        Some(bytes) => format!("{:.2} MiB ({bytes} B)", bytes as f64 / (1024.0 * 1024.0)),
        None => "–".to_owned(),
    }
}

/// Sizes of the x86_64 release binaries, and with `cross` those of the arm64 Lambda build.
/// When the arm64 build fails, the x86_64 sizes are reported with the error.
fn binary_sizes(cross: bool) -> Section {
    let functions = match functions() {
        Ok(functions) => functions,
        Err(err) => return Section::from("Release binary size per function", Err(err)),
    };
    let arm64 = if cross { Some(build_arm64()) } else { None };
    let mut out = String::from("## Release binary size per function\n\n");
    let arm64_ok = matches!(arm64, Some(Ok(())));
    if arm64_ok {
        out.push_str(
            "| function | arm64 target/lambda/<function>/bootstrap | x86_64 target/release/<function> |\n\
             |---|---:|---:|\n",
        );
    } else {
        out.push_str("| function | x86_64 target/release/<function> |\n|---|---:|\n");
    }
    for function in &functions {
        let x86 = show_size(size_of(&release_dir().join(function)));
        if arm64_ok {
            let bootstrap = paths::target_dir()
                .join("lambda")
                .join(function)
                .join("bootstrap");
            out.push_str(&format!(
                "| {function} | {} | {x86} |\n",
                show_size(size_of(&bootstrap))
            ));
        } else {
            out.push_str(&format!("| {function} | {x86} |\n"));
        }
    }
    out.push_str("\nRelease profile, symbols stripped.");
    match arm64 {
        None => out.push_str(
            " The arm64 Lambda build is not run by default (`cargo xtask bench --sizes`).\n",
        ),
        Some(Ok(())) => out.push_str(" arm64: `cargo lambda build --release --arm64`.\n"),
        Some(Err(err)) => {
            out.push_str(&format!(
                " These are the x86_64 binaries: the arm64 cross build FAILED:\n\n```\n{err:#}\n```\n"
            ));
            return Section {
                markdown: out,
                failed: true,
            };
        }
    }
    Section {
        markdown: out,
        failed: false,
    }
}

/// `cargo lambda build --release --arm64` of every function; output in a log.
fn build_arm64() -> anyhow::Result<()> {
    let installed = command_output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if !installed.lines().any(|line| line.trim() == ARM64_TARGET) {
        process::run(
            "adding the arm64 Rust target",
            Command::new("rustup").args(["target", "add", ARM64_TARGET]),
        )?;
    }
    let log = paths::logs_dir().join("bench-lambda-build.log");
    let mut command = cargo();
    command.args([
        "lambda",
        "build",
        "--release",
        "--arm64",
        "--workspace",
        "--bins",
        "--exclude",
        "xtask",
        "--exclude",
        "stratus-blackbox-tests",
    ]);
    println!(
        "==> building every function for arm64 (long; log: {})\n    $ {}",
        log.display(),
        process::describe(&command)
    );
    std::fs::create_dir_all(paths::logs_dir())?;
    let output = std::fs::File::create(&log)?;
    let status = command
        .stdin(Stdio::null())
        .stdout(output.try_clone()?)
        .stderr(output)
        .status()
        .context("running cargo lambda build")?;
    if !status.success() {
        bail!(
            "cargo lambda build --release --arm64 failed ({status}); end of {}:\n{}",
            log.display(),
            process::tail(&log, 40)
        );
    }
    Ok(())
}

//! The built-in routing policies (plugins/, a cargo workspace of its own, built for
//! wasm32-wasip2): building them and finding them wherever cargo put them. Tests, benchmarks
//! and the dev stack get the directory from here (through `STRATUS_POLICY_DIR`), so nothing
//! assumes `plugins/target`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::{paths, process, tools};

#[path = "../../plugins/locate.rs"]
mod locate;

pub use locate::POLICY_DIR_VAR;

/// The components the plugins workspace builds.
pub const BUILT_IN: [&str; 3] = ["skill_based", "time_of_day", "classic"];

pub fn manifest() -> PathBuf {
    paths::repo_root().join("plugins").join("Cargo.toml")
}

/// Where a release build of the plugins lands: `target_dir` stands for `CARGO_TARGET_DIR`
/// when given, else the environment and cargo's config decide.
pub fn dir(target_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    locate::policy_dir(&paths::repo_root(), target_dir).map_err(anyhow::Error::msg)
}

/// Builds the built-in policies (release, wasm32-wasip2; the target is installed on first
/// use) and returns the directory holding them. Progress goes to stderr, so that
/// `cargo xtask policies` prints nothing but the directory on stdout.
pub fn build(target_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    tools::ensure_wasm_target()?;
    let mut command = Command::new("cargo");
    command
        .current_dir(paths::repo_root())
        .arg("build")
        .arg("--manifest-path")
        .arg(manifest())
        .args(["--target", locate::POLICY_TARGET, "--release"])
        .stdout(Stdio::from(std::io::stderr()));
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    eprintln!(
        "==> building the built-in routing policies\n    $ {}",
        process::describe(&command)
    );
    let status = command
        .status()
        .context("building the built-in routing policies: could not run cargo")?;
    if !status.success() {
        bail!("building the built-in routing policies failed ({status})");
    }
    let dir = dir(target_dir)?;
    for name in BUILT_IN {
        let file = dir.join(format!("{name}.wasm"));
        if !file.is_file() {
            bail!(
                "cargo built the policies but {} is missing: the plugins workspace and \
                 plugins/locate.rs disagree on where they land",
                file.display()
            );
        }
    }
    Ok(dir)
}

/// Where the JavaScript example policy lives, and the variable that hands its built
/// component to the tests.
pub fn js_example_dir() -> PathBuf {
    paths::repo_root()
        .join("plugins")
        .join("examples")
        .join("js")
}
pub const JS_POLICY_VAR: &str = "STRATUS_JS_POLICY";

/// Builds the JavaScript example (jco, QuickJS backend) and returns the component's path.
/// The npm packages (jco and its QuickJS backend, exact versions from package-lock.json)
/// are installed on first use, like DynamoDB Local.
pub fn build_js_example() -> anyhow::Result<PathBuf> {
    let dir = js_example_dir();
    if !process::succeeds(Command::new("npm").arg("--version")) {
        bail!(
            "the JavaScript example policy is built with npm packages, but `npm` was not \
             found: install Node.js 20 or later with npm (e.g. apt-get install npm), then rerun"
        );
    }
    if !dir.join("node_modules").join(".bin").join("jco").exists() {
        eprintln!(
            "jco is missing: installing the example's npm packages into {}",
            dir.display()
        );
        process::run(
            "installing jco for the JavaScript example policy",
            Command::new("npm")
                .current_dir(&dir)
                .args(["ci", "--no-audit", "--no-fund"]),
        )?;
    }
    process::run(
        "building the JavaScript example policy (jco, QuickJS)",
        Command::new("npm").current_dir(&dir).args(["run", "build"]),
    )?;
    let component = dir.join("policy.wasm");
    if !component.is_file() {
        bail!(
            "npm run build finished without writing {}",
            component.display()
        );
    }
    Ok(component)
}

/// `cargo xtask policies`: build them, print their directory.
pub fn command() -> anyhow::Result<()> {
    let dir = build(None)?;
    println!("{}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_follows_cargo_target_dir() {
        let elsewhere = std::env::temp_dir().join("stratus-policies-elsewhere");
        let found = dir(Some(&elsewhere)).unwrap();
        assert_eq!(found, elsewhere.join("wasm32-wasip2").join("release"));
    }
}

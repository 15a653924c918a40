// Where the built-in routing policies were built. Shared, by `#[path]`, by everything that
// builds or loads them (xtask, the host's tests and benchmarks, the black-box tests), so that
// there is one answer: the one cargo gives. A build honours `CARGO_TARGET_DIR` and cargo's
// `build.target-dir` config, so a hard-coded `plugins/target` is wrong on machines that set
// either; `cargo metadata` for the plugins workspace reports the directory cargo really used.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable through which `cargo xtask` hands the directory to tests and benchmarks.
pub const POLICY_DIR_VAR: &str = "STRATUS_POLICY_DIR";

/// The target triple the policies are built for.
pub const POLICY_TARGET: &str = "wasm32-wasip2";

/// How to build them, for messages.
pub const BUILD_POLICIES: &str =
    "cargo build --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --release \
     (or `cargo xtask policies`, which builds them and prints where they are)";

/// The directory holding `<policy>.wasm` for a release build of the plugins workspace under
/// `repo_root`. `target_dir` overrides `CARGO_TARGET_DIR` for the question (as it would for
/// the build); `None` leaves the environment as it is.
pub fn policy_dir(repo_root: &Path, target_dir: Option<&Path>) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(repo_root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(repo_root.join("plugins").join("Cargo.toml"));
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let output = command
        .output()
        .map_err(|e| format!("running cargo metadata for plugins/: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata for plugins/ failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("reading cargo metadata's answer: {e}"))?;
    let target = metadata["target_directory"]
        .as_str()
        .ok_or("cargo metadata named no target_directory for plugins/")?;
    Ok(PathBuf::from(target).join(POLICY_TARGET).join("release"))
}

/// The JavaScript example policy as `cargo xtask test` built it (`STRATUS_JS_POLICY`, else
/// `plugins/examples/js/policy.wasm`); panics with the command that builds it.
#[allow(dead_code)]
pub fn built_js_policy(repo_root: &Path) -> Vec<u8> {
    let path = match std::env::var_os("STRATUS_JS_POLICY") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => repo_root.join("plugins/examples/js/policy.wasm"),
    };
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the JavaScript example first (cargo xtask test does): \
             cd plugins/examples/js && npm ci && npm run build",
            path.display()
        )
    })
}

/// The bytes of a built-in policy (`skill_based`, `time_of_day`, `classic`), from
/// `STRATUS_POLICY_DIR` when set, else from where cargo says it built them. Panics with the
/// command that builds them: for tests and benchmarks, where a missing build must fail.
#[allow(dead_code)] // xtask includes this file for `policy_dir` alone
pub fn built_policy(repo_root: &Path, file_stem: &str) -> Vec<u8> {
    static DIR: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| match std::env::var_os(POLICY_DIR_VAR) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => policy_dir(repo_root, None),
    });
    let dir = dir
        .as_ref()
        .unwrap_or_else(|e| panic!("finding the built-in policies: {e}"));
    let path = dir.join(format!("{file_stem}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the built-in policies first: {BUILD_POLICIES}",
            path.display()
        )
    })
}

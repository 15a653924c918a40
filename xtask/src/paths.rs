//! Where things live in the repository.

use std::path::PathBuf;

/// The repository root (the workspace this xtask belongs to).
pub fn repo_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Local, git-ignored state: tools and the dev issuer key.
pub fn stratus_dir() -> PathBuf {
    repo_root().join(".stratus")
}

/// Where the dev issuer keeps its signing key (shared by dev, test and `xtask token`).
pub fn issuer_dir() -> PathBuf {
    stratus_dir().join("dev-issuer")
}

/// npm prefix for DynamoDB Local.
pub fn tools_dir() -> PathBuf {
    stratus_dir().join("tools")
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, or `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        })
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Logs of the services the stack runs.
pub fn logs_dir() -> PathBuf {
    target_dir().join("stratus-logs")
}

/// The SAM template: the one definition of the table.
pub fn template() -> PathBuf {
    repo_root().join("infra").join("template.yaml")
}

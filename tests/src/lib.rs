//! Fixtures for the black-box tests (`tests/api/`, one binary): they talk to a running local
//! Stratus stack over HTTP exactly as a customer's provisioning app or an operator would, and
//! know nothing of its insides (the one exception: Teams-synced users are planted in the table
//! directly, because directory sync has no HTTP API yet).
//!
//! `cargo xtask test` starts the stack (DynamoDB Local, the dev issuer's JWKS server,
//! `cargo lambda watch`) and runs these tests with the environment they read:
//! `STRATUS_API_URL`, `STRATUS_DEV_ISSUER_DIR`, `STRATUS_DEV_ISSUER_PORT`,
//! `STRATUS_OPERATOR_TENANT_ID` and the DynamoDB variables. Without it every test fails with
//! a message saying so; nothing is skipped silently.
//!
//! Every test makes its own [`TestTenant`] (a fresh random tenant id with its own apps), so
//! tests run in parallel and never share a rate-limit window or a licence contingent.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

pub use serde_json;
pub use stratus_dev_issuer::{DevIssuer, TokenSpec};

// The roles, under the names these tests use; defined once, in `stratus-ids`.
pub use stratus_kernel::roles::{
    OPERATOR as ROLE_OPERATOR, PROVISIONING as ALL_PROVISIONING_ROLES,
    PROVISIONING_TENANT_READ as ROLE_TENANT_READ, PROVISIONING_USER_CREATE as ROLE_CREATE,
    PROVISIONING_USER_DELETE as ROLE_DELETE, PROVISIONING_USER_READ as ROLE_READ,
    TENANT_ADMIN as ROLE_TENANT_ADMIN,
};

/// Licence type ids and display names, in the order licence usage lists them.
pub const LICENSE_TYPES: [(&str, &str); 7] = [
    ("AdvancedRouting", "Advanced Routing"),
    ("EnterpriseRouting", "Enterprise Routing"),
    ("ContactCenter", "Contact Center"),
    ("AttendantConsole", "Attendant Console"),
    ("Interact", "Interact"),
    ("Assistant", "Assistant"),
    ("Transcription", "Transcription"),
];

/// What a [`TestTenant`] buys unless told otherwise: distinct numbers so mix-ups show.
pub fn default_licenses() -> Value {
    json!({
        "AdvancedRouting": 2,
        "EnterpriseRouting": 3,
        "ContactCenter": 10,
        "AttendantConsole": 4,
        "Interact": 5,
        "Assistant": 6,
        "Transcription": 7,
    })
}

/// A fresh random GUID, lowercase.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub const USER_PATH: &str = "/api/public-api-next/user";
pub const LICENSE_USAGE_PATH: &str = "/api/public-api-next/user/license-usage";
pub const COPY_PATH: &str = "/api/public-api-next/user/copy";

pub fn user_path(o365_id: &str) -> String {
    format!("{USER_PATH}/{o365_id}")
}

pub const ORGANIZATION_UNITS_PATH: &str = "/api/admin/organization-units";
pub const SKILLS_PATH: &str = "/api/admin/skills";
pub const PLUGINS_PATH: &str = "/api/admin/plugins";

pub fn tenant_path(tenant_id: &str) -> String {
    format!("/api/admin/tenants/{tenant_id}")
}

pub fn provisioning_path(tenant_id: &str) -> String {
    format!("{}/provisioning", tenant_path(tenant_id))
}

pub fn app_permission_path(app_id: &str) -> String {
    format!("/api/admin/app-permissions/{app_id}")
}

pub fn admin_user_path(o365_id: &str) -> String {
    format!("/api/admin/users/{o365_id}")
}

pub const SERVICES_PATH: &str = "/api/admin/services";

pub fn service_path(id: &str) -> String {
    format!("{SERVICES_PATH}/{id}")
}

pub const FROM_TEAM_PATH: &str = "/api/admin/services/from-team";

pub fn sync_path(service_id: &str) -> String {
    format!("{}/sync", service_path(service_id))
}

pub const TENANT_SETTINGS_PATH: &str = "/api/admin/tenant-settings";
pub const WIDGET_KEY_PATH: &str = "/api/admin/tenant-settings/interact/widget-key";

/// A tenant-settings path, with `?tenantId=` when a tenant is named (operators name one).
pub fn tenant_settings_path(path: &str, tenant_id: Option<&str>) -> String {
    match tenant_id {
        Some(tenant) => format!("{path}?tenantId={tenant}"),
        None => path.to_owned(),
    }
}

pub fn plugin_path(name: &str, version: u32) -> String {
    format!("{PLUGINS_PATH}/{name}/versions/{version}")
}

// The API's words for refusals that many tests meet, so a changed wording is changed once.
pub const USER_NOT_FOUND: &str = "A user with this O365 ID was not found";
pub const USER_EXISTS: &str = "User already exists";
pub const OU_NOT_ALLOWED: &str = "Organization Unit not allowed";
pub const ROLE_MISSING: &str = "Required role missing";
pub const OPERATOR_MISSING: &str = "Required role missing: Stratus.Operator";
pub const ADMIN_MISSING: &str = "Required role missing: Tenant.Admin";
pub const PROVISIONING_DISABLED: &str = "Provisioning Api disabled by admin";
/// How the detail of a body that does not parse begins (the parser's words follow).
pub const NOT_JSON: &str = "Request body is not valid JSON";

pub fn no_app_permission(app_id: &str) -> String {
    format!("No app permission found for app id ({app_id})")
}

#[path = "../../plugins/locate.rs"]
mod locate;

/// A built-in policy as `cargo xtask test` built it (wherever cargo put it); a missing build
/// fails the test with the command that makes it.
pub fn built_in_plugin(file_stem: &str) -> Vec<u8> {
    locate::built_policy(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        file_stem,
    )
}

/// The JavaScript example policy as `cargo xtask test` built it (jco, QuickJS).
pub fn javascript_plugin() -> Vec<u8> {
    locate::built_js_policy(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fn env_required(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => panic!(
            "{name} is not set. The black-box tests need a running local Stratus stack: \
             run them with `cargo xtask test` (it starts the stack and sets STRATUS_API_URL, \
             STRATUS_DEV_ISSUER_DIR, STRATUS_DEV_ISSUER_PORT, STRATUS_OPERATOR_TENANT_ID)."
        ),
    }
}

/// The dev issuer's key, loaded once per test binary.
static ISSUER: OnceLock<Arc<DevIssuer>> = OnceLock::new();

/// A body to send: JSON, raw text (for malformed JSON), bytes (a plugin upload), or nothing.
#[derive(Clone, Debug)]
pub enum Body {
    None,
    Json(Value),
    Raw(String),
    Wasm(Vec<u8>),
}

impl From<Value> for Body {
    fn from(v: Value) -> Self {
        Body::Json(v)
    }
}

impl From<Option<Value>> for Body {
    fn from(v: Option<Value>) -> Self {
        v.map_or(Body::None, Body::Json)
    }
}

/// A request as a value: what the [`Stack`] methods send, and what a table of malformed
/// input lists ([`Stack::assert_refusals`]). One constructor per operation, so a path or a
/// method is written down once.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// The whole `Authorization` header value, if any.
    pub authorization: Option<String>,
    pub body: Body,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Request {
        Request {
            method,
            path: path.into(),
            authorization: None,
            body: Body::None,
        }
    }

    pub fn bearer(mut self, token: &str) -> Request {
        self.authorization = Some(format!("Bearer {token}"));
        self
    }

    pub fn body(mut self, body: impl Into<Body>) -> Request {
        self.body = body.into();
        self
    }

    // ---- provisioning API ---------------------------------------------------------------

    pub fn create_user(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, USER_PATH)
            .bearer(token)
            .body(body)
    }

    pub fn get_user(token: &str, o365_id: &str) -> Request {
        Request::new(Method::GET, user_path(o365_id)).bearer(token)
    }

    pub fn license_usage(token: &str) -> Request {
        Request::new(Method::GET, LICENSE_USAGE_PATH).bearer(token)
    }

    pub fn copy_user(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, COPY_PATH)
            .bearer(token)
            .body(body)
    }

    pub fn delete_user(token: &str, o365_id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::DELETE, user_path(o365_id))
            .bearer(token)
            .body(body)
    }

    // ---- admin API ----------------------------------------------------------------------

    pub fn put_tenant(token: &str, tenant_id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, tenant_path(tenant_id))
            .bearer(token)
            .body(body)
    }

    pub fn put_licenses(token: &str, tenant_id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, format!("{}/licenses", tenant_path(tenant_id)))
            .bearer(token)
            .body(body)
    }

    pub fn put_provisioning(token: &str, tenant_id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, provisioning_path(tenant_id))
            .bearer(token)
            .body(body)
    }

    pub fn create_ou(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, ORGANIZATION_UNITS_PATH)
            .bearer(token)
            .body(body)
    }

    pub fn list_ous(token: &str) -> Request {
        Request::new(Method::GET, ORGANIZATION_UNITS_PATH).bearer(token)
    }

    pub fn put_app_permission(token: &str, app_id: &str, ou_ids: &[&str]) -> Request {
        Request::new(Method::PUT, app_permission_path(app_id))
            .bearer(token)
            .body(json!({ "organizationUnitIds": ou_ids }))
    }

    pub fn delete_app_permission(token: &str, app_id: &str) -> Request {
        Request::new(Method::DELETE, app_permission_path(app_id)).bearer(token)
    }

    pub fn patch_user(token: &str, o365_id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PATCH, admin_user_path(o365_id))
            .bearer(token)
            .body(body)
    }

    pub fn create_skill(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, SKILLS_PATH)
            .bearer(token)
            .body(body)
    }

    // ---- routing-policy plugins ---------------------------------------------------------

    pub fn create_service(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, SERVICES_PATH)
            .bearer(token)
            .body(body)
    }

    /// `query` as it goes after the `?` (empty for none).
    pub fn list_services(token: &str, query: &str) -> Request {
        let path = match query {
            "" => SERVICES_PATH.to_owned(),
            query => format!("{SERVICES_PATH}?{query}"),
        };
        Request::new(Method::GET, path).bearer(token)
    }

    pub fn get_service(token: &str, id: &str) -> Request {
        Request::new(Method::GET, service_path(id)).bearer(token)
    }

    pub fn update_service(token: &str, id: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PATCH, service_path(id))
            .bearer(token)
            .body(body)
    }

    pub fn delete_service(token: &str, id: &str) -> Request {
        Request::new(Method::DELETE, service_path(id)).bearer(token)
    }

    pub fn create_service_from_team(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::POST, FROM_TEAM_PATH)
            .bearer(token)
            .body(body)
    }

    pub fn add_service_agent(token: &str, service: &str, user: &str) -> Request {
        Request::new(
            Method::PUT,
            format!("{}/agents/{user}", service_path(service)),
        )
        .bearer(token)
    }

    pub fn put_distribution(token: &str, service: &str, body: impl Into<Body>) -> Request {
        Request::new(
            Method::PUT,
            format!("{}/distribution", service_path(service)),
        )
        .bearer(token)
        .body(body)
    }

    pub fn eligibility(token: &str, service: &str) -> Request {
        Request::new(
            Method::GET,
            format!("{}/eligibility", service_path(service)),
        )
        .bearer(token)
    }

    pub fn put_my_state(token: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, "/api/me/state")
            .bearer(token)
            .body(body)
    }

    pub fn sync_service(token: &str, id: &str) -> Request {
        Request::new(Method::POST, sync_path(id)).bearer(token)
    }

    pub fn put_user_state(token: &str, user: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, format!("{}/state", admin_user_path(user)))
            .bearer(token)
            .body(body)
    }

    pub fn put_my_service_active(token: &str, service: &str, body: impl Into<Body>) -> Request {
        Request::new(Method::PUT, format!("/api/me/services/{service}/active"))
            .bearer(token)
            .body(body)
    }

    /// An operator names the tenant (`tenant`); a tenant admin acts on their own (`None`).
    pub fn put_presence(
        token: &str,
        user: &str,
        tenant: Option<&str>,
        body: impl Into<Body>,
    ) -> Request {
        let query = tenant.map(|t| format!("?tenantId={t}")).unwrap_or_default();
        Request::new(Method::PUT, format!("/api/admin/presence/{user}{query}"))
            .bearer(token)
            .body(body)
    }

    // ---- tenant settings ----------------------------------------------------------------

    pub fn get_tenant_settings(token: &str, tenant_id: Option<&str>) -> Request {
        Request::new(
            Method::GET,
            tenant_settings_path(TENANT_SETTINGS_PATH, tenant_id),
        )
        .bearer(token)
    }

    pub fn patch_tenant_settings(
        token: &str,
        tenant_id: Option<&str>,
        body: impl Into<Body>,
    ) -> Request {
        Request::new(
            Method::PATCH,
            tenant_settings_path(TENANT_SETTINGS_PATH, tenant_id),
        )
        .bearer(token)
        .body(body)
    }

    pub fn refresh_widget_key(token: &str, tenant_id: Option<&str>) -> Request {
        Request::new(
            Method::POST,
            tenant_settings_path(WIDGET_KEY_PATH, tenant_id),
        )
        .bearer(token)
    }

    pub fn upload_plugin(token: &str, name: &str, bytes: Vec<u8>) -> Request {
        Request::new(Method::POST, format!("{PLUGINS_PATH}/{name}/versions"))
            .bearer(token)
            .body(Body::Wasm(bytes))
    }

    pub fn list_plugins(token: &str) -> Request {
        Request::new(Method::GET, PLUGINS_PATH).bearer(token)
    }

    pub fn get_plugin(token: &str, name: &str, version: u32) -> Request {
        Request::new(Method::GET, plugin_path(name, version)).bearer(token)
    }

    pub fn delete_plugin(token: &str, name: &str, version: u32) -> Request {
        Request::new(Method::DELETE, plugin_path(name, version)).bearer(token)
    }

    pub fn simulate(token: &str, name: &str, version: u32, body: impl Into<Body>) -> Request {
        Request::new(
            Method::POST,
            format!("{}/simulate", plugin_path(name, version)),
        )
        .bearer(token)
        .body(body)
    }

    pub fn validate_config(token: &str, name: &str, version: u32, configuration: Value) -> Request {
        Request::new(
            Method::POST,
            format!("{}/validate-config", plugin_path(name, version)),
        )
        .bearer(token)
        .body(json!({ "configuration": configuration }))
    }
}

/// What the `detail` of a refusal must say, in a table of malformed input.
#[derive(Clone, Debug)]
pub enum Detail {
    /// Exactly this.
    Is(String),
    StartsWith(String),
    Contains(String),
    /// Ends with "must be a GUID" and names this field, compared in lower case (path
    /// parameters and case-insensitive body fields are named in more than one spelling).
    NotAGuid(&'static str),
    NotEmpty,
    /// Any detail: the case is about the status alone (the problem's shape is checked always).
    Any,
}

impl Detail {
    pub fn is(text: impl Into<String>) -> Detail {
        Detail::Is(text.into())
    }

    pub fn starts_with(text: impl Into<String>) -> Detail {
        Detail::StartsWith(text.into())
    }

    pub fn contains(text: impl Into<String>) -> Detail {
        Detail::Contains(text.into())
    }

    fn matches(&self, detail: &str) -> bool {
        match self {
            Detail::Is(text) => detail == text,
            Detail::StartsWith(text) => detail.starts_with(text.as_str()),
            Detail::Contains(text) => detail.contains(text.as_str()),
            Detail::NotAGuid(field) => {
                detail.ends_with("must be a GUID") && detail.to_lowercase().contains(field)
            }
            Detail::NotEmpty => !detail.is_empty(),
            Detail::Any => true,
        }
    }
}

/// One row of a table of malformed input: the case's name (for the failure message), the
/// request, and the status and detail of the problem it must be refused with.
pub type Refusal<'a> = (&'a str, Request, u16, Detail);

/// The running stack under test, with a token minter for its trusted (dev) issuer.
#[derive(Clone)]
pub struct Stack {
    pub api_url: String,
    pub issuer: Arc<DevIssuer>,
    pub issuer_port: u16,
    pub operator_tenant_id: String,
    pub http: reqwest::Client,
}

impl Stack {
    /// Reads the environment `cargo xtask test` sets; panics with instructions when it is missing.
    pub fn from_env() -> Stack {
        let api_url = env_required("STRATUS_API_URL")
            .trim_end_matches('/')
            .to_owned();
        let dir = PathBuf::from(env_required("STRATUS_DEV_ISSUER_DIR"));
        let port_text = env_required("STRATUS_DEV_ISSUER_PORT");
        let issuer_port: u16 = port_text
            .parse()
            .unwrap_or_else(|_| panic!("STRATUS_DEV_ISSUER_PORT={port_text:?} is not a port"));
        let operator_tenant_id = std::env::var("STRATUS_OPERATOR_TENANT_ID")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| stratus_dev_issuer::DEV_OPERATOR_TENANT_ID.to_owned());
        let issuer = ISSUER
            .get_or_init(|| {
                Arc::new(DevIssuer::load_or_create(&dir).unwrap_or_else(|e| {
                    panic!("loading the dev issuer key from {}: {e:#}", dir.display())
                }))
            })
            .clone();
        // One client per test: each #[tokio::test] has its own runtime, and a client's
        // connection pool must not outlive the runtime it was used on.
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("building the HTTP client");
        Stack {
            api_url,
            issuer,
            issuer_port,
            operator_tenant_id,
            http,
        }
    }

    // ---- tokens -------------------------------------------------------------------------

    /// A token spec of the trusted issuer: valid for an hour, random `oid`, no tid/app/roles.
    pub fn spec(&self) -> TokenSpec {
        TokenSpec::new(self.issuer_port)
    }

    pub fn token(&self, spec: &TokenSpec) -> String {
        self.issuer
            .token(spec)
            .unwrap_or_else(|e| panic!("minting a dev token: {e:#}"))
    }

    pub fn operator_spec(&self) -> TokenSpec {
        self.spec()
            .tenant(self.operator_tenant_id.clone())
            .roles(&[ROLE_OPERATOR])
    }

    pub fn operator_token(&self) -> String {
        self.token(&self.operator_spec())
    }

    pub fn admin_spec(&self, tenant_id: &str) -> TokenSpec {
        self.spec().tenant(tenant_id).roles(&[ROLE_TENANT_ADMIN])
    }

    pub fn admin_token(&self, tenant_id: &str) -> String {
        self.token(&self.admin_spec(tenant_id))
    }

    pub fn app_spec(&self, tenant_id: &str, app_id: &str, roles: &[&str]) -> TokenSpec {
        self.spec().tenant(tenant_id).app(app_id).roles(roles)
    }

    pub fn app_token(&self, tenant_id: &str, app_id: &str, roles: &[&str]) -> String {
        self.token(&self.app_spec(tenant_id, app_id, roles))
    }

    // ---- sending ------------------------------------------------------------------------

    /// Sends a request with the given `Authorization` header value (or none).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::new(method, path).body(body);
        request.authorization = authorization.map(str::to_owned);
        self.request(request).await
    }

    /// Sends with `Authorization: Bearer <token>`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: impl Into<Body>,
    ) -> Reply {
        self.request(Request::new(method, path).bearer(token).body(body))
            .await
    }

    pub async fn request(&self, request: Request) -> Reply {
        let Request {
            method,
            path,
            authorization,
            body,
        } = request;
        let what = format!("{method} {path}");
        let mut request = self.http.request(method, format!("{}{path}", self.api_url));
        if let Some(auth) = authorization {
            request = request.header("authorization", auth);
        }
        request = match body {
            Body::None => request,
            Body::Json(v) => request
                .header("content-type", "application/json")
                .body(v.to_string()),
            Body::Raw(s) => request.header("content-type", "application/json").body(s),
            Body::Wasm(bytes) => request
                .header("content-type", "application/wasm")
                .body(bytes),
        };
        let started = Instant::now();
        let response = request.send().await.unwrap_or_else(|e| {
            panic!("{what}: no answer from the stack at {}: {e}", self.api_url)
        });
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading the body: {e}"));
        let elapsed = started.elapsed();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Reply {
            what,
            status,
            headers,
            body,
            text,
            elapsed,
        }
    }

    /// Sends each case of a table in turn and fails naming every case that was not refused as
    /// it says (all of them, not only the first, so one run shows the whole picture).
    #[track_caller]
    pub fn assert_refusals<'a>(
        &'a self,
        cases: Vec<Refusal<'a>>,
    ) -> impl std::future::Future<Output = ()> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let total = cases.len();
            let mut failures = Vec::new();
            for (case, request, status, detail) in cases {
                let reply = self.request(request).await;
                if let Err(why) = reply.refused_as(status, &detail) {
                    failures.push(format!("  {case}: {why}"));
                }
            }
            assert!(
                failures.is_empty(),
                "{} of {total} cases not refused as expected (table at {caller}):\n{}",
                failures.len(),
                failures.join("\n")
            );
        }
    }

    // ---- provisioning API ---------------------------------------------------------------

    pub async fn create_user(&self, token: &str, body: impl Into<Body>) -> Reply {
        self.request(Request::create_user(token, body)).await
    }

    pub async fn get_user(&self, token: &str, o365_id: &str) -> Reply {
        self.request(Request::get_user(token, o365_id)).await
    }

    pub async fn license_usage(&self, token: &str) -> Reply {
        self.request(Request::license_usage(token)).await
    }

    pub async fn copy_user(&self, token: &str, body: impl Into<Body>) -> Reply {
        self.request(Request::copy_user(token, body)).await
    }

    pub async fn delete_user(&self, token: &str, o365_id: &str, body: Option<Value>) -> Reply {
        self.request(Request::delete_user(token, o365_id, body))
            .await
    }

    // ---- admin API ----------------------------------------------------------------------

    pub async fn put_tenant(&self, token: &str, tenant_id: &str, body: Value) -> Reply {
        self.request(Request::put_tenant(token, tenant_id, body))
            .await
    }

    pub async fn put_licenses(&self, token: &str, tenant_id: &str, body: Value) -> Reply {
        self.request(Request::put_licenses(token, tenant_id, body))
            .await
    }

    pub async fn put_provisioning(&self, token: &str, tenant_id: &str, enabled: bool) -> Reply {
        let body = json!({ "publicApiEnabled": enabled });
        self.request(Request::put_provisioning(token, tenant_id, body))
            .await
    }

    pub async fn create_ou(&self, token: &str, body: Value) -> Reply {
        self.request(Request::create_ou(token, body)).await
    }

    pub async fn list_ous(&self, token: &str) -> Reply {
        self.request(Request::list_ous(token)).await
    }

    pub async fn put_app_permission(&self, token: &str, app_id: &str, ou_ids: &[&str]) -> Reply {
        self.request(Request::put_app_permission(token, app_id, ou_ids))
            .await
    }

    pub async fn delete_app_permission(&self, token: &str, app_id: &str) -> Reply {
        self.request(Request::delete_app_permission(token, app_id))
            .await
    }

    pub async fn patch_user(&self, token: &str, o365_id: &str, body: Value) -> Reply {
        self.request(Request::patch_user(token, o365_id, body))
            .await
    }

    pub async fn create_skill(&self, token: &str, body: Value) -> Reply {
        self.request(Request::create_skill(token, body)).await
    }

    // ---- routing-policy plugins ----------------------------------------------------------

    pub async fn upload_plugin(&self, token: &str, name: &str, bytes: Vec<u8>) -> Reply {
        self.request(Request::upload_plugin(token, name, bytes))
            .await
    }

    pub async fn list_plugins(&self, token: &str) -> Reply {
        self.request(Request::list_plugins(token)).await
    }

    pub async fn get_plugin(&self, token: &str, name: &str, version: u32) -> Reply {
        self.request(Request::get_plugin(token, name, version))
            .await
    }

    pub async fn delete_plugin(&self, token: &str, name: &str, version: u32) -> Reply {
        self.request(Request::delete_plugin(token, name, version))
            .await
    }

    pub async fn simulate(&self, token: &str, name: &str, version: u32, body: Value) -> Reply {
        self.request(Request::simulate(token, name, version, body))
            .await
    }

    pub async fn validate_config(
        &self,
        token: &str,
        name: &str,
        version: u32,
        configuration: Value,
    ) -> Reply {
        self.request(Request::validate_config(
            token,
            name,
            version,
            configuration,
        ))
        .await
    }
}

/// One answer of the stack.
#[derive(Clone, Debug)]
pub struct Reply {
    /// `METHOD /path`, for failure messages.
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    /// The body parsed as JSON; `Null` when empty or not JSON (see `text`).
    pub body: Value,
    pub text: String,
    /// From sending the request to having read the whole answer.
    pub elapsed: Duration,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or("")
    }

    fn describe(&self) -> String {
        format!(
            "{} answered {} after {:?}: {}",
            self.what, self.status, self.elapsed, self.text
        )
    }

    /// Asserts the status; returns the reply for chaining.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "expected {status}; {}",
            self.describe()
        );
        self
    }

    /// Asserts 200 (or the given success status) and returns the JSON body.
    #[track_caller]
    pub fn ok(&self) -> Value {
        self.assert_status(200);
        self.body.clone()
    }

    /// Asserts a problem+json error with this status; returns its `detail`.
    #[track_caller]
    pub fn assert_problem_status(&self, status: u16) -> String {
        // A match, not unwrap_or_else: a closure's panic would not report the caller's line.
        match self.problem(status) {
            Ok(detail) => detail,
            Err(why) => panic!("{why}"),
        }
    }

    /// The `detail` of a problem+json error with this status, or what is wrong with the reply.
    fn problem(&self, status: u16) -> Result<String, String> {
        let describe = || self.describe();
        if self.status != status {
            return Err(format!("expected {status}; {}", describe()));
        }
        let content_type = self.header("content-type").unwrap_or("");
        if !content_type.starts_with("application/problem+json") {
            return Err(format!(
                "expected content-type application/problem+json, got {content_type:?}; {}",
                describe()
            ));
        }
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        for (field, expected) in [
            ("status", json!(status)),
            ("type", json!("about:blank")),
            ("title", json!(reason)),
        ] {
            if self.body[field] != expected {
                return Err(format!(
                    "problem body {field:?} is {}, expected {expected}; {}",
                    self.body[field],
                    describe()
                ));
            }
        }
        match self.body["detail"].as_str() {
            Some(detail) => Ok(detail.to_owned()),
            None => Err(format!("problem body has no detail; {}", describe())),
        }
    }

    /// Whether this is the refusal a table's case expects (what differs, if not).
    fn refused_as(&self, status: u16, expected: &Detail) -> Result<(), String> {
        let detail = self.problem(status)?;
        if expected.matches(&detail) {
            Ok(())
        } else {
            Err(format!(
                "detail {detail:?} does not match {expected:?}; {}",
                self.describe()
            ))
        }
    }

    /// Asserts a problem+json error with this status and exactly this `detail`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, detail: &str) -> &Self {
        let got = self.assert_problem_status(status);
        assert_eq!(got, detail, "problem detail; {}", self.describe());
        self
    }

    /// Asserts a 401 from token validation: `WWW-Authenticate: Bearer ...`.
    #[track_caller]
    pub fn assert_bearer_challenge(&self) -> &Self {
        self.assert_status(401);
        let challenge = self.header("www-authenticate").unwrap_or("");
        assert!(
            challenge.starts_with("Bearer"),
            "expected WWW-Authenticate: Bearer ..., got {challenge:?}; {}",
            self.describe()
        );
        self
    }
}

/// A fresh tenant set up over the admin API:
///
/// ```text
/// root (named after the tenant)
/// ├── sales          ← the main app's scope
/// │   └── sales_east
/// └── support        ← outside the main app's scope
/// ```
/// licences as [`default_licenses`] (unless given), provisioning API on, and one provisioning
/// app (`app_id`) registered with scope `[sales]`.
#[derive(Clone)]
pub struct TestTenant {
    pub stack: Stack,
    pub id: String,
    pub name: String,
    pub root_ou: String,
    pub sales_ou: String,
    pub sales_east_ou: String,
    pub support_ou: String,
    pub app_id: String,
}

impl TestTenant {
    pub async fn create(stack: &Stack) -> TestTenant {
        Self::create_with_licenses(stack, default_licenses()).await
    }

    pub async fn create_with_licenses(stack: &Stack, licenses: Value) -> TestTenant {
        let id = new_id();
        let name = format!("Test tenant {}", &id[..8]);
        let operator = stack.operator_token();

        let tenant = stack
            .put_tenant(&operator, &id, json!({ "name": name }))
            .await;
        tenant.assert_status(201);
        let root_ou = tenant.body["rootOrganizationUnitId"]
            .as_str()
            .unwrap_or_else(|| panic!("tenant without rootOrganizationUnitId: {}", tenant.text))
            .to_owned();
        stack
            .put_licenses(&operator, &id, licenses)
            .await
            .assert_status(200);
        stack
            .put_provisioning(&operator, &id, true)
            .await
            .assert_status(200);

        let mut tenant = TestTenant {
            stack: stack.clone(),
            id,
            name,
            root_ou: root_ou.clone(),
            sales_ou: String::new(),
            sales_east_ou: String::new(),
            support_ou: String::new(),
            app_id: String::new(),
        };
        tenant.sales_ou = tenant.create_ou("Sales", Some(&root_ou)).await;
        tenant.sales_east_ou = tenant
            .create_ou("Sales East", Some(&tenant.sales_ou.clone()))
            .await;
        tenant.support_ou = tenant.create_ou("Support", Some(&root_ou)).await;
        tenant.app_id = tenant.register_app(&[&tenant.sales_ou.clone()]).await;
        tenant
    }

    // ---- tokens -------------------------------------------------------------------------

    pub fn admin_token(&self) -> String {
        self.stack.admin_token(&self.id)
    }

    /// Spec of the main app with all four provisioning roles (adjust and mint with `token`).
    pub fn app_spec(&self) -> TokenSpec {
        self.stack
            .app_spec(&self.id, &self.app_id, &ALL_PROVISIONING_ROLES)
    }

    /// The main app with all four provisioning roles.
    pub fn app_token(&self) -> String {
        self.token(&self.app_spec())
    }

    pub fn app_token_with_roles(&self, roles: &[&str]) -> String {
        self.token(&self.app_spec().roles(roles))
    }

    /// Another app of this tenant with all four provisioning roles.
    pub fn token_for_app(&self, app_id: &str) -> String {
        self.stack
            .app_token(&self.id, app_id, &ALL_PROVISIONING_ROLES)
    }

    pub fn token(&self, spec: &TokenSpec) -> String {
        self.stack.token(spec)
    }

    // ---- set-up (admin API, asserting success) ------------------------------------------

    /// Creates an OU under `parent` (root when `None`) and returns its id.
    pub async fn create_ou(&self, name: &str, parent: Option<&str>) -> String {
        let mut body = json!({ "name": name });
        if let Some(parent) = parent {
            body["parentId"] = json!(parent);
        }
        let reply = self.stack.create_ou(&self.admin_token(), body).await;
        reply.assert_status(201);
        reply.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("OU without id: {}", reply.text))
            .to_owned()
    }

    /// Registers a new random app id with the given OU scope and returns the app id.
    pub async fn register_app(&self, ou_ids: &[&str]) -> String {
        let app_id = new_id();
        self.stack
            .put_app_permission(&self.admin_token(), &app_id, ou_ids)
            .await
            .assert_status(200);
        app_id
    }

    pub async fn create_skill(&self, name: &str, ou_id: &str) -> String {
        let reply = self
            .stack
            .create_skill(
                &self.admin_token(),
                json!({ "name": name, "organizationUnitId": ou_id }),
            )
            .await;
        reply.assert_status(201);
        reply.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("skill without id: {}", reply.text))
            .to_owned()
    }

    pub async fn set_provisioning(&self, enabled: bool) {
        self.stack
            .put_provisioning(&self.stack.operator_token(), &self.id, enabled)
            .await
            .assert_status(200);
    }

    pub async fn put_licenses(&self, body: Value) -> Reply {
        self.stack
            .put_licenses(&self.stack.operator_token(), &self.id, body)
            .await
    }

    pub async fn patch_user(&self, o365_id: &str, body: Value) -> Reply {
        self.stack
            .patch_user(&self.admin_token(), o365_id, body)
            .await
    }

    /// Plants a Teams-synced user straight into the table (no HTTP API creates those yet).
    pub async fn plant_teams_user(&self, ou_id: &str, licenses: &[&str]) -> String {
        let o365_id = new_id();
        let table = stratus_kernel::table::Table::from_env()
            .await
            .unwrap_or_else(|e| panic!("connecting to the table: {e}"));
        table
            .put_teams_synced_user(&self.id, &o365_id, ou_id, licenses)
            .await
            .unwrap_or_else(|e| panic!("planting a Teams-synced user: {e}"));
        o365_id
    }

    // ---- provisioning API with the main app ---------------------------------------------

    pub async fn create_user(&self, o365_id: &str, ou_id: &str) -> Reply {
        self.stack
            .create_user(
                &self.app_token(),
                json!({ "o365Id": o365_id, "organizationUnitId": ou_id }),
            )
            .await
    }

    /// Creates an empty user in `ou_id` (must succeed) and returns its id.
    pub async fn new_user(&self, ou_id: &str) -> String {
        let o365_id = new_id();
        self.create_user(&o365_id, ou_id).await.assert_status(200);
        o365_id
    }

    pub async fn get_user(&self, o365_id: &str) -> Reply {
        self.stack.get_user(&self.app_token(), o365_id).await
    }

    pub async fn copy_user(&self, new_o365_id: &str, source_o365_id: &str) -> Reply {
        self.stack
            .copy_user(
                &self.app_token(),
                json!({ "newO365Id": new_o365_id, "sourceO365Id": source_o365_id }),
            )
            .await
    }

    pub async fn delete_user(&self, o365_id: &str, body: Option<Value>) -> Reply {
        self.stack
            .delete_user(&self.app_token(), o365_id, body)
            .await
    }

    pub async fn license_usage(&self) -> Reply {
        self.stack.license_usage(&self.app_token()).await
    }

    /// `(total, inUse, available)` of one licence type, read over the public API.
    pub async fn usage_of(&self, license: &str) -> (i64, i64, i64) {
        let reply = self.license_usage().await;
        reply.assert_status(200);
        usage_entry(&reply.body, license)
    }

    /// A user in sales holding a ContactCenter licence and a full configuration
    /// (skills, modalities, responsibility profiles, not-available reasons, Interact,
    /// Assistant); returns `(o365Id, details after the PATCH)`.
    pub async fn configured_source(&self, licenses: &[&str]) -> (String, Value) {
        let o365_id = self.new_user(&self.sales_ou).await;
        let skill_a = self
            .create_skill(&format!("English {}", &new_id()[..8]), &self.sales_ou)
            .await;
        let skill_b = self
            .create_skill(&format!("Billing {}", &new_id()[..8]), &self.sales_ou)
            .await;
        let (p1, p2, reason) = (new_id(), new_id(), new_id());
        let reply = self
            .patch_user(
                &o365_id,
                json!({
                    "licenses": licenses,
                    "skills": [
                        { "skillId": skill_a, "level": 80 },
                        { "skillId": skill_b, "level": 0 },
                    ],
                    "modalities": ["Audio", "Chat"],
                    "responsibilityProfiles": {
                        "profileIds": [p1, p2],
                        "defaultProfileId": p1,
                        "activeProfileId": p2,
                    },
                    "notAvailableReasons": [reason],
                    "interact": { "enabled": true, "greeting": "Hello" },
                    "assistant": { "enabled": true },
                }),
            )
            .await;
        let details = reply.ok();
        (o365_id, details)
    }
}

/// `(total, inUse, available)` of `license` in a licence usage array.
#[track_caller]
pub fn usage_entry(usage: &Value, license: &str) -> (i64, i64, i64) {
    let entry = usage
        .as_array()
        .and_then(|a| a.iter().find(|e| e["license"] == json!(license)))
        .unwrap_or_else(|| panic!("no {license} entry in licence usage {usage}"));
    let n = |f: &str| {
        entry[f]
            .as_i64()
            .unwrap_or_else(|| panic!("{license}.{f} is not an integer: {entry}"))
    };
    (n("total"), n("inUse"), n("available"))
}

/// Asserts a licence usage array: all seven types in order, with names and these
/// `(total, inUse)` per type id (available = total - inUse).
#[track_caller]
pub fn assert_usage(usage: &Value, expected: &[(&str, i64, i64)]) {
    let entries = usage
        .as_array()
        .unwrap_or_else(|| panic!("licence usage is not an array: {usage}"));
    assert_eq!(entries.len(), 7, "licence usage has 7 entries: {usage}");
    for (entry, (id, name)) in entries.iter().zip(LICENSE_TYPES) {
        let (total, in_use) = expected
            .iter()
            .find(|(t, _, _)| *t == id)
            .map(|(_, total, in_use)| (*total, *in_use))
            .unwrap_or_else(|| panic!("test bug: no expectation for {id}"));
        assert_eq!(
            entry,
            &json!({
                "license": id,
                "name": name,
                "total": total,
                "inUse": in_use,
                "available": total - in_use,
            }),
            "licence usage entry for {id} in {usage}"
        );
    }
}

/// The fields of user details that are configuration (what copy takes, what delete loses).
pub const CONFIGURATION_FIELDS: [&str; 9] = [
    "organizationUnitId",
    "licenses",
    "modalities",
    "roles",
    "skills",
    "responsibilityProfiles",
    "notAvailableReasons",
    "interact",
    "assistant",
];

/// Asserts the shape of an empty, freshly created user.
#[track_caller]
pub fn assert_empty_user(details: &Value, o365_id: &str, ou_id: &str) {
    assert_eq!(details["o365Id"], json!(o365_id), "o365Id in {details}");
    assert_eq!(
        details["organizationUnitId"],
        json!(ou_id),
        "organizationUnitId in {details}"
    );
    assert_eq!(
        details["assignmentType"],
        json!("SkillBased"),
        "assignmentType in {details}"
    );
    for field in [
        "upn",
        "displayName",
        "firstName",
        "lastName",
        "email",
        "interact",
        "assistant",
    ] {
        assert!(
            details.get(field).is_some_and(Value::is_null),
            "{field} should be present and null in {details}"
        );
    }
    for field in [
        "licenses",
        "modalities",
        "roles",
        "skills",
        "notAvailableReasons",
    ] {
        assert_eq!(details[field], json!([]), "{field} in {details}");
    }
    let profiles = &details["responsibilityProfiles"];
    assert_eq!(
        profiles["profileIds"],
        json!([]),
        "responsibilityProfiles in {details}"
    );
    assert!(
        profiles["defaultProfileId"].is_null(),
        "responsibilityProfiles in {details}"
    );
    assert!(
        profiles["activeProfileId"].is_null(),
        "responsibilityProfiles in {details}"
    );
}

/// Runs `n` futures made by `make(i)` all at once and returns their outputs in order.
pub async fn all_at_once<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    futures::future::join_all((0..n).map(make)).await
}

/// Counts replies per status.
pub fn status_counts(replies: &[Reply]) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in replies {
        *counts.entry(r.status).or_insert(0) += 1;
    }
    counts
}

/// A configuration of the built-in skill-based policy: two steps (billing and German, then
/// billing alone after 30 s) and an overflow; the plugin tests and the bench use it.
pub fn skill_config() -> Value {
    json!({
        "steps": [
            { "afterSeconds": 0, "requirements": [
                { "skill": "billing", "minLevel": 80 }, { "skill": "german", "minLevel": 50 } ] },
            { "afterSeconds": 30, "requirements": [ { "skill": "billing", "minLevel": 40 } ] }
        ],
        "overflow": { "reason": "no billing agent", "target": "billing-backup" }
    })
}

/// A person of a team in the Graph stand-in.
#[derive(Clone, Debug)]
pub struct TeamPerson {
    pub user_id: String,
    pub display_name: String,
    pub email: String,
    pub owner: bool,
}

impl TeamPerson {
    /// A new person (fresh O365 id) called `name`.
    pub fn new(name: &str) -> TeamPerson {
        TeamPerson {
            user_id: new_id(),
            display_name: name.to_owned(),
            email: format!("{}@contoso.com", name.to_lowercase().replace(' ', ".")),
            owner: false,
        }
    }

    pub fn owner(name: &str) -> TeamPerson {
        TeamPerson {
            owner: true,
            ..TeamPerson::new(name)
        }
    }
}

/// The local Graph stand-in, steered through its `/_dev/` routes (`STRATUS_DEV_GRAPH_URL`,
/// which `cargo xtask test` sets): teams and rosters, throttling, subscriptions.
pub struct DevGraph {
    url: String,
    http: reqwest::Client,
}

impl DevGraph {
    pub fn from_env() -> DevGraph {
        DevGraph {
            url: env_required("STRATUS_DEV_GRAPH_URL")
                .trim_end_matches('/')
                .to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("building the HTTP client"),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.url);
        let response = self
            .http
            .request(method, &url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: the Graph stand-in did not answer: {e}"));
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// Sets a team of `tenant` and its roster (replacing any earlier one).
    pub async fn put_team(&self, tenant: &str, team: &str, name: &str, people: &[TeamPerson]) {
        let members: Vec<Value> = people
            .iter()
            .map(|p| {
                json!({ "userId": p.user_id, "displayName": p.display_name, "email": p.email,
                        "roles": if p.owner { json!(["owner"]) } else { json!([]) } })
            })
            .collect();
        self.send(
            Method::PUT,
            &format!("/_dev/tenants/{tenant}/teams/{team}"),
            json!({ "displayName": name, "members": members }),
        )
        .await;
    }

    /// The tenant's next `requests` Graph requests answer 429 with `Retry-After: 1`.
    pub async fn throttle(&self, tenant: &str, requests: u32) {
        self.send(
            Method::POST,
            &format!("/_dev/tenants/{tenant}/throttle"),
            json!({ "requests": requests }),
        )
        .await;
    }

    /// The tenant's subscriptions, `clientState` included.
    pub async fn subscriptions(&self, tenant: &str) -> Vec<Value> {
        self.send(
            Method::GET,
            &format!("/_dev/tenants/{tenant}/subscriptions"),
            Value::Null,
        )
        .await["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Stack {
    /// Invokes a function no route reaches (a scheduled one) through `cargo lambda watch`'s
    /// Lambda Invoke endpoint, as EventBridge would; its JSON answer.
    pub async fn invoke(&self, function: &str, event: Value) -> Value {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.api_url
        );
        let response = self
            .http
            .post(&url)
            .json(&event)
            .send()
            .await
            .unwrap_or_else(|e| panic!("invoking {function}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "invoking {function}: {status} {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("invoking {function}: not JSON: {text}"))
    }
}

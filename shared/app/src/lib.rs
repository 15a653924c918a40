//! Stratus operations: one method per API operation, each reading in the same order —
//! authenticate, check the caller against the tenant's configuration in the order the
//! provisioning seed documents, validate the input, apply the rate limit, then make the
//! change as one transaction with its audit record. Functions stay thin by calling exactly
//! one of these; nothing here knows about HTTP or Lambda.

mod access;
mod admin;
mod provisioning;

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use stratus_auth::{AuthConfig, Authenticator};
use stratus_domain::{Error, Guid, OrganizationUnit};
use stratus_store::Store;

pub use admin::OrganizationUnitView;
pub use stratus_domain;

/// A request as the operations see it: no HTTP types, already split into parts.
#[derive(Debug)]
pub struct Incoming {
    pub authorization: Option<String>,
    pub path: HashMap<String, String>,
    /// `Ok(None)` for an empty body; `Err` for a body that is not JSON (or too large to
    /// be taken as JSON by default).
    pub body: Result<Option<Value>, Error>,
    /// The body's bytes as sent, for operations that take binary or larger bodies.
    pub raw_body: Vec<u8>,
}

/// Parses a JSON body of at most `limit` bytes: `Ok(None)` when it is empty.
pub fn parse_json_body(bytes: &[u8], limit: usize) -> Result<Option<Value>, Error> {
    if bytes.len() > limit {
        return Err(Error::PayloadTooLarge(format!(
            "The request body is {} bytes; this operation accepts at most {} KiB",
            bytes.len(),
            limit / 1024
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| Error::BadRequest(format!("Request body is not valid JSON: {e}")))
}

impl Incoming {
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path.get(name).map(String::as_str)
    }

    /// The body as a JSON object whose fields match case-insensitively; required.
    pub fn body_fields(&self) -> Result<stratus_domain::fields::Fields, Error> {
        self.required_body()
            .and_then(|v| stratus_domain::fields::Fields::from_value(v, ""))
    }

    /// The body as JSON; required.
    pub fn required_body(&self) -> Result<Value, Error> {
        self.body
            .clone()?
            .ok_or_else(|| Error::BadRequest("A JSON request body is required".into()))
    }
}

/// Settings read once per process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The one tenant whose `Stratus.Operator` role counts (Stratus's own).
    pub operator_tenant_id: Guid,
    /// How long the rate limit may hold a request before answering 429.
    pub rate_limit_max_delay_ms: i64,
}

pub const DEV_OPERATOR_TENANT_ID: &str = "00000000-0000-4000-8000-00000000a1a1";

impl Settings {
    pub fn from_env() -> Result<Settings, Error> {
        let operator = std::env::var("STRATUS_OPERATOR_TENANT_ID")
            .unwrap_or_else(|_| DEV_OPERATOR_TENANT_ID.into());
        let operator_tenant_id = Guid::parse(operator.trim()).ok_or_else(|| {
            Error::Internal(format!(
                "STRATUS_OPERATOR_TENANT_ID is not a GUID: {operator:?}"
            ))
        })?;
        let rate_limit_max_delay_ms = match std::env::var("STRATUS_RATE_LIMIT_MAX_DELAY_MS") {
            Ok(v) => v.trim().parse().map_err(|_| {
                Error::Internal(format!(
                    "STRATUS_RATE_LIMIT_MAX_DELAY_MS is not a number: {v:?}"
                ))
            })?,
            Err(_) => 5_000,
        };
        Ok(Settings {
            operator_tenant_id,
            rate_limit_max_delay_ms,
        })
    }
}

/// Everything an operation needs, built once per process and shared by invocations.
#[derive(Clone)]
pub struct App {
    store: Store,
    auth: Authenticator,
    settings: Settings,
    /// Organization units never move, so a unit's ancestor path can be kept for the life
    /// of the process; misses are not cached (a unit may be created later).
    units: Arc<Mutex<HashMap<(Guid, Guid), OrganizationUnit>>>,
}

const UNIT_CACHE_LIMIT: usize = 10_000;

impl App {
    pub async fn from_env() -> Result<App, Error> {
        Ok(App::new(
            Store::from_env().await?,
            Authenticator::new(AuthConfig::from_env()),
            Settings::from_env()?,
        ))
    }

    pub fn new(store: Store, auth: Authenticator, settings: Settings) -> App {
        App {
            store,
            auth,
            settings,
            units: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The table, for operations that live outside this crate (distribution policies).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A unit of the tenant, from the process cache or the table.
    async fn unit(&self, tenant: &Guid, id: &Guid) -> Result<Option<OrganizationUnit>, Error> {
        let cache_key = (tenant.clone(), id.clone());
        if let Ok(cache) = self.units.lock() {
            if let Some(unit) = cache.get(&cache_key) {
                return Ok(Some(unit.clone()));
            }
        }
        let unit = self.store.organization_unit(tenant, id).await?;
        if let (Some(unit), Ok(mut cache)) = (&unit, self.units.lock()) {
            if cache.len() >= UNIT_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(cache_key, unit.clone());
        }
        Ok(unit)
    }
}

/// Runs a read-decide-write cycle again when its optimistic write lost to a concurrent
/// writer, so the caller gets the answer for the state that won (e.g. 404 for a user
/// another request deleted first) rather than a conflict.
pub(crate) async fn retry_on_race<T, F, Fut>(mut attempt: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(Error::ConcurrentChange) if tries < 5 => tries += 1,
            other => return other,
        }
    }
}

//! What every operation is given: the table, the token validator and the process's
//! settings, built once per process (a Lambda's cold start) and shared by its invocations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use stratus_auth::{AuthConfig, Authenticator};

use crate::table::Table;
use crate::{Error, Guid, OrganizationUnit, Problem};

/// Settings read once per process.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The one tenant whose `Stratus.Operator` role counts (Stratus's own).
    pub operator_tenant_id: Guid,
    /// How long the provisioning rate limit may hold a request before answering 429.
    pub rate_limit_max_delay_ms: i64,
}

impl Settings {
    pub fn from_env() -> Result<Settings, Error> {
        let operator = std::env::var("STRATUS_OPERATOR_TENANT_ID")
            .unwrap_or_else(|_| stratus_ids::DEV_OPERATOR_TENANT_ID.into());
        let operator_tenant_id = Guid::parse(operator.trim()).ok_or_else(|| {
            Error::internal(format!(
                "STRATUS_OPERATOR_TENANT_ID is not a GUID: {operator:?}"
            ))
        })?;
        let rate_limit_max_delay_ms = match std::env::var("STRATUS_RATE_LIMIT_MAX_DELAY_MS") {
            Ok(v) => v.trim().parse().map_err(|_| {
                Error::internal(format!(
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

/// The shared state of a process.
#[derive(Clone)]
pub struct Kernel {
    table: Table,
    pub(crate) auth: Authenticator,
    settings: Settings,
    /// Organization units never move, so a unit's ancestor path can be kept for the life
    /// of the process; misses are not cached (a unit may be created later).
    units: Arc<Mutex<HashMap<(Guid, Guid), OrganizationUnit>>>,
}

const UNIT_CACHE_LIMIT: usize = 10_000;

impl Kernel {
    pub async fn from_env() -> Result<Kernel, Error> {
        Ok(Kernel::new(
            Table::from_env().await?,
            Authenticator::new(AuthConfig::from_env()),
            Settings::from_env()?,
        ))
    }

    pub fn new(table: Table, auth: Authenticator, settings: Settings) -> Kernel {
        Kernel {
            table,
            auth,
            settings,
            units: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A unit of the tenant, from the process cache or the table.
    pub async fn unit(&self, tenant: &Guid, id: &Guid) -> Result<Option<OrganizationUnit>, Error> {
        let cache_key = (tenant.clone(), id.clone());
        if let Ok(cache) = self.units.lock() {
            if let Some(unit) = cache.get(&cache_key) {
                return Ok(Some(unit.clone()));
            }
        }
        let unit = self.table.organization_unit(tenant, id).await?;
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
pub async fn retry_on_race<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Problem,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(e) if e.as_kernel() == Some(&Error::ConcurrentChange) && tries < 5 => tries += 1,
            other => return other,
        }
    }
}

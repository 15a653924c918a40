//! The provisioning API's gate: the token's claims, the tenant's configuration and the
//! caller's rate limit, checked in the order the seed lists its errors, with one batch read.

use stratus_kernel::clock::now_ms;
use stratus_kernel::{Guid, Incoming, Kernel, Tenant};

use crate::rate_limit::{admit, Admission};
use crate::store::{ProvisioningStore, RateLog, Snapshot};
use crate::ProvisioningError;

/// A provisioning caller who passed every check up to input validation.
pub struct ProvisioningCaller {
    pub tenant: Tenant,
    pub app_id: String,
    pub scope: Vec<Guid>,
    pub actor: String,
    rate_log: RateLog,
}

/// Authentication, the tenant checks, input validation and the rate limit, in that order;
/// `reads` names the users the one batch read should bring along.
pub async fn admit_request<I>(
    kernel: &Kernel,
    incoming: &Incoming,
    role: &str,
    parse: impl FnOnce(&Incoming) -> Result<I, ProvisioningError>,
    reads: impl Fn(&I) -> Vec<Guid>,
) -> Result<(ProvisioningCaller, I, Snapshot), ProvisioningError> {
    let (tenant, app) = claims(kernel, incoming, role).await?;
    let input = parse(incoming);
    let wanted = input.as_ref().map(&reads).unwrap_or_default();
    let mut snapshot = kernel
        .table()
        .snapshot(&tenant, &app, &wanted.iter().collect::<Vec<_>>())
        .await?;
    let caller = configured_caller(app, &mut snapshot)?;
    let input = input?;
    rate_limit(kernel, &caller).await?;
    Ok((caller, input, snapshot))
}

/// The claim checks that need no I/O, in the seed's order.
async fn claims(
    kernel: &Kernel,
    incoming: &Incoming,
    role: &str,
) -> Result<(Guid, String), ProvisioningError> {
    let principal = kernel.principal(incoming).await?;
    let tenant = Guid::parse(&principal.tenant_id).ok_or(ProvisioningError::Kernel(
        stratus_kernel::Error::InvalidTenantId,
    ))?;
    let app = principal.app_id.clone().ok_or(ProvisioningError::NoAppId)?;
    let app = Guid::parse(&app)
        .ok_or(ProvisioningError::InvalidAppId)?
        .to_string();
    if principal.object_id.is_none() {
        return Err(ProvisioningError::NoAuthenticatedUser);
    }
    if !principal.has_role(role) {
        return Err(ProvisioningError::RequiredRoleMissing);
    }
    Ok((tenant, app))
}

/// The tenant checks after the one batch read: known tenant, API switched on, the
/// application registered.
fn configured_caller(
    app_id: String,
    snapshot: &mut Snapshot,
) -> Result<ProvisioningCaller, ProvisioningError> {
    let tenant = snapshot.tenant.take().ok_or(ProvisioningError::Kernel(
        stratus_kernel::Error::InvalidTenantId,
    ))?;
    if !tenant.public_api_enabled {
        return Err(ProvisioningError::ProvisioningDisabled);
    }
    let scope = tenant
        .app_scope(&app_id)
        .ok_or_else(|| ProvisioningError::NoAppPermission(app_id.clone()))?
        .to_vec();
    Ok(ProvisioningCaller {
        tenant,
        actor: format!("app:{app_id}"),
        app_id,
        scope,
        rate_log: std::mem::take(&mut snapshot.rate_log),
    })
}

/// Holds the request until it fits in the caller's 60-per-minute window, or refuses it
/// when that would take longer than the configured bound. The log is shared by all
/// instances through the table; a lost race re-reads it and decides again.
async fn rate_limit(kernel: &Kernel, caller: &ProvisioningCaller) -> Result<(), ProvisioningError> {
    let table = kernel.table();
    let tenant = &caller.tenant.id;
    let max_delay_ms = kernel.settings().rate_limit_max_delay_ms;
    let mut log = caller.rate_log.clone();
    for _ in 0..100 {
        match admit(&log.slots_ms, now_ms(), max_delay_ms) {
            (Admission::Refused { retry_after_secs }, _) => {
                return Err(ProvisioningError::RateLimited { retry_after_secs })
            }
            (Admission::Scheduled { wait_ms }, Some(next)) => {
                if table
                    .save_rate_log(tenant, &caller.app_id, log.version, &next)
                    .await?
                {
                    if wait_ms > 0 {
                        tracing::info!(wait_ms, "rate limit: delaying request");
                        tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64)).await;
                    }
                    return Ok(());
                }
                log = table.rate_log(tenant, &caller.app_id).await?;
            }
            (Admission::Scheduled { .. }, None) => {
                return Err(stratus_kernel::Error::internal(
                    "the rate-limit schedule admitted a request without a slot",
                )
                .into())
            }
        }
    }
    Err(stratus_kernel::Error::ConcurrentChange.into())
}

/// Checks that a unit exists in the tenant and lies in the caller's scope. Unknown units
/// (including other tenants') answer the same as out-of-scope ones.
pub async fn ensure_in_scope(
    kernel: &Kernel,
    caller: &ProvisioningCaller,
    unit: &Guid,
) -> Result<(), ProvisioningError> {
    match kernel.unit(&caller.tenant.id, unit).await? {
        Some(u) if u.within(&caller.scope) => Ok(()),
        _ => Err(ProvisioningError::OrganizationUnitNotAllowed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_kernel::Error;

    fn snapshot_with(tenant: Option<Tenant>) -> Snapshot {
        Snapshot {
            tenant,
            ..Snapshot::default()
        }
    }

    fn tenant(enabled: bool, app: Option<&str>) -> Tenant {
        let mut tenant = Tenant::new(Guid::new_random(), "Contoso".into(), Guid::new_random());
        tenant.public_api_enabled = enabled;
        if let Some(app) = app {
            let scope = vec![tenant.root_organization_unit_id.clone()];
            tenant.app_permissions.insert(app.to_owned(), scope);
        }
        tenant
    }

    #[test]
    fn the_tenant_checks_follow_the_seeds_order() {
        let app = Guid::new_random().to_string();
        let refusal = |tenant: Option<Tenant>| {
            configured_caller(app.clone(), &mut snapshot_with(tenant))
                .err()
                .map(|e| e.to_string())
        };
        assert_eq!(
            refusal(None).as_deref(),
            Some(Error::InvalidTenantId.to_string().as_str())
        );
        // Switched off beats an unregistered application.
        assert_eq!(
            refusal(Some(tenant(false, None))).as_deref(),
            Some("Provisioning Api disabled by admin")
        );
        assert_eq!(
            refusal(Some(tenant(true, None))),
            Some(format!("No app permission found for app id ({app})"))
        );
        assert_eq!(refusal(Some(tenant(true, Some(&app)))), None);
    }

    #[test]
    fn a_caller_acts_as_its_application_within_its_scope() {
        let app = Guid::new_random().to_string();
        let tenant = tenant(true, Some(&app));
        let root = tenant.root_organization_unit_id.clone();
        let caller = configured_caller(app.clone(), &mut snapshot_with(Some(tenant))).unwrap();
        assert_eq!(caller.actor, format!("app:{app}"));
        assert_eq!(caller.scope, vec![root]);
    }
}

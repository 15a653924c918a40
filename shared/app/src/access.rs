//! Who is calling and may they: token validation, the provisioning API's gate (in the
//! order the seed lists its errors), the admin roles, and the per-application rate limit.

use crate::{App, Incoming};
use stratus_auth::{AuthError, Principal};
use stratus_domain::error::Dependency;
use stratus_domain::rate_limit::{admit, Admission};
use stratus_domain::{Error, Guid, Tenant};
use stratus_store::{RateLog, Snapshot};

pub const OPERATOR_ROLE: &str = "Stratus.Operator";
pub const TENANT_ADMIN_ROLE: &str = "Tenant.Admin";

/// A provisioning caller who passed every check up to input validation.
pub struct ProvisioningCaller {
    pub tenant: Tenant,
    pub app_id: String,
    pub scope: Vec<Guid>,
    pub actor: String,
    pub rate_log: RateLog,
}

/// An admin caller: the tenant it acts on (operators name it in the path).
pub struct AdminCaller {
    pub tenant_id: Guid,
    pub actor: String,
}

fn actor_of(principal: &Principal) -> String {
    match (&principal.object_id, &principal.app_id) {
        (Some(oid), _) => format!("user:{oid}"),
        (None, Some(app)) => format!("app:{app}"),
        (None, None) => "unknown".into(),
    }
}

impl App {
    async fn principal(&self, incoming: &Incoming) -> Result<Principal, Error> {
        self.auth
            .authenticate(incoming.authorization.as_deref())
            .await
            .map_err(|e| match e {
                AuthError::NoTenantId => Error::NoTenantId,
                AuthError::InvalidTenantId => Error::InvalidTenantId,
                AuthError::KeysUnavailable(detail) => {
                    let dependency = Dependency::TokenIssuer;
                    tracing::error!(dependency = dependency.name(), %detail, "dependency unavailable");
                    Error::Unavailable(dependency)
                }
                other => Error::InvalidToken(other.to_string()),
            })
    }

    /// The claim checks of the provisioning API that need no I/O, in the seed's order.
    pub(crate) async fn provisioning_principal(
        &self,
        incoming: &Incoming,
        role: &str,
    ) -> Result<(Guid, String), Error> {
        let principal = self.principal(incoming).await?;
        let tenant = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
        let app = principal.app_id.clone().ok_or(Error::NoAppId)?;
        let app = Guid::parse(&app).ok_or(Error::InvalidAppId)?.to_string();
        if principal.object_id.is_none() {
            return Err(Error::NoAuthenticatedUser);
        }
        if !principal.has_role(role) {
            return Err(Error::RequiredRoleMissing);
        }
        Ok((tenant, app))
    }

    /// The tenant checks after the one batch read: known tenant, API switched on, the
    /// application registered.
    pub(crate) fn provisioning_caller(
        &self,
        app_id: String,
        snapshot: &mut Snapshot,
    ) -> Result<ProvisioningCaller, Error> {
        let tenant = snapshot.tenant.take().ok_or(Error::InvalidTenantId)?;
        if !tenant.public_api_enabled {
            return Err(Error::ProvisioningDisabled);
        }
        let scope = tenant
            .app_scope(&app_id)
            .ok_or_else(|| Error::NoAppPermission(app_id.clone()))?
            .to_vec();
        Ok(ProvisioningCaller {
            tenant,
            actor: format!("app:{app_id}"),
            app_id,
            scope,
            rate_log: std::mem::take(&mut snapshot.rate_log),
        })
    }

    /// Holds the request until it fits in the caller's 60-per-minute window, or refuses
    /// it when that would take longer than the configured bound. The log is shared by all
    /// instances through the table; a lost race re-reads it and decides again.
    pub(crate) async fn rate_limit(&self, caller: &ProvisioningCaller) -> Result<(), Error> {
        let tenant = &caller.tenant.id;
        let mut log = caller.rate_log.clone();
        for _ in 0..100 {
            let now_ms = now_ms();
            match admit(&log.slots_ms, now_ms, self.settings.rate_limit_max_delay_ms) {
                (Admission::Refused { retry_after_secs }, _) => {
                    return Err(Error::RateLimited { retry_after_secs })
                }
                (Admission::Scheduled { wait_ms }, Some(next)) => {
                    if self
                        .store
                        .save_rate_log(tenant, &caller.app_id, log.version, &next)
                        .await?
                    {
                        if wait_ms > 0 {
                            tracing::info!(wait_ms, "rate limit: delaying request");
                            tokio::time::sleep(std::time::Duration::from_millis(wait_ms as u64))
                                .await;
                        }
                        return Ok(());
                    }
                    log = self.store.rate_log(tenant, &caller.app_id).await?;
                }
                (Admission::Scheduled { .. }, None) => {
                    return Err(Error::Internal("rate-limit schedule".into()))
                }
            }
        }
        Err(Error::ConcurrentChange)
    }

    /// Checks that a unit exists in the tenant and lies in the caller's scope. Unknown
    /// units (including other tenants') answer the same as out-of-scope ones.
    pub(crate) async fn ensure_in_scope(
        &self,
        caller: &ProvisioningCaller,
        unit: &Guid,
    ) -> Result<(), Error> {
        match self.unit(&caller.tenant.id, unit).await? {
            Some(u) if u.within(&caller.scope) => Ok(()),
            _ => Err(Error::OrganizationUnitNotAllowed),
        }
    }

    /// An operator: the role, from Stratus's own tenant only (any customer could grant
    /// itself a role of that name in its own directory).
    pub(crate) async fn operator(&self, incoming: &Incoming) -> Result<String, Error> {
        let principal = self.principal(incoming).await?;
        let from_operator_tenant =
            Guid::parse(&principal.tenant_id).as_ref() == Some(&self.settings.operator_tenant_id);
        if !(from_operator_tenant && principal.has_role(OPERATOR_ROLE)) {
            return Err(Error::AdminRoleMissing(OPERATOR_ROLE));
        }
        Ok(actor_of(&principal))
    }

    /// A tenant administrator of the token's own tenant, which must exist.
    pub async fn tenant_admin(&self, incoming: &Incoming) -> Result<(AdminCaller, Tenant), Error> {
        let principal = self.principal(incoming).await?;
        if !principal.has_role(TENANT_ADMIN_ROLE) {
            return Err(Error::AdminRoleMissing(TENANT_ADMIN_ROLE));
        }
        let tenant_id = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
        let tenant = self
            .store
            .tenant(&tenant_id)
            .await?
            .ok_or(Error::InvalidTenantId)?;
        Ok((
            AdminCaller {
                tenant_id,
                actor: actor_of(&principal),
            },
            tenant,
        ))
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

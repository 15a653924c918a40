//! Who may act on tasks: a routing application (an application token with the role
//! `Routing.Tasks`, registered under the tenant's app permissions), a tenant admin for the
//! reads, and agents with their own user tokens.

use stratus_ids::roles;
use stratus_kernel::{Error, Guid, Incoming, Kernel};

use crate::TaskError;

pub struct RoutingApp {
    pub tenant_id: Guid,
}

/// A routing application of the caller's tenant.
pub async fn routing_app(kernel: &Kernel, incoming: &Incoming) -> Result<RoutingApp, TaskError> {
    let principal = kernel.principal(incoming).await?;
    app_from(kernel, principal).await
}

async fn app_from(
    kernel: &Kernel,
    principal: stratus_auth::Principal,
) -> Result<RoutingApp, TaskError> {
    if !principal.has_role(roles::ROUTING_TASKS) {
        return Err(Error::AdminRoleMissing(roles::ROUTING_TASKS).into());
    }
    let tenant_id = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
    let app_id = principal.app_id.clone().ok_or_else(|| {
        Error::InvalidToken("the token names no application (no appid/azp)".into())
    })?;
    let tenant = kernel
        .table()
        .tenant(&tenant_id)
        .await?
        .ok_or(Error::InvalidTenantId)?;
    if tenant.app_scope(&app_id).is_none() {
        return Err(TaskError::AppNotRegistered(app_id));
    }
    Ok(RoutingApp { tenant_id })
}

/// A routing application or a tenant admin (the reads a wallboard or an admin makes).
pub async fn routing_app_or_admin(kernel: &Kernel, incoming: &Incoming) -> Result<Guid, TaskError> {
    let principal = kernel.principal(incoming).await?;
    if principal.has_role(roles::TENANT_ADMIN) {
        return Ok(Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?);
    }
    if !principal.has_role(roles::ROUTING_TASKS) {
        return Err(Error::AdminRoleMissing(roles::ROUTING_TASKS).into());
    }
    Ok(app_from(kernel, principal).await?.tenant_id)
}

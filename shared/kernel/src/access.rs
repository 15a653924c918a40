//! Who is calling: the token validated into a principal, and the two admin roles every
//! admin feature checks. The public provisioning API's own gate (its seed's order of
//! errors, application permissions, the rate limit) belongs to the provisioning feature.

use stratus_auth::{AuthError, Principal};
use stratus_ids::roles;

use crate::error::Dependency;
use crate::{Error, Guid, Incoming, Kernel};

/// An admin caller: the tenant it acts on and who it is, for the audit record.
pub struct AdminCaller {
    pub tenant_id: Guid,
    pub actor: String,
}

/// A caller acting on one tenant, as an operator or as that tenant's administrator.
pub struct TenantCaller {
    pub tenant_id: Guid,
    pub actor: String,
    pub operator: bool,
}

/// A user acting for themselves (an agent): the token's tenant and object id.
pub struct UserCaller {
    pub tenant_id: Guid,
    pub o365_id: Guid,
}

/// How audit records name the caller: `user:<oid>` for delegated tokens, `app:<appId>`
/// for application tokens.
pub fn actor_of(principal: &Principal) -> String {
    match (&principal.object_id, &principal.app_id) {
        (Some(oid), _) => format!("user:{oid}"),
        (None, Some(app)) => format!("app:{app}"),
        (None, None) => "unknown".into(),
    }
}

impl Kernel {
    /// The caller's validated token.
    pub async fn principal(&self, incoming: &Incoming) -> Result<Principal, Error> {
        self.auth
            .authenticate(incoming.authorization.as_deref())
            .await
            .map_err(|e| match e {
                AuthError::NoTenantId => Error::NoTenantId,
                AuthError::InvalidTenantId => Error::InvalidTenantId,
                AuthError::KeysUnavailable(detail) => Error::unavailable(
                    Dependency::TokenIssuer,
                    format!("fetching the signing keys: {detail}"),
                    None,
                ),
                other => Error::InvalidToken(other.to_string()),
            })
    }

    /// An operator: the role, from Stratus's own tenant only (any customer could grant
    /// itself a role of that name in its own directory). Answers who it is.
    pub async fn operator(&self, incoming: &Incoming) -> Result<String, Error> {
        let principal = self.principal(incoming).await?;
        if !self.is_operator(&principal) {
            return Err(Error::AdminRoleMissing(roles::OPERATOR));
        }
        Ok(actor_of(&principal))
    }

    fn is_operator(&self, principal: &Principal) -> bool {
        let from_operator_tenant =
            Guid::parse(&principal.tenant_id).as_ref() == Some(&self.settings().operator_tenant_id);
        from_operator_tenant && principal.has_role(roles::OPERATOR)
    }

    /// For a tenant resource both roles reach, at fixed paths without a tenant in them: an
    /// operator names the tenant (`named`, e.g. from `?tenantId=`), a tenant admin acts on
    /// the token's own tenant and may name only that one.
    pub async fn operator_or_tenant_admin(
        &self,
        incoming: &Incoming,
        named: Option<&Guid>,
    ) -> Result<TenantCaller, Error> {
        let principal = self.principal(incoming).await?;
        if self.is_operator(&principal) {
            let tenant_id = named
                .cloned()
                .ok_or_else(|| Error::field("tenantId", "is required for operators"))?;
            return Ok(TenantCaller {
                tenant_id,
                actor: actor_of(&principal),
                operator: true,
            });
        }
        if !principal.has_role(roles::TENANT_ADMIN) {
            return Err(Error::AdminRoleMissing(roles::TENANT_ADMIN));
        }
        let tenant_id = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
        if named.is_some_and(|named| *named != tenant_id) {
            // Another tenant is an operator's business only.
            return Err(Error::AdminRoleMissing(roles::OPERATOR));
        }
        Ok(TenantCaller {
            tenant_id,
            actor: actor_of(&principal),
            operator: false,
        })
    }

    /// A user of a tenant acting for themselves (an agent with their own token): the
    /// token's `oid` names them. Whether they are a user of the tenant is for the operation
    /// to find out from what it reads anyway.
    pub async fn user_caller(&self, incoming: &Incoming) -> Result<UserCaller, Error> {
        let principal = self.principal(incoming).await?;
        let tenant_id = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
        let o365_id = principal
            .object_id
            .as_deref()
            .and_then(Guid::parse)
            .ok_or_else(|| {
                Error::InvalidToken(
                    "the token names no user (no oid): a user token is needed".into(),
                )
            })?;
        Ok(UserCaller { tenant_id, o365_id })
    }

    /// A tenant administrator, acting on the token's own tenant. Whether that tenant
    /// exists is for the operation to find out from what it reads or writes anyway.
    pub async fn tenant_admin(&self, incoming: &Incoming) -> Result<AdminCaller, Error> {
        let principal = self.principal(incoming).await?;
        if !principal.has_role(roles::TENANT_ADMIN) {
            return Err(Error::AdminRoleMissing(roles::TENANT_ADMIN));
        }
        let tenant_id = Guid::parse(&principal.tenant_id).ok_or(Error::InvalidTenantId)?;
        Ok(AdminCaller {
            tenant_id,
            actor: actor_of(&principal),
        })
    }
}

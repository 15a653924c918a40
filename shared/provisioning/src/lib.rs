//! The public provisioning API (`/api/public-api-next`): create, read, copy and delete
//! users, and licence usage. Each operation reads in the same order: the gate (token,
//! tenant configuration, input, rate limit; see [`gate`]), then the change as one
//! transaction with its audit record. Warm path: one batch read, one conditional write of
//! the rate-limit log, one transaction.

mod copy;
mod error;
pub mod gate;
pub mod rate_limit;
pub mod store;

use serde_json::json;
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::path_guid;
use stratus_kernel::license::{self, LicenseUsage};
use stratus_kernel::{retry_on_race, roles, Error, Guid, Incoming, Kernel, User};

pub use copy::{copy_of, ensure_deletable};
pub use error::ProvisioningError;
use gate::{admit_request, ensure_in_scope};
use store::ProvisioningStore;

struct CreateInput {
    o365_id: Guid,
    organization_unit_id: Guid,
}

struct CopyInput {
    new_id: Guid,
    source_id: Guid,
}

/// `POST /user`: an empty, unconfigured, manually managed user without licences.
pub async fn create_user(kernel: &Kernel, incoming: Incoming) -> Result<User, ProvisioningError> {
    let parse = |i: &Incoming| {
        let f = i.body_fields()?;
        Ok(CreateInput {
            o365_id: f.required_guid("o365Id")?,
            organization_unit_id: f.required_guid("organizationUnitId")?,
        })
    };
    let (caller, input, _) = admit_request(
        kernel,
        &incoming,
        roles::PROVISIONING_USER_CREATE,
        parse,
        |_| Vec::new(),
    )
    .await?;
    ensure_in_scope(kernel, &caller, &input.organization_unit_id).await?;
    let user = User::empty(input.o365_id, input.organization_unit_id);
    let audit = audit_record(
        &caller.tenant.id,
        &caller.actor,
        "user.create",
        format!("user:{}", user.o365_id),
        json!({ "organizationUnitId": user.organization_unit_id }),
    );
    kernel
        .table()
        .create_user(&caller.tenant.id, &user, &audit)
        .await?;
    Ok(user)
}

/// `GET /user/{userO365Id}`.
pub async fn get_user(kernel: &Kernel, incoming: Incoming) -> Result<User, ProvisioningError> {
    let parse = |i: &Incoming| Ok(path_guid("userO365Id", i.path_param("userO365Id"))?);
    let (caller, id, mut snapshot) = admit_request(
        kernel,
        &incoming,
        roles::PROVISIONING_USER_READ,
        parse,
        |id| vec![id.clone()],
    )
    .await?;
    let found = snapshot.users.remove(&id).ok_or(Error::UserNotFound)?;
    ensure_in_scope(kernel, &caller, &found.user.organization_unit_id).await?;
    Ok(found.user)
}

/// `GET /user/license-usage`: every licence type with total, in use, available.
pub async fn get_license_usage(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Vec<LicenseUsage>, ProvisioningError> {
    let (caller, (), _) = admit_request(
        kernel,
        &incoming,
        roles::PROVISIONING_TENANT_READ,
        |_| Ok(()),
        |_| Vec::new(),
    )
    .await?;
    Ok(license::usage(&caller.tenant.licenses))
}

/// `POST /user/copy`: a new user configured like a manually managed, Contact Center
/// licensed template user; its licences are taken atomically or not at all.
pub async fn copy_user(kernel: &Kernel, incoming: Incoming) -> Result<User, ProvisioningError> {
    let parse = |i: &Incoming| {
        let f = i.body_fields()?;
        let (new_id, source_id) = match (f.guid("newO365Id")?, f.guid("sourceO365Id")?) {
            (Some(n), Some(s)) if n != s => (n, s),
            _ => return Err(ProvisioningError::CopyIdsRequired),
        };
        Ok(CopyInput { new_id, source_id })
    };
    let (caller, input, mut snapshot) = admit_request(
        kernel,
        &incoming,
        roles::PROVISIONING_USER_CREATE,
        parse,
        |i| vec![i.source_id.clone()],
    )
    .await?;
    let source = snapshot
        .users
        .remove(&input.source_id)
        .ok_or(ProvisioningError::SourceUserNotFound)?;
    ensure_in_scope(kernel, &caller, &source.user.organization_unit_id).await?;
    let copy = copy_of(&source.user, input.new_id)?;
    let audit = audit_record(
        &caller.tenant.id,
        &caller.actor,
        "user.copy",
        format!("user:{}", copy.o365_id),
        json!({ "source": input.source_id, "licenses": copy.licenses }),
    );
    kernel
        .table()
        .create_user(&caller.tenant.id, &copy, &audit)
        .await?;
    Ok(copy)
}

/// `DELETE /user/{userO365Id}`: removes a manually managed user with its service
/// memberships and frees its licences. Reporting data is keyed by O365 ID elsewhere and
/// stays, so a user added again finds its history.
pub async fn delete_user(kernel: &Kernel, incoming: Incoming) -> Result<User, ProvisioningError> {
    let parse = |i: &Incoming| {
        let id = path_guid("userO365Id", i.path_param("userO365Id"))?;
        if let Some(f) = i.optional_body_fields()? {
            if let Some(body_id) = f.guid("o365Id")? {
                if body_id != id {
                    return Err(Error::field(
                        "o365Id",
                        "in the body does not match the user in the path",
                    )
                    .into());
                }
            }
        }
        Ok(id)
    };
    let (caller, id, _) = admit_request(
        kernel,
        &incoming,
        roles::PROVISIONING_USER_DELETE,
        parse,
        |_| Vec::new(),
    )
    .await?;
    let table = kernel.table();
    retry_on_race(|| async {
        let (found, dependents) = table
            .user_with_dependents(&caller.tenant.id, &id)
            .await?
            .ok_or(Error::UserNotFound)?;
        ensure_in_scope(kernel, &caller, &found.user.organization_unit_id).await?;
        ensure_deletable(&found.user)?;
        let audit = audit_record(
            &caller.tenant.id,
            &caller.actor,
            "user.delete",
            format!("user:{id}"),
            json!({ "licensesFreed": found.user.licenses, "membershipsRemoved": dependents.len() }),
        );
        table
            .delete_user(&caller.tenant.id, &found, &dependents, &audit)
            .await?;
        Ok(found.user)
    })
    .await
}

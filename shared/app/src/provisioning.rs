//! The public provisioning API (`/api/public-api-next`): create, read, copy and delete
//! users, and licence usage. Warm path of each: one batch read (tenant, rate-limit log,
//! named users), one conditional write of the rate-limit log, one transaction.

use crate::access::ProvisioningCaller;
use crate::{retry_on_race, App, Incoming};
use serde_json::json;
use stratus_domain::fields::{path_guid, Fields};
use stratus_domain::license::{self, LicenseUsage};
use stratus_domain::{Error, Guid, User};
use stratus_store::{audit_record, Snapshot};

const CREATE: &str = "Provisioning.User.Create";
const READ: &str = "Provisioning.User.Read";
const DELETE: &str = "Provisioning.User.Delete";
const TENANT_READ: &str = "Provisioning.Tenant.Read";

struct CreateInput {
    o365_id: Guid,
    organization_unit_id: Guid,
}

struct CopyInput {
    new_id: Guid,
    source_id: Guid,
}

impl App {
    /// Authentication, the tenant checks, input validation and the rate limit, in that
    /// order; `reads` names the users the one batch read should bring along.
    async fn admit<I>(
        &self,
        incoming: &Incoming,
        role: &str,
        parse: impl FnOnce(&Incoming) -> Result<I, Error>,
        reads: impl Fn(&I) -> Vec<Guid>,
    ) -> Result<(ProvisioningCaller, I, Snapshot), Error> {
        let (tenant, app) = self.provisioning_principal(incoming, role).await?;
        let input = parse(incoming);
        let wanted = input.as_ref().map(&reads).unwrap_or_default();
        let mut snapshot = self
            .store
            .snapshot(&tenant, &app, &wanted.iter().collect::<Vec<_>>())
            .await?;
        let caller = self.provisioning_caller(app, &mut snapshot)?;
        let input = input?;
        self.rate_limit(&caller).await?;
        Ok((caller, input, snapshot))
    }

    /// `POST /user`: an empty, unconfigured, manually managed user without licences.
    pub async fn create_user(&self, incoming: Incoming) -> Result<User, Error> {
        let parse = |i: &Incoming| {
            let f = i.body_fields()?;
            Ok(CreateInput {
                o365_id: f.required_guid("o365Id")?,
                organization_unit_id: f.required_guid("organizationUnitId")?,
            })
        };
        let (caller, input, _) = self.admit(&incoming, CREATE, parse, |_| Vec::new()).await?;
        self.ensure_in_scope(&caller, &input.organization_unit_id)
            .await?;
        let user = User::empty(input.o365_id, input.organization_unit_id);
        let audit = audit_record(
            &caller.tenant.id,
            &caller.actor,
            "user.create",
            format!("user:{}", user.o365_id),
            json!({ "organizationUnitId": user.organization_unit_id }),
        );
        self.store
            .create_user(&caller.tenant.id, &user, &audit)
            .await?;
        Ok(user)
    }

    /// `GET /user/{userO365Id}`.
    pub async fn get_user(&self, incoming: Incoming) -> Result<User, Error> {
        let parse = |i: &Incoming| path_guid("userO365Id", i.path_param("userO365Id"));
        let (caller, id, mut snapshot) = self
            .admit(&incoming, READ, parse, |id| vec![id.clone()])
            .await?;
        let found = snapshot.users.remove(&id).ok_or(Error::UserNotFound)?;
        self.ensure_in_scope(&caller, &found.user.organization_unit_id)
            .await?;
        Ok(found.user)
    }

    /// `GET /user/license-usage`: every licence type with total, in use, available.
    pub async fn license_usage(&self, incoming: Incoming) -> Result<Vec<LicenseUsage>, Error> {
        let (caller, (), _) = self
            .admit(&incoming, TENANT_READ, |_| Ok(()), |_| Vec::new())
            .await?;
        Ok(license::usage(&caller.tenant.licenses))
    }

    /// `POST /user/copy`: a new user configured like a manually managed, Contact Center
    /// licensed template user; its licences are taken atomically or not at all.
    pub async fn copy_user(&self, incoming: Incoming) -> Result<User, Error> {
        let parse = |i: &Incoming| {
            let f = i.body_fields()?;
            let (new_id, source_id) = match (f.guid("newO365Id")?, f.guid("sourceO365Id")?) {
                (Some(n), Some(s)) if n != s => (n, s),
                _ => return Err(Error::CopyIdsRequired),
            };
            Ok(CopyInput { new_id, source_id })
        };
        let (caller, input, mut snapshot) = self
            .admit(&incoming, CREATE, parse, |i| vec![i.source_id.clone()])
            .await?;
        let source = snapshot
            .users
            .remove(&input.source_id)
            .ok_or(Error::SourceUserNotFound)?;
        self.ensure_in_scope(&caller, &source.user.organization_unit_id)
            .await?;
        let copy = source.user.copy_to(input.new_id)?;
        let audit = audit_record(
            &caller.tenant.id,
            &caller.actor,
            "user.copy",
            format!("user:{}", copy.o365_id),
            json!({ "source": input.source_id, "licenses": copy.licenses }),
        );
        self.store
            .create_user(&caller.tenant.id, &copy, &audit)
            .await?;
        Ok(copy)
    }

    /// `DELETE /user/{userO365Id}`: removes a manually managed user with its service
    /// memberships and frees its licences. Reporting data is keyed by O365 ID elsewhere
    /// and stays, so a user added again finds its history.
    pub async fn delete_user(&self, incoming: Incoming) -> Result<User, Error> {
        let parse = |i: &Incoming| {
            let id = path_guid("userO365Id", i.path_param("userO365Id"))?;
            if let Some(f) = Fields::from_optional_body(i.body.clone()?)? {
                if let Some(body_id) = f.guid("o365Id")? {
                    if body_id != id {
                        return Err(Error::field(
                            "o365Id",
                            "in the body does not match the user in the path",
                        ));
                    }
                }
            }
            Ok(id)
        };
        let (caller, id, _) = self.admit(&incoming, DELETE, parse, |_| Vec::new()).await?;
        retry_on_race(|| async {
            let (found, dependents) = self
                .store
                .user_with_dependents(&caller.tenant.id, &id)
                .await?
                .ok_or(Error::UserNotFound)?;
            self.ensure_in_scope(&caller, &found.user.organization_unit_id).await?;
            found.user.ensure_deletable()?;
            let audit = audit_record(
                &caller.tenant.id,
                &caller.actor,
                "user.delete",
                format!("user:{id}"),
                json!({ "licensesFreed": found.user.licenses, "membershipsRemoved": dependents.len() }),
            );
            self.store.delete_user(&caller.tenant.id, &found, &dependents, &audit).await?;
            Ok(found.user)
        })
        .await
    }
}

//! The provisioning feature's storage seam: every read and write its operations make, as a
//! trait implemented over the kernel's DynamoDB [`Table`]. The warm path of an operation is
//! one batch read ([`ProvisioningStore::snapshot`]), one conditional write of the rate-limit
//! log and one transaction.

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use stratus_kernel::audit::AuditRecord;
use stratus_kernel::table::{
    agent_state_key, batches_of, from_item, key, keys, n, not_exists, sdk_failure, sort_key,
    user_item, version_is, version_of, Change, Item, Meaning, Table, VersionedUser,
};
use stratus_kernel::{Error, Guid, Tenant, User};

use crate::ProvisioningError;

/// DynamoDB allows 100 items per transaction; memberships beyond this many are removed
/// in earlier transactions of their own (removing a membership twice is harmless).
const MAX_DEPENDENTS_IN_FINAL: usize = 90;

/// The rate-limit log of one tenant and application.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateLog {
    pub slots_ms: Vec<i64>,
    /// `None` when no log exists yet.
    pub version: Option<u64>,
}

/// What one batch read at the start of a provisioning operation returns.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub tenant: Option<Tenant>,
    pub rate_log: RateLog,
    pub users: HashMap<Guid, VersionedUser>,
}

// Implemented and called on the concrete `Table` only, so the futures' `Send` is known
// where they are awaited.
#[allow(async_fn_in_trait)]
pub trait ProvisioningStore {
    /// One round trip for everything an operation reads up front: the tenant configuration,
    /// the caller's rate-limit log and the users the request names.
    async fn snapshot(
        &self,
        tenant: &Guid,
        app_id: &str,
        users: &[&Guid],
    ) -> Result<Snapshot, Error>;

    async fn rate_log(&self, tenant: &Guid, app_id: &str) -> Result<RateLog, Error>;

    /// Saves a rate-limit log if nobody else changed it since `previous` was read.
    /// `Ok(false)`: somebody did; read again and decide again.
    async fn save_rate_log(
        &self,
        tenant: &Guid,
        app_id: &str,
        previous: Option<u64>,
        slots_ms: &[i64],
    ) -> Result<bool, Error>;

    /// Creates a user that must not exist yet, taking a seat of each of its licences.
    async fn create_user(
        &self,
        tenant: &Guid,
        user: &User,
        audit: &AuditRecord,
    ) -> Result<(), ProvisioningError>;

    /// A user and the sort keys of everything hanging off it (service memberships), in
    /// one paginated query.
    async fn user_with_dependents(
        &self,
        tenant: &Guid,
        user: &Guid,
    ) -> Result<Option<(VersionedUser, Vec<String>)>, Error>;

    /// Deletes a user read at `before` with everything hanging off it (its service
    /// memberships, from both sides), freeing its seats. Dependents beyond what one
    /// transaction holds go first, in transactions of their own: a crash between them
    /// leaves the user in fewer services, never a membership without its user.
    async fn delete_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        dependents: &[String],
        audit: &AuditRecord,
    ) -> Result<(), ProvisioningError>;
}

impl ProvisioningStore for Table {
    async fn snapshot(
        &self,
        tenant: &Guid,
        app_id: &str,
        users: &[&Guid],
    ) -> Result<Snapshot, Error> {
        let tenant_pk = keys::tenant_pk(tenant);
        let mut wanted = vec![
            key(tenant_pk.clone(), keys::TENANT_SK),
            key(keys::rate_pk(tenant, app_id), keys::RATE_SK),
        ];
        for user in users {
            wanted.push(key(tenant_pk.clone(), keys::user_sk(user)));
        }
        let mut snapshot = Snapshot::default();
        for item in self.batch_get(wanted).await? {
            match sort_key(&item) {
                keys::TENANT_SK => snapshot.tenant = Some(from_item(item)?),
                keys::RATE_SK => snapshot.rate_log = rate_log_from(&item),
                _ => {
                    let user = VersionedUser::from_item(item)?;
                    snapshot.users.insert(user.user.o365_id.clone(), user);
                }
            }
        }
        Ok(snapshot)
    }

    async fn rate_log(&self, tenant: &Guid, app_id: &str) -> Result<RateLog, Error> {
        Ok(self
            .get(key(keys::rate_pk(tenant, app_id), keys::RATE_SK))
            .await?
            .map(|i| rate_log_from(&i))
            .unwrap_or_default())
    }

    async fn save_rate_log(
        &self,
        tenant: &Guid,
        app_id: &str,
        previous: Option<u64>,
        slots_ms: &[i64],
    ) -> Result<bool, Error> {
        let last = slots_ms.last().copied().unwrap_or(0);
        let mut item = key(keys::rate_pk(tenant, app_id), keys::RATE_SK);
        item.insert(
            "slots".into(),
            AttributeValue::L(slots_ms.iter().map(n).collect()),
        );
        item.insert("version".into(), n(previous.map_or(1, |v| v + 1)));
        // The log is worthless a window after its last slot; let TTL collect it.
        item.insert(keys::EXPIRES_AT.into(), n(last / 1000 + 120));
        let mut put = self
            .client()
            .put_item()
            .table_name(self.name())
            .set_item(Some(item));
        put = match previous {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        let started = Instant::now();
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_failure("saving the rate-limit log", e, started)),
        }
    }

    async fn create_user(
        &self,
        tenant: &Guid,
        user: &User,
        audit: &AuditRecord,
    ) -> Result<(), ProvisioningError> {
        let mut c = Change::on(self);
        c.put(
            user_item(tenant, user, 1)?,
            Some(not_exists()),
            Meaning::Fails(ProvisioningError::UserAlreadyExists),
        )?;
        c.seats(tenant, &user.licenses, &[])?;
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn user_with_dependents(
        &self,
        tenant: &Guid,
        user: &Guid,
    ) -> Result<Option<(VersionedUser, Vec<String>)>, Error> {
        let own_sk = keys::user_sk(user);
        let mut found = None;
        let mut dependents = Vec::new();
        for item in self
            .query_prefix(keys::tenant_pk(tenant), &keys::user_prefix(user))
            .await?
        {
            if sort_key(&item) == own_sk {
                found = Some(VersionedUser::from_item(item)?);
            } else {
                dependents.push(sort_key(&item).to_owned());
            }
        }
        Ok(found.map(|u| (u, dependents)))
    }

    async fn delete_user(
        &self,
        tenant: &Guid,
        before: &VersionedUser,
        dependents: &[String],
        audit: &AuditRecord,
    ) -> Result<(), ProvisioningError> {
        let pk = keys::tenant_pk(tenant);
        // A service membership has a mirror under its service: the two always go in the same
        // transaction, so no step leaves one without the other.
        let groups: Vec<Vec<String>> = dependents
            .iter()
            .map(|sk| {
                std::iter::once(sk.clone())
                    .chain(keys::member_sk_of_user_membership(sk))
                    .collect()
            })
            .collect();
        let mut batches = batches_of(groups, MAX_DEPENDENTS_IN_FINAL);
        let last = batches.pop().unwrap_or_default();
        for batch in batches {
            let mut c = Change::<ProvisioningError>::on(self);
            for sk in batch {
                c.delete(key(pk.clone(), sk), None, Meaning::Unconditional)?;
            }
            self.commit(c).await?;
        }
        let mut c = Change::on(self);
        c.delete(
            key(pk.clone(), keys::user_sk(&before.user.o365_id)),
            Some(version_is(before.version)),
            Meaning::Fails(Error::ConcurrentChange.into()),
        )?;
        c.seats(tenant, &[], &before.user.licenses)?;
        // The agent's live state goes with the user (its history expires by itself).
        c.delete(
            agent_state_key(tenant, &before.user.o365_id),
            None,
            Meaning::Unconditional,
        )?;
        for sk in last {
            c.delete(key(pk.clone(), sk), None, Meaning::Unconditional)?;
        }
        c.audit(audit)?;
        self.commit(c).await
    }
}

fn rate_log_from(item: &Item) -> RateLog {
    let slots_ms = item
        .get("slots")
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|n| n.as_n().ok()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    RateLog {
        slots_ms,
        version: Some(version_of(item)),
    }
}

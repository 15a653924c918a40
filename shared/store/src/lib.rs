//! Stratus storage: the single DynamoDB table behind every function. This crate owns the
//! key design (`keys`), the mapping between domain types and items (`serde_dynamo`), and
//! every invariant the database enforces for us: unique users by conditional put, licence
//! contingents by one transaction that takes every seat a change needs or none, optimistic
//! versions on users and rate-limit logs, audit records written in the same transaction as
//! the change they describe. Failures come back as domain errors; backend detail is logged,
//! never shown to callers. See `infra/README.md` for the table layout and access patterns.

mod bounds;
mod change;
pub mod keys;
mod plugins;
#[cfg(feature = "table-setup")]
pub mod table_setup;
mod write;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::time::Instant;
use stratus_domain::audit::AuditRecord;
use stratus_domain::license::{LicenseCount, LicenseType};
use stratus_domain::{Error, Guid, OrganizationUnit, Tenant, User};

pub(crate) use bounds::sdk_failure;
pub use bounds::DynamoDbBounds;
pub use change::Change;
pub use plugins::{PluginVersion, ARTIFACT_BLOB, BLOB_CHUNK_BYTES, SOURCE_BLOB};
pub use write::audit_record;

/// Store operations report domain errors; the alias reads better at call sites in tooling.
pub type StoreError = Error;

pub type Item = HashMap<String, AttributeValue>;

/// A skill as stored (the admin API answers with it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    pub id: Guid,
    pub name: String,
    pub organization_unit_id: Guid,
}

/// A user together with the version its item had when read.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionedUser {
    pub user: User,
    pub version: u64,
}

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

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

/// Logs the backend detail and hands the caller the generic 500.
pub(crate) fn backend<E: std::fmt::Debug>(context: &str, error: E) -> Error {
    tracing::error!(?error, "{context} failed");
    Error::Internal(context.to_string())
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.into(), s(pk)), (keys::SK.into(), s(sk))])
}

/// A domain value as an item under the given key (plus any extra attributes).
pub(crate) fn to_item<T: Serialize>(
    pk: String,
    sk: impl Into<String>,
    value: &T,
) -> Result<Item, Error> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| backend("encoding an item", e))?;
    item.extend(key(pk, sk));
    Ok(item)
}

pub(crate) fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| backend("decoding an item", e))
}

pub(crate) fn version_of(item: &Item) -> u64 {
    item.get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Store {
    /// Builds the client from the standard AWS environment (region, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`), bounded by [`DynamoDbBounds::from_env`], and the table
    /// from `STRATUS_TABLE_NAME`.
    pub async fn from_env() -> Result<Store, Error> {
        Self::from_env_with(DynamoDbBounds::from_env()?).await
    }

    /// [`Store::from_env`] with the given bounds instead of the configured ones.
    pub async fn from_env_with(bounds: DynamoDbBounds) -> Result<Store, Error> {
        let config = bounds
            .apply(aws_config::defaults(aws_config::BehaviorVersion::latest()))
            .load()
            .await;
        let table = std::env::var("STRATUS_TABLE_NAME").unwrap_or_else(|_| "stratus".into());
        Ok(Store::new(Client::new(&config), table))
    }

    pub fn new(client: Client, table: impl Into<String>) -> Store {
        Store {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    // ---------- reads ----------

    /// Strongly consistent batch read of known keys; unprocessed keys are retried.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, Error> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| backend("building a batch read", e))?;
            let started = Instant::now();
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| sdk_failure("batch read", e, started))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            attempt += 1;
            if !pending.is_empty() {
                change::backoff(attempt).await;
            }
        }
        Ok(found)
    }

    pub(crate) async fn get(&self, key: Item) -> Result<Option<Item>, Error> {
        let started = Instant::now();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("read", e, started))?;
        Ok(out.item)
    }

    /// Every item of a partition whose sort key starts with `prefix`, across pages.
    pub(crate) async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", s(pk.clone()));
            query = if prefix.is_empty() {
                query.key_condition_expression("#pk = :pk")
            } else {
                query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":prefix", s(prefix))
            };
            let started = Instant::now();
            let out = query
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_failure("query", e, started))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// One round trip for everything a provisioning operation reads up front: the tenant
    /// configuration, the caller's rate-limit log and the users the request names.
    pub async fn snapshot(
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
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == keys::TENANT_SK {
                snapshot.tenant = Some(from_item(item)?);
            } else if sk == keys::RATE_SK {
                snapshot.rate_log = rate_log_from(&item);
            } else {
                let version = version_of(&item);
                let user: User = from_item(item)?;
                snapshot
                    .users
                    .insert(user.o365_id.clone(), VersionedUser { user, version });
            }
        }
        Ok(snapshot)
    }

    pub async fn tenant(&self, tenant: &Guid) -> Result<Option<Tenant>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::TENANT_SK))
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn rate_log(&self, tenant: &Guid, app_id: &str) -> Result<RateLog, Error> {
        Ok(self
            .get(key(keys::rate_pk(tenant, app_id), keys::RATE_SK))
            .await?
            .map(|i| rate_log_from(&i))
            .unwrap_or_default())
    }

    pub async fn organization_unit(
        &self,
        tenant: &Guid,
        ou: &Guid,
    ) -> Result<Option<OrganizationUnit>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::ou_sk(ou)))
            .await?
            .map(from_item)
            .transpose()
    }

    /// All units of a tenant (paginated underneath).
    pub async fn organization_units(&self, tenant: &Guid) -> Result<Vec<OrganizationUnit>, Error> {
        self.query_prefix(keys::tenant_pk(tenant), keys::OU_PREFIX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    pub async fn user(&self, tenant: &Guid, user: &Guid) -> Result<Option<VersionedUser>, Error> {
        self.get(key(keys::tenant_pk(tenant), keys::user_sk(user)))
            .await?
            .map(|item| {
                let version = version_of(&item);
                from_item(item).map(|user| VersionedUser { user, version })
            })
            .transpose()
    }

    /// A user and the sort keys of everything hanging off it (service memberships), in
    /// one paginated query.
    pub async fn user_with_dependents(
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
            let sk = item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == own_sk {
                let version = version_of(&item);
                found = Some(VersionedUser {
                    user: from_item(item)?,
                    version,
                });
            } else {
                dependents.push(sk);
            }
        }
        Ok(found.map(|u| (u, dependents)))
    }

    /// The ids among `skills` that are not skills of the tenant.
    pub async fn missing_skills(&self, tenant: &Guid, skills: &[Guid]) -> Result<Vec<Guid>, Error> {
        if skills.is_empty() {
            return Ok(Vec::new());
        }
        let pk = keys::tenant_pk(tenant);
        let mut present = Vec::new();
        for chunk in skills.chunks(100) {
            let wanted = chunk
                .iter()
                .map(|id| key(pk.clone(), keys::skill_sk(id)))
                .collect();
            for item in self.batch_get(wanted).await? {
                let skill: Skill = from_item(item)?;
                present.push(skill.id);
            }
        }
        Ok(skills
            .iter()
            .filter(|id| !present.contains(id))
            .cloned()
            .collect())
    }

    /// Audit records of a tenant, oldest first.
    pub async fn audit_records(&self, tenant: &Guid) -> Result<Vec<AuditRecord>, Error> {
        self.query_prefix(keys::audit_pk(tenant), "")
            .await?
            .into_iter()
            .map(from_item)
            .collect()
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

/// Seats a set of licences takes, for the transaction that allocates them.
pub(crate) fn seat_changes(
    taken: &[LicenseType],
    freed: &[LicenseType],
) -> Vec<(LicenseType, i64)> {
    taken
        .iter()
        .map(|t| (*t, 1))
        .chain(freed.iter().map(|t| (*t, -1)))
        .collect()
}

/// The first licence type the stored tenant item has no free seat of, among `needed`.
pub(crate) fn exhausted_in(item: Option<&Item>, needed: &[LicenseType]) -> Option<LicenseType> {
    let tenant: Tenant = serde_dynamo::from_item(item?.clone()).ok()?;
    tenant.first_exhausted(needed)
}

pub(crate) fn license_count(tenant: &Tenant, license: LicenseType) -> LicenseCount {
    tenant.licenses.get(&license).copied().unwrap_or_default()
}

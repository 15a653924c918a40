//! The single DynamoDB table behind every function: the client and its time bounds, the key
//! design (`keys`), item mapping (`serde_dynamo`), the reads every feature uses (tenant,
//! organization units, users) and the transaction builder ([`Change`]) through which every
//! write goes. Feature crates add their own item kinds and access patterns on [`Table`]
//! through a trait of their own (their storage seam). See `infra/README.md` for the table
//! layout and access patterns.

mod agent_state;
mod bounds;
mod change;
mod directory;
pub mod keys;
#[cfg(feature = "table-setup")]
pub mod setup;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;
use std::time::Instant;

use crate::Error;

pub use agent_state::{
    agent_state_key, micros_of, presence_text, state_change_item, AgentState, PresenceWrite,
    StateChange, STATE_HISTORY_DAYS,
};
pub use bounds::{sdk_failure, DynamoDbBounds};
pub use change::{batches_of, n, not_exists, Change, Expr, Meaning};
pub use directory::{user_item, version_is, VersionedUser};

pub type Item = HashMap<String, AttributeValue>;

/// Requests per BatchWriteItem (DynamoDB takes 25 and 16 MB): plugin chunks are up to
/// 350 KB, and 10 of them (3.5 MB) go through well inside one attempt's time bound.
const WRITES_PER_BATCH: usize = 10;
/// Keys per BatchGetItem (DynamoDB's limit).
const KEYS_PER_BATCH_GET: usize = 100;
/// Rounds of retrying what a batch write left unprocessed before giving up.
const MAX_BATCH_ATTEMPTS: u32 = 20;

/// The table and the client that reaches it; cheap to clone.
#[derive(Clone)]
pub struct Table {
    client: Client,
    name: String,
}

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// The primary key of an item.
pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.into(), s(pk)), (keys::SK.into(), s(sk))])
}

/// A domain value as an item under the given key (plus any extra attributes).
pub fn to_item<T: Serialize>(pk: String, sk: impl Into<String>, value: &T) -> Result<Item, Error> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| Error::internal_from("encoding an item", e))?;
    item.extend(key(pk, sk));
    Ok(item)
}

/// An item as the value it stores.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| Error::internal_from("decoding an item", e))
}

/// The sort key of an item.
pub fn sort_key(item: &Item) -> &str {
    item.get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

/// The optimistic version an item carries (0 when it has none).
pub fn version_of(item: &Item) -> u64 {
    item.get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

impl Table {
    /// Builds the client from the standard AWS environment (region, credentials,
    /// `AWS_ENDPOINT_URL_DYNAMODB`), bounded by [`DynamoDbBounds::from_env`], and the table
    /// from `STRATUS_TABLE_NAME`.
    pub async fn from_env() -> Result<Table, Error> {
        Self::from_env_with(DynamoDbBounds::from_env()?).await
    }

    /// [`Table::from_env`] with the given bounds instead of the configured ones.
    pub async fn from_env_with(bounds: DynamoDbBounds) -> Result<Table, Error> {
        let config = bounds
            .apply(aws_config::defaults(aws_config::BehaviorVersion::latest()))
            .load()
            .await;
        let name = std::env::var("STRATUS_TABLE_NAME").unwrap_or_else(|_| "stratus".into());
        Ok(Table::new(Client::new(&config), name))
    }

    pub fn new(client: Client, name: impl Into<String>) -> Table {
        Table {
            client,
            name: name.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    // ---------- reads ----------

    /// Strongly consistent batch read of known keys, in requests of DynamoDB's 100 keys sent
    /// side by side; unprocessed keys are retried.
    pub async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, Error> {
        let chunks = keys
            .chunks(KEYS_PER_BATCH_GET)
            .map(|chunk| self.batch_get_chunk(chunk.to_vec()));
        Ok(futures::future::try_join_all(chunks)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    async fn batch_get_chunk(&self, keys: Vec<Item>) -> Result<Vec<Item>, Error> {
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(|e| Error::internal_from("building a batch read", e))?;
            let started = Instant::now();
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.name, request)
                .send()
                .await
                .map_err(|e| sdk_failure("batch read", e, started))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.name).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.name))
                .map(|k| k.keys)
                .unwrap_or_default();
            attempt += 1;
            if !pending.is_empty() {
                change::backoff(attempt).await;
            }
        }
        Ok(found)
    }

    pub async fn get(&self, key: Item) -> Result<Option<Item>, Error> {
        let started = Instant::now();
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_failure("read", e, started))?;
        Ok(out.item)
    }

    /// Every item of a partition whose sort key starts with `prefix`, across pages.
    pub async fn query_prefix(&self, pk: String, prefix: &str) -> Result<Vec<Item>, Error> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.name)
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

    /// BatchWriteItem in batches, retrying what DynamoDB leaves unprocessed.
    pub async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), Error> {
        for batch in requests.chunks(WRITES_PER_BATCH) {
            let mut pending = batch.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                if attempt > MAX_BATCH_ATTEMPTS {
                    return Err(Error::internal(
                        "a DynamoDB batch write kept leaving items unprocessed",
                    ));
                }
                let started = std::time::Instant::now();
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.name, pending)
                    .send()
                    .await
                    .map_err(|e| sdk_failure("batch write", e, started))?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.name))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    change::backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}

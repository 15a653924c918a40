//! The transaction builder: every mutation is one `TransactWriteItems` holding the change,
//! the licence seats it takes or frees (with per-type conditions) and its audit record. Each
//! item carries what a failed condition on it means, in the writing feature's own error
//! type, so a cancelled transaction turns into the error it stands for; a conflict with a
//! concurrent writer (or throttling) is retried with jittered backoff.

use super::{bounds, key, keys, s, sdk_failure, to_item, Item, Table};
use crate::audit::AuditRecord;
use crate::license::LicenseType;
use crate::{Error, Guid, Tenant};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use rand::Rng;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const MAX_ATTEMPTS: u32 = 30;
/// Throttled transactions are retried with the same backoff, but give up sooner: the SDK's
/// own retries for throttled calls are three attempts.
const MAX_THROTTLED_ATTEMPTS: u32 = 4;

/// What a failed condition on one item of a change means to the caller.
#[derive(Clone, Debug)]
pub enum Meaning<E> {
    /// Nothing can fail here (no condition).
    Unconditional,
    Fails(E),
    /// An update's condition: `absent` when the item does not exist, `failed` when it does
    /// and the condition is false.
    FailsUnless {
        absent: E,
        failed: E,
    },
    /// The tenant item's seat conditions: the first exhausted type among `needed`; when
    /// none is, `otherwise` (the tenant's data region differed), else a concurrent change.
    Seats {
        needed: Vec<LicenseType>,
        otherwise: Option<E>,
    },
}

/// One transaction being put together; `E` is the writing feature's error type.
pub struct Change<E> {
    table: String,
    items: Vec<TransactWriteItem>,
    meanings: Vec<Meaning<E>>,
}

/// Names and values of a condition or update expression.
pub struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Default for Expr {
    fn default() -> Self {
        Expr::new()
    }
}

impl Expr {
    pub fn new() -> Expr {
        Expr {
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }
    pub fn name(mut self, k: &str, v: &str) -> Expr {
        self.names.insert(k.into(), v.into());
        self
    }
    pub fn value(mut self, k: &str, v: AttributeValue) -> Expr {
        self.values.insert(k.into(), v);
        self
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// A number attribute.
pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl<E> Change<E> {
    /// An empty change to `table`.
    pub fn on(table: &Table) -> Change<E> {
        Change {
            table: table.name().to_owned(),
            items: Vec::new(),
            meanings: Vec::new(),
        }
    }

    pub fn put(
        &mut self,
        item: Item,
        condition: Option<(&str, Expr)>,
        meaning: Meaning<E>,
    ) -> Result<(), Error> {
        let mut b = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some((cond, expr)) = condition {
            b = b
                .condition_expression(cond)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values());
        }
        let put = b
            .build()
            .map_err(|e| Error::internal_from("building a put", e))?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.meanings.push(meaning);
        Ok(())
    }

    /// An update; `condition` may be empty (an upsert).
    pub fn update(
        &mut self,
        key: Item,
        update: &str,
        condition: &str,
        expr: Expr,
        meaning: Meaning<E>,
    ) -> Result<(), Error> {
        let upd = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression((!condition.is_empty()).then(|| condition.to_owned()))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| Error::internal_from("building an update", e))?;
        self.items
            .push(TransactWriteItem::builder().update(upd).build());
        self.meanings.push(meaning);
        Ok(())
    }

    pub fn delete(
        &mut self,
        key: Item,
        condition: Option<(&str, Expr)>,
        meaning: Meaning<E>,
    ) -> Result<(), Error> {
        let mut b = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some((cond, expr)) = condition {
            b = b
                .condition_expression(cond)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values());
        }
        let del = b
            .build()
            .map_err(|e| Error::internal_from("building a delete", e))?;
        self.items
            .push(TransactWriteItem::builder().delete(del).build());
        self.meanings.push(meaning);
        Ok(())
    }

    /// Seats taken (+1, only while one is free) and freed (-1) on the tenant item.
    pub fn seats(
        &mut self,
        tenant: &Guid,
        taken: &[LicenseType],
        freed: &[LicenseType],
    ) -> Result<(), Error> {
        self.seats_in_region(tenant, taken, freed, None)
    }

    /// [`Change::seats`], also fixing the tenant's data region to `region` if it has none
    /// yet, or requiring it to be that one (`differs` when it is another). One update: a
    /// transaction may touch the tenant item only once.
    pub fn seats_in_region(
        &mut self,
        tenant: &Guid,
        taken: &[LicenseType],
        freed: &[LicenseType],
        region: Option<(&str, E)>,
    ) -> Result<(), Error> {
        let changes = seat_changes(taken, freed);
        if changes.is_empty() && region.is_none() {
            return Ok(());
        }
        let mut expr = Expr::new();
        if !changes.is_empty() {
            expr = expr
                .name("#lic", "licenses")
                .name("#used", "inUse")
                .value(":one", n(1));
        }
        if !taken.is_empty() {
            // DynamoDB refuses names an expression does not use.
            expr = expr.name("#total", "total");
        }
        let mut sets = Vec::new();
        let mut conditions = vec!["attribute_exists(PK)".to_string()];
        for (i, (license, delta)) in changes.iter().enumerate() {
            let t = format!("#t{i}");
            expr = expr.name(&t, license.id());
            if *delta > 0 {
                sets.push(format!("#lic.{t}.#used = #lic.{t}.#used + :one"));
                conditions.push(format!("#lic.{t}.#used < #lic.{t}.#total"));
            } else {
                sets.push(format!("#lic.{t}.#used = #lic.{t}.#used - :one"));
                conditions.push(format!("#lic.{t}.#used >= :one"));
            }
        }
        let otherwise = match region {
            Some((region, differs)) => {
                expr = expr.name("#region", "region").value(":region", s(region));
                sets.push("#region = :region".to_owned());
                conditions.push(
                    "(attribute_not_exists(#region) OR attribute_type(#region, :null) \
                     OR #region = :region)"
                        .to_owned(),
                );
                expr = expr.value(":null", s("NULL"));
                Some(differs)
            }
            None => None,
        };
        self.update(
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            &format!("SET {}", sets.join(", ")),
            &conditions.join(" AND "),
            expr,
            Meaning::Seats {
                needed: taken.to_vec(),
                otherwise,
            },
        )
    }

    /// The audit record of the change, written with it or not at all.
    pub fn audit(&mut self, record: &AuditRecord) -> Result<(), Error> {
        let tenant = Guid::parse(&record.tenant_id)
            .ok_or_else(|| Error::internal("an audit record without a tenant GUID"))?;
        let item = to_item(keys::audit_pk(&tenant), keys::audit_sk(&record.at), record)?;
        self.put(item, None, Meaning::Unconditional)
    }

    /// The change applies only while the tenant exists: a tenant admin's token names a
    /// tenant, which has to be one of ours (401 `Invalid tenant id` otherwise).
    pub fn require_tenant(&mut self, tenant: &Guid) -> Result<(), Error>
    where
        E: From<Error>,
    {
        self.require(
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            ("attribute_exists(PK)", Expr::new()),
            Meaning::Fails(Error::InvalidTenantId.into()),
        )
    }

    /// A condition on an item the change does not write: `meaning` when it is false.
    pub fn require(
        &mut self,
        key: Item,
        condition: (&str, Expr),
        meaning: Meaning<E>,
    ) -> Result<(), Error> {
        let (cond, expr) = condition;
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| Error::internal_from("building a condition check", e))?;
        self.items
            .push(TransactWriteItem::builder().condition_check(check).build());
        self.meanings.push(meaning);
        Ok(())
    }
}

/// Whole groups of keys packed into batches of at most `limit` keys, in order: the keys of
/// a group (an item and its mirror) always go in the same transaction.
pub fn batches_of(groups: Vec<Vec<String>>, limit: usize) -> Vec<Vec<String>> {
    let mut batches: Vec<Vec<String>> = vec![Vec::new()];
    for group in groups {
        let fits = batches
            .last()
            .is_some_and(|b| b.len() + group.len() <= limit);
        if !fits {
            batches.push(Vec::new());
        }
        if let Some(batch) = batches.last_mut() {
            batch.extend(group);
        }
    }
    batches.retain(|b| !b.is_empty());
    batches
}

/// Seats a set of licences takes, for the transaction that allocates them.
fn seat_changes(taken: &[LicenseType], freed: &[LicenseType]) -> Vec<(LicenseType, i64)> {
    taken
        .iter()
        .map(|t| (*t, 1))
        .chain(freed.iter().map(|t| (*t, -1)))
        .collect()
}

/// The first licence type the stored tenant item has no free seat of, among `needed`.
fn exhausted_in(item: Option<&Item>, needed: &[LicenseType]) -> Option<LicenseType> {
    let tenant: Tenant = serde_dynamo::from_item(item?.clone()).ok()?;
    tenant.first_exhausted(needed)
}

pub(super) async fn backoff(attempt: u32) {
    let cap_ms = 5u64 << attempt.min(6);
    let ms = rand::thread_rng().gen_range(1..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The condition that an item does not exist yet.
pub fn not_exists() -> (&'static str, Expr) {
    ("attribute_not_exists(PK)", Expr::new())
}

impl Table {
    /// Applies a change as one transaction: all of it or, with the error its first failed
    /// condition means, none of it.
    pub async fn commit<E>(&self, change: Change<E>) -> Result<(), E>
    where
        E: From<Error> + Clone,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            // The SDK repeats an attempt that timed out, and the first may have been applied
            // all the same; the token makes DynamoDB answer such a repeat with the first
            // outcome instead of applying it again (or failing its conditions). A fresh one
            // per attempt of this loop, whose repeats follow a definite refusal.
            let result = self
                .client()
                .transact_write_items()
                .set_transact_items(Some(change.items.clone()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let reasons = match &err {
                SdkError::ServiceError(se) => match se.err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => {
                        Some(c.cancellation_reasons().to_vec())
                    }
                    TransactWriteItemsError::TransactionInProgressException(_) => Some(Vec::new()),
                    _ => None,
                },
                _ => None,
            };
            let Some(reasons) = reasons else {
                return Err(sdk_failure("transaction", err, started).into());
            };
            for (i, reason) in reasons.iter().enumerate() {
                if reason.code() == Some("ConditionalCheckFailed") {
                    return Err(match change.meanings.get(i) {
                        Some(Meaning::Fails(e)) => e.clone(),
                        Some(Meaning::FailsUnless { absent, failed }) => match reason.item() {
                            None => absent.clone(),
                            Some(_) => failed.clone(),
                        },
                        Some(Meaning::Seats { needed, otherwise }) => {
                            match (exhausted_in(reason.item(), needed), otherwise) {
                                (Some(t), _) => Error::NoLicenseAvailable(t).into(),
                                _ if reason.item().is_none() => Error::InvalidTenantId.into(),
                                (None, Some(e)) => e.clone(),
                                (None, None) => Error::ConcurrentChange.into(),
                            }
                        }
                        _ => Error::internal(format!(
                            "an unconditional item of a transaction failed its condition: {reason:?}"
                        ))
                        .into(),
                    });
                }
            }
            // Only conflicts with concurrent transactions or throttling remain: retry. The SDK
            // does not retry a cancelled transaction, so throttling is retried here too, and
            // stays a 503 (not a conflict) when it outlasts the retries.
            let throttled = reasons
                .iter()
                .any(|reason| bounds::is_throttling(reason.code()));
            if throttled && attempt >= MAX_THROTTLED_ATTEMPTS {
                return Err(sdk_failure("transaction", err, started).into());
            }
            if attempt >= MAX_ATTEMPTS {
                tracing::warn!(attempt, "transaction kept conflicting; giving up");
                return Err(Error::ConcurrentChange.into());
            }
            backoff(attempt).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_never_split_across_transactions() {
        let groups: Vec<Vec<String>> = (0..50)
            .map(|i| vec![format!("u{i}"), format!("m{i}")])
            .collect();
        let batches = batches_of(groups, 90);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [90, 10]);
        for batch in &batches {
            for pair in batch.chunks(2) {
                assert_eq!(pair[0][1..], pair[1][1..], "{pair:?}");
            }
        }
        assert!(batches_of(Vec::new(), 90).is_empty());
    }
}

//! The transaction builder: every mutation is one `TransactWriteItems` holding the change,
//! the licence seats it takes or frees (with per-type conditions) and its audit record. Each
//! item carries what a failed condition on it means, so a cancelled transaction turns into
//! the domain error it stands for; a conflict with a concurrent writer (or throttling) is
//! retried with jittered backoff.

use crate::{
    backend, bounds, exhausted_in, key, keys, sdk_failure, seat_changes, to_item, Item, Store,
};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use rand::Rng;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use stratus_domain::audit::AuditRecord;
use stratus_domain::license::LicenseType;
use stratus_domain::{Error, Guid};

const MAX_ATTEMPTS: u32 = 30;
/// Throttled transactions are retried with the same backoff, but give up sooner: the SDK's
/// own retries for throttled calls are three attempts.
const MAX_THROTTLED_ATTEMPTS: u32 = 4;

/// What a failed condition on one item of a change means to the caller.
#[derive(Clone, Debug)]
pub(crate) enum Meaning {
    /// Nothing can fail here (no condition).
    Unconditional,
    Fails(Error),
    /// The tenant item's seat conditions: the first exhausted type among these.
    Seats(Vec<LicenseType>),
}

/// One transaction being put together.
#[derive(Default)]
pub struct Change {
    items: Vec<TransactWriteItem>,
    meanings: Vec<Meaning>,
}

pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub(crate) fn new() -> Expr {
        Expr {
            names: HashMap::new(),
            values: HashMap::new(),
        }
    }
    pub(crate) fn name(mut self, k: &str, v: &str) -> Expr {
        self.names.insert(k.into(), v.into());
        self
    }
    pub(crate) fn value(mut self, k: &str, v: AttributeValue) -> Expr {
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

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Change {
    pub(crate) fn put(
        &mut self,
        table: &str,
        item: Item,
        condition: Option<(&str, Expr)>,
        meaning: Meaning,
    ) -> Result<(), Error> {
        let mut b = Put::builder().table_name(table).set_item(Some(item));
        if let Some((cond, expr)) = condition {
            b = b
                .condition_expression(cond)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values());
        }
        let put = b.build().map_err(|e| backend("building a put", e))?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.meanings.push(meaning);
        Ok(())
    }

    pub(crate) fn update(
        &mut self,
        table: &str,
        key: Item,
        update: &str,
        condition: &str,
        expr: Expr,
        meaning: Meaning,
    ) -> Result<(), Error> {
        let upd = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| backend("building an update", e))?;
        self.items
            .push(TransactWriteItem::builder().update(upd).build());
        self.meanings.push(meaning);
        Ok(())
    }

    pub(crate) fn delete(
        &mut self,
        table: &str,
        key: Item,
        condition: Option<(&str, Expr)>,
        meaning: Meaning,
    ) -> Result<(), Error> {
        let mut b = Delete::builder().table_name(table).set_key(Some(key));
        if let Some((cond, expr)) = condition {
            b = b
                .condition_expression(cond)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values());
        }
        let del = b.build().map_err(|e| backend("building a delete", e))?;
        self.items
            .push(TransactWriteItem::builder().delete(del).build());
        self.meanings.push(meaning);
        Ok(())
    }

    /// Seats taken (+1, only while one is free) and freed (-1) on the tenant item.
    pub(crate) fn seats(
        &mut self,
        table: &str,
        tenant: &Guid,
        taken: &[LicenseType],
        freed: &[LicenseType],
    ) -> Result<(), Error> {
        let changes = seat_changes(taken, freed);
        if changes.is_empty() {
            return Ok(());
        }
        let mut expr = Expr::new()
            .name("#lic", "licenses")
            .name("#used", "inUse")
            .value(":one", n(1));
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
        self.update(
            table,
            key(keys::tenant_pk(tenant), keys::TENANT_SK),
            &format!("SET {}", sets.join(", ")),
            &conditions.join(" AND "),
            expr,
            Meaning::Seats(taken.to_vec()),
        )
    }

    pub(crate) fn audit(&mut self, table: &str, record: &AuditRecord) -> Result<(), Error> {
        let tenant =
            Guid::parse(&record.tenant_id).ok_or_else(|| Error::Internal("audit tenant".into()))?;
        let item = to_item(keys::audit_pk(&tenant), keys::audit_sk(&record.at), record)?;
        self.put(table, item, None, Meaning::Unconditional)
    }
}

pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 5u64 << attempt.min(6);
    let ms = rand::thread_rng().gen_range(1..=cap_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

pub(crate) fn not_exists() -> (&'static str, Expr) {
    ("attribute_not_exists(PK)", Expr::new())
}

impl Store {
    pub(crate) async fn commit(&self, change: Change) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            // The SDK repeats an attempt that timed out, and the first may have been applied
            // all the same; the token makes DynamoDB answer such a repeat with the first
            // outcome instead of applying it again (or failing its conditions). A fresh one
            // per attempt of this loop, whose repeats follow a definite refusal.
            let result = self
                .client
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
                return Err(sdk_failure("transaction", err, started));
            };
            for (i, reason) in reasons.iter().enumerate() {
                if reason.code() == Some("ConditionalCheckFailed") {
                    return Err(match change.meanings.get(i) {
                        Some(Meaning::Fails(e)) => e.clone(),
                        Some(Meaning::Seats(needed)) => match exhausted_in(reason.item(), needed) {
                            Some(t) => Error::NoLicenseAvailable(t),
                            None if reason.item().is_none() => Error::InvalidTenantId,
                            None => Error::ConcurrentChange,
                        },
                        _ => backend("transaction condition", reason),
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
                return Err(sdk_failure("transaction", err, started));
            }
            if attempt >= MAX_ATTEMPTS {
                tracing::warn!(attempt, "transaction kept conflicting; giving up");
                return Err(Error::ConcurrentChange);
            }
            backoff(attempt).await;
        }
    }
}

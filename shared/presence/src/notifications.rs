//! Graph's presence change notifications (`POST /api/graph/presence-notifications`, called by
//! Microsoft Graph, no token): the `?validationToken=` handshake, and batches of
//! notifications, each checked against its stored subscription's secret (`clientState`)
//! before its presence is recorded.
//!
//! What is read: the unencrypted resource-data shape (`resourceData.availability` and
//! `.activity` beside `resourceData.id`). Rich notifications (`encryptedContent`) are not
//! decrypted yet, and basic notifications since 2024 carry only the user id; both are
//! counted and left alone.
//!
//! Ordering: a presence carries Graph's `sequenceNumber` (a lexicographically sortable
//! version stamp); between two versions that both have one, the kernel lets it decide, so a
//! notification Graph delivers late never overwrites a newer one. Where there is none, the
//! time the batch arrived is the "observed at" of its notifications, each a microsecond
//! after the one before it in the batch, and the kernel never lets an older observation
//! overwrite a newer one (the presence API's writes included). Of one user's changes in a
//! batch only the newest (by sequence, else the last) is written; the others count as stale.
//!
//! Counters (rejected, unknown users, stale, without data, encrypted) are logged as
//! structured fields per tenant and batch, for a log metric filter to count; they are also
//! the answer's body, which Graph ignores.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_kernel::presence::{Activity, Availability, Presence};
use stratus_kernel::table::{from_item, key, keys, PresenceWrite, Table};
use stratus_kernel::{Error, Guid, Incoming, Kernel};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{PresenceError, StoredSubscription};

/// Longest validation token echoed (Graph's are a few hundred characters).
const MAX_VALIDATION_TOKEN_CHARS: usize = 1024;
/// Largest notification batch read.
const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Presence writes in flight at once: Graph wants an answer within seconds.
const PARALLEL_WRITES: usize = 16;

/// What the webhook answers.
pub enum WebhookAnswer {
    /// The handshake: 200 `text/plain` with the token.
    Validation(String),
    /// A batch: 202 with what became of it.
    Accepted(BatchReport),
}

/// What became of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReport {
    pub applied: usize,
    /// A newer presence was already stored.
    pub stale: usize,
    /// No such subscription, or the wrong `clientState`: nothing applied.
    pub rejected: usize,
    /// The user is not a member of any service.
    pub unknown_users: usize,
    /// No availability in the notification (a basic notification).
    pub without_data: usize,
    /// A rich notification; not decrypted yet.
    pub encrypted: usize,
}

#[derive(Deserialize)]
struct Batch {
    #[serde(default)]
    value: Vec<Notification>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    subscription_id: Option<String>,
    client_state: Option<String>,
    tenant_id: Option<String>,
    resource_data: Option<ResourceData>,
    encrypted_content: Option<Value>,
}

#[derive(Deserialize)]
struct ResourceData {
    id: Option<String>,
    availability: Option<String>,
    activity: Option<String>,
    /// Graph's version stamp of the presence, lexicographically sortable.
    #[serde(rename = "sequenceNumber")]
    sequence_number: Option<String>,
}

/// A notification that passed its checks: whose presence, what, and when observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub tenant: Guid,
    pub user: Guid,
    pub presence: Presence,
    /// Graph's `sequenceNumber`, when the notification has one.
    pub sequence: Option<String>,
}

/// Why a notification was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Rejected,
    WithoutData,
    Encrypted,
}

/// Equal secrets, compared in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// One notification judged against its subscription (`None`: not stored).
fn judge(n: &Notification, subscription: Option<&StoredSubscription>) -> Result<Accepted, Refused> {
    let (Some(subscription), Some(given)) = (subscription, n.client_state.as_deref()) else {
        return Err(Refused::Rejected);
    };
    if !same_secret(&subscription.client_state, given) {
        return Err(Refused::Rejected);
    }
    let tenant = n
        .tenant_id
        .as_deref()
        .and_then(Guid::parse)
        .ok_or(Refused::Rejected)?;
    if n.encrypted_content.is_some() && n.resource_data.is_none() {
        return Err(Refused::Encrypted);
    }
    let data = n.resource_data.as_ref().ok_or(Refused::WithoutData)?;
    let user = data
        .id
        .as_deref()
        .and_then(Guid::parse)
        .ok_or(Refused::Rejected)?;
    let availability = data
        .availability
        .as_deref()
        .and_then(Availability::parse)
        .ok_or(if n.encrypted_content.is_some() {
            Refused::Encrypted
        } else {
            Refused::WithoutData
        })?;
    let activity = data
        .activity
        .as_deref()
        .map(Activity::parse)
        .unwrap_or(Activity::PresenceUnknown);
    Ok(Accepted {
        tenant,
        user,
        presence: Presence {
            availability,
            activity,
        },
        sequence: data.sequence_number.clone().filter(|s| !s.is_empty()),
    })
}

/// The observation time of the `index`th notification of a batch that arrived at `arrived`.
fn observed_at(arrived: OffsetDateTime, index: usize) -> Result<String, Error> {
    (arrived + Duration::microseconds(index as i64))
        .format(&Rfc3339)
        .map_err(|e| Error::internal_from("formatting a time", e))
}

/// The echo of a validation request, bounded.
fn validation_token(token: &str) -> Result<String, Error> {
    if token.is_empty() || token.chars().count() > MAX_VALIDATION_TOKEN_CHARS {
        return Err(Error::BadRequest(format!(
            "\"validationToken\" must be 1 to {MAX_VALIDATION_TOKEN_CHARS} characters"
        )));
    }
    Ok(token.to_owned())
}

/// `POST /api/graph/presence-notifications`.
pub async fn receive_presence_notifications(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<WebhookAnswer, PresenceError> {
    if let Some(token) = incoming.query_param("validationToken") {
        return Ok(WebhookAnswer::Validation(validation_token(token)?));
    }
    let arrived = OffsetDateTime::now_utc();
    let body = incoming
        .json(MAX_BATCH_BYTES)?
        .ok_or_else(|| Error::BadRequest("A JSON request body is required".into()))?;
    let batch: Batch = serde_json::from_value(body.clone()).map_err(|e| {
        Error::BadRequest(format!("The body is not a Graph notification batch: {e}"))
    })?;
    let table = kernel.table();
    let mut subscriptions: HashMap<(String, String), Option<StoredSubscription>> = HashMap::new();
    let mut report = BatchReport::default();
    let mut writes = Vec::new();
    for (index, n) in batch.value.iter().enumerate() {
        let subscription = match (
            n.tenant_id.as_deref().and_then(Guid::parse),
            &n.subscription_id,
        ) {
            (Some(tenant), Some(id)) => {
                let cache_key = (tenant.to_string(), id.clone());
                if !subscriptions.contains_key(&cache_key) {
                    let stored = stored_subscription(table, &tenant, id).await?;
                    subscriptions.insert(cache_key.clone(), stored);
                }
                subscriptions.get(&cache_key).cloned().flatten()
            }
            _ => None,
        };
        match judge(n, subscription.as_ref()) {
            Ok(accepted) => writes.push((accepted, observed_at(arrived, index)?)),
            Err(Refused::Rejected) => report.rejected += 1,
            Err(Refused::WithoutData) => report.without_data += 1,
            Err(Refused::Encrypted) => report.encrypted += 1,
        }
    }
    // Of a user's changes in one batch only the last counts (the earlier ones are older news:
    // stale); the users' writes then go in parallel, none racing another of the same user.
    let (writes, superseded) = latest_per_user(writes);
    report.stale += superseded;
    for chunk in writes.chunks(PARALLEL_WRITES) {
        let results = futures::future::join_all(chunk.iter().map(|(a, at)| {
            table.record_presence_version(
                &a.tenant,
                &a.user,
                a.presence,
                at,
                a.sequence.as_deref(),
                "graph",
            )
        }))
        .await;
        for result in results {
            match result? {
                PresenceWrite::Applied => report.applied += 1,
                PresenceWrite::Stale => report.stale += 1,
                PresenceWrite::UnknownUser => report.unknown_users += 1,
            }
        }
    }
    let tenants: Vec<String> = subscriptions.keys().map(|(t, _)| t.clone()).collect();
    tracing::info!(
        tenants = ?tenants,
        notifications = batch.value.len(),
        applied = report.applied,
        stale = report.stale,
        rejected = report.rejected,
        unknown_users = report.unknown_users,
        without_data = report.without_data,
        encrypted = report.encrypted,
        "presence notifications received"
    );
    if report.rejected > 0 {
        tracing::warn!(
            rejected = report.rejected,
            "presence notifications rejected: unknown subscription or wrong clientState"
        );
    }
    Ok(WebhookAnswer::Accepted(report))
}

/// The newest write of each user (by Graph's sequence where both have one, else the later
/// in the batch), in batch order, and how many others it superseded.
fn latest_per_user(writes: Vec<(Accepted, String)>) -> (Vec<(Accepted, String)>, usize) {
    let mut last: HashMap<(Guid, Guid), usize> = HashMap::new();
    for (i, (a, _)) in writes.iter().enumerate() {
        let user = (a.tenant.clone(), a.user.clone());
        let newer = match last.get(&user).map(|&j| &writes[j].0.sequence) {
            Some(Some(kept)) => a.sequence.as_ref().is_none_or(|s| s > kept),
            _ => true,
        };
        if newer {
            last.insert(user, i);
        }
    }
    let total = writes.len();
    let kept: Vec<(Accepted, String)> = writes
        .into_iter()
        .enumerate()
        .filter(|(i, (a, _))| last.get(&(a.tenant.clone(), a.user.clone())) == Some(i))
        .map(|(_, w)| w)
        .collect();
    let superseded = total - kept.len();
    (kept, superseded)
}

async fn stored_subscription(
    table: &Table,
    tenant: &Guid,
    id: &str,
) -> Result<Option<StoredSubscription>, Error> {
    table
        .get(key(
            keys::tenant_pk(tenant),
            keys::presence_subscription_sk(id),
        ))
        .await?
        .map(from_item)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored(secret: &str) -> StoredSubscription {
        StoredSubscription {
            subscription_id: "s1".into(),
            client_state: secret.into(),
            user_ids: Vec::new(),
            expires_at: String::new(),
            created_at: String::new(),
        }
    }

    fn notification(v: Value) -> Notification {
        serde_json::from_value(v).unwrap()
    }

    fn graph_shaped(secret: &str, user: &Guid, availability: &str) -> Value {
        json!({
            "subscriptionId": "s1", "clientState": secret, "changeType": "updated",
            "resource": format!("communications/presences('{user}')"),
            "subscriptionExpirationDateTime": "2026-01-01T10:55:00Z",
            "resourceData": { "@odata.type": "#Microsoft.Graph.presence",
                              "@odata.id": format!("communications/presences('{user}')"),
                              "id": user.as_str(), "availability": availability,
                              "activity": "InACall" },
            "tenantId": Guid::new_random().as_str()
        })
    }

    #[test]
    fn a_notification_counts_only_with_its_subscriptions_secret() {
        let user = Guid::new_random();
        let n = notification(graph_shaped("secret", &user, "Busy"));
        let accepted = judge(&n, Some(&stored("secret"))).unwrap();
        assert_eq!(accepted.user, user);
        assert_eq!(accepted.presence.availability, Availability::Busy);
        assert_eq!(accepted.presence.activity, Activity::InACall);
        assert_eq!(judge(&n, Some(&stored("other"))), Err(Refused::Rejected));
        assert_eq!(judge(&n, Some(&stored("secre"))), Err(Refused::Rejected));
        assert_eq!(judge(&n, None), Err(Refused::Rejected));
    }

    #[test]
    fn basic_and_rich_notifications_are_told_apart() {
        let user = Guid::new_random();
        let mut basic = graph_shaped("s", &user, "Busy");
        basic["resourceData"] = json!({ "id": user.as_str() });
        assert_eq!(
            judge(&notification(basic), Some(&stored("s"))),
            Err(Refused::WithoutData)
        );
        let mut rich = graph_shaped("s", &user, "Busy");
        rich.as_object_mut().unwrap().remove("resourceData");
        rich["encryptedContent"] = json!({ "data": "…", "dataKey": "…" });
        assert_eq!(
            judge(&notification(rich), Some(&stored("s"))),
            Err(Refused::Encrypted)
        );
    }

    #[test]
    fn later_notifications_of_a_batch_are_observed_later() {
        let arrived = OffsetDateTime::parse("2026-01-01T10:00:00Z", &Rfc3339).unwrap();
        let first = observed_at(arrived, 0).unwrap();
        let second = observed_at(arrived, 1).unwrap();
        assert!(
            stratus_kernel::table::micros_of(&first) < stratus_kernel::table::micros_of(&second)
        );
    }

    #[test]
    fn only_a_users_last_change_in_a_batch_is_written() {
        let (tenant, ann, bob) = (Guid::new_random(), Guid::new_random(), Guid::new_random());
        let write = |user: &Guid, availability| {
            (
                Accepted {
                    tenant: tenant.clone(),
                    user: user.clone(),
                    presence: Presence {
                        availability,
                        activity: Activity::PresenceUnknown,
                    },
                    sequence: None,
                },
                String::new(),
            )
        };
        let (kept, superseded) = latest_per_user(vec![
            write(&ann, Availability::Busy),
            write(&bob, Availability::Away),
            write(&ann, Availability::Available),
        ]);
        assert_eq!(superseded, 1);
        let kept: Vec<(Guid, Availability)> = kept
            .into_iter()
            .map(|(a, _)| (a.user, a.presence.availability))
            .collect();
        assert_eq!(
            kept,
            [(bob, Availability::Away), (ann, Availability::Available)]
        );
    }

    #[test]
    fn graphs_sequence_picks_a_users_newest_change_in_a_batch() {
        let (tenant, ann) = (Guid::new_random(), Guid::new_random());
        let write = |availability, sequence: &str| {
            (
                Accepted {
                    tenant: tenant.clone(),
                    user: ann.clone(),
                    presence: Presence {
                        availability,
                        activity: Activity::PresenceUnknown,
                    },
                    sequence: Some(sequence.to_owned()),
                },
                String::new(),
            )
        };
        let (kept, superseded) = latest_per_user(vec![
            write(Availability::Busy, "0000000000000012"),
            write(Availability::Away, "0000000000000011"),
        ]);
        assert_eq!(superseded, 1);
        assert_eq!(kept[0].0.presence.availability, Availability::Busy);
    }

    #[test]
    fn validation_tokens_are_echoed_within_bounds() {
        assert_eq!(
            validation_token("Validation: abc").unwrap(),
            "Validation: abc"
        );
        assert!(validation_token("").is_err());
        assert!(validation_token(&"x".repeat(MAX_VALIDATION_TOKEN_CHARS + 1)).is_err());
    }
}

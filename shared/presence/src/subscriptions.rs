//! Presence subscriptions: per tenant with service members, Graph subscriptions to those
//! members' presence, each stored in the tenant partition (`PRESENCESUB#<id>`) with its
//! random `clientState` secret, the users it watches and when it expires. The scheduled run
//! plans from what is stored ([`plan_renewal`], pure) and then talks to Graph.

use std::collections::BTreeSet;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_graph::{GraphClient, GraphError, NewSubscription};
use stratus_kernel::table::{from_item, key, keys, to_item, Change, Meaning, Table};
use stratus_kernel::{Error, Guid};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::{graph_failure, GraphSetup, PresenceError};

/// Graph's limit of users in one presence subscription's `id in (…)` filter.
pub const MAX_USERS_PER_SUBSCRIPTION: usize = 650;
/// How long a subscription is asked to live: presence subscriptions live at most an hour.
const LIFETIME: Duration = Duration::minutes(55);
/// Subscriptions expiring within this are renewed: twice the schedule's interval (15
/// minutes, infra/template.yaml), so one missed run loses nothing.
const RENEW_WITHIN: Duration = Duration::minutes(30);
/// Bytes of randomness in a `clientState` secret (Graph accepts up to 128 characters).
const SECRET_BYTES: usize = 32;

/// A presence subscription as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSubscription {
    pub subscription_id: String,
    /// The secret Graph sends back in every notification of this subscription.
    pub client_state: String,
    pub user_ids: Vec<Guid>,
    /// RFC 3339.
    pub expires_at: String,
    pub created_at: String,
}

/// What a run does for one tenant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenewalPlan {
    /// Still watching a member, expiring within [`RENEW_WITHIN`].
    pub renew: Vec<StoredSubscription>,
    /// Watching no member any more.
    pub remove: Vec<StoredSubscription>,
    /// Members no subscription watches, in groups of at most 650.
    pub create: Vec<Vec<Guid>>,
}

/// The plan for a tenant whose members are `members`, given its stored subscriptions, at
/// `now`. An expiry that cannot be read counts as expiring.
pub fn plan_renewal(
    members: &BTreeSet<Guid>,
    stored: &[StoredSubscription],
    now: OffsetDateTime,
) -> RenewalPlan {
    let mut plan = RenewalPlan::default();
    let mut covered = BTreeSet::new();
    for subscription in stored {
        if !subscription.user_ids.iter().any(|u| members.contains(u)) {
            plan.remove.push(subscription.clone());
            continue;
        }
        covered.extend(subscription.user_ids.iter().cloned());
        let expiring = OffsetDateTime::parse(&subscription.expires_at, &Rfc3339)
            .map_or(true, |at| at <= now + RENEW_WITHIN);
        if expiring {
            plan.renew.push(subscription.clone());
        }
    }
    let uncovered: Vec<Guid> = members.difference(&covered).cloned().collect();
    plan.create = uncovered
        .chunks(MAX_USERS_PER_SUBSCRIPTION)
        .map(<[Guid]>::to_vec)
        .collect();
    plan
}

/// Graph's resource for the presence of `users`.
fn presence_resource(users: &[Guid]) -> String {
    let ids: Vec<String> = users.iter().map(|u| format!("'{u}'")).collect();
    format!(
        "/communications/presences?$filter=id in ({})",
        ids.join(",")
    )
}

fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3339(at: OffsetDateTime) -> Result<String, Error> {
    at.format(&Rfc3339)
        .map_err(|e| Error::internal_from("formatting a time", e))
}

/// What a run did (the invocation's answer, and its log line).
#[derive(Debug, Default, Serialize)]
pub struct RenewalReport {
    pub tenants: usize,
    pub created: usize,
    pub renewed: usize,
    pub removed: usize,
    pub failed: usize,
}

/// The scheduled run: for every tenant with service members (or those the event names in
/// `tenantIds`), subscriptions created, renewed and removed as [`plan_renewal`] says. A
/// tenant that fails is logged and counted; the others still run.
pub async fn renew_presence_subscriptions(
    table: &Table,
    graph: &GraphSetup,
    event: &Value,
) -> Result<RenewalReport, PresenceError> {
    let graph = graph
        .as_ref()
        .map_err(|e| Error::internal_from("configuring Microsoft Graph", e.clone()))?;
    let notification_url = std::env::var("STRATUS_PRESENCE_NOTIFICATION_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| {
            Error::internal(
                "STRATUS_PRESENCE_NOTIFICATION_URL is not set; Graph needs it to deliver \
                 presence notifications",
            )
        })?;
    let only: Option<Vec<Guid>> = event.get("tenantIds").and_then(Value::as_array).map(|ids| {
        ids.iter()
            .filter_map(|v| v.as_str().and_then(Guid::parse))
            .collect()
    });
    let mut report = RenewalReport::default();
    let tenants: Vec<Guid> = table
        .query_prefix(keys::PRESENCE_TENANTS_PK.to_owned(), "")
        .await?
        .iter()
        .filter_map(|item| Guid::parse(stratus_kernel::table::sort_key(item)))
        .filter(|t| only.as_ref().is_none_or(|only| only.contains(t)))
        .collect();
    for tenant in tenants {
        report.tenants += 1;
        if let Err(error) =
            renew_tenant(table, graph, &tenant, &notification_url, &mut report).await
        {
            report.failed += 1;
            tracing::warn!(%tenant, error = %stratus_kernel::error::chain(&error),
                           "renewing a tenant's presence subscriptions failed");
        }
    }
    tracing::info!(
        tenants = report.tenants,
        created = report.created,
        renewed = report.renewed,
        removed = report.removed,
        failed = report.failed,
        "presence subscriptions renewed"
    );
    Ok(report)
}

async fn renew_tenant(
    table: &Table,
    graph: &GraphClient,
    tenant: &Guid,
    notification_url: &str,
    report: &mut RenewalReport,
) -> Result<(), PresenceError> {
    let pk = keys::tenant_pk(tenant);
    let members: BTreeSet<Guid> = table
        .query_prefix(pk.clone(), keys::MEMBER_PREFIX)
        .await?
        .iter()
        .filter_map(|item| keys::member_of_member_sk(stratus_kernel::table::sort_key(item)))
        .collect();
    let stored: Vec<StoredSubscription> = table
        .query_prefix(pk.clone(), keys::PRESENCE_SUBSCRIPTION_PREFIX)
        .await?
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let now = OffsetDateTime::now_utc();
    let mut plan = plan_renewal(&members, &stored, now);
    let tenant_text = tenant.to_string();
    let expiry = rfc3339(now + LIFETIME)?;

    for gone in &plan.remove {
        graph
            .delete_subscription(&tenant_text, &gone.subscription_id)
            .await
            .map_err(graph_failure)?;
        forget(table, tenant, gone).await?;
        report.removed += 1;
    }
    for subscription in &plan.renew {
        match graph
            .renew_subscription(&tenant_text, &subscription.subscription_id, &expiry)
            .await
        {
            Ok(_) => {
                store(
                    table,
                    tenant,
                    &StoredSubscription {
                        expires_at: expiry.clone(),
                        ..subscription.clone()
                    },
                )
                .await?;
                report.renewed += 1;
            }
            // Expired, or removed on Graph's side: replaced by a new one for the same users.
            Err(GraphError::NotFound { .. }) => {
                forget(table, tenant, subscription).await?;
                let users: Vec<Guid> = subscription
                    .user_ids
                    .iter()
                    .filter(|u| members.contains(*u))
                    .cloned()
                    .collect();
                plan.create.push(users);
            }
            Err(e) => return Err(graph_failure(e).into()),
        }
    }
    for users in plan.create.iter().filter(|u| !u.is_empty()) {
        let client_state = new_secret();
        let created = graph
            .create_subscription(
                &tenant_text,
                &NewSubscription {
                    change_type: "updated".into(),
                    notification_url: notification_url.to_owned(),
                    resource: presence_resource(users),
                    expiration_date_time: expiry.clone(),
                    client_state: client_state.clone(),
                },
            )
            .await
            .map_err(graph_failure)?;
        store(
            table,
            tenant,
            &StoredSubscription {
                subscription_id: created.id,
                client_state,
                user_ids: users.clone(),
                expires_at: created.expiration_date_time,
                created_at: stratus_kernel::clock::now_rfc3339(),
            },
        )
        .await?;
        report.created += 1;
    }
    Ok(())
}

async fn store(
    table: &Table,
    tenant: &Guid,
    subscription: &StoredSubscription,
) -> Result<(), PresenceError> {
    let mut c = Change::<PresenceError>::on(table);
    c.put(
        to_item(
            keys::tenant_pk(tenant),
            keys::presence_subscription_sk(&subscription.subscription_id),
            subscription,
        )?,
        None,
        Meaning::Unconditional,
    )?;
    table.commit(c).await
}

async fn forget(
    table: &Table,
    tenant: &Guid,
    subscription: &StoredSubscription,
) -> Result<(), PresenceError> {
    let mut c = Change::<PresenceError>::on(table);
    c.delete(
        key(
            keys::tenant_pk(tenant),
            keys::presence_subscription_sk(&subscription.subscription_id),
        ),
        None,
        Meaning::Unconditional,
    )?;
    table.commit(c).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(users: &[Guid], expires_at: &str) -> StoredSubscription {
        StoredSubscription {
            subscription_id: "s".into(),
            client_state: "secret".into(),
            user_ids: users.to_vec(),
            expires_at: expires_at.into(),
            created_at: String::new(),
        }
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    #[test]
    fn members_are_covered_in_groups_of_650() {
        let members: BTreeSet<Guid> = (0..1400).map(|_| Guid::new_random()).collect();
        let plan = plan_renewal(&members, &[], at("2026-01-01T10:00:00Z"));
        let sizes: Vec<usize> = plan.create.iter().map(Vec::len).collect();
        assert_eq!(sizes, [650, 650, 100]);
        assert!(plan.renew.is_empty() && plan.remove.is_empty());
    }

    #[test]
    fn only_subscriptions_expiring_before_the_next_runs_are_renewed() {
        let (a, b, c) = (Guid::new_random(), Guid::new_random(), Guid::new_random());
        let members = BTreeSet::from([a.clone(), b.clone(), c.clone()]);
        let soon = subscription(&[a.clone()], "2026-01-01T10:20:00Z");
        let later = subscription(&[b.clone()], "2026-01-01T10:50:00Z");
        let unreadable = subscription(&[c.clone()], "tomorrow");
        let plan = plan_renewal(
            &members,
            &[soon.clone(), later, unreadable.clone()],
            at("2026-01-01T10:00:00Z"),
        );
        assert_eq!(plan.renew, [soon, unreadable]);
        assert!(plan.create.is_empty(), "every member is watched");
    }

    #[test]
    fn subscriptions_of_former_members_are_removed_and_new_members_covered() {
        let (old, new) = (Guid::new_random(), Guid::new_random());
        let stale = subscription(&[old], "2026-01-01T10:50:00Z");
        let plan = plan_renewal(
            &BTreeSet::from([new.clone()]),
            &[stale.clone()],
            at("2026-01-01T10:00:00Z"),
        );
        assert_eq!(plan.remove, [stale]);
        assert_eq!(plan.create, [vec![new]]);
    }

    #[test]
    fn the_resource_filters_by_user_ids_and_secrets_are_random() {
        let (a, b) = (Guid::new_random(), Guid::new_random());
        assert_eq!(
            presence_resource(&[a.clone(), b.clone()]),
            format!("/communications/presences?$filter=id in ('{a}','{b}')")
        );
        let (s1, s2) = (new_secret(), new_secret());
        assert_eq!(s1.len(), 64);
        assert_ne!(s1, s2);
    }
}

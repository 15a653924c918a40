//! Shadow policies: a service may name a second plugin version that decides on the same input
//! as every live decision without acting. Its answer is stored beside the live one in the
//! decision's trace, and each comparison is counted per shadow version, in the service's
//! queue partition (written with the decision, never in the tenant's configuration
//! partition). `GET /api/admin/services/{serviceId}/shadow-report` answers the counts.

use serde::Serialize;
use stratus_kernel::fields::path_guid;
use stratus_kernel::table::{key, n, s, sort_key, Expr, Item};
use stratus_kernel::{Error, Guid, Incoming, Kernel};
use stratus_services::store::ServiceStore;

use crate::route::decide::Answer;
use crate::store::{queue_pk, Tx};
use crate::TaskError;

const SHADOW_PREFIX: &str = "SHADOW#";

fn shadow_sk(plugin: &str, version: u32) -> String {
    format!("{SHADOW_PREFIX}{plugin}#{version:010}")
}

/// Whether the shadow's answer is the live one, and whether their first choices agree.
pub fn agreement(live: &Answer, shadow: &Answer) -> (bool, bool) {
    match (live, shadow) {
        (
            Answer::Offer {
                agents: a,
                simultaneous: x,
            },
            Answer::Offer {
                agents: b,
                simultaneous: y,
            },
        ) => (a == b && x == y, a.first() == b.first()),
        (Answer::Wait(a), Answer::Wait(b)) => (a == b, true),
        (Answer::Overflow { target: a, .. }, Answer::Overflow { target: b, .. }) => {
            (a == b, a == b)
        }
        _ => (false, false),
    }
}

/// What a decision's shadow did, as its trace keeps it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowComparison {
    pub plugin: String,
    pub version: u32,
    pub agrees: bool,
    pub first_choice_agrees: bool,
    pub failed: bool,
}

/// Counts one comparison with the decision's transaction.
pub fn count(tx: &mut Tx, service: &Guid, at: &str, c: &ShadowComparison) -> Result<(), Error> {
    let tenant = tx.tenant().clone();
    tx.update(
        key(queue_pk(&tenant, service), shadow_sk(&c.plugin, c.version)),
        "ADD compared :one, agreed :agreed, firstChoiceAgreed :first, shadowFailures :failed \
         SET plugin = :plugin, version = :version, lastDecisionAt = :at",
        Expr::new()
            .value(":one", n(1))
            .value(":agreed", n(u8::from(c.agrees)))
            .value(":first", n(u8::from(c.first_choice_agrees)))
            .value(":failed", n(u8::from(c.failed)))
            .value(":plugin", s(c.plugin.clone()))
            .value(":version", n(c.version))
            .value(":at", s(at)),
    )
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowFigures {
    pub plugin: String,
    pub version: u32,
    /// The shadow the service names now (the others are earlier ones).
    pub current: bool,
    pub decisions_compared: u64,
    pub agreed: u64,
    /// `agreed / decisionsCompared`; null before any comparison.
    pub agreement_rate: Option<f64>,
    pub first_choice_agreed: u64,
    pub first_choice_agreement_rate: Option<f64>,
    /// Decisions in which the shadow failed (trap, fuel, deadline, bad answer).
    pub shadow_failures: u64,
    pub last_decision_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShadowReport {
    pub service_id: Guid,
    pub policy: Option<serde_json::Value>,
    pub shadow_policy: Option<serde_json::Value>,
    pub shadows: Vec<ShadowFigures>,
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `GET /api/admin/services/{serviceId}/shadow-report`.
pub async fn get_service_shadow_report(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<ShadowReport, TaskError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = path_guid("serviceId", incoming.path_param("serviceId"))?;
    let table = kernel.table();
    let (service, items) = futures::try_join!(
        table.service(&admin.tenant_id, &id),
        table.query_prefix(queue_pk(&admin.tenant_id, &id), SHADOW_PREFIX)
    )?;
    let service = service
        .ok_or_else(|| TaskError::ServiceNotFound(id.to_string()))?
        .service;
    let distribution = service.distribution.unwrap_or_default();
    let named = |p: &stratus_services::distribution::PolicyAssignment| serde_json::json!({ "plugin": p.plugin, "version": p.version });
    let shadows = items
        .iter()
        .filter(|item| sort_key(item).starts_with(SHADOW_PREFIX))
        .map(|item| {
            let plugin = item
                .get("plugin")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let version = number(item, "version") as u32;
            let compared = number(item, "compared");
            let agreed = number(item, "agreed");
            let first = number(item, "firstChoiceAgreed");
            ShadowFigures {
                current: distribution
                    .shadow_policy
                    .as_ref()
                    .is_some_and(|p| p.plugin == plugin && p.version == version),
                plugin,
                version,
                decisions_compared: compared,
                agreed,
                agreement_rate: rate(agreed, compared),
                first_choice_agreed: first,
                first_choice_agreement_rate: rate(first, compared),
                shadow_failures: number(item, "shadowFailures"),
                last_decision_at: item
                    .get("lastDecisionAt")
                    .and_then(|v| v.as_s().ok())
                    .cloned(),
            }
        })
        .collect();
    Ok(ShadowReport {
        service_id: id,
        policy: distribution.policy.as_ref().map(named),
        shadow_policy: distribution.shadow_policy.as_ref().map(named),
        shadows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(ids: &[&Guid]) -> Answer {
        Answer::Offer {
            agents: ids.iter().map(|g| (*g).clone()).collect(),
            simultaneous: false,
        }
    }

    #[test]
    fn agreement_is_the_same_answer_and_first_choice_the_same_first_agent() {
        let (a, b) = (Guid::new_random(), Guid::new_random());
        assert_eq!(
            agreement(&offer(&[&a, &b]), &offer(&[&a, &b])),
            (true, true)
        );
        assert_eq!(agreement(&offer(&[&a, &b]), &offer(&[&a])), (false, true));
        assert_eq!(
            agreement(&offer(&[&a, &b]), &offer(&[&b, &a])),
            (false, false)
        );
        assert_eq!(agreement(&offer(&[&a]), &Answer::Wait(5)), (false, false));
        assert_eq!(agreement(&Answer::Wait(5), &Answer::Wait(9)), (false, true));
        let out = |t: &str| Answer::Overflow {
            reason: "closed".into(),
            target: Some(t.into()),
        };
        assert_eq!(
            agreement(&out("voicemail"), &out("voicemail")),
            (true, true)
        );
        assert_eq!(
            agreement(&out("voicemail"), &out("disconnect")),
            (false, false)
        );
    }
}

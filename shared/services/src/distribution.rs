//! A service's distribution settings (`PUT /api/admin/services/{serviceId}/distribution`):
//! timers, queue limits, overflow, wrap-up, auto-pause, which presence states still get
//! tasks, chat capacity, and on skill-based services the distribution policy (a plugin
//! version and its configuration, which the plugin's own `validate-config` must accept).
//!
//! The seeds give no numbers; the defaults and ranges here are Stratus's, stated in the
//! OpenAPI document and the README. Fields left out of a `PUT` keep their current values, so
//! a script that only changes the ring timeout cannot unassign a policy by accident;
//! `"policy": null` removes the policy.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::Fields;
use stratus_kernel::{retry_on_race, Error, Guid, Incoming, Kernel};
use stratus_routing::registry::blocking;
use stratus_routing::stored::{is_plugin_name, PluginStore};
use stratus_routing::PolicyRegistry;

use crate::presence::PresenceRouting;
use crate::service::{AssignmentType, Service};
use crate::store::ServiceStore;
use crate::{existing_service, service_id, ServiceError};

/// Longest refusal reason of a plugin quoted back.
const MAX_REASON_CHARS: usize = 500;
/// Largest configuration accepted with a policy (it is stored on the service's item).
const MAX_CONFIGURATION_BYTES: usize = 32 * 1024;

/// Where a task goes when it cannot be served in this service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Overflow {
    /// Another service of the tenant.
    #[serde(rename_all = "camelCase")]
    Service {
        service_id: Guid,
    },
    Voicemail,
    Disconnect,
}

/// The distribution policy of a skill-based service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyAssignment {
    pub plugin: String,
    pub version: u32,
    pub configuration: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DistributionSettings {
    /// How long an offer rings before it counts as missed.
    pub ring_timeout_seconds: u32,
    /// How long a task may wait before it overflows.
    pub queue_timeout_seconds: u32,
    /// Waiting tasks beyond which a new one overflows at once.
    pub max_queue_length: u32,
    pub overflow: Overflow,
    /// After-task work time before the agent gets the next task.
    pub wrap_up_seconds: u32,
    /// Missed offers in a row after which the agent is paused; 0 never pauses.
    pub auto_pause_after_missed_offers: u32,
    #[serde(flatten)]
    pub presence: PresenceRouting,
    pub concurrent_chats_per_agent: u32,
    pub policy: Option<PolicyAssignment>,
    /// A second plugin version run beside every live decision, without acting: its answers
    /// are compared in the shadow report before an admin switches to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_policy: Option<PolicyAssignment>,
    /// IANA time zone the policy's local time is resolved in (time-of-day windows); UTC
    /// when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A number field's default and allowed range.
struct Range {
    field: &'static str,
    default: u32,
    min: u32,
    max: u32,
}

const RING_TIMEOUT: Range = Range {
    field: "ringTimeoutSeconds",
    default: 30,
    min: 5,
    max: 300,
};
const QUEUE_TIMEOUT: Range = Range {
    field: "queueTimeoutSeconds",
    default: 600,
    min: 10,
    max: 3600,
};
const MAX_QUEUE_LENGTH: Range = Range {
    field: "maxQueueLength",
    default: 50,
    min: 1,
    max: 1000,
};
const WRAP_UP: Range = Range {
    field: "wrapUpSeconds",
    default: 0,
    min: 0,
    max: 600,
};
const AUTO_PAUSE: Range = Range {
    field: "autoPauseAfterMissedOffers",
    default: 3,
    min: 0,
    max: 20,
};
const CONCURRENT_CHATS: Range = Range {
    field: "concurrentChatsPerAgent",
    default: 1,
    min: 1,
    max: 10,
};

impl Default for DistributionSettings {
    fn default() -> Self {
        DistributionSettings {
            ring_timeout_seconds: RING_TIMEOUT.default,
            queue_timeout_seconds: QUEUE_TIMEOUT.default,
            max_queue_length: MAX_QUEUE_LENGTH.default,
            overflow: Overflow::Disconnect,
            wrap_up_seconds: WRAP_UP.default,
            auto_pause_after_missed_offers: AUTO_PAUSE.default,
            presence: PresenceRouting::default(),
            concurrent_chats_per_agent: CONCURRENT_CHATS.default,
            policy: None,
            shadow_policy: None,
            time_zone: None,
        }
    }
}

const FIELDS: [&str; 13] = [
    "timeZone",
    "shadowPolicy",
    "ringTimeoutSeconds",
    "queueTimeoutSeconds",
    "maxQueueLength",
    "overflow",
    "wrapUpSeconds",
    "autoPauseAfterMissedOffers",
    "deliverWhenBusy",
    "deliverWhenBusyInAMeeting",
    "deliverWhenAway",
    "concurrentChatsPerAgent",
    "policy",
];

/// An IANA time zone name, checked against the time zone database the host resolves
/// decision times with.
fn time_zone(zone: &str) -> Result<String, Error> {
    let probe = stratus_routing::spec::MomentSpec {
        at: "2026-01-01T00:00:00Z".into(),
        time_zone: Some(zone.to_owned()),
        holidays: Vec::new(),
        seed: 0,
    };
    stratus_routing::spec::context(&probe, "{}")
        .map(|_| zone.to_owned())
        .map_err(|_| {
            Error::field(
                "timeZone",
                &format!("is {zone:?}, not an IANA time zone such as \"Europe/Berlin\""),
            )
        })
}

/// What a `PUT` asks for the policy.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicyChange {
    Keep,
    Remove,
    Assign(PolicyAssignment),
}

/// The settings after a `PUT` body, and what it asks of the policy (checked by the plugin
/// before anything is stored). Pure: the feature matrix and the ranges.
pub fn apply_distribution(
    service: &Service,
    current: &DistributionSettings,
    body: &Fields,
) -> Result<(DistributionSettings, PolicyChange), ServiceError> {
    if service.assignment_type == AssignmentType::None {
        return Err(ServiceError::NoDistributionOnNone);
    }
    body.reject_unknown(&FIELDS, "the distribution settings")?;
    let mut next = current.clone();
    let number = |range: &Range, current: u32| -> Result<u32, Error> {
        Ok(body
            .integer_in(range.field, range.min, range.max)?
            .unwrap_or(current))
    };
    next.ring_timeout_seconds = number(&RING_TIMEOUT, current.ring_timeout_seconds)?;
    next.queue_timeout_seconds = number(&QUEUE_TIMEOUT, current.queue_timeout_seconds)?;
    next.max_queue_length = number(&MAX_QUEUE_LENGTH, current.max_queue_length)?;
    next.wrap_up_seconds = number(&WRAP_UP, current.wrap_up_seconds)?;
    next.auto_pause_after_missed_offers =
        number(&AUTO_PAUSE, current.auto_pause_after_missed_offers)?;
    next.concurrent_chats_per_agent =
        number(&CONCURRENT_CHATS, current.concurrent_chats_per_agent)?;
    let flag = |field: &str, current: bool| -> Result<bool, Error> {
        Ok(body.bool(field)?.unwrap_or(current))
    };
    next.presence = PresenceRouting {
        deliver_when_busy: flag("deliverWhenBusy", current.presence.deliver_when_busy)?,
        deliver_when_busy_in_a_meeting: flag(
            "deliverWhenBusyInAMeeting",
            current.presence.deliver_when_busy_in_a_meeting,
        )?,
        deliver_when_away: flag("deliverWhenAway", current.presence.deliver_when_away)?,
    };
    if body.has("timeZone") {
        next.time_zone = match body.string("timeZone")? {
            None => None,
            Some(zone) => Some(time_zone(zone.trim())?),
        };
    }
    if let Some(overflow) = body.object("overflow")? {
        next.overflow = parse_overflow(&overflow, &service.id)?;
    }
    let change = if !body.has("policy") {
        PolicyChange::Keep
    } else {
        match body.object("policy")? {
            None => PolicyChange::Remove,
            Some(_) if service.assignment_type != AssignmentType::SkillBased => {
                return Err(ServiceError::PolicyOnSkillBasedOnly {
                    current: service.assignment_type,
                })
            }
            Some(policy) => PolicyChange::Assign(parse_policy(&policy)?),
        }
    };
    if body.has("shadowPolicy") {
        next.shadow_policy = match body.object("shadowPolicy")? {
            None => None,
            Some(_) if service.assignment_type != AssignmentType::SkillBased => {
                return Err(ServiceError::PolicyOnSkillBasedOnly {
                    current: service.assignment_type,
                })
            }
            Some(policy) => Some(parse_policy(&policy)?),
        };
    }
    next.policy = match &change {
        PolicyChange::Keep => current.policy.clone(),
        PolicyChange::Remove => None,
        PolicyChange::Assign(p) => Some(p.clone()),
    };
    Ok((next, change))
}

fn parse_overflow(body: &Fields, own: &Guid) -> Result<Overflow, Error> {
    body.reject_unknown(&["type", "serviceId"], "an overflow target")?;
    let kind = body.required_string("type")?;
    match kind.as_str() {
        "service" => {
            let target = body.required_guid("serviceId")?;
            if &target == own {
                return Err(Error::field(
                    &body.name("serviceId"),
                    "must be another service (a service cannot overflow into itself)",
                ));
            }
            Ok(Overflow::Service { service_id: target })
        }
        "voicemail" | "disconnect" if body.has("serviceId") => Err(Error::field(
            &body.name("serviceId"),
            "is only for an overflow of type \"service\"",
        )),
        "voicemail" => Ok(Overflow::Voicemail),
        "disconnect" => Ok(Overflow::Disconnect),
        other => Err(Error::field(
            &body.name("type"),
            &format!("{other:?} is not an overflow target (service, voicemail, disconnect)"),
        )),
    }
}

fn parse_policy(body: &Fields) -> Result<PolicyAssignment, Error> {
    body.reject_unknown(&["plugin", "version", "configuration"], "a policy")?;
    let plugin = body.required_string("plugin")?;
    if !is_plugin_name(&plugin) {
        return Err(Error::field(
            &body.name("plugin"),
            "is not a plugin name (lowercase letters, digits and hyphens)",
        ));
    }
    let version = body
        .integer_in("version", 1, u32::MAX)?
        .ok_or_else(|| Error::field(&body.name("version"), "is required"))?;
    let configuration = body.get("configuration").cloned().unwrap_or(json!({}));
    if configuration.to_string().len() > MAX_CONFIGURATION_BYTES {
        return Err(Error::field(
            &body.name("configuration"),
            &format!("must be at most {MAX_CONFIGURATION_BYTES} bytes of JSON"),
        ));
    }
    Ok(PolicyAssignment {
        plugin,
        version,
        configuration,
    })
}

/// `PUT /api/admin/services/{serviceId}/distribution`: the settings after the change. A new
/// policy is loaded and asked to validate its configuration first; its version's assignment
/// count moves in the same transaction as the service (so an assigned version cannot be
/// deleted).
pub async fn put_service_distribution(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<DistributionSettings, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    let body = incoming.body_fields()?;
    let table = kernel.table();
    retry_on_race(|| async {
        let before = existing_service(table, &admin.tenant_id, &id).await?;
        let current = before.service.distribution.clone().unwrap_or_default();
        let (next, change) = apply_distribution(&before.service, &current, &body)?;
        if let Overflow::Service { service_id } = &next.overflow {
            if next.overflow != current.overflow {
                // Only "no such service" is the caller's mistake; a failed read stays what it is.
                if table.service(&admin.tenant_id, service_id).await?.is_none() {
                    return Err(Error::field(
                        "overflow.serviceId",
                        "is not a service of this tenant",
                    )
                    .into());
                }
            }
        }
        if let PolicyChange::Assign(policy) = &change {
            check_policy(kernel, &admin.tenant_id, policy).await?;
        }
        if let Some(shadow) = next.shadow_policy.as_ref().filter(|s| Some(*s) != current.shadow_policy.as_ref()) {
            check_policy(kernel, &admin.tenant_id, shadow).await?;
        }
        let mut after = before.service.clone();
        after.distribution = Some(next.clone());
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.distribution",
            format!("service:{id}"),
            json!({
                "policy": next.policy.as_ref().map(|p| json!({"plugin": p.plugin, "version": p.version})),
                "shadowPolicy": next.shadow_policy.as_ref().map(|p| json!({"plugin": p.plugin, "version": p.version})),
            }),
        );
        table
            .replace_distribution(&admin.tenant_id, &before, &after, &audit)
            .await?;
        Ok(next)
    })
    .await
}

/// The plugin version must exist, load, and accept the configuration.
async fn check_policy(
    kernel: &Kernel,
    tenant: &Guid,
    policy: &PolicyAssignment,
) -> Result<(), ServiceError> {
    let version = kernel
        .table()
        .plugin_version(tenant, &policy.plugin, policy.version)
        .await?
        .ok_or_else(|| ServiceError::NoSuchPluginVersion {
            plugin: policy.plugin.clone(),
            version: policy.version,
        })?;
    let loaded = PolicyRegistry::global()
        .load(kernel.table(), tenant, &version)
        .await?;
    let config = policy.configuration.to_string();
    match blocking(move || loaded.config_refusal(&config)).await? {
        None => Ok(()),
        Some(reason) => Err(ServiceError::ConfigurationRefused {
            plugin: policy.plugin.clone(),
            version: policy.version,
            reason: stratus_routing::text::untrusted(&reason, MAX_REASON_CHARS),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_service as service;

    fn apply(
        t: AssignmentType,
        body: Value,
    ) -> Result<(DistributionSettings, PolicyChange), String> {
        apply_distribution(
            &service(t),
            &DistributionSettings::default(),
            &Fields::from_value(body, "").unwrap(),
        )
        .map_err(|e| e.to_string())
    }

    #[test]
    fn every_range_takes_its_edges_and_refuses_one_past_naming_the_range() {
        for r in [
            RING_TIMEOUT,
            QUEUE_TIMEOUT,
            MAX_QUEUE_LENGTH,
            WRAP_UP,
            AUTO_PAUSE,
            CONCURRENT_CHATS,
        ] {
            for ok in [r.min, r.max] {
                let (s, _) = apply(AssignmentType::SkillBased, json!({ r.field: ok })).unwrap();
                let stored = serde_json::to_value(&s).unwrap();
                assert_eq!(stored[r.field], ok, "{}", r.field);
            }
            let message = format!(
                "\"{}\" must be a whole number from {} to {}",
                r.field, r.min, r.max
            );
            assert_eq!(
                apply(AssignmentType::SkillBased, json!({ r.field: r.max + 1 })),
                Err(message.clone())
            );
            if r.min > 0 {
                assert_eq!(
                    apply(AssignmentType::SkillBased, json!({ r.field: r.min - 1 })),
                    Err(message)
                );
            }
        }
    }

    #[test]
    fn the_feature_matrix_decides_where_settings_and_policies_exist() {
        assert_eq!(
            apply(AssignmentType::None, json!({})),
            Err("Services with user assignment type None have no distribution settings".into())
        );
        let policy = json!({ "policy": { "plugin": "skill-based", "version": 1 } });
        assert_eq!(
            apply(AssignmentType::TeamsBased, policy.clone()),
            Err(
                "A distribution policy applies to skill-based services only; this service is TeamsBased"
                    .into()
            )
        );
        let (s, change) = apply(AssignmentType::SkillBased, policy).unwrap();
        assert!(matches!(change, PolicyChange::Assign(_)));
        assert_eq!(s.policy.unwrap().configuration, json!({}));
        let (_, change) = apply(AssignmentType::TeamsBased, json!({ "policy": null })).unwrap();
        assert_eq!(change, PolicyChange::Remove);
        let (_, change) = apply(AssignmentType::TeamsBased, json!({ "wrapUpSeconds": 5 })).unwrap();
        assert_eq!(change, PolicyChange::Keep);
    }

    #[test]
    fn overflow_targets_are_checked_for_shape() {
        let own = service(AssignmentType::SkillBased);
        let current = DistributionSettings::default();
        let parse = |v: Value| {
            apply_distribution(&own, &current, &Fields::from_value(v, "").unwrap())
                .map(|(s, _)| s.overflow)
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            parse(json!({ "overflow": { "type": "voicemail" } })),
            Ok(Overflow::Voicemail)
        );
        assert_eq!(
            parse(json!({ "overflow": { "type": "service", "serviceId": own.id.as_str() } })),
            Err("\"overflow.serviceId\" must be another service (a service cannot overflow into itself)".into())
        );
        assert_eq!(
            parse(json!({ "overflow": { "type": "queue" } })),
            Err("\"overflow.type\" \"queue\" is not an overflow target (service, voicemail, disconnect)".into())
        );
    }
}

//! One decision for one task: who of the service's members may take it now and why the
//! others may not (the trace), the contract's input built from them, and the answer of the
//! service's policy — the assigned plugin version, or the built-in longest-idle when the
//! service has none. A failing plugin fails only this decision: the fallback decides and the
//! failure is recorded.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use stratus_kernel::table::{micros_of, AgentState};
use stratus_kernel::{Guid, Kernel, User};
use stratus_routing::registry::blocking;
use stratus_routing::spec::{self, CandidateSpec, MomentSpec, TaskSpec};
use stratus_routing::stored::PluginStore;
use stratus_routing::text::untrusted;
use stratus_routing::{native, Decision, DecisionInput, PolicyRegistry};
use stratus_services::distribution::PolicyAssignment;
use stratus_services::Ineligible;

use crate::flow::Now;
use crate::model::{AgentLoad, Busy, Task};

/// Longest text of a plugin's (untrusted) reason or overflow target kept.
pub const MAX_PLUGIN_TEXT_CHARS: usize = 200;

/// What the decision knows of one member.
pub struct MemberView<'a> {
    pub id: &'a Guid,
    pub user: Option<&'a User>,
    pub state: Option<&'a AgentState>,
    pub ineligible: Vec<Ineligible>,
    pub load: &'a AgentLoad,
}

/// Why a member was left out of a decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum Excluded {
    /// Presence, duty, not-available and the rest of the eligibility filter.
    Eligibility {
        reason: Ineligible,
    },
    Capacity {
        busy: Busy,
    },
    #[serde(rename_all = "camelCase")]
    Skills {
        skill: String,
        min_level: u8,
        level: u8,
    },
    /// Declined or missed this task within the last ring timeout.
    DeclinedRecently,
    /// The task was transferred to someone else.
    #[serde(rename_all = "camelCase")]
    DirectedToAnother {
        agent_id: Guid,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberTrace {
    pub agent_id: Guid,
    pub candidate: bool,
    pub excluded: Vec<Excluded>,
}

/// The rules of who may be offered `task` now, in the trace's words. Pure.
pub fn consider(
    task: &Task,
    members: &[MemberView],
    skill_names: &BTreeMap<Guid, String>,
    max_chats: u32,
    refusal_window_ms: i64,
    filter_skills: bool,
    now_ms: i64,
) -> Vec<MemberTrace> {
    members
        .iter()
        .map(|m| {
            let mut excluded: Vec<Excluded> = m
                .ineligible
                .iter()
                .cloned()
                .map(|reason| Excluded::Eligibility { reason })
                .collect();
            if let Err(busy) = m.load.capacity_for(task.modality, max_chats, now_ms) {
                excluded.push(Excluded::Capacity { busy });
            }
            if let Some(directed) = task.directed_to.as_ref().filter(|d| *d != m.id) {
                excluded.push(Excluded::DirectedToAnother {
                    agent_id: directed.clone(),
                });
            }
            if task.recently_refused_by(m.id, now_ms, refusal_window_ms) {
                excluded.push(Excluded::DeclinedRecently);
            }
            if filter_skills {
                let levels = skills_of(m.user, skill_names);
                for req in &task.required_skills {
                    let level = levels.get(&req.skill).copied().unwrap_or(0);
                    if level < req.min_level {
                        excluded.push(Excluded::Skills {
                            skill: req.skill.clone(),
                            min_level: req.min_level,
                            level,
                        });
                    }
                }
            }
            MemberTrace {
                agent_id: m.id.clone(),
                candidate: excluded.is_empty(),
                excluded,
            }
        })
        .collect()
}

/// Most bytes (as JSON) of member entries one trace keeps: a trace is one item, and
/// DynamoDB items hold 400 KB.
pub const MAX_TRACE_MEMBER_BYTES: usize = 256 * 1024;

/// Members a trace left out for size, counted by the reason they were not candidates.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OmittedMembers {
    pub count: usize,
    pub by_reason: BTreeMap<String, usize>,
}

fn reason_code(excluded: &Excluded) -> String {
    match excluded {
        Excluded::Eligibility { reason } => serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "eligibility".into()),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// The members a trace keeps: all while they fit in `budget` bytes; beyond it the
/// candidates first, then the others in order, and the rest counted by the first reason
/// each was left out. Pure.
pub fn bounded_members(
    members: Vec<MemberTrace>,
    budget: usize,
) -> (Vec<MemberTrace>, Option<OmittedMembers>) {
    let size = |m: &MemberTrace| serde_json::to_vec(m).map(|b| b.len() + 1).unwrap_or(0);
    if members.iter().map(size).sum::<usize>() <= budget {
        return (members, None);
    }
    let (candidates, others): (Vec<_>, Vec<_>) = members.into_iter().partition(|m| m.candidate);
    let mut kept = Vec::new();
    let mut used = 0;
    let mut omitted = OmittedMembers::default();
    for member in candidates.into_iter().chain(others) {
        let bytes = size(&member);
        if used + bytes <= budget {
            used += bytes;
            kept.push(member);
        } else {
            omitted.count += 1;
            let code = member
                .excluded
                .first()
                .map(reason_code)
                .unwrap_or_else(|| "candidate".into());
            *omitted.by_reason.entry(code).or_default() += 1;
        }
    }
    (kept, Some(omitted))
}

/// A user's skills by name.
pub fn skills_of(user: Option<&User>, names: &BTreeMap<Guid, String>) -> BTreeMap<String, u8> {
    user.map(|u| {
        u.skills
            .iter()
            .filter_map(|s| names.get(&s.skill_id).map(|name| (name.clone(), s.level)))
            .collect()
    })
    .unwrap_or_default()
}

fn seconds_since(now_ms: i64, at_ms: Option<i64>) -> Option<u32> {
    at_ms.map(|at| ((now_ms - at).max(0) / 1_000).min(i64::from(u32::MAX - 1)) as u32)
}

/// A candidate as the contract sees it.
pub fn candidate_spec(
    m: &MemberView,
    skill_names: &BTreeMap<Guid, String>,
    now: &Now,
) -> CandidateSpec {
    let became_available = m
        .state
        .and_then(|s| s.presence_since.as_deref())
        .and_then(micros_of)
        .map(|us| us / 1_000);
    let idle_from = match (m.load.free_since_ms, became_available) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let (handled, talk) = m.load.handled_on(&now.day());
    CandidateSpec {
        agent_id: m.id.to_string(),
        skills: skills_of(m.user, skill_names),
        idle_seconds: seconds_since(now.ms, idle_from).unwrap_or(0),
        handled_today: handled,
        talk_seconds_today: talk,
        last_offered_seconds_ago: seconds_since(now.ms, m.load.last_offered_at_ms),
        last_answered_seconds_ago: seconds_since(now.ms, m.load.last_answered_at_ms),
        attributes: BTreeMap::new(),
    }
}

/// The task as the contract sees it.
pub fn task_spec(task: &Task, now: &Now) -> TaskSpec {
    TaskSpec {
        id: task.id.to_string(),
        service: task.service_id.to_string(),
        modality: Some(task.modality.name().to_owned()),
        priority: task.priority,
        waited_seconds: seconds_since(now.ms, Some(task.queued_at_ms.min(task.arrived_at_ms)))
            .unwrap_or(0),
        required_skills: task.required_skills.clone(),
        caller: task.caller.clone(),
        attributes: task.attributes.clone(),
    }
}

/// Who answered, how, and at what cost.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTrace {
    /// The plugin and version, or `builtIn: longestIdle`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_in: Option<&'static str>,
    /// The answer acted on: `{"offer": {"order": [agent ids], "simultaneous"}}`,
    /// `{"wait": seconds}` or `{"overflow": {"reason", "target"}}`.
    pub answer: Value,
    pub reason: String,
    pub fuel_used: u64,
    pub micros: u64,
    pub fell_back: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Value>,
}

/// The answer acted on, in host terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Offer {
        agents: Vec<Guid>,
        simultaneous: bool,
    },
    Wait(u32),
    Overflow {
        reason: String,
        target: Option<String>,
    },
}

/// Asks the service's policy (or the built-in longest-idle) about `task` with these
/// candidates. Never fails: a plugin that cannot be loaded or fails decides by fallback.
pub async fn ask_policy(
    kernel: &Kernel,
    tenant: &Guid,
    policy: Option<&PolicyAssignment>,
    time_zone: Option<&str>,
    task: &Task,
    candidates: &[CandidateSpec],
    now: &Now,
) -> (Answer, PolicyTrace) {
    let config = policy
        .map(|p| p.configuration.to_string())
        .unwrap_or_else(|| "{}".into());
    let moment = MomentSpec {
        at: now.text.clone(),
        time_zone: time_zone.map(str::to_owned),
        holidays: Vec::new(),
        seed: seed_of(&task.id, task.decision_count),
    };
    let input = spec::context(&moment, &config)
        .and_then(|context| spec::decision_input(&task_spec(task, now), candidates, context));
    let input = match input {
        Ok(input) => input,
        Err(e) => {
            // Stored data the contract refuses (a time zone removed from the database):
            // decide without the plugin, and say why.
            return fallback(candidates, policy, json!({"code": "input", "message": e.0}));
        }
    };
    let Some(assignment) = policy else {
        let outcome = native::longest_idle(&input.candidates);
        let answer = answer_of(&outcome.decision, candidates);
        return (
            answer.clone(),
            PolicyTrace {
                plugin: None,
                version: None,
                built_in: Some("longestIdle"),
                answer: answer_json(&answer),
                reason: outcome.reason,
                fuel_used: 0,
                micros: 0,
                fell_back: false,
                failure: None,
            },
        );
    };
    match run_plugin(kernel, tenant, assignment, input).await {
        Ok((result, elapsed)) => {
            let answer = answer_of(&result.outcome.decision, candidates);
            let failure = result.error.as_ref().map(|e| {
                json!({"code": e.code(), "message": untrusted(&e.to_string(), MAX_PLUGIN_TEXT_CHARS)})
            });
            (
                answer.clone(),
                PolicyTrace {
                    plugin: Some(assignment.plugin.clone()),
                    version: Some(assignment.version),
                    // The fallback decided when the plugin failed.
                    built_in: result.error.is_some().then_some("longestIdle"),
                    answer: answer_json(&answer),
                    reason: untrusted(&result.outcome.reason, MAX_PLUGIN_TEXT_CHARS),
                    fuel_used: result.fuel_used,
                    micros: elapsed.as_micros() as u64,
                    fell_back: result.error.is_some(),
                    failure,
                },
            )
        }
        Err(why) => fallback(candidates, policy, json!({"code": "load", "message": why})),
    }
}

async fn run_plugin(
    kernel: &Kernel,
    tenant: &Guid,
    assignment: &PolicyAssignment,
    input: DecisionInput,
) -> Result<(stratus_routing::DecisionResult, Duration), String> {
    let version = kernel
        .table()
        .plugin_version(tenant, &assignment.plugin, assignment.version)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "plugin {} has no version {}",
                assignment.plugin, assignment.version
            )
        })?;
    let policy = PolicyRegistry::global()
        .load(kernel.table(), tenant, &version)
        .await
        .map_err(|e| e.to_string())?;
    let result = blocking(move || policy.decide(&input))
        .await
        .map_err(|e| e.to_string())?;
    let elapsed = result.elapsed;
    Ok((result, elapsed))
}

fn fallback(
    candidates: &[CandidateSpec],
    policy: Option<&PolicyAssignment>,
    failure: Value,
) -> (Answer, PolicyTrace) {
    let idle: Vec<u32> = candidates.iter().map(|c| c.idle_seconds).collect();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| idle[b].cmp(&idle[a]).then(a.cmp(&b)));
    let answer = Answer::Offer {
        agents: order
            .into_iter()
            .filter_map(|i| Guid::parse(&candidates[i].agent_id))
            .collect(),
        simultaneous: false,
    };
    (
        answer.clone(),
        PolicyTrace {
            plugin: policy.map(|p| p.plugin.clone()),
            version: policy.map(|p| p.version),
            built_in: Some("longestIdle"),
            answer: answer_json(&answer),
            reason: "longest idle (fallback)".into(),
            fuel_used: 0,
            micros: 0,
            fell_back: true,
            failure: Some(failure),
        },
    )
}

fn answer_of(decision: &Decision, candidates: &[CandidateSpec]) -> Answer {
    match decision {
        Decision::Offer(offer) => Answer::Offer {
            agents: offer
                .order
                .iter()
                .filter_map(|&i| candidates.get(i as usize))
                .filter_map(|c| Guid::parse(&c.agent_id))
                .collect(),
            simultaneous: offer.simultaneous,
        },
        Decision::Wait(seconds) => Answer::Wait(*seconds),
        Decision::Overflow(o) => Answer::Overflow {
            reason: untrusted(&o.reason, MAX_PLUGIN_TEXT_CHARS),
            target: o
                .target
                .as_deref()
                .map(|t| untrusted(t.trim(), MAX_PLUGIN_TEXT_CHARS)),
        },
    }
}

/// Most agents of an offer's order a trace lists (the order's length is kept beside).
pub const MAX_TRACED_ORDER: usize = 100;

pub fn answer_json(answer: &Answer) -> Value {
    match answer {
        Answer::Offer {
            agents,
            simultaneous,
        } => json!({"offer": {
            "order": &agents[..agents.len().min(MAX_TRACED_ORDER)],
            "orderLength": agents.len(),
            "simultaneous": simultaneous,
        }}),
        Answer::Wait(seconds) => json!({ "wait": seconds }),
        Answer::Overflow { reason, target } => {
            json!({"overflow": {"reason": reason, "target": target}})
        }
    }
}

/// A policy's randomness for one decision: fixed by the task and the decision's number, so
/// a decision can be replayed.
fn seed_of(task: &Guid, decision: u32) -> u64 {
    task.as_str()
        .bytes()
        .chain(decision.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests;

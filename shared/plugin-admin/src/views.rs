//! What the plugin operations answer (JSON, camelCase).

use serde::Serialize;
use stratus_routing::spec::MAX_CANDIDATES;
use stratus_routing::stored::PluginVersion;
use stratus_routing::{Decision, DecisionInput, DecisionResult, Limits};

/// The limits every decision of a plugin runs under, stated for authors.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsView {
    pub max_binary_bytes: usize,
    pub fuel: u64,
    pub deadline_millis: u64,
    pub max_memory_bytes: usize,
    pub max_table_elements: usize,
    pub max_wasm_stack_bytes: usize,
    pub max_reason_chars: usize,
    pub max_wait_seconds: u32,
    pub max_candidates: usize,
    pub max_core_instances: u32,
    pub max_memories: u32,
}

impl From<&Limits> for LimitsView {
    fn from(l: &Limits) -> Self {
        LimitsView {
            max_binary_bytes: l.max_binary_bytes,
            fuel: l.fuel,
            deadline_millis: l.deadline().as_millis() as u64,
            max_memory_bytes: l.max_memory_bytes,
            max_table_elements: l.max_table_elements,
            max_wasm_stack_bytes: l.max_wasm_stack,
            max_reason_chars: l.max_reason_chars,
            max_wait_seconds: l.max_wait_seconds,
            max_candidates: MAX_CANDIDATES,
            max_core_instances: l.max_core_instances_per_component,
            max_memories: l.max_memories_per_component,
        }
    }
}

/// A stored version as answered: its metadata, whether it is in use, and its limits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginVersionView {
    #[serde(flatten)]
    pub stored: PluginVersion,
    pub in_use: bool,
    pub limits: LimitsView,
    /// Upload only: how long validation and precompilation took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile_micros: Option<u64>,
}

impl PluginVersionView {
    pub fn new(stored: PluginVersion, limits: &Limits) -> Self {
        PluginVersionView {
            in_use: stored.assignments > 0,
            stored,
            limits: limits.into(),
            compile_micros: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSummary {
    pub name: String,
    /// Oldest first.
    pub versions: Vec<PluginVersionView>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigCheck {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferedAgent {
    pub index: u32,
    pub agent_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SimulatedDecision {
    #[serde(rename_all = "camelCase")]
    Offer {
        order: Vec<OfferedAgent>,
        simultaneous: bool,
    },
    #[serde(rename_all = "camelCase")]
    Wait {
        recheck_seconds: u32,
        /// What the plugin asked for when it was past `maxWaitSeconds` (then clamped).
        #[serde(skip_serializing_if = "Option::is_none")]
        clamped_from: Option<u32>,
    },
    #[serde(rename_all = "camelCase")]
    Overflow {
        reason: String,
        target: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginFailure {
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    pub plugin: String,
    pub version: u32,
    /// The limits profile the version runs under (`limits` states its numbers).
    pub profile: String,
    pub decision: SimulatedDecision,
    pub reason: String,
    /// The plugin failed: `decision` is the fallback's (longest idle).
    pub fell_back: bool,
    pub error: Option<PluginFailure>,
    pub fuel_used: u64,
    pub elapsed_micros: u64,
    pub limits: LimitsView,
}

impl Simulation {
    pub fn new(
        version: &PluginVersion,
        result: &DecisionResult,
        input: &DecisionInput,
        limits: &Limits,
    ) -> Self {
        let ids = &input.strings.candidate_ids;
        let decision = match &result.outcome.decision {
            Decision::Offer(offer) => SimulatedDecision::Offer {
                order: offer
                    .order
                    .iter()
                    .map(|&index| OfferedAgent {
                        index,
                        agent_id: ids.get(index as usize).cloned().unwrap_or_default(),
                    })
                    .collect(),
                simultaneous: offer.simultaneous,
            },
            Decision::Wait(seconds) => SimulatedDecision::Wait {
                recheck_seconds: *seconds,
                clamped_from: result.wait_clamped_from,
            },
            Decision::Overflow(overflow) => SimulatedDecision::Overflow {
                reason: overflow.reason.clone(),
                target: overflow.target.clone(),
            },
        };
        Simulation {
            plugin: version.name.clone(),
            version: version.version,
            profile: version.profile.clone(),
            decision,
            reason: result.outcome.reason.clone(),
            fell_back: result.fell_back(),
            error: result.error.as_ref().map(|e| PluginFailure {
                code: e.code().to_owned(),
                message: e.to_string(),
            }),
            fuel_used: result.fuel_used,
            elapsed_micros: result.elapsed.as_micros() as u64,
            limits: limits.into(),
        }
    }
}

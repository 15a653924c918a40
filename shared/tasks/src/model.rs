//! A task and its parts as stored and answered (SPEC §5, §10): its state, offers, transfers,
//! and what live routing keeps on an agent's state item (open offer, calls, chats, wrap-up).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use stratus_kernel::Guid;
use stratus_routing::spec::RequiredSkill;

/// The fixed states of SPEC §10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskState {
    Queued,
    Offered,
    Assigned,
    WrapUp,
    Completed,
    Abandoned,
    Overflowed,
    Discarded,
}

impl TaskState {
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Queued => "queued",
            TaskState::Offered => "offered",
            TaskState::Assigned => "assigned",
            TaskState::WrapUp => "wrapUp",
            TaskState::Completed => "completed",
            TaskState::Abandoned => "abandoned",
            TaskState::Overflowed => "overflowed",
            TaskState::Discarded => "discarded",
        }
    }

    /// Waiting in its service's queue: counts against the queue's length.
    pub fn is_waiting(self) -> bool {
        matches!(self, TaskState::Queued | TaskState::Offered)
    }

    /// Held by an agent.
    pub fn is_working(self) -> bool {
        matches!(self, TaskState::Assigned | TaskState::WrapUp)
    }

    pub fn is_final(self) -> bool {
        !self.is_waiting() && !self.is_working()
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Modality {
    Audio,
    Video,
    Chat,
    Email,
    ExternalTask,
}

impl Modality {
    pub const NAMES: &'static str = "audio, video, chat, email, externalTask";

    pub fn parse(text: &str) -> Option<Modality> {
        Some(match text {
            "audio" => Modality::Audio,
            "video" => Modality::Video,
            "chat" => Modality::Chat,
            "email" => Modality::Email,
            "externalTask" => Modality::ExternalTask,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Modality::Audio => "audio",
            Modality::Video => "video",
            Modality::Chat => "chat",
            Modality::Email => "email",
            Modality::ExternalTask => "externalTask",
        }
    }

    /// Calls take the whole agent; every other modality shares the service's chat capacity.
    pub fn is_call(self) -> bool {
        matches!(self, Modality::Audio | Modality::Video)
    }

    pub fn contract(self) -> stratus_routing::Modality {
        match self {
            Modality::Audio => stratus_routing::Modality::Audio,
            Modality::Video => stratus_routing::Modality::Video,
            Modality::Chat => stratus_routing::Modality::Chat,
            Modality::Email => stratus_routing::Modality::Email,
            Modality::ExternalTask => stratus_routing::Modality::ExternalTask,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OfferState {
    Open,
    Accepted,
    Declined,
    Expired,
    Withdrawn,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
    pub agent_id: Guid,
    pub state: OfferState,
    pub expires_at: String,
    pub expires_at_ms: i64,
    pub offered_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at_ms: Option<i64>,
    /// The decision that made the offer (its number in the task's traces).
    pub decision: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferKind {
    /// The routing application moved the task (`POST /api/tasks/{taskId}/transfer`).
    Transfer,
    /// The queue was full, the queue timeout passed, or the policy asked for it.
    Overflow,
}

/// One move of a task, kept in its transfer history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub at: String,
    pub kind: TransferKind,
    pub from_service_id: Guid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_agent_id: Option<Guid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_service_id: Option<Guid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_user: Option<Guid>,
    /// Where an overflow left Stratus: `voicemail`, `disconnect`, or the policy's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// How a task ended, for its call detail record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Answered,
    Abandoned,
    Overflowed,
    TimedOut,
    Discarded,
}

/// A task as stored (one item) and answered, less its decision traces (items of their own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: Guid,
    pub service_id: Guid,
    pub state: TaskState,
    pub direction: Direction,
    pub modality: Modality,
    /// The caller's number or SIP address; for an outbound task, the callee.
    pub caller: String,
    /// 0..=255, higher first.
    pub priority: u8,
    pub required_skills: Vec<RequiredSkill>,
    pub attributes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    pub arrived_at: String,
    pub arrived_at_ms: i64,
    /// When the task entered its current service's queue (or, outbound, fell due): the
    /// queue timeout counts from here.
    pub queued_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
    /// Not to be decided again before this time (the policy's `wait(n)`, a scheduled task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<i64>,
    /// A transfer to a user: only they are offered the task until they decline or miss it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directed_to: Option<Guid>,
    pub assigned_to: Option<Guid>,
    #[serde(default)]
    pub answered_by: Vec<Guid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap_up_until_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub offers: Vec<Offer>,
    pub transfers: Vec<Transfer>,
    /// How many decisions were recorded (their traces are numbered 1..=this).
    pub decision_count: u32,
    /// Decisions in which the service's plugin failed and the fallback decided.
    pub plugin_failures: u32,
    pub version: u64,
}

/// Most offers kept in a task's history (the oldest resolved ones give way).
pub const MAX_OFFERS_KEPT: usize = 100;
/// Moves (transfers, overflows to a service) after which a task overflows for good: a
/// loop of services overflowing into each other ends.
pub const MAX_MOVES: usize = 10;

impl Task {
    /// A task as it arrives at `service_id` at `now_ms` (`now` its RFC 3339 text): queued,
    /// priority 0, nothing required, nothing decided yet.
    pub fn arriving(
        service_id: Guid,
        direction: Direction,
        modality: Modality,
        caller: String,
        now_ms: i64,
        now: String,
    ) -> Task {
        Task {
            id: Guid::new_random(),
            service_id,
            state: TaskState::Queued,
            direction,
            modality,
            caller,
            priority: 0,
            required_skills: Vec::new(),
            attributes: BTreeMap::new(),
            idempotency_key: None,
            arrived_at: now,
            arrived_at_ms: now_ms,
            queued_at_ms: now_ms,
            scheduled_at: None,
            not_before_ms: None,
            directed_to: None,
            assigned_to: None,
            answered_by: Vec::new(),
            answered_at: None,
            answered_at_ms: None,
            wrap_up_until_ms: None,
            ended_at: None,
            ended_at_ms: None,
            outcome: None,
            offers: Vec::new(),
            transfers: Vec::new(),
            decision_count: 0,
            plugin_failures: 0,
            version: 1,
        }
    }

    pub fn open_offers(&self) -> impl Iterator<Item = &Offer> {
        self.offers.iter().filter(|o| o.state == OfferState::Open)
    }

    pub fn open_offer_of(&self, agent: &Guid) -> Option<usize> {
        self.offers
            .iter()
            .position(|o| o.state == OfferState::Open && &o.agent_id == agent)
    }

    /// Whether `agent` declined or missed this task less than `within_ms` ago.
    pub fn recently_refused_by(&self, agent: &Guid, now_ms: i64, within_ms: i64) -> bool {
        self.offers.iter().any(|o| {
            &o.agent_id == agent
                && matches!(o.state, OfferState::Declined | OfferState::Expired)
                && o.resolved_at_ms.is_some_and(|at| now_ms - at < within_ms)
        })
    }

    /// Drops the oldest resolved offers beyond [`MAX_OFFERS_KEPT`].
    pub fn trim_offers(&mut self) {
        while self.offers.len() > MAX_OFFERS_KEPT {
            match self.offers.iter().position(|o| o.state != OfferState::Open) {
                Some(i) => {
                    self.offers.remove(i);
                }
                None => break,
            }
        }
    }
}

/// What live routing keeps on an agent's state item (`AGENT#<tid>#<oid>`/`STATE`) beside
/// presence and duty: the one open offer, the call or chats held, wrap-up, and the figures
/// a policy orders by. Written only by the task operations, with conditions, so that two
/// deciders can never both give the agent a task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentLoad {
    pub offer_task_id: Option<Guid>,
    pub offer_expires_at_ms: Option<i64>,
    pub call_task_id: Option<Guid>,
    /// Chats, e-mails and external tasks held (a string set).
    pub chat_tasks: Vec<String>,
    pub wrap_up_task_id: Option<Guid>,
    pub wrap_up_until_ms: Option<i64>,
    /// Offers missed in a row (reset by any answer).
    pub missed_offers: u32,
    pub last_offered_at_ms: Option<i64>,
    pub last_answered_at_ms: Option<i64>,
    /// When the agent last finished a task.
    pub free_since_ms: Option<i64>,
    /// The UTC day `handled_today` and `talk_seconds_today` count.
    pub handled_day: Option<String>,
    pub handled_today: u32,
    pub talk_seconds_today: u32,
}

/// Why an agent cannot take one more task of a modality now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum Busy {
    #[serde(rename_all = "camelCase")]
    OpenOffer { task_id: Guid },
    #[serde(rename_all = "camelCase")]
    OnCall { task_id: Guid },
    /// A call needs an agent who holds nothing else.
    #[serde(rename_all = "camelCase")]
    HoldsChats { count: u32 },
    #[serde(rename_all = "camelCase")]
    ChatsFull { count: u32, max: u32 },
    #[serde(rename_all = "camelCase")]
    WrapUp { until_ms: i64 },
}

impl AgentLoad {
    /// Whether the agent can take one more task of `modality` at `now_ms`: no open offer,
    /// no call, not in wrap-up; a call needs no chats either, a chat a free chat slot. Pure;
    /// the offer's write checks the same in its condition.
    pub fn capacity_for(
        &self,
        modality: Modality,
        max_chats: u32,
        now_ms: i64,
    ) -> Result<(), Busy> {
        if let Some(task_id) = &self.offer_task_id {
            return Err(Busy::OpenOffer {
                task_id: task_id.clone(),
            });
        }
        if let Some(task_id) = &self.call_task_id {
            return Err(Busy::OnCall {
                task_id: task_id.clone(),
            });
        }
        if let Some(until_ms) = self.wrap_up_until_ms.filter(|until| *until > now_ms) {
            return Err(Busy::WrapUp { until_ms });
        }
        let count = self.chat_tasks.len() as u32;
        if modality.is_call() && count > 0 {
            return Err(Busy::HoldsChats { count });
        }
        if !modality.is_call() && count >= max_chats {
            return Err(Busy::ChatsFull {
                count,
                max: max_chats,
            });
        }
        Ok(())
    }

    /// Tasks handled today as of `day` (a new day starts at zero).
    pub fn handled_on(&self, day: &str) -> (u32, u32) {
        if self.handled_day.as_deref() == Some(day) {
            (self.handled_today, self.talk_seconds_today)
        } else {
            (0, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_needs_a_free_agent_and_a_chat_a_free_slot() {
        let now = 1_000_000;
        let free = AgentLoad::default();
        assert_eq!(free.capacity_for(Modality::Audio, 2, now), Ok(()));
        assert_eq!(free.capacity_for(Modality::Chat, 2, now), Ok(()));
        let one_chat = AgentLoad {
            chat_tasks: vec!["a".into()],
            ..AgentLoad::default()
        };
        assert_eq!(one_chat.capacity_for(Modality::Chat, 2, now), Ok(()));
        assert_eq!(
            one_chat.capacity_for(Modality::Chat, 1, now),
            Err(Busy::ChatsFull { count: 1, max: 1 })
        );
        assert_eq!(
            one_chat.capacity_for(Modality::Video, 2, now),
            Err(Busy::HoldsChats { count: 1 })
        );
        let task = Guid::new_random();
        let on_call = AgentLoad {
            call_task_id: Some(task.clone()),
            ..AgentLoad::default()
        };
        assert_eq!(
            on_call.capacity_for(Modality::Email, 5, now),
            Err(Busy::OnCall {
                task_id: task.clone()
            })
        );
        let offered = AgentLoad {
            offer_task_id: Some(task.clone()),
            ..AgentLoad::default()
        };
        assert_eq!(
            offered.capacity_for(Modality::Chat, 5, now),
            Err(Busy::OpenOffer { task_id: task })
        );
    }

    #[test]
    fn wrap_up_holds_the_agent_until_its_time_only() {
        let load = AgentLoad {
            wrap_up_until_ms: Some(2_000),
            ..AgentLoad::default()
        };
        assert_eq!(
            load.capacity_for(Modality::Audio, 1, 1_999),
            Err(Busy::WrapUp { until_ms: 2_000 })
        );
        // A wrap-up whose end was never written does not hold the agent past its time.
        assert_eq!(load.capacity_for(Modality::Audio, 1, 2_000), Ok(()));
    }

    #[test]
    fn states_fall_into_waiting_working_and_final() {
        use TaskState::*;
        for s in [Queued, Offered] {
            assert!(s.is_waiting() && !s.is_working() && !s.is_final());
        }
        for s in [Assigned, WrapUp] {
            assert!(s.is_working() && !s.is_final());
        }
        for s in [Completed, Abandoned, Overflowed, Discarded] {
            assert!(s.is_final());
        }
        assert_eq!(
            serde_json::to_value(WrapUp).unwrap(),
            serde_json::json!("wrapUp")
        );
    }
}

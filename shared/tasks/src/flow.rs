//! The moves of a task that several operations share — an offer withdrawn, an agent
//! released, the task finished with its call detail record, or moved to another service —
//! each added to the one transaction of the operation that makes it.

use serde::Serialize;
use std::collections::HashSet;

use stratus_kernel::table::{key, keys, n, s, to_item, Expr, Meaning, StateChange, Table};
use stratus_kernel::{Error, Guid};

use crate::model::{
    Direction, Modality, OfferState, Outcome, Task, TaskState, Transfer, TransferKind, MAX_MOVES,
};
use crate::store::{cdr_pk, Tx, CDR_RETENTION_DAYS};
use crate::TaskError;

/// A moment, as milliseconds and as the RFC 3339 text answers show.
#[derive(Clone, Debug)]
pub struct Now {
    pub ms: i64,
    pub text: String,
}

impl Now {
    pub fn current() -> Now {
        Now::at_ms(stratus_kernel::clock::now_ms())
    }

    pub fn at_ms(ms: i64) -> Now {
        Now {
            ms,
            text: rfc3339_of_ms(ms),
        }
    }

    pub fn day(&self) -> String {
        self.text.get(..10).unwrap_or_default().to_owned()
    }
}

pub fn rfc3339_of_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Which of the agents a task involves (its open offers, its assignee) still have a state
/// item. A deleted user has none, and nothing of theirs is left to clear: writing to them
/// would fail (or create an item), and the task would never move on.
pub async fn agents_present(
    table: &Table,
    tenant: &Guid,
    task: &Task,
) -> Result<HashSet<Guid>, Error> {
    let agents: Vec<Guid> = task
        .open_offers()
        .map(|o| o.agent_id.clone())
        .chain(task.assigned_to.clone())
        .collect();
    if agents.is_empty() {
        return Ok(HashSet::new());
    }
    Ok(table
        .agent_states(tenant, &agents)
        .await?
        .into_iter()
        .filter_map(|state| state.o365_id)
        .collect())
}

/// Marks every open offer of the task withdrawn and frees the agents holding them (those
/// in `present`).
pub fn withdraw_offers(
    tx: &mut Tx,
    task: &mut Task,
    now: &Now,
    present: &HashSet<Guid>,
) -> Result<(), Error> {
    for offer in task
        .offers
        .iter_mut()
        .filter(|o| o.state == OfferState::Open)
    {
        offer.state = OfferState::Withdrawn;
        offer.resolved_at = Some(now.text.clone());
        offer.resolved_at_ms = Some(now.ms);
        if present.contains(&offer.agent_id) {
            clear_offer(tx, &offer.agent_id, &task.id, "")?;
        }
    }
    Ok(())
}

/// Removes the agent's open offer of `task` (`extra` adds to the update's SET clause).
pub fn clear_offer(tx: &mut Tx, agent: &Guid, task: &Guid, extra_set: &str) -> Result<(), Error> {
    let set = if extra_set.is_empty() {
        String::new()
    } else {
        format!(" SET {extra_set}")
    };
    tx.agent(
        agent,
        &format!("REMOVE offerTaskId, offerExpiresAtMs{set}"),
        "offerTaskId = :task",
        Expr::new().value(":task", s(task.as_str())),
        Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
    )
}

/// Frees the agent of a task it held (its call, or one of its chats).
pub fn release_agent(
    tx: &mut Tx,
    agent: &Guid,
    task: &Task,
    extra_set: Option<(&str, Expr)>,
) -> Result<(), Error> {
    let (set, expr) = extra_set.unwrap_or(("", Expr::new()));
    let set = if set.is_empty() {
        String::new()
    } else {
        format!(" SET {set}")
    };
    let expr = expr.value(":task", s(task.id.as_str()));
    if task.modality.is_call() {
        tx.agent(
            agent,
            &format!("REMOVE callTaskId{set}"),
            "callTaskId = :task",
            expr,
            Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
        )
    } else {
        tx.agent(
            agent,
            &format!("DELETE chatTasks :taskset{set}"),
            "contains(chatTasks, :task)",
            expr.value(
                ":taskset",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec![task.id.to_string()]),
            ),
            Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
        )
    }
}

/// The record of a finished task (SPEC §7).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallDetailRecord<'a> {
    pub task_id: &'a Guid,
    pub service_id: &'a Guid,
    pub direction: Direction,
    pub modality: Modality,
    pub caller: &'a str,
    pub arrived_at: &'a str,
    pub offers: usize,
    pub answered_at: Option<&'a str>,
    pub ended_at: &'a str,
    pub waiting_seconds: i64,
    pub answered_by: &'a [Guid],
    pub transfers: &'a [Transfer],
    pub outcome: Outcome,
}

/// Ends the task in `state` with `outcome` and writes its call detail record; the caller
/// has already taken it out of its queue or work list and freed its agents.
pub fn finish(
    tx: &mut Tx,
    task: &mut Task,
    state: TaskState,
    outcome: Outcome,
    now: &Now,
) -> Result<(), Error> {
    task.state = state;
    task.outcome = Some(outcome);
    task.ended_at = Some(now.text.clone());
    task.ended_at_ms = Some(now.ms);
    task.assigned_to = None;
    task.not_before_ms = None;
    task.wrap_up_until_ms = None;
    if task.direction == Direction::Outbound {
        tx.free_outbound_slot(&task.service_id)?;
    }
    let answered_or_now = task.answered_at_ms.unwrap_or(now.ms);
    let record = CallDetailRecord {
        task_id: &task.id,
        service_id: &task.service_id,
        direction: task.direction,
        modality: task.modality,
        caller: &task.caller,
        arrived_at: &task.arrived_at,
        offers: task.offers.len(),
        answered_at: task.answered_at.as_deref(),
        ended_at: &now.text,
        waiting_seconds: (answered_or_now - task.queued_at_ms.min(task.arrived_at_ms)).max(0)
            / 1_000,
        answered_by: &task.answered_by,
        transfers: &task.transfers,
        outcome,
    };
    let mut item = to_item(
        cdr_pk(tx.tenant(), &now.day()),
        format!("{}#{}", now.text, task.id),
        &record,
    )?;
    let expires = now.ms / 1_000 + CDR_RETENTION_DAYS * 86_400;
    item.insert(keys::EXPIRES_AT.into(), n(expires));
    tx.put(item)
}

/// Where an overflow or transfer sends a task.
#[derive(Clone, Debug, PartialEq)]
pub enum Destination {
    Service {
        id: Guid,
        max_waiting: u32,
    },
    /// Out of Stratus: `voicemail`, `disconnect`, or a number the policy named.
    Outside(String),
}

/// Moves a waiting task (already dequeued, offers withdrawn) to `to`; an overflow past
/// [`MAX_MOVES`] moves ends it instead. Answers the task's new state.
pub fn move_waiting_task(
    tx: &mut Tx,
    task: &mut Task,
    to: &Destination,
    kind: TransferKind,
    reason: Option<String>,
    from_agent: Option<Guid>,
    now: &Now,
) -> Result<TaskState, Error> {
    let from = task.service_id.clone();
    let mut transfer = Transfer {
        at: now.text.clone(),
        kind,
        from_service_id: from.clone(),
        from_agent_id: from_agent,
        to_service_id: None,
        to_user: None,
        to_target: None,
        reason,
    };
    match to {
        Destination::Service { id, max_waiting } if task.transfers.len() < MAX_MOVES => {
            transfer.to_service_id = Some(id.clone());
            task.transfers.push(transfer);
            if task.direction == Direction::Outbound {
                tx.free_outbound_slot(&from)?;
            }
            task.service_id = id.clone();
            task.state = TaskState::Queued;
            task.queued_at_ms = now.ms;
            task.not_before_ms = None;
            task.directed_to = None;
            task.assigned_to = None;
            if task.direction == Direction::Outbound {
                tx.take_outbound_slot(id, u32::MAX)?;
            }
            tx.enqueue(task, Some(*max_waiting))?;
            Ok(TaskState::Queued)
        }
        Destination::Service { id, .. } => {
            transfer.to_service_id = Some(id.clone());
            transfer.reason = Some(format!("more than {MAX_MOVES} moves"));
            task.transfers.push(transfer);
            let outcome = overflow_outcome(kind);
            finish(tx, task, TaskState::Overflowed, outcome, now)?;
            Ok(TaskState::Overflowed)
        }
        Destination::Outside(target) => {
            transfer.to_target = Some(target.clone());
            task.transfers.push(transfer);
            finish(tx, task, TaskState::Overflowed, overflow_outcome(kind), now)?;
            Ok(TaskState::Overflowed)
        }
    }
}

fn overflow_outcome(kind: TransferKind) -> Outcome {
    match kind {
        TransferKind::Overflow => Outcome::Overflowed,
        TransferKind::Transfer => Outcome::Answered,
    }
}

/// A user-state history entry written by routing.
pub fn agent_history(agent: &Guid, kind: &str, from: &str, to: &str, now: &Now) -> StateChange {
    StateChange {
        o365_id: agent.clone(),
        kind: kind.into(),
        service_id: None,
        from: Some(from.into()),
        to: Some(to.into()),
        start: None,
        end: now.text.clone(),
        by: "routing".into(),
    }
}

/// The not-available reason auto-pause gives, the same id in every tenant.
pub const MISSED_OFFERS_REASON_ID: &str = "00000000-0000-4000-8000-0000000d15ed";
pub const MISSED_OFFERS_REASON: &str = "Missed offers";

/// Makes sure the tenant has the "Missed offers" reason (created with its first pause).
pub fn ensure_missed_offers_reason(tx: &mut Tx) -> Result<(), Error> {
    let tenant = tx.tenant().clone();
    tx.update(
        key(
            keys::tenant_pk(&tenant),
            keys::na_reason_sk(&missed_offers_reason()),
        ),
        "SET #id = if_not_exists(#id, :id), #name = if_not_exists(#name, :name)",
        Expr::new()
            .name("#id", "id")
            .name("#name", "name")
            .value(":id", s(MISSED_OFFERS_REASON_ID))
            .value(":name", s(MISSED_OFFERS_REASON)),
    )
}

pub fn missed_offers_reason() -> Guid {
    Guid::parse(MISSED_OFFERS_REASON_ID).expect("a valid id")
}

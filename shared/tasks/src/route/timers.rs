//! The timers of a service's tasks, resolved by whichever pass finds them due: an offer that
//! rang out (and the auto-pause it may bring), a wrap-up that ended, the tasks of a service
//! that was deleted. Each is one conditional transaction, so a timer resolved twice (by the
//! stream and the sweep at once) is applied once.

use stratus_kernel::table::{n, s, Expr, Meaning, Table};
use stratus_kernel::Guid;

use super::{Pass, PassReport};
use crate::flow::{
    agent_history, agents_present, ensure_missed_offers_reason, finish, missed_offers_reason,
    release_agent, withdraw_offers, Now, MISSED_OFFERS_REASON,
};
use crate::model::{AgentLoad, OfferState, Outcome, Task, TaskState};
use crate::store::{read_agent_load, Tx, Writes};
use crate::TaskError;

impl Pass<'_> {
    /// Resolves the task's offers that rang out. Answers whether the pass may go on with
    /// the task (false: another writer changed it first).
    pub(super) async fn expire_offers(&mut self, task: &mut Task) -> Result<bool, TaskError> {
        let due: Vec<Guid> = task
            .open_offers()
            .filter(|o| o.expires_at_ms <= self.now.ms)
            .map(|o| o.agent_id.clone())
            .collect();
        if due.is_empty() {
            return Ok(true);
        }
        let mut next = task.clone();
        next.version += 1;
        for offer in next.offers.iter_mut() {
            if offer.state == OfferState::Open && due.contains(&offer.agent_id) {
                offer.state = OfferState::Expired;
                offer.resolved_at = Some(self.now.text.clone());
                offer.resolved_at_ms = Some(self.now.ms);
            }
        }
        if next.open_offers().next().is_none() {
            next.state = TaskState::Queued;
            if next.directed_to.as_ref().is_some_and(|d| due.contains(d)) {
                next.directed_to = None;
            }
        }
        let present = agents_present(self.kernel.table(), self.tenant, task).await?;
        let mut tx = Tx::new(self.kernel.table(), self.tenant);
        tx.replace_task(&next, task.version)?;
        let threshold = self.settings.auto_pause_after_missed_offers;
        let mut paused = Vec::new();
        for agent in due.iter().filter(|a| present.contains(*a)) {
            let state = self.state_of(agent);
            let load = self.loads.get(agent).cloned().unwrap_or_default();
            let missed = load.missed_offers + 1;
            let expr = Expr::new().value(":task", s(task.id.as_str()));
            if threshold > 0 && missed >= threshold && state.not_available_reason_id.is_none() {
                tx.agent(
                    agent,
                    "REMOVE offerTaskId, offerExpiresAtMs SET missedOffers = :zero, \
                     notAvailableReasonId = :reason, notAvailableSince = :since, \
                     #version = #version + :one",
                    "offerTaskId = :task AND #version = :version",
                    expr.name("#version", "version")
                        .value(":zero", n(0))
                        .value(":one", n(1))
                        .value(":version", n(state.version))
                        .value(":reason", s(missed_offers_reason().as_str()))
                        .value(":since", s(self.now.text.clone())),
                    Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
                )?;
                let mut entry =
                    agent_history(agent, "notAvailable", "", MISSED_OFFERS_REASON, &self.now);
                entry.from = None;
                entry.start = state.not_available_since.clone();
                tx.history(&entry)?;
                paused.push(agent.clone());
            } else {
                tx.agent(
                    agent,
                    "REMOVE offerTaskId, offerExpiresAtMs SET missedOffers = :missed",
                    "offerTaskId = :task",
                    expr.value(":missed", n(missed)),
                    Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
                )?;
            }
        }
        if !paused.is_empty() {
            ensure_missed_offers_reason(&mut tx)?;
        }
        match tx.commit(self.kernel.table(), self.writes).await {
            Ok(()) => {
                self.report.expired += due.len() as u32;
                for agent in &due {
                    let load = self.loads.entry(agent.clone()).or_default();
                    load.offer_task_id = None;
                    load.missed_offers = if paused.contains(agent) {
                        0
                    } else {
                        load.missed_offers + 1
                    };
                }
                // A paused agent is not available any more for the rest of this pass.
                for agent in &paused {
                    if let Some(m) = self
                        .roster
                        .members
                        .iter_mut()
                        .find(|m| &m.agent.o365_id == agent)
                    {
                        let state = m.state.get_or_insert_with(Default::default);
                        state.not_available_reason_id = Some(missed_offers_reason());
                    }
                }
                *task = next;
                Ok(true)
            }
            Err(TaskError::TaskChanged(_) | TaskError::AgentChanged(_)) => {
                self.report.raced += 1;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}

/// Ends a task's wrap-up: the task is completed with its record, and its agent is free
/// unless another task's wrap-up holds them now.
pub async fn end_wrap_up(
    table: &Table,
    tenant: &Guid,
    task: &Task,
    writes: &Writes,
    now: &Now,
    report: &mut PassReport,
) -> Result<(), TaskError> {
    let agent = task.assigned_to.clone();
    let load = match &agent {
        Some(agent) => read_agent_load(table, tenant, agent).await?,
        None => AgentLoad::default(),
    };
    let mut next = task.clone();
    next.version += 1;
    let mut tx = Tx::new(table, tenant);
    tx.end_work(task)?;
    if let Some(agent) = agent
        .as_ref()
        .filter(|_| load.wrap_up_task_id.as_ref() == Some(&task.id))
    {
        tx.agent(
            agent,
            "REMOVE wrapUpTaskId, wrapUpUntilMs SET freeSinceMs = :now",
            "wrapUpTaskId = :task",
            Expr::new()
                .value(":task", s(task.id.as_str()))
                .value(":now", n(now.ms)),
            Meaning::Fails(TaskError::AgentChanged(agent.to_string())),
        )?;
        tx.history(&agent_history(agent, "task", "wrapUp", "idle", now))?;
    }
    finish(
        &mut tx,
        &mut next,
        TaskState::Completed,
        Outcome::Answered,
        now,
    )?;
    tx.replace_task(&next, task.version)?;
    report.tally(tx.commit(table, writes).await, |r| &mut r.finished)?;
    Ok(())
}

/// The tasks of a service that no longer exists end as discarded, their agents freed.
pub async fn discard_all(
    table: &Table,
    tenant: &Guid,
    tasks: Vec<Task>,
    writes: &Writes,
    now: &Now,
) -> Result<PassReport, TaskError> {
    let mut report = PassReport::default();
    for task in tasks.into_iter().filter(|t| !t.state.is_final()) {
        let present = agents_present(table, tenant, &task).await?;
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(table, tenant);
        if task.state.is_waiting() {
            tx.dequeue(&task)?;
            withdraw_offers(&mut tx, &mut next, now, &present)?;
        } else {
            tx.end_work(&task)?;
            if let (TaskState::Assigned, Some(agent)) = (task.state, &task.assigned_to) {
                if present.contains(agent) {
                    release_agent(&mut tx, agent, &task, None)?;
                }
            }
        }
        finish(
            &mut tx,
            &mut next,
            TaskState::Discarded,
            Outcome::Discarded,
            now,
        )?;
        tx.replace_task(&next, task.version)?;
        report.tally(tx.commit(table, writes).await, |r| &mut r.finished)?;
    }
    Ok(report)
}

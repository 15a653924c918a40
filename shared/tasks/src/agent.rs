//! What an agent does with a task, with their own user token: accept or decline an offer,
//! complete the task (into wrap-up when the service has one), end their wrap-up, and list
//! their open offers. Each is one transaction over the task, its queue entries and the
//! agent's state item, conditional on what was read.

use serde::Serialize;
use stratus_kernel::fields::path_guid;
use stratus_kernel::table::{n, s, Expr, Meaning};
use stratus_kernel::{Guid, Incoming, Kernel};
use stratus_services::store::ServiceStore;

use crate::flow::{agent_history, agents_present, clear_offer, finish, release_agent, Now};
use crate::model::{Modality, OfferState, Outcome, Task, TaskState};
use crate::route::PassReport;
use crate::store::{read_agent_load, read_task, Tx, Writes};
use crate::TaskError;

fn task_id(incoming: &Incoming) -> Result<Guid, TaskError> {
    Ok(path_guid("taskId", incoming.path_param("taskId"))?)
}

/// A task after an agent's action.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskAfter {
    pub id: Guid,
    pub service_id: Guid,
    pub state: TaskState,
    pub assigned_to: Option<Guid>,
}

impl TaskAfter {
    pub(crate) fn of(task: &Task) -> TaskAfter {
        TaskAfter {
            id: task.id.clone(),
            service_id: task.service_id.clone(),
            state: task.state,
            assigned_to: task.assigned_to.clone(),
        }
    }
}

async fn task_of(kernel: &Kernel, tenant: &Guid, id: &Guid) -> Result<Task, TaskError> {
    Ok(read_task(kernel.table(), tenant, id)
        .await?
        .ok_or_else(|| TaskError::NotFound(id.to_string()))?
        .task)
}

/// The task with the agent's open offer of it (its index), or why the agent has none.
async fn offered_to(
    kernel: &Kernel,
    tenant: &Guid,
    id: &Guid,
    agent: &Guid,
) -> Result<(Task, usize), TaskError> {
    let task = task_of(kernel, tenant, id).await?;
    match task.open_offer_of(agent) {
        Some(at) => Ok((task, at)),
        None => Err(TaskError::NoOpenOffer {
            task: id.to_string(),
            state: task.state,
        }),
    }
}

/// `POST /api/tasks/{taskId}/accept`: the offered agent takes the task; other agents rung at
/// the same time lose their offers.
pub async fn accept_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let me = kernel.user_caller(&incoming).await?;
    let id = task_id(&incoming)?;
    crate::retry_changed(|| async {
        let (task, at) = offered_to(kernel, &me.tenant_id, &id, &me.o365_id).await?;
        let present = agents_present(kernel.table(), &me.tenant_id, &task).await?;
        let now = Now::current();
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(kernel.table(), &me.tenant_id);
        for (i, offer) in next.offers.iter_mut().enumerate() {
            if offer.state != OfferState::Open {
                continue;
            }
            offer.resolved_at = Some(now.text.clone());
            offer.resolved_at_ms = Some(now.ms);
            if i == at {
                offer.state = OfferState::Accepted;
            } else {
                offer.state = OfferState::Withdrawn;
                if present.contains(&offer.agent_id) {
                    clear_offer(&mut tx, &offer.agent_id, &task.id, "")?;
                }
            }
        }
        next.state = TaskState::Assigned;
        next.assigned_to = Some(me.o365_id.clone());
        next.directed_to = None;
        if !next.answered_by.contains(&me.o365_id) {
            next.answered_by.push(me.o365_id.clone());
        }
        if next.answered_at.is_none() {
            next.answered_at = Some(now.text.clone());
            next.answered_at_ms = Some(now.ms);
        }
        let mut expr = Expr::new()
            .value(":task", s(task.id.as_str()))
            .value(":now", n(now.ms))
            .value(":zero", n(0));
        let update = if task.modality.is_call() {
            "REMOVE offerTaskId, offerExpiresAtMs SET callTaskId = :task, \
             lastAnsweredAtMs = :now, missedOffers = :zero"
        } else {
            expr = expr.value(
                ":taskset",
                aws_sdk_dynamodb::types::AttributeValue::Ss(vec![task.id.to_string()]),
            );
            "REMOVE offerTaskId, offerExpiresAtMs ADD chatTasks :taskset \
             SET lastAnsweredAtMs = :now, missedOffers = :zero"
        };
        tx.agent(
            &me.o365_id,
            update,
            "offerTaskId = :task",
            expr,
            Meaning::Fails(TaskError::TaskChanged(task.id.to_string())),
        )?;
        tx.dequeue(&task)?;
        tx.start_work(&next)?;
        tx.history(&agent_history(
            &me.o365_id,
            "task",
            "idle",
            &busy_on(&task),
            &now,
        ))?;
        tx.replace_task(&next, task.version)?;
        tx.commit(kernel.table(), &Writes::unlimited()).await?;
        Ok(TaskAfter::of(&next))
    })
    .await
}

fn busy_on(task: &Task) -> String {
    format!("busy:{}", task.id)
}

/// `POST /api/tasks/{taskId}/decline`: the task goes back to the queue (for other agents:
/// this one is not offered it again within the ring timeout).
pub async fn decline_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let me = kernel.user_caller(&incoming).await?;
    let id = task_id(&incoming)?;
    crate::retry_changed(|| async {
        let (task, at) = offered_to(kernel, &me.tenant_id, &id, &me.o365_id).await?;
        let now = Now::current();
        let mut next = task.clone();
        next.version += 1;
        let offer = &mut next.offers[at];
        offer.state = OfferState::Declined;
        offer.resolved_at = Some(now.text.clone());
        offer.resolved_at_ms = Some(now.ms);
        if next.open_offers().next().is_none() {
            next.state = TaskState::Queued;
            if next.directed_to.as_ref() == Some(&me.o365_id) {
                next.directed_to = None;
            }
        }
        let mut tx = Tx::new(kernel.table(), &me.tenant_id);
        tx.agent(
            &me.o365_id,
            "REMOVE offerTaskId, offerExpiresAtMs SET missedOffers = :zero",
            "offerTaskId = :task",
            Expr::new()
                .value(":task", s(task.id.as_str()))
                .value(":zero", n(0)),
            Meaning::Fails(TaskError::TaskChanged(task.id.to_string())),
        )?;
        tx.replace_task(&next, task.version)?;
        tx.commit(kernel.table(), &Writes::unlimited()).await?;
        Ok(TaskAfter::of(&next))
    })
    .await
}

/// `POST /api/tasks/{taskId}/complete`: the assigned agent is done; with a wrap-up time the
/// task (and the agent) go into wrap-up, else the task is completed.
pub async fn complete_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let me = kernel.user_caller(&incoming).await?;
    let id = task_id(&incoming)?;
    crate::retry_changed(|| async {
        let task = task_of(kernel, &me.tenant_id, &id).await?;
        if task.state != TaskState::Assigned || task.assigned_to.as_ref() != Some(&me.o365_id) {
            return Err(TaskError::NotYourTask {
                task: id.to_string(),
                state: task.state,
            });
        }
        let (service, load) = futures::try_join!(
            kernel.table().service(&me.tenant_id, &task.service_id),
            read_agent_load(kernel.table(), &me.tenant_id, &me.o365_id)
        )?;
        let wrap_up_seconds = service
            .and_then(|v| v.service.distribution)
            .map(|d| d.wrap_up_seconds)
            .unwrap_or(0);
        let now = Now::current();
        let (handled, talk) = load.handled_on(&now.day());
        let talked = (now.ms - task.answered_at_ms.unwrap_or(now.ms)).max(0) / 1_000;
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(kernel.table(), &me.tenant_id);
        let counters = Expr::new()
            .value(":day", s(now.day()))
            .value(":handled", n(handled + 1))
            .value(":talk", n(i64::from(talk) + talked));
        const COUNTS: &str = "handledDay = :day, handledToday = :handled, talkSecondsToday = :talk";
        if wrap_up_seconds > 0 {
            let until = now.ms + i64::from(wrap_up_seconds) * 1_000;
            next.state = TaskState::WrapUp;
            next.wrap_up_until_ms = Some(until);
            let set = format!("wrapUpTaskId = :wrapTask, wrapUpUntilMs = :until, {COUNTS}");
            release_agent(
                &mut tx,
                &me.o365_id,
                &task,
                Some((
                    &set,
                    counters
                        .value(":wrapTask", s(task.id.as_str()))
                        .value(":until", n(until)),
                )),
            )?;
            tx.history(&agent_history(
                &me.o365_id,
                "task",
                &busy_on(&task),
                "wrapUp",
                &now,
            ))?;
        } else {
            let set = format!("freeSinceMs = :now, {COUNTS}");
            let counters = counters.value(":now", n(now.ms));
            release_agent(&mut tx, &me.o365_id, &task, Some((&set, counters)))?;
            tx.end_work(&task)?;
            tx.history(&agent_history(
                &me.o365_id,
                "task",
                &busy_on(&task),
                "idle",
                &now,
            ))?;
            finish(
                &mut tx,
                &mut next,
                TaskState::Completed,
                Outcome::Answered,
                &now,
            )?;
            next.assigned_to = Some(me.o365_id.clone());
        }
        tx.replace_task(&next, task.version)?;
        tx.commit(kernel.table(), &Writes::unlimited()).await?;
        Ok(TaskAfter::of(&next))
    })
    .await
}

/// `POST /api/me/wrap-up/end`: the agent is ready again; their task in wrap-up is completed.
pub async fn end_my_wrap_up(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let me = kernel.user_caller(&incoming).await?;
    let load = read_agent_load(kernel.table(), &me.tenant_id, &me.o365_id).await?;
    let now = Now::current();
    let Some(id) = load
        .wrap_up_task_id
        .clone()
        .filter(|_| load.wrap_up_until_ms.is_some_and(|until| until > now.ms))
    else {
        return Err(TaskError::NotInWrapUp);
    };
    let task = task_of(kernel, &me.tenant_id, &id).await?;
    if task.state != TaskState::WrapUp {
        return Err(TaskError::NotInWrapUp);
    }
    let mut report = PassReport::default();
    crate::route::end_wrap_up(
        kernel.table(),
        &me.tenant_id,
        &task,
        &Writes::unlimited(),
        &now,
        &mut report,
    )
    .await?;
    if report.finished == 0 {
        return Err(TaskError::TaskChanged(id.to_string()));
    }
    let task = task_of(kernel, &me.tenant_id, &id).await?;
    Ok(TaskAfter::of(&task))
}

/// One open offer, as the agent's client shows it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MyOffer {
    pub task_id: Guid,
    pub service_id: Guid,
    pub caller: String,
    pub modality: Modality,
    pub expires_at: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct MyOffers {
    pub items: Vec<MyOffer>,
}

/// `GET /api/me/offers`: the agent's open offer (an agent holds at most one).
pub async fn list_my_offers(kernel: &Kernel, incoming: Incoming) -> Result<MyOffers, TaskError> {
    let me = kernel.user_caller(&incoming).await?;
    let load = read_agent_load(kernel.table(), &me.tenant_id, &me.o365_id).await?;
    let mut items = Vec::new();
    if let Some(id) = load.offer_task_id {
        if let Some(read) = read_task(kernel.table(), &me.tenant_id, &id).await? {
            let task = read.task;
            if let Some(at) = task.open_offer_of(&me.o365_id) {
                items.push(MyOffer {
                    task_id: task.id.clone(),
                    service_id: task.service_id.clone(),
                    caller: task.caller.clone(),
                    modality: task.modality,
                    expires_at: task.offers[at].expires_at.clone(),
                });
            }
        }
    }
    Ok(MyOffers { items })
}

//! What the routing application reports about a task: the caller hung up (abandon), or the
//! call was transferred to a user or another service (with its history kept).

use stratus_kernel::fields::path_guid;
use stratus_kernel::table::{keys, n, Expr};
use stratus_kernel::{Error, Guid, Incoming, Kernel};

use crate::access::routing_app;
use crate::agent::TaskAfter;
use crate::flow::{
    agent_history, agents_present, finish, move_waiting_task, release_agent, withdraw_offers, Now,
};
use crate::model::{Outcome, Task, TaskState, Transfer, TransferKind};
use crate::route::service_destination;
use crate::store::{read_task, Tx, Writes};
use crate::TaskError;

async fn addressed_task(
    kernel: &Kernel,
    tenant: &Guid,
    incoming: &Incoming,
) -> Result<Task, TaskError> {
    let id = path_guid("taskId", incoming.path_param("taskId"))?;
    Ok(read_task(kernel.table(), tenant, &id)
        .await?
        .ok_or_else(|| TaskError::NotFound(id.to_string()))?
        .task)
}

/// `POST /api/tasks/{taskId}/abandon`: the caller hung up while waiting or ringing.
pub async fn abandon_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let app = routing_app(kernel, &incoming).await?;
    let id = path_guid("taskId", incoming.path_param("taskId"))?;
    abandon(kernel, &app.tenant_id, &id).await
}

/// Ends a waiting task as abandoned, freeing the agents it rings.
pub async fn abandon(kernel: &Kernel, tenant: &Guid, id: &Guid) -> Result<TaskAfter, TaskError> {
    crate::retry_changed(|| async {
        let task = read_task(kernel.table(), tenant, id)
            .await?
            .ok_or_else(|| TaskError::NotFound(id.to_string()))?
            .task;
        if !task.state.is_waiting() {
            return Err(TaskError::WrongState {
                task: task.id.to_string(),
                state: task.state,
                action: "abandon",
                needs: "queued or offered",
            });
        }
        let present = agents_present(kernel.table(), tenant, &task).await?;
        let now = Now::current();
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(kernel.table(), tenant);
        tx.dequeue(&task)?;
        withdraw_offers(&mut tx, &mut next, &now, &present)?;
        finish(
            &mut tx,
            &mut next,
            TaskState::Abandoned,
            Outcome::Abandoned,
            &now,
        )?;
        tx.replace_task(&next, task.version)?;
        tx.commit(kernel.table(), &Writes::unlimited()).await?;
        Ok(TaskAfter::of(&next))
    })
    .await
}

enum Target {
    User(Guid),
    Service(Guid),
}

fn transfer_target(incoming: &Incoming) -> Result<Target, Error> {
    let body = incoming.body_fields()?;
    body.reject_unknown(&["toUser", "toService"], "a transfer")?;
    match (body.guid("toUser")?, body.guid("toService")?) {
        (Some(user), None) => Ok(Target::User(user)),
        (None, Some(service)) => Ok(Target::Service(service)),
        _ => Err(Error::BadRequest(
            "A transfer names exactly one of \"toUser\" (an O365 id) and \"toService\" (a service id)"
                .into(),
        )),
    }
}

/// `POST /api/tasks/{taskId}/transfer`: to another service's queue, or to one user of the
/// task's service (offered only to them until they decline or miss it). A task an agent holds
/// frees that agent.
pub async fn transfer_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskAfter, TaskError> {
    let app = routing_app(kernel, &incoming).await?;
    let target = transfer_target(&incoming)?;
    crate::retry_changed(|| async {
        let task = addressed_task(kernel, &app.tenant_id, &incoming).await?;
        if !(task.state.is_waiting() || task.state == TaskState::Assigned) {
            return Err(TaskError::WrongState {
                task: task.id.to_string(),
                state: task.state,
                action: "transfer",
                needs: "queued, offered or assigned",
            });
        }
        let present = agents_present(kernel.table(), &app.tenant_id, &task).await?;
        let now = Now::current();
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(kernel.table(), &app.tenant_id);
        let from_agent = task
            .assigned_to
            .clone()
            .filter(|_| task.state == TaskState::Assigned);
        if let Some(agent) = &from_agent {
            tx.end_work(&task)?;
            if present.contains(agent) {
                release_agent(
                    &mut tx,
                    agent,
                    &task,
                    Some(("freeSinceMs = :now", Expr::new().value(":now", n(now.ms)))),
                )?;
                tx.history(&agent_history(
                    agent,
                    "task",
                    &format!("busy:{}", task.id),
                    "idle",
                    &now,
                ))?;
            }
        } else {
            // Out of the queue here; a transfer to a user puts it back at the same place.
            tx.dequeue(&task)?;
            withdraw_offers(&mut tx, &mut next, &now, &present)?;
        }
        match &target {
            Target::Service(service) => {
                let destination = service_destination(kernel, &app.tenant_id, service)
                    .await?
                    .ok_or_else(|| {
                        Error::field(
                            "toService",
                            &format!("{service} is not a service of this tenant with agents"),
                        )
                    })?;
                move_waiting_task(
                    &mut tx,
                    &mut next,
                    &destination,
                    TransferKind::Transfer,
                    None,
                    from_agent.clone(),
                    &now,
                )?;
            }
            Target::User(user) => {
                let member = kernel
                    .table()
                    .get(stratus_kernel::table::key(
                        keys::tenant_pk(&app.tenant_id),
                        keys::member_sk(&task.service_id, user),
                    ))
                    .await?;
                if member.is_none() {
                    return Err(Error::field(
                        "toUser",
                        &format!(
                            "{user} is not an agent of the task's service {}",
                            task.service_id
                        ),
                    )
                    .into());
                }
                next.transfers.push(Transfer {
                    at: now.text.clone(),
                    kind: TransferKind::Transfer,
                    from_service_id: task.service_id.clone(),
                    from_agent_id: from_agent.clone(),
                    to_service_id: None,
                    to_user: Some(user.clone()),
                    to_target: None,
                    reason: None,
                });
                next.state = TaskState::Queued;
                next.assigned_to = None;
                next.directed_to = Some(user.clone());
                next.not_before_ms = None;
                tx.enqueue(&next, None)?;
            }
        }
        tx.replace_task(&next, task.version)?;
        match tx.commit(kernel.table(), &Writes::unlimited()).await {
            Err(TaskError::QueueFull(service)) => Err(TaskError::Conflict(format!(
                "The queue of service {service} is full; the task stays where it is"
            ))),
            other => other.map(|()| TaskAfter::of(&next)),
        }
    })
    .await
}

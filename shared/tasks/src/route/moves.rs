//! Where a task goes when it leaves its service's queue without an agent: the policy's
//! overflow target, or the service's configured overflow (another service, voicemail,
//! disconnect); a full destination queue ends it as overflowed.

use serde_json::{json, Value};
use stratus_kernel::{Guid, Kernel};
use stratus_services::distribution::Overflow;
use stratus_services::store::ServiceStore;

use super::DecisionTrace;
use crate::flow::{move_waiting_task, Destination, Now};
use crate::model::{Outcome, Task, TaskState, TransferKind};
use crate::store::{Tx, Writes};
use crate::TaskError;

/// Moves a waiting task to `destination` (a full destination queue ends it as overflowed),
/// withdrawing its offers, with the decision's trace when a decision sent it.
#[allow(clippy::too_many_arguments)]
pub async fn overflow_task(
    kernel: &Kernel,
    tenant: &Guid,
    task: &Task,
    destination: &Destination,
    reason: String,
    outcome: Outcome,
    mut trace: Option<DecisionTrace>,
    writes: &Writes,
    now: &Now,
) -> Result<(), TaskError> {
    let mut destination = destination.clone();
    let present = crate::flow::agents_present(kernel.table(), tenant, task).await?;
    for _ in 0..2 {
        let mut next = task.clone();
        next.version += 1;
        let mut tx = Tx::new(kernel.table(), tenant);
        tx.dequeue(task)?;
        crate::flow::withdraw_offers(&mut tx, &mut next, now, &present)?;
        if let Some(trace) = trace.as_mut() {
            trace.action =
                json!({"overflow": {"reason": reason, "to": destination_json(&destination)}});
            next.decision_count = trace.number;
            if trace.policy.fell_back {
                next.plugin_failures += 1;
            }
            write_trace(&mut tx, &task.id, trace)?;
        }
        let state = move_waiting_task(
            &mut tx,
            &mut next,
            &destination,
            TransferKind::Overflow,
            Some(reason.clone()),
            None,
            now,
        )?;
        if state == TaskState::Overflowed && outcome == Outcome::TimedOut {
            next.outcome = Some(Outcome::TimedOut);
        }
        tx.replace_task(&next, task.version)?;
        match tx.commit(kernel.table(), writes).await {
            Err(TaskError::QueueFull(service)) => {
                destination =
                    Destination::Outside(format!("service {service} (its queue is full)"));
            }
            other => return other,
        }
    }
    Ok(())
}

/// A decision's trace, and its shadow's comparison counted, in the decision's transaction.
pub(super) fn write_trace(
    tx: &mut Tx,
    task: &Guid,
    trace: &DecisionTrace,
) -> Result<(), stratus_kernel::Error> {
    tx.decision(task, trace.number, trace)?;
    if let Some(comparison) = &trace.shadow_comparison {
        crate::shadow::count(tx, &trace.service_id, &trace.at, comparison)?;
    }
    Ok(())
}

fn destination_json(destination: &Destination) -> Value {
    match destination {
        Destination::Service { id, .. } => json!({"serviceId": id}),
        Destination::Outside(target) => json!({"target": target}),
    }
}

/// A service's configured overflow as a destination.
pub async fn destination_of(
    kernel: &Kernel,
    tenant: &Guid,
    overflow: &Overflow,
) -> Result<Destination, TaskError> {
    Ok(match overflow {
        Overflow::Service { service_id } => service_destination(kernel, tenant, service_id)
            .await?
            .unwrap_or_else(|| Destination::Outside("disconnect".into())),
        Overflow::Voicemail => Destination::Outside("voicemail".into()),
        Overflow::Disconnect => Destination::Outside("disconnect".into()),
    })
}

/// A policy's overflow target: a service of the tenant by id, else a target outside.
pub(super) async fn destination_named(
    kernel: &Kernel,
    tenant: &Guid,
    target: &str,
) -> Result<Destination, TaskError> {
    if let Some(id) = Guid::parse(target) {
        if let Some(found) = service_destination(kernel, tenant, &id).await? {
            return Ok(found);
        }
    }
    Ok(Destination::Outside(target.to_owned()))
}

/// The service as a destination, if it exists and has agents to route to.
pub async fn service_destination(
    kernel: &Kernel,
    tenant: &Guid,
    id: &Guid,
) -> Result<Option<Destination>, TaskError> {
    Ok(kernel
        .table()
        .service(tenant, id)
        .await?
        .and_then(|v| v.service.distribution)
        .map(|d| Destination::Service {
            id: id.clone(),
            max_waiting: d.max_queue_length,
        }))
}

//! Reading tasks: one task with its decision traces (`GET /api/tasks/{taskId}`), and a
//! service's queue with its open offers (`GET /api/services/{serviceId}/queue`, what a
//! wallboard reads).

use serde::Serialize;
use serde_json::Value;
use stratus_kernel::fields::path_guid;
use stratus_kernel::{Guid, Incoming, Kernel};
use stratus_services::store::ServiceStore;

use crate::access::routing_app_or_admin;
use crate::model::{Modality, OfferState, Task, TaskState};
use crate::store::{queue_of, read_task_with_traces, read_tasks};
use crate::TaskError;

/// A task with its decision traces (SPEC §10's fixed fields and more).
#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    pub decisions: Vec<Value>,
}

/// `GET /api/tasks/{taskId}`.
pub async fn get_task(kernel: &Kernel, incoming: Incoming) -> Result<TaskView, TaskError> {
    let tenant = routing_app_or_admin(kernel, &incoming).await?;
    let id = path_guid("taskId", incoming.path_param("taskId"))?;
    let (task, decisions) = read_task_with_traces(kernel.table(), &tenant, &id)
        .await?
        .ok_or_else(|| TaskError::NotFound(id.to_string()))?;
    Ok(TaskView { task, decisions })
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedTask {
    pub id: Guid,
    pub state: TaskState,
    pub modality: Modality,
    pub caller: String,
    pub priority: u8,
    pub arrived_at: String,
    pub waiting_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOffer {
    pub task_id: Guid,
    pub agent_id: Guid,
    pub expires_at: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub service_id: Guid,
    /// Waiting tasks in queue order: priority, then arrival.
    pub tasks: Vec<QueuedTask>,
    pub offers: Vec<OpenOffer>,
    /// Tasks agents hold (assigned or in wrap-up).
    pub in_progress: usize,
}

/// `GET /api/services/{serviceId}/queue`.
pub async fn get_service_queue(kernel: &Kernel, incoming: Incoming) -> Result<Queue, TaskError> {
    let tenant = routing_app_or_admin(kernel, &incoming).await?;
    let service_id = path_guid("serviceId", incoming.path_param("serviceId"))?;
    let table = kernel.table();
    let (service, (waiting, working)) = futures::try_join!(
        table.service(&tenant, &service_id),
        queue_of(table, &tenant, &service_id)
    )?;
    if service.is_none() {
        return Err(TaskError::ServiceNotFound(service_id.to_string()));
    }
    let now = stratus_kernel::clock::now_ms();
    let tasks = read_tasks(table, &tenant, &waiting).await?;
    let offers = tasks
        .iter()
        .flat_map(|t| {
            t.offers
                .iter()
                .filter(|o| o.state == OfferState::Open)
                .map(|o| OpenOffer {
                    task_id: t.id.clone(),
                    agent_id: o.agent_id.clone(),
                    expires_at: o.expires_at.clone(),
                })
        })
        .collect();
    let tasks = tasks
        .into_iter()
        .filter(|t| t.state.is_waiting())
        .map(|t| QueuedTask {
            waiting_seconds: (now - t.arrived_at_ms).max(0) / 1_000,
            id: t.id,
            state: t.state,
            modality: t.modality,
            caller: t.caller,
            priority: t.priority,
            arrived_at: t.arrived_at,
            scheduled_at: t.scheduled_at,
        })
        .collect();
    Ok(Queue {
        service_id,
        tasks,
        offers,
        in_progress: working.len(),
    })
}

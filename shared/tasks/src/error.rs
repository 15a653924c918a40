//! What the task operations answer when they refuse a request.

use stratus_kernel::{Error, Problem, StatusCode};

use crate::model::TaskState;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("Task {0} was not found")]
    NotFound(String),
    #[error("Service {0} was not found")]
    ServiceNotFound(String),
    /// 400: a service without users has no one to route to (the seed's feature matrix).
    #[error("Service {0} has user assignment type None: it has no agents to route tasks to")]
    NotRoutable(String),
    /// 403: tasks are submitted by a routing application registered for the tenant.
    #[error(
        "Application {0} is not registered under this tenant's app permissions; a tenant admin \
         registers it with PUT /api/admin/app-permissions/{0}"
    )]
    AppNotRegistered(String),
    /// 409: the tenant setting `outbound.maxScheduledTasksPerService`; the task is discarded.
    #[error(
        "Service {service} already has {limit} outbound tasks scheduled or in progress (tenant \
         setting outbound.maxScheduledTasksPerService); this task was discarded"
    )]
    OutboundLimit { service: String, limit: u32 },
    /// 409: the caller holds no open offer of this task.
    #[error("Task {task} has no open offer for you (it is {state})")]
    NoOpenOffer { task: String, state: TaskState },
    /// 409: only the agent a task is assigned to completes it.
    #[error("Task {task} is not assigned to you (it is {state})")]
    NotYourTask { task: String, state: TaskState },
    /// 409: the task's state does not allow the action.
    #[error("Task {task} is {state}: {action} needs a task that is {needs}")]
    WrongState {
        task: String,
        state: TaskState,
        action: &'static str,
        needs: &'static str,
    },
    /// 409: `POST /api/me/wrap-up/end` while not in wrap-up.
    #[error("You are not in wrap-up")]
    NotInWrapUp,
    /// 409: an agent already holds a call; a transfer to them has to wait.
    #[error("{0}")]
    Conflict(String),
    /// 409: the task changed while this change was being made (another writer won).
    #[error("Task {0} changed meanwhile; please retry")]
    TaskChanged(String),
    /// 409: an agent's state changed while this change was being made.
    #[error("The state of agent {0} changed meanwhile; please retry")]
    AgentChanged(String),
    /// The service's queue is full (a new task overflows instead).
    #[error("The queue of service {0} is full")]
    QueueFull(String),
    /// The idempotency key was used before (the first task is the answer).
    #[error("The idempotency key {0:?} was used before")]
    Duplicate(String),
    #[error(transparent)]
    Service(#[from] stratus_services::ServiceError),
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for TaskError {
    fn status(&self) -> StatusCode {
        match self {
            TaskError::NotFound(_) | TaskError::ServiceNotFound(_) => StatusCode::NOT_FOUND,
            TaskError::NotRoutable(_) => StatusCode::BAD_REQUEST,
            TaskError::AppNotRegistered(_) => StatusCode::FORBIDDEN,
            TaskError::OutboundLimit { .. }
            | TaskError::NoOpenOffer { .. }
            | TaskError::NotYourTask { .. }
            | TaskError::WrongState { .. }
            | TaskError::NotInWrapUp
            | TaskError::Conflict(_)
            | TaskError::TaskChanged(_)
            | TaskError::AgentChanged(_)
            | TaskError::QueueFull(_)
            | TaskError::Duplicate(_) => StatusCode::CONFLICT,
            TaskError::Service(e) => e.status(),
            TaskError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            TaskError::Kernel(e) => Some(e),
            TaskError::Service(e) => e.as_kernel(),
            _ => None,
        }
    }
}

//! Live routing (SPEC §5, §10): tasks arrive at a service from a routing application, wait in
//! its queue in priority-then-arrival order, are offered to the agents the service's policy
//! orders (the plugin, or the built-in longest-idle), and are carried by the agents' answers
//! and the timers to their end, which leaves a call detail record.
//!
//! - [`submit`]: `POST /api/services/{serviceId}/tasks` and `/outbound-tasks`.
//! - [`route`]: the routing pass of one service (timers, decisions, offers) that the
//!   `route-tasks` function runs for stream events and the sweep ([`event`]).
//! - [`agent`]: accept, decline, complete, end wrap-up, my offers.
//! - [`app`]: abandon and transfer, reported by the routing application.
//! - [`read`]: a task with its decision traces, a service's queue.
//!
//! Every change is one transaction conditional on what it read ([`store`]), so concurrent
//! deciders never give an agent two offers or a task to two agents, and a crash between two
//! writes leaves whole state for the next pass to carry on.

mod access;
pub mod agent;
pub mod app;
mod error;
pub mod event;
pub mod flow;
pub mod model;
pub mod read;
pub mod route;
pub mod shadow;
pub mod store;
pub mod submit;

pub use agent::{accept_task, complete_task, decline_task, end_my_wrap_up, list_my_offers};
pub use app::{abandon_task, transfer_task};
pub use error::TaskError;
pub use event::route_tasks;
pub use read::{get_service_queue, get_task};
pub use shadow::get_service_shadow_report;
pub use submit::{submit_outbound_task, submit_task};

/// Runs `attempt` again (a few times) when another writer changed the task or an agent's
/// state between its read and its write: the next attempt reads what is there now.
pub(crate) async fn retry_changed<T, F, Fut>(mut attempt: F) -> Result<T, TaskError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, TaskError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(TaskError::TaskChanged(_) | TaskError::AgentChanged(_)) if tries < 5 => tries += 1,
            Err(e)
                if e.as_kernel() == Some(&stratus_kernel::Error::ConcurrentChange) && tries < 5 =>
            {
                tries += 1
            }
            other => return other,
        }
    }
}

use stratus_kernel::Problem as _;

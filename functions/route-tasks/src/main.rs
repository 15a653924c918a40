//! The routing function (no HTTP route): the table's stream (a task queued, an agent freed)
//! and a schedule (`{"sweep": {"passes", "intervalSeconds"}}`, the timers) both run the
//! routing pass of the services they concern. Locally the stack's stream bridge and timer
//! send the same payloads. Thin by design: the operation is `stratus_tasks::route_tasks`.

use stratus_kernel::{run_scheduled, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run_scheduled(|kernel, event| async move { stratus_tasks::route_tasks(&kernel, event).await })
        .await
}

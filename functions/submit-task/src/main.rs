//! `POST /api/services/{serviceId}/tasks` (routing application): a task arrives at a service's queue (202 before any offer exists).
//! Thin by design: the operation is `stratus_tasks::submit_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::submit_task(&kernel, request)
            .await
            .map(|answer| Reply::accepted(&answer))
    })
    .await
}

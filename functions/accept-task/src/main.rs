//! `POST /api/tasks/{taskId}/accept` (agent (own token)): takes the task they are offered.
//! Thin by design: the operation is `stratus_tasks::accept_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::accept_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

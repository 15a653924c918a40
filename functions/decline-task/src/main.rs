//! `POST /api/tasks/{taskId}/decline` (agent (own token)): declines the task they are offered; it goes back to the queue.
//! Thin by design: the operation is `stratus_tasks::decline_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::decline_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

//! `POST /api/tasks/{taskId}/transfer` (routing application): the task moves to a user or another service, with history.
//! Thin by design: the operation is `stratus_tasks::transfer_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::transfer_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

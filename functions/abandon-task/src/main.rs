//! `POST /api/tasks/{taskId}/abandon` (routing application): the caller hung up while waiting.
//! Thin by design: the operation is `stratus_tasks::abandon_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::abandon_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

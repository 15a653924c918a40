//! `POST /api/tasks/{taskId}/complete` (agent (own token)): is done with their task (into wrap-up when the service has one).
//! Thin by design: the operation is `stratus_tasks::complete_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::complete_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

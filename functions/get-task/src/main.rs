//! `GET /api/tasks/{taskId}` (routing application or tenant admin): a task with its offers, decision traces and transfer history.
//! Thin by design: the operation is `stratus_tasks::get_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::get_task(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

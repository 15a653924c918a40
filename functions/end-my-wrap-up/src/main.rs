//! `POST /api/me/wrap-up/end` (agent (own token)): ends their wrap-up; the task is completed.
//! Thin by design: the operation is `stratus_tasks::end_my_wrap_up`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::end_my_wrap_up(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

//! `PUT /api/admin/users/{o365Id}/state` (tenant admin): an agent's duty, set for them.
//! Thin by design: the operation is `stratus_services::put_user_state`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::put_user_state(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

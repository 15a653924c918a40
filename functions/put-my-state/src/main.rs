//! `PUT /api/me/state` (agent, own token): switches the active responsibility profile, sets or clears a not-available reason.
//! Thin by design: the operation is `stratus_services::put_my_state`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::put_my_state(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

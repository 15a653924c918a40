//! `PUT /api/admin/presence/{o365Id}` (operator or tenant admin): a user's presence in Graph's terms.
//! Thin by design: the operation is `stratus_services::put_presence`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::put_presence(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

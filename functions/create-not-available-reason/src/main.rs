//! `POST /api/admin/not-available-reasons` (tenant admin): a reason agents can give for not being available.
//! Thin by design: the operation is `stratus_services::create_not_available_reason`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::create_not_available_reason(&kernel, request)
            .await
            .map(|reason| Reply::created(&reason))
    })
    .await
}

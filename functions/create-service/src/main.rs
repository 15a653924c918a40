//! `POST /api/admin/services` (tenant admin): creates a skill-based or none service, taking a seat of its licence.
//! Thin by design: the operation is `stratus_services::create_service`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::create_service(&kernel, request)
            .await
            .map(|service| Reply::created(&service))
    })
    .await
}

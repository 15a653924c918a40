//! `PATCH /api/admin/services/{serviceId}` (tenant admin): changes a service within the rules of its assignment type.
//! Thin by design: the operation is `stratus_services::update_service`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::update_service(&kernel, request)
            .await
            .map(|service| Reply::ok(&service))
    })
    .await
}

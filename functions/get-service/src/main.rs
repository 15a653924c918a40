//! `GET /api/admin/services/{serviceId}` (tenant admin): one service.
//! Thin by design: the operation is `stratus_services::get_service`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::get_service(&kernel, request)
            .await
            .map(|service| Reply::ok(&service))
    })
    .await
}

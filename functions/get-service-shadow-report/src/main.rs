//! `GET /api/admin/services/{serviceId}/shadow-report` (tenant admin): how the service's shadow
//! policy's answers compared with the live decisions.
//! Thin by design: the operation is `stratus_tasks::get_service_shadow_report`.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::get_service_shadow_report(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

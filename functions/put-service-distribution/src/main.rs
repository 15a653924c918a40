//! `PUT /api/admin/services/{serviceId}/distribution` (tenant admin): a service's distribution settings, and on skill-based services its policy.
//! Thin by design: the operation is `stratus_services::put_service_distribution`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::put_service_distribution(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

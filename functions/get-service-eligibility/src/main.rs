//! `GET /api/admin/services/{serviceId}/eligibility` (tenant admin): every member of a service, whether a task may reach them now and why not.
//! Thin by design: the operation is `stratus_services::get_service_eligibility`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::get_service_eligibility(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

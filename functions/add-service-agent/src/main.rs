//! `PUT /api/admin/services/{serviceId}/agents/{o365Id}` (tenant admin): makes a Contact Center licensed user an agent of a skill-based service.
//! Thin by design: the operation is `stratus_services::add_service_agent`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::add_service_agent(&kernel, request)
            .await
            .map(|agent| Reply::ok(&agent))
    })
    .await
}

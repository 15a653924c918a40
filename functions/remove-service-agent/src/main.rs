//! `DELETE /api/admin/services/{serviceId}/agents/{o365Id}` (tenant admin): ends a user's membership of a service.
//! Thin by design: the operation is `stratus_services::remove_service_agent`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::remove_service_agent(&kernel, request)
            .await
            .map(|()| Reply::no_content())
    })
    .await
}

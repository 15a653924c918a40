//! `PUT /api/me/services/{serviceId}/active` (agent, own token): the Active toggle of a Teams-based service.
//! Thin by design: the operation is `stratus_services::put_my_service_active`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::put_my_service_active(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

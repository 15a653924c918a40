//! `DELETE /api/admin/services/{serviceId}` (tenant admin): deletes a service and frees its seat.
//! Thin by design: the operation is `stratus_services::delete_service`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::delete_service(&kernel, request)
            .await
            .map(|()| Reply::no_content())
    })
    .await
}

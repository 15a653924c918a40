//! `GET /api/admin/services` (tenant admin): the tenant's services, a page at a time.
//! Thin by design: the operation is `stratus_services::list_services`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::list_services(&kernel, request)
            .await
            .map(|services| Reply::ok(&services))
    })
    .await
}

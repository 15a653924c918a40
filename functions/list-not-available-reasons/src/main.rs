//! `GET /api/admin/not-available-reasons` (tenant admin): the tenant's not-available reasons.
//! Thin by design: the operation is `stratus_services::list_not_available_reasons`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::list_not_available_reasons(&kernel, request)
            .await
            .map(|reasons| Reply::ok(&reasons))
    })
    .await
}

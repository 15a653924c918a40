//! `GET /api/admin/responsibility-profiles` (tenant admin): the tenant's responsibility profiles.
//! Thin by design: the operation is `stratus_services::list_responsibility_profiles`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::list_responsibility_profiles(&kernel, request)
            .await
            .map(|profiles| Reply::ok(&profiles))
    })
    .await
}

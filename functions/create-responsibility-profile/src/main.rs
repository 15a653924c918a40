//! `POST /api/admin/responsibility-profiles` (tenant admin): a profile and the services it covers.
//! Thin by design: the operation is `stratus_services::create_responsibility_profile`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_services::create_responsibility_profile(&kernel, request)
            .await
            .map(|profile| Reply::created(&profile))
    })
    .await
}

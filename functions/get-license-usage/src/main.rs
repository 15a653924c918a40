//! `GET /api/public-api-next/user/license-usage`: purchased, used and free licences per type.
//! Thin by design: the operation is `stratus_provisioning::get_license_usage`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_provisioning::get_license_usage(&kernel, request)
            .await
            .map(|usage| Reply::ok(&usage))
    })
    .await
}

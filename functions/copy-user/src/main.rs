//! `POST /api/public-api-next/user/copy`: a new user configured like a template user.
//! Thin by design: the operation is `stratus_provisioning::copy_user`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_provisioning::copy_user(&kernel, request)
            .await
            .map(|user| Reply::ok(&user))
    })
    .await
}

//! `GET /api/public-api-next/user/{userO365Id}`: a user's details.
//! Thin by design: the operation is `stratus_provisioning::get_user`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_provisioning::get_user(&kernel, request)
            .await
            .map(|user| Reply::ok(&user))
    })
    .await
}

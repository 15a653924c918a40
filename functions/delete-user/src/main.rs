//! `DELETE /api/public-api-next/user/{userO365Id}`: removes a manually managed user and frees its licences.
//! Thin by design: the operation is `stratus_provisioning::delete_user`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_provisioning::delete_user(&kernel, request)
            .await
            .map(|user| Reply::ok(&user))
    })
    .await
}

//! `PATCH /api/admin/users/{o365Id}` (tenant admin): changes a user's configuration.
//! Thin by design: the operation is `stratus_tenant_admin::patch_user`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::patch_user(&kernel, request)
            .await
            .map(|user| Reply::ok(&user))
    })
    .await
}

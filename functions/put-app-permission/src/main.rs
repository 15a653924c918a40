//! `PUT /api/admin/app-permissions/{appId}` (tenant admin): registers an application with its OU scope.
//! Thin by design: the operation is `stratus_tenant_admin::put_app_permission`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::put_app_permission(&kernel, request)
            .await
            .map(|permission| Reply::ok(&permission))
    })
    .await
}

//! `DELETE /api/admin/app-permissions/{appId}` (tenant admin): removes an application's registration.
//! Thin by design: the operation is `stratus_tenant_admin::delete_app_permission`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::delete_app_permission(&kernel, request)
            .await
            .map(|()| Reply::no_content())
    })
    .await
}

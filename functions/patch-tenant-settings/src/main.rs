//! `PATCH /api/admin/tenant-settings` (tenant admin, or operator with `?tenantId=`): changes
//! any fields of any sections and answers all settings.
//! Thin by design: the operation is `stratus_tenant_settings::patch_tenant_settings`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_settings::patch_tenant_settings(&kernel, request)
            .await
            .map(|settings| Reply::ok(&settings))
    })
    .await
}

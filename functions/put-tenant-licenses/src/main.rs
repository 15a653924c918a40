//! `PUT /api/admin/tenants/{tenantId}/licenses` (operator): sets licence contingents.
//! Thin by design: the operation is `stratus_tenant_admin::put_tenant_licenses`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::put_tenant_licenses(&kernel, request)
            .await
            .map(|usage| Reply::ok(&usage))
    })
    .await
}

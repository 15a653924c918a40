//! `PUT /api/admin/tenants/{tenantId}/provisioning` (operator): switches the public API.
//! Thin by design: the operation is `stratus_tenant_admin::put_tenant_provisioning`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::put_tenant_provisioning(&kernel, request)
            .await
            .map(|tenant| Reply::ok(&tenant))
    })
    .await
}

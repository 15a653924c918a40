//! `PUT /api/admin/tenants/{tenantId}` (operator): creates or renames a tenant.
//! Thin by design: the operation is `stratus_tenant_admin::put_tenant`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::put_tenant(&kernel, request)
            .await
            .map(|(tenant, created)| match created {
                true => Reply::created(&tenant),
                false => Reply::ok(&tenant),
            })
    })
    .await
}

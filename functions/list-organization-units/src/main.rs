//! `GET /api/admin/organization-units` (tenant admin): every organization unit of the tenant.
//! Thin by design: the operation is `stratus_tenant_admin::list_organization_units`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::list_organization_units(&kernel, request)
            .await
            .map(|units| Reply::ok(&units))
    })
    .await
}

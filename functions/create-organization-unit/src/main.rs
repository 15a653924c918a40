//! `POST /api/admin/organization-units` (tenant admin): adds an organization unit.
//! Thin by design: the operation is `stratus_tenant_admin::create_organization_unit`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::create_organization_unit(&kernel, request)
            .await
            .map(|unit| Reply::created(&unit))
    })
    .await
}

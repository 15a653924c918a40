//! `POST /api/admin/tenant-settings/interact/widget-key` (tenant admin, or operator with
//! `?tenantId=`): a new Interact widget key; the old one stops working.
//! Thin by design: the operation is `stratus_tenant_settings::refresh_widget_key`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_settings::refresh_widget_key(&kernel, request)
            .await
            .map(|key| Reply::ok(&key))
    })
    .await
}

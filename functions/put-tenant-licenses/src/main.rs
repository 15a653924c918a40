//! `PUT /api/admin/tenants/{tenantId}/licenses` (operator): sets licence contingents.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let usage = app.put_tenant_licenses(request).await?;
        Ok(Reply::ok(&usage))
    })
    .await
}

//! `PUT /api/admin/tenants/{tenantId}/provisioning` (operator): switches the public API.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let tenant = app.put_tenant_provisioning(request).await?;
        Ok(Reply::ok(&tenant))
    })
    .await
}

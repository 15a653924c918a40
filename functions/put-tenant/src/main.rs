//! `PUT /api/admin/tenants/{tenantId}` (operator): creates or renames a tenant.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let (tenant, created) = app.put_tenant(request).await?;
        Ok(if created {
            Reply::created(&tenant)
        } else {
            Reply::ok(&tenant)
        })
    })
    .await
}

//! `GET /api/admin/organization-units` (tenant admin): every organization unit of the tenant.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let units = app.list_organization_units(request).await?;
        Ok(Reply::ok(&units))
    })
    .await
}

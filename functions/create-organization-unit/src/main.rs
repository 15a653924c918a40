//! `POST /api/admin/organization-units` (tenant admin): adds an organization unit.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let unit = app.create_organization_unit(request).await?;
        Ok(Reply::created(&unit))
    })
    .await
}

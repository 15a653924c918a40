//! `DELETE /api/admin/app-permissions/{appId}` (tenant admin): removes an application's registration.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        app.delete_app_permission(request).await?;
        Ok(Reply::no_content())
    })
    .await
}

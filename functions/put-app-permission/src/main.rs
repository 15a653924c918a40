//! `PUT /api/admin/app-permissions/{appId}` (tenant admin): registers an application with its OU scope.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let permission = app.put_app_permission(request).await?;
        Ok(Reply::ok(&permission))
    })
    .await
}

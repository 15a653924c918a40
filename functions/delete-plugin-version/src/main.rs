//! `DELETE /api/admin/plugins/{pluginName}/versions/{version}` (tenant admin): removes a version no service uses.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        stratus_policies::delete_version(&app, request).await?;
        Ok(Reply::no_content())
    })
    .await
}

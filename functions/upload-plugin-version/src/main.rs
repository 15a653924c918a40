//! `POST /api/admin/plugins/{pluginName}/versions` (tenant admin): uploads a version of a routing-policy plugin.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let version = stratus_policies::upload_version(&app, request).await?;
        Ok(Reply::created(&version))
    })
    .await
}

//! `GET /api/admin/plugins/{pluginName}/versions/{version}` (tenant admin): one version's metadata.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let version = stratus_policies::get_version(&app, request).await?;
        Ok(Reply::ok(&version))
    })
    .await
}

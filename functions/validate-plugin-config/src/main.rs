//! `POST /api/admin/plugins/{pluginName}/versions/{version}/validate-config` (tenant admin): asks a version whether it accepts a configuration.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let check = stratus_policies::validate_config(&app, request).await?;
        Ok(Reply::ok(&check))
    })
    .await
}

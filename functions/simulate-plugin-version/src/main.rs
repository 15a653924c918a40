//! `POST /api/admin/plugins/{pluginName}/versions/{version}/simulate` (tenant admin): runs one decision of a version against a posted task and candidates.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let simulation = stratus_policies::simulate(&app, request).await?;
        Ok(Reply::ok(&simulation))
    })
    .await
}

//! `GET /api/admin/plugins` (tenant admin): the tenant's routing-policy plugins and their versions.
//! Thin by design: the operation lives in `stratus-policies`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let plugins = stratus_policies::list(&app, request).await?;
        Ok(Reply::ok(&plugins))
    })
    .await
}

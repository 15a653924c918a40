//! `GET /api/public-api-next/user/license-usage`: purchased, used and free licences per type.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let usage = app.license_usage(request).await?;
        Ok(Reply::ok(&usage))
    })
    .await
}

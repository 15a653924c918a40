//! `POST /api/public-api-next/user/copy`: a new user configured like a template user.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let user = app.copy_user(request).await?;
        Ok(Reply::ok(&user))
    })
    .await
}

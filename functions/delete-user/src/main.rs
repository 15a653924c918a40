//! `DELETE /api/public-api-next/user/{userO365Id}`: removes a manually managed user and frees its licences.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let user = app.delete_user(request).await?;
        Ok(Reply::ok(&user))
    })
    .await
}

//! `GET /api/public-api-next/user/{userO365Id}`: a user's details.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let user = app.get_user(request).await?;
        Ok(Reply::ok(&user))
    })
    .await
}

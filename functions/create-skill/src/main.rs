//! `POST /api/admin/skills` (tenant admin): adds a skill.
//! Thin by design: the operation lives in `stratus-app`, the HTTP plumbing in `stratus-http`.

use stratus_http::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|app, request| async move {
        let skill = app.create_skill(request).await?;
        Ok(Reply::created(&skill))
    })
    .await
}

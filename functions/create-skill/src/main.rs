//! `POST /api/admin/skills` (tenant admin): adds a skill.
//! Thin by design: the operation is `stratus_tenant_admin::create_skill`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tenant_admin::create_skill(&kernel, request)
            .await
            .map(|skill| Reply::created(&skill))
    })
    .await
}

//! `GET /api/me/offers` (agent (own token)): their open offers.
//! Thin by design: the operation is `stratus_tasks::list_my_offers`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::list_my_offers(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

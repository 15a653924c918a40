//! `POST /api/admin/services/{serviceId}/sync` (tenant admin): a Teams-based service's roster
//! read again from Microsoft Graph and applied; answers `{"added","removed","updated"}`.
//! Thin by design: the operation is `stratus_services::sync_service`.

use std::sync::Arc;

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let graph = Arc::new(stratus_services::graph_from_env());
    run(move |kernel, request| {
        let graph = graph.clone();
        async move {
            stratus_services::sync_service(&kernel, &graph, request)
                .await
                .map(|counts| Reply::ok(&counts))
        }
    })
    .await
}

//! `POST /api/admin/services/from-team` (tenant admin): a Teams-based service from a Microsoft
//! Teams team, its roster read from Microsoft Graph, with an Advanced Routing seat.
//! Thin by design: the operation is `stratus_services::create_service_from_team`.

use std::sync::Arc;

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let graph = Arc::new(stratus_services::graph_from_env());
    run(move |kernel, request| {
        let graph = graph.clone();
        async move {
            stratus_services::create_service_from_team(&kernel, &graph, request)
                .await
                .map(|service| Reply::created(&service))
        }
    })
    .await
}

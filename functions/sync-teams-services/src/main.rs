//! Scheduled (EventBridge, no HTTP route): every Teams-based service's roster read again from
//! Microsoft Graph and applied. An event with `"tenantIds": [...]` limits the run to those
//! tenants (for an operator's manual run). Thin by design: the operation is
//! `stratus_services::sync_teams_services`.

use std::sync::Arc;

use stratus_kernel::{run_scheduled, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let graph = Arc::new(stratus_services::graph_from_env());
    run_scheduled(move |kernel, event| {
        let graph = graph.clone();
        async move { stratus_services::sync_teams_services(kernel.table(), &graph, &event).await }
    })
    .await
}

//! Scheduled (EventBridge, no HTTP route): Graph presence subscriptions for every tenant's
//! service members, created where missing and renewed before they expire (they live at most
//! an hour). An event with `"tenantIds": [...]` limits the run to those tenants. Thin by
//! design: the operation is `stratus_presence::renew_presence_subscriptions`.

use std::sync::Arc;

use stratus_kernel::{run_scheduled, BoxError};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let graph = Arc::new(stratus_presence::graph_from_env());
    run_scheduled(move |kernel, event| {
        let graph = graph.clone();
        async move {
            stratus_presence::renew_presence_subscriptions(kernel.table(), &graph, &event).await
        }
    })
    .await
}

//! `POST /api/services/{serviceId}/outbound-tasks` (routing application): an outbound task scheduled for a time, within the tenant's per-service limit.
//! Thin by design: the operation is `stratus_tasks::submit_outbound_task`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::submit_outbound_task(&kernel, request)
            .await
            .map(|answer| Reply::accepted(&answer))
    })
    .await
}

//! `GET /api/services/{serviceId}/queue` (routing application or tenant admin): a service's waiting tasks in queue order and its open offers.
//! Thin by design: the operation is `stratus_tasks::get_service_queue`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_tasks::get_service_queue(&kernel, request)
            .await
            .map(|answer| Reply::ok(&answer))
    })
    .await
}

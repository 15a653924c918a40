//! `POST /api/graph/presence-notifications` (Microsoft Graph, no token): the validation
//! handshake (200 `text/plain`) and presence notification batches (202), each notification
//! checked against its subscription's secret. Thin by design: the operation is
//! `stratus_presence::receive_presence_notifications`.

use stratus_kernel::{run, BoxError, Reply, StatusCode};
use stratus_presence::WebhookAnswer;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_presence::receive_presence_notifications(&kernel, request)
            .await
            .map(|answer| match answer {
                WebhookAnswer::Validation(token) => Reply::text(StatusCode::OK, token),
                WebhookAnswer::Accepted(report) => Reply::accepted(&report),
            })
    })
    .await
}

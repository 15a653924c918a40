//! `POST /api/admin/plugins/{pluginName}/versions/{version}/simulate` (tenant admin): runs one decision of a version against a posted task and candidates.
//! Thin by design: the operation is `stratus_plugin_admin::simulate_plugin_version`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::simulate_plugin_version(&kernel, request)
            .await
            .map(|simulation| Reply::ok(&simulation))
    })
    .await
}

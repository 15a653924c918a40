//! `POST /api/admin/plugins/{pluginName}/versions/{version}/validate-config` (tenant admin): asks a version whether it accepts a configuration.
//! Thin by design: the operation is `stratus_plugin_admin::validate_plugin_config`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::validate_plugin_config(&kernel, request)
            .await
            .map(|check| Reply::ok(&check))
    })
    .await
}

//! `GET /api/admin/plugins/{pluginName}/versions/{version}` (tenant admin): one version's metadata.
//! Thin by design: the operation is `stratus_plugin_admin::get_plugin_version`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::get_plugin_version(&kernel, request)
            .await
            .map(|version| Reply::ok(&version))
    })
    .await
}

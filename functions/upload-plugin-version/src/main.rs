//! `POST /api/admin/plugins/{pluginName}/versions` (tenant admin): uploads a version of a routing-policy plugin.
//! Thin by design: the operation is `stratus_plugin_admin::upload_plugin_version`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::upload_plugin_version(&kernel, request)
            .await
            .map(|version| Reply::created(&version))
    })
    .await
}

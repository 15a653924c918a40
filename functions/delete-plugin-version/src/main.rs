//! `DELETE /api/admin/plugins/{pluginName}/versions/{version}` (tenant admin): removes a version no service uses.
//! Thin by design: the operation is `stratus_plugin_admin::delete_plugin_version`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::delete_plugin_version(&kernel, request)
            .await
            .map(|()| Reply::no_content())
    })
    .await
}

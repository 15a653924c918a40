//! `GET /api/admin/plugins` (tenant admin): the tenant's routing-policy plugins and their versions.
//! Thin by design: the operation is `stratus_plugin_admin::list_plugins`; `stratus_kernel::run` does the rest.

use stratus_kernel::{run, BoxError, Reply};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    run(|kernel, request| async move {
        stratus_plugin_admin::list_plugins(&kernel, request)
            .await
            .map(|plugins| Reply::ok(&plugins))
    })
    .await
}

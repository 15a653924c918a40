//! What the plugin-administration operations answer when they refuse a request.

use stratus_kernel::{Error, Problem, StatusCode};
use stratus_routing::PluginError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginAdminError {
    /// The routing host refused the upload: too large (413) or not an acceptable policy
    /// (400); the text says why, with the host's stable code.
    #[error("{}", rejection_text(.0))]
    Rejected(PluginError),
    #[error("Plugin {name} has no version {version}")]
    VersionNotFound { name: String, version: u32 },
    #[error(
        "Plugin {name} version {version} is assigned to {assignments} service(s); unassign it first"
    )]
    VersionInUse {
        name: String,
        version: u32,
        assignments: u32,
    },
    /// Authentication, bad input, the table, the engine, a dependency that is down.
    #[error(transparent)]
    Kernel(#[from] Error),
}

fn rejection_text(error: &PluginError) -> String {
    match error {
        PluginError::TooLarge { .. } => format!("The plugin is too large: {error}"),
        other => format!("The plugin was rejected ({}): {other}", other.code()),
    }
}

impl Problem for PluginAdminError {
    fn status(&self) -> StatusCode {
        match self {
            PluginAdminError::Rejected(PluginError::TooLarge { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            PluginAdminError::Rejected(_) => StatusCode::BAD_REQUEST,
            PluginAdminError::VersionNotFound { .. } => StatusCode::NOT_FOUND,
            PluginAdminError::VersionInUse { .. } => StatusCode::CONFLICT,
            PluginAdminError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            PluginAdminError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

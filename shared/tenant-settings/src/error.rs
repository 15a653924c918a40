//! What the tenant-settings operations answer when they refuse a request.

use stratus_kernel::{Error, Problem, StatusCode};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// 403: the seed's read-only toggles, switched by the operator after testing the tenant.
    #[error("\"{0}\" can be changed by operators only")]
    OperatorOnly(&'static str),
    /// 400: a feature that needs a value cannot be on without it.
    #[error("\"{field}\" is required while {feature} is enabled")]
    RequiredWhileEnabled {
        field: &'static str,
        feature: &'static str,
    },
    /// 400: the widget key is random, never chosen.
    #[error(
        "\"interact.widgetKey\" cannot be set; POST /api/admin/tenant-settings/interact/widget-key \
         generates a new one"
    )]
    WidgetKeyNotSettable,
    /// 404: an operator named a tenant that does not exist.
    #[error("Tenant not found")]
    TenantNotFound,
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for SettingsError {
    fn status(&self) -> StatusCode {
        match self {
            SettingsError::OperatorOnly(_) => StatusCode::FORBIDDEN,
            SettingsError::RequiredWhileEnabled { .. } | SettingsError::WidgetKeyNotSettable => {
                StatusCode::BAD_REQUEST
            }
            SettingsError::TenantNotFound => StatusCode::NOT_FOUND,
            SettingsError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            SettingsError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

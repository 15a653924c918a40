//! What the tenant-administration operations answer when they refuse a request.

use stratus_kernel::{Error, LicenseType, Problem, StatusCode};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TenantAdminError {
    /// An operator named a tenant that does not exist (404).
    #[error("Tenant not found")]
    TenantNotFound,
    /// The registration asked for does not exist (404). Same words as the provisioning
    /// API's 401, where the registration is what the caller lacks.
    #[error("No app permission found for app id ({0})")]
    AppPermissionNotFound(String),
    #[error("Skill already exists")]
    SkillAlreadyExists,
    /// A contingent cannot drop below the seats in use (409).
    #[error("{} cannot be set to {total}: {in_use} in use", .license.id())]
    LicensesBelowUsage {
        license: LicenseType,
        total: u32,
        in_use: u32,
    },
    /// Authentication, bad input, the table, a dependency that is down.
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for TenantAdminError {
    fn status(&self) -> StatusCode {
        match self {
            TenantAdminError::TenantNotFound | TenantAdminError::AppPermissionNotFound(_) => {
                StatusCode::NOT_FOUND
            }
            TenantAdminError::SkillAlreadyExists | TenantAdminError::LicensesBelowUsage { .. } => {
                StatusCode::CONFLICT
            }
            TenantAdminError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            TenantAdminError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

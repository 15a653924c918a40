//! What the public provisioning API answers when it refuses a request. The texts are the
//! provisioning seed's, verbatim, and so is its 500: "Unable to check configuration".

use stratus_kernel::StatusCode;
use stratus_kernel::{Error, Problem};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProvisioningError {
    // --- the gate, in the seed's order (401) ---
    #[error("No app id")]
    NoAppId,
    #[error("Invalid app id")]
    InvalidAppId,
    #[error("Required role missing")]
    RequiredRoleMissing,
    #[error("Provisioning Api disabled by admin")]
    ProvisioningDisabled,
    #[error("No app permission found for app id ({0})")]
    NoAppPermission(String),

    // --- 403 ---
    #[error("No authenticated user")]
    NoAuthenticatedUser,
    #[error("Organization Unit not allowed")]
    OrganizationUnitNotAllowed,

    // --- 400 ---
    #[error("\"SourceO365Id\" or \"NewO365Id\" are required")]
    CopyIdsRequired,
    #[error(
        "The source user is synchronised from MS Teams; only manually managed users can be copied"
    )]
    SourceTeamsSynced,
    #[error("The source user has no Contact Center license")]
    SourceWithoutContactCenterLicense,
    #[error("The user is synchronised from MS Teams; only manually managed users can be deleted")]
    DeleteTeamsSynced,

    // --- 404, 409 ---
    #[error("A source user with this \"SourceO365Id\" was not found")]
    SourceUserNotFound,
    #[error("User already exists")]
    UserAlreadyExists,

    // --- 429 ---
    #[error(
        "Rate limit of 60 operations per minute exceeded; retry after {retry_after_secs} seconds"
    )]
    RateLimited { retry_after_secs: u64 },

    /// Authentication, bad input, the table, a dependency that is down.
    #[error(transparent)]
    Kernel(#[from] Error),
}

/// The provisioning seed's text for every server-side failure.
const SEED_INTERNAL_TEXT: &str = "Unable to check configuration";

impl Problem for ProvisioningError {
    fn status(&self) -> StatusCode {
        use ProvisioningError::*;
        match self {
            NoAppId | InvalidAppId | RequiredRoleMissing | ProvisioningDisabled
            | NoAppPermission(_) => StatusCode::UNAUTHORIZED,
            NoAuthenticatedUser | OrganizationUnitNotAllowed => StatusCode::FORBIDDEN,
            CopyIdsRequired
            | SourceTeamsSynced
            | SourceWithoutContactCenterLicense
            | DeleteTeamsSynced => StatusCode::BAD_REQUEST,
            SourceUserNotFound => StatusCode::NOT_FOUND,
            UserAlreadyExists => StatusCode::CONFLICT,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            ProvisioningError::Kernel(e) => Some(e),
            _ => None,
        }
    }

    fn detail(&self) -> String {
        match self {
            ProvisioningError::Kernel(Error::Internal(_)) => SEED_INTERNAL_TEXT.to_owned(),
            ProvisioningError::Kernel(e) => e.detail(),
            other => other.to_string(),
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ProvisioningError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            other => other.as_kernel().and_then(Problem::retry_after_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_failures_answer_with_the_seeds_text() {
        let error = ProvisioningError::from(Error::internal("reading the tenant"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.detail(), "Unable to check configuration");
        let refused = ProvisioningError::RateLimited {
            retry_after_secs: 7,
        };
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after_secs(), Some(7));
    }
}

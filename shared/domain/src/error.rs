//! The one error type of the product. Each variant's message is what the caller reads;
//! where the provisioning seed gives a text, the text is verbatim. The mapping to HTTP
//! status lives in `stratus-http` and nowhere else.

use crate::license::LicenseType;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    // --- authentication (401) ---
    #[error("{0}")]
    InvalidToken(String),
    #[error("No tenant id")]
    NoTenantId,
    #[error("Invalid tenant id")]
    InvalidTenantId,
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

    // --- authorisation (403) ---
    #[error("No authenticated user")]
    NoAuthenticatedUser,
    #[error("Required role missing: {0}")]
    AdminRoleMissing(&'static str),
    #[error("Organization Unit not allowed")]
    OrganizationUnitNotAllowed,
    #[error("No license available: {}", .0.name())]
    NoLicenseAvailable(LicenseType),

    // --- bad input (400) ---
    #[error("{0}")]
    BadRequest(String),
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

    /// The body is larger than the operation accepts (413).
    #[error("{0}")]
    PayloadTooLarge(String),

    // --- not found (404) ---
    #[error("A user with this O365 ID was not found")]
    UserNotFound,
    #[error("A source user with this \"SourceO365Id\" was not found")]
    SourceUserNotFound,
    #[error("Tenant not found")]
    TenantNotFound,
    /// Same words as the 401 of the provisioning API, but here the registration itself is
    /// the resource asked for.
    #[error("No app permission found for app id ({0})")]
    AppPermissionNotFound(String),
    /// A resource of the admin API that does not exist; the text names it.
    #[error("{0}")]
    NotFound(String),

    // --- conflicts (409) ---
    #[error("User already exists")]
    UserAlreadyExists,
    #[error("Skill already exists")]
    SkillAlreadyExists,
    #[error("{} cannot be set to {total}: {in_use} in use", .license.id())]
    LicensesBelowUsage {
        license: LicenseType,
        total: u32,
        in_use: u32,
    },
    /// Too many writers raced for the same item and retries ran out; safe to repeat.
    #[error("The request conflicted with a concurrent change; please retry")]
    ConcurrentChange,
    /// The resource's state forbids the change; the text says why.
    #[error("{0}")]
    Conflict(String),

    // --- rate limit (429) ---
    #[error(
        "Rate limit of 60 operations per minute exceeded; retry after {retry_after_secs} seconds"
    )]
    RateLimited { retry_after_secs: u64 },

    // --- a dependency is down or overloaded (503, with Retry-After) ---
    /// A call to a dependency timed out, could not connect, or stayed throttled through its
    /// retries. Nothing was half-written: the caller may repeat the request.
    #[error(
        "{} did not answer in time; please retry in {UNAVAILABLE_RETRY_AFTER_SECS} seconds",
        .0.describe()
    )]
    Unavailable(Dependency),

    // --- server side (500): the caller never sees internals ---
    #[error("Unable to check configuration")]
    Internal(String),
}

/// What a 503 asks the caller to wait before repeating the request (`Retry-After`).
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// The outside services a request can wait on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// DynamoDB.
    Database,
    /// The token issuer's key set (JWKS).
    TokenIssuer,
}

impl Dependency {
    /// How the caller reads it: enough to know whose outage it is, nothing internal.
    pub fn describe(self) -> &'static str {
        match self {
            Dependency::Database => "The database",
            Dependency::TokenIssuer => "The token issuer's key service",
        }
    }

    /// How the log names it.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Database => "dynamodb",
            Dependency::TokenIssuer => "jwks",
        }
    }
}

impl Error {
    /// A 400 that names the field in question.
    pub fn field(field: &str, problem: &str) -> Error {
        Error::BadRequest(format!("\"{field}\" {problem}"))
    }
}

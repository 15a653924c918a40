//! The kernel's failures, and the [`Problem`] trait through which every feature's error
//! becomes an answer. Each feature crate has an error enum of its own (its variants' texts are
//! what its callers read; where a seed gives a text, verbatim) and implements `Problem`
//! beside it; the kernel's errors below are the ones any feature can meet: authentication,
//! bad input, the table, a dependency that is down.

use std::sync::Arc;

use lambda_http::http::StatusCode;

use crate::license::LicenseType;

/// What turns an error into `application/problem+json` (RFC 9457). `Display` is what the
/// log says; [`Problem::detail`] what the caller reads, which for a 500 stays generic. A
/// feature's error wraps the kernel's [`Error`] in a variant of its own and names it in
/// [`Problem::as_kernel`]; the kernel's answers for it then hold unless the feature says
/// otherwise.
pub trait Problem: std::error::Error + Send + Sync + 'static {
    fn status(&self) -> StatusCode;

    /// The kernel error this is, if it is one.
    fn as_kernel(&self) -> Option<&Error> {
        None
    }

    /// The `detail` member. Client errors and outages explain themselves; a 500 says
    /// nothing internal (the log has that, under the answer's request id).
    fn detail(&self) -> String {
        match self.as_kernel() {
            Some(kernel) => kernel.detail(),
            None if self.status() == StatusCode::INTERNAL_SERVER_ERROR => {
                Internal::WIRE_TEXT.to_owned()
            }
            None => self.to_string(),
        }
    }

    /// Seconds the caller should wait before repeating the request (`Retry-After`).
    fn retry_after_secs(&self) -> Option<u64> {
        self.as_kernel().and_then(Problem::retry_after_secs)
    }

    /// For a token that was refused: the reason, for `WWW-Authenticate: Bearer
    /// error="invalid_token"`.
    fn invalid_token(&self) -> Option<&str> {
        self.as_kernel().and_then(Problem::invalid_token)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    // --- authentication (401) ---
    #[error("{0}")]
    InvalidToken(String),
    #[error("No tenant id")]
    NoTenantId,
    #[error("Invalid tenant id")]
    InvalidTenantId,

    // --- authorisation (403) ---
    #[error("Required role missing: {0}")]
    AdminRoleMissing(&'static str),
    #[error("No license available: {}", .0.name())]
    NoLicenseAvailable(LicenseType),

    // --- bad input (400, 413) ---
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the operation accepts.
    #[error("{0}")]
    PayloadTooLarge(String),

    // --- not found (404) ---
    #[error("A user with this O365 ID was not found")]
    UserNotFound,
    /// A resource that does not exist; the text names it.
    #[error("{0}")]
    NotFound(String),

    // --- conflicts (409) ---
    /// Too many writers raced for the same item and retries ran out; safe to repeat.
    #[error("The request conflicted with a concurrent change; please retry")]
    ConcurrentChange,
    /// The resource's state forbids the change; the text says why.
    #[error("{0}")]
    Conflict(String),

    // --- a dependency is down or overloaded (503, with Retry-After) ---
    /// A call to a dependency timed out, could not connect, or stayed throttled through its
    /// retries. Nothing was half-written: the caller may repeat the request. The cause (which
    /// call, how long it waited, the client's error) is for the log.
    #[error(
        "{} did not answer in time; please retry in {UNAVAILABLE_RETRY_AFTER_SECS} seconds",
        .0.describe()
    )]
    Unavailable(Dependency, #[source] Internal),

    // --- server side (500) ---
    #[error(transparent)]
    Internal(Internal),
}

impl Error {
    /// A 400 that names the field in question.
    pub fn field(field: &str, problem: &str) -> Error {
        Error::BadRequest(format!("\"{field}\" {problem}"))
    }

    /// A fault of ours or of the configuration; `what` says what failed, for the log.
    pub fn internal(what: impl Into<String>) -> Error {
        Error::Internal(Internal {
            what: what.into(),
            source: None,
        })
    }

    /// `dependency` did not answer; `what` says which call and how, for the log.
    pub fn unavailable(
        dependency: Dependency,
        what: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Unavailable(
            dependency,
            Internal {
                what: what.into(),
                source: source.map(Arc::from),
            },
        )
    }

    /// [`Error::internal`] keeping the error that caused it, so the log shows the chain.
    pub fn internal_from(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Internal(Internal {
            what: what.into(),
            source: Some(Arc::new(source)),
        })
    }
}

impl Problem for Error {
    fn status(&self) -> StatusCode {
        match self {
            Error::InvalidToken(_) | Error::NoTenantId | Error::InvalidTenantId => {
                StatusCode::UNAUTHORIZED
            }
            Error::AdminRoleMissing(_) | Error::NoLicenseAvailable(_) => StatusCode::FORBIDDEN,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UserNotFound | Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::ConcurrentChange | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        Some(self)
    }

    fn detail(&self) -> String {
        match self {
            Error::Internal(_) => Internal::WIRE_TEXT.to_owned(),
            other => other.to_string(),
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        matches!(self, Error::Unavailable(..)).then_some(UNAVAILABLE_RETRY_AFTER_SECS)
    }

    fn invalid_token(&self) -> Option<&str> {
        match self {
            Error::InvalidToken(reason) => Some(reason),
            _ => None,
        }
    }
}

/// A server-side failure: what failed and, when there is one, the error that caused it.
/// Logged once, where the answer is made, with its whole chain.
#[derive(Debug, Clone)]
pub struct Internal {
    what: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Internal {
    /// What the caller of an API without wording of its own reads for a 500.
    pub const WIRE_TEXT: &'static str =
        "The request failed on the server; quote the request id when reporting it";

    pub fn what(&self) -> &str {
        &self.what
    }
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Internal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Two internal errors are the same failure when they say the same thing failed.
impl PartialEq for Internal {
    fn eq(&self, other: &Self) -> bool {
        self.what == other.what
    }
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
    /// Microsoft Graph (Teams rosters, presence subscriptions).
    Graph,
}

impl Dependency {
    /// How the caller reads it: enough to know whose outage it is, nothing internal.
    pub fn describe(self) -> &'static str {
        match self {
            Dependency::Database => "The database",
            Dependency::TokenIssuer => "The token issuer's key service",
            Dependency::Graph => "Microsoft Graph",
        }
    }

    /// How the log names it.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Database => "dynamodb",
            Dependency::TokenIssuer => "jwks",
            Dependency::Graph => "graph",
        }
    }
}

/// An error and its causes on one line, for the log.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("socket closed")]
    struct Cause;

    #[test]
    fn internal_errors_log_their_chain_and_answer_generically() {
        let error = Error::internal_from("decoding the tenant item", Cause);
        assert_eq!(chain(&error), "decoding the tenant item: socket closed");
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !error.detail().contains("tenant item"),
            "{}",
            error.detail()
        );
    }

    #[test]
    fn client_errors_explain_themselves() {
        let error = Error::field("name", "must not be empty");
        assert_eq!(error.detail(), "\"name\" must not be empty");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            Error::unavailable(Dependency::Database, "a read timed out", None).retry_after_secs(),
            Some(5)
        );
    }
}

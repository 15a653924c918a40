//! How long a DynamoDB call may take, and what the caller hears when it takes longer.
//!
//! Without bounds a stopped or unreachable database holds a request until the Lambda's own
//! timeout, and the caller gets a bare 502/504 from API Gateway. With them the SDK gives up
//! after its standard retries (with backoff, throttling included) well inside the function's
//! timeout, and the caller gets a 503 with `Retry-After`. Every bound is configuration:
//!
//! | variable | bounds | default |
//! |---|---|---|
//! | `STRATUS_DYNAMODB_CONNECT_TIMEOUT_MS` | opening a connection | 1000 |
//! | `STRATUS_DYNAMODB_ATTEMPT_TIMEOUT_MS` | one attempt (request to response) | 2000 |
//! | `STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS` | one call, all retries included | 4000 |
//! | `STRATUS_DYNAMODB_MAX_ATTEMPTS` | attempts per call (standard retry mode) | 3 |

use std::fmt::Debug;
use std::time::{Duration, Instant};

use crate::error::Dependency;
use crate::Error;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// The time bounds of the DynamoDB client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DynamoDbBounds {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

impl Default for DynamoDbBounds {
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(1000),
            attempt: Duration::from_millis(2000),
            operation: Duration::from_millis(4000),
            max_attempts: 3,
        }
    }
}

impl DynamoDbBounds {
    /// The defaults, each replaced by its variable when set; a value that is not a positive
    /// whole number is a start-up error naming the variable.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let defaults = Self::default();
        let number = |name: &str, default: u64| -> Result<u64, Error> {
            match lookup(name).map(|v| v.trim().to_owned()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(Error::internal(format!(
                        "{name} must be a positive whole number, not {v:?}"
                    ))),
                },
            }
        };
        let millis = |name: &str, default: Duration| {
            number(name, default.as_millis() as u64).map(Duration::from_millis)
        };
        Ok(Self {
            connect: millis("STRATUS_DYNAMODB_CONNECT_TIMEOUT_MS", defaults.connect)?,
            attempt: millis("STRATUS_DYNAMODB_ATTEMPT_TIMEOUT_MS", defaults.attempt)?,
            operation: millis("STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS", defaults.operation)?,
            max_attempts: number(
                "STRATUS_DYNAMODB_MAX_ATTEMPTS",
                defaults.max_attempts.into(),
            )?
            .min(10) as u32,
        })
    }

    /// Sets the bounds on an SDK configuration loader.
    pub fn apply(&self, loader: aws_config::ConfigLoader) -> aws_config::ConfigLoader {
        loader
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect)
                    .operation_attempt_timeout(self.attempt)
                    .operation_timeout(self.operation)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts))
    }
}

/// Error codes with which DynamoDB says "too much, slow down", as a call's error code or as
/// a transaction's cancellation reason.
pub(super) fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ProvisionedThroughputExceeded"
                | "ThrottlingException"
                | "ThrottlingError"
                | "RequestLimitExceeded"
        )
    )
}

/// A failed SDK call as the caller should hear it. A call that timed out, could not connect
/// or was still throttled after the SDK's retries means the database is unavailable: 503,
/// with the call and how long it waited as the cause the log shows. Anything else is a fault
/// of ours or of the configuration: the generic 500.
pub fn sdk_failure<E, R>(context: &str, error: SdkError<E, R>, started: Instant) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let why = match &error {
        SdkError::TimeoutError(_) => Some("timed out"),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Some("timed out"),
        SdkError::DispatchFailure(failure) if failure.is_io() => Some("could not connect"),
        SdkError::ServiceError(_) if is_throttling(error.code()) => Some("throttled"),
        _ => None,
    };
    match why {
        Some(why) => Error::unavailable(
            Dependency::Database,
            format!(
                "the DynamoDB {context} {why} after {} ms",
                started.elapsed().as_millis()
            ),
            Some(Box::new(error)),
        ),
        None => Error::internal_from(format!("the DynamoDB {context}"), error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn defaults_stay_well_inside_the_function_timeout() {
        let bounds = DynamoDbBounds::from_lookup(lookup(&[])).unwrap();
        assert_eq!(bounds, DynamoDbBounds::default());
        // The functions time out after 15 s (infra/template.yaml); a request makes a few
        // calls, and the first that runs out of time ends it.
        assert!(bounds.operation < Duration::from_secs(5));
        assert!(bounds.attempt < bounds.operation);
    }

    #[test]
    fn variables_override_and_bad_values_are_named() {
        let bounds = DynamoDbBounds::from_lookup(lookup(&[
            ("STRATUS_DYNAMODB_ATTEMPT_TIMEOUT_MS", "750"),
            ("STRATUS_DYNAMODB_MAX_ATTEMPTS", " 2 "),
        ]))
        .unwrap();
        assert_eq!(bounds.attempt, Duration::from_millis(750));
        assert_eq!(bounds.max_attempts, 2);
        assert_eq!(bounds.connect, Duration::from_millis(1000));

        const BAD: [&[(&str, &str)]; 3] = [
            &[("STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS", "0")],
            &[("STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS", "-1")],
            &[("STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS", "soon")],
        ];
        for pairs in BAD {
            let err = DynamoDbBounds::from_lookup(lookup(pairs)).unwrap_err();
            assert!(
                err_text(&err).contains("STRATUS_DYNAMODB_OPERATION_TIMEOUT_MS"),
                "{err:?}"
            );
        }
    }

    fn err_text(err: &Error) -> String {
        match err {
            Error::Internal(internal) => internal.what().to_owned(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn throttling_codes_are_recognised() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "ThrottlingError",
        ] {
            assert!(is_throttling(Some(code)), "{code}");
        }
        assert!(!is_throttling(Some("ConditionalCheckFailed")));
        assert!(!is_throttling(None));
    }
}

//! How a Graph call fails. Each error names the call (`GET /teams/{id}/members`, `token for
//! tenant …`) and keeps its cause; it is `Clone` (causes shared) so a process can keep a
//! configuration error and answer it on every request.

use std::sync::Arc;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    #[error("{0} is not set; Stratus needs it to call Microsoft Graph")]
    MissingConfig(&'static str),
    #[error("{call}: Microsoft Graph could not be reached or did not answer in time")]
    Transport {
        call: String,
        #[source]
        source: Arc<reqwest::Error>,
    },
    #[error(
        "{call}: Microsoft Graph kept answering {status} after {attempts} attempts and \
         {waited_secs} s of waiting as its Retry-After asked"
    )]
    Throttled {
        call: String,
        status: u16,
        attempts: u32,
        waited_secs: u64,
    },
    #[error("{call}: not found in Microsoft Graph")]
    NotFound { call: String },
    #[error("{call}: Microsoft Graph answered {status}: {message}")]
    Status {
        call: String,
        status: u16,
        message: String,
    },
    #[error("{call}: the answer is larger than {limit} bytes")]
    TooLarge { call: String, limit: usize },
    #[error("{call}: the answer is not the shape Microsoft Graph documents")]
    Decode {
        call: String,
        #[source]
        source: Arc<serde_json::Error>,
    },
    #[error("{call}: paging did not end after {pages} pages")]
    TooManyPages { call: String, pages: usize },
    #[error("{call}: the next page link {link:?} is not under the configured Graph base URL")]
    ForeignNextLink { call: String, link: String },
}

/// Longest excerpt of an error body kept in the message.
const MAX_MESSAGE_CHARS: usize = 300;

impl GraphError {
    pub(crate) fn transport(call: &str, source: reqwest::Error) -> GraphError {
        GraphError::Transport {
            call: call.to_owned(),
            source: Arc::new(source),
        }
    }

    pub(crate) fn decode(call: &str, source: serde_json::Error) -> GraphError {
        GraphError::Decode {
            call: call.to_owned(),
            source: Arc::new(source),
        }
    }

    /// An unexpected status: Graph's `error.code: error.message` when the body has them.
    pub(crate) fn status(call: &str, status: u16, body: &[u8]) -> GraphError {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| {
                let error = v.get("error")?;
                let code = error.get("code").and_then(|c| c.as_str()).unwrap_or("");
                // The token endpoint's errors are OAuth's: a string and a description.
                let text = error
                    .get("message")
                    .or_else(|| v.get("error_description"))
                    .and_then(|m| m.as_str())
                    .or_else(|| error.as_str())
                    .unwrap_or("");
                Some(format!("{code} {text}").trim().to_owned())
            })
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        GraphError::Status {
            call: call.to_owned(),
            status,
            message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
        }
    }

    /// Graph is down, slow or throttling: the caller may repeat the request later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            GraphError::Transport { .. } | GraphError::Throttled { .. } => true,
            GraphError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, GraphError::NotFound { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_quote_graphs_code_and_message() {
        let err = GraphError::status(
            "GET /teams/x",
            403,
            br#"{"error":{"code":"Forbidden","message":"Missing role TeamMember.Read.All"}}"#,
        );
        assert_eq!(
            err.to_string(),
            "GET /teams/x: Microsoft Graph answered 403: Forbidden Missing role TeamMember.Read.All"
        );
        let token = GraphError::status(
            "token for tenant t",
            401,
            br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret"}"#,
        );
        assert!(token.to_string().contains("AADSTS7000215"), "{token}");
        assert!(!token.is_unavailable());
        assert!(GraphError::status("x", 502, b"bad gateway").is_unavailable());
    }
}

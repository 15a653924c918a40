//! HTTP plumbing shared by every function: tracing set-up, turning a Lambda HTTP request
//! into the operations' `Incoming`, and the one place where domain errors become HTTP
//! answers (`application/problem+json`, RFC 9457). A function's `main` is `run` with a
//! closure naming its operation.

use lambda_http::http::{header, StatusCode};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use stratus_app::{App, Incoming};
use stratus_domain::Error;

pub use lambda_http::Error as BoxError;

/// JSON bodies larger than this are refused before parsing; operations that take more
/// (plugin uploads, simulations) read `Incoming::raw_body` under limits of their own.
const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// A successful answer: a status and an optional JSON body.
pub struct Reply {
    status: StatusCode,
    body: Option<serde_json::Value>,
}

impl Reply {
    pub fn ok<T: Serialize>(value: &T) -> Reply {
        Reply::json(StatusCode::OK, value)
    }

    pub fn created<T: Serialize>(value: &T) -> Reply {
        Reply::json(StatusCode::CREATED, value)
    }

    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
        }
    }

    fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        match serde_json::to_value(value) {
            Ok(body) => Reply {
                status,
                body: Some(body),
            },
            Err(e) => Reply::from(Error::Internal(format!("encoding the answer: {e}"))),
        }
    }
}

/// The status each error answers with. This is the only such mapping in Stratus.
pub fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidToken(_)
        | Error::NoTenantId
        | Error::InvalidTenantId
        | Error::NoAppId
        | Error::InvalidAppId
        | Error::RequiredRoleMissing
        | Error::ProvisioningDisabled
        | Error::NoAppPermission(_) => StatusCode::UNAUTHORIZED,
        Error::NoAuthenticatedUser
        | Error::AdminRoleMissing(_)
        | Error::OrganizationUnitNotAllowed
        | Error::NoLicenseAvailable(_) => StatusCode::FORBIDDEN,
        Error::BadRequest(_)
        | Error::CopyIdsRequired
        | Error::SourceTeamsSynced
        | Error::SourceWithoutContactCenterLicense
        | Error::DeleteTeamsSynced => StatusCode::BAD_REQUEST,
        Error::UserNotFound
        | Error::SourceUserNotFound
        | Error::TenantNotFound
        | Error::AppPermissionNotFound(_)
        | Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::UserAlreadyExists
        | Error::SkillAlreadyExists
        | Error::LicensesBelowUsage { .. }
        | Error::ConcurrentChange
        | Error::Conflict(_) => StatusCode::CONFLICT,
        Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for Reply {
    fn from(error: Error) -> Reply {
        let status = status_of(&error);
        if status.is_server_error() {
            tracing::error!(%error, detail = ?error, "request failed");
        } else {
            tracing::info!(%error, status = status.as_u16(), "request refused");
        }
        Reply {
            status,
            body: Some(serde_json::json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": error.to_string(),
            })),
        }
    }
}

fn to_response(reply: Reply, error: Option<&Error>) -> Response<Body> {
    let mut builder = Response::builder().status(reply.status);
    if let Some(error) = error {
        builder = builder.header(header::CONTENT_TYPE, "application/problem+json");
        match (error, reply.status) {
            (Error::InvalidToken(reason), _) => {
                let reason = reason.replace('"', "'");
                builder = builder.header(
                    header::WWW_AUTHENTICATE,
                    format!("Bearer error=\"invalid_token\", error_description=\"{reason}\""),
                );
            }
            (_, StatusCode::UNAUTHORIZED) => {
                builder = builder.header(header::WWW_AUTHENTICATE, "Bearer")
            }
            (Error::RateLimited { retry_after_secs }, _) => {
                builder = builder.header(header::RETRY_AFTER, retry_after_secs.to_string())
            }
            (Error::Unavailable(_), _) => {
                builder = builder.header(
                    header::RETRY_AFTER,
                    stratus_domain::error::UNAVAILABLE_RETRY_AFTER_SECS.to_string(),
                )
            }
            _ => {}
        }
    } else if reply.body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let body = reply
        .body
        .map(|b| Body::Text(b.to_string()))
        .unwrap_or(Body::Empty);
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::Text("{\"status\":500}".into())))
}

/// Splits a Lambda HTTP request into what the operations read.
pub fn incoming(request: &Request) -> Incoming {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let params = request.path_parameters();
    let path = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let raw: &[u8] = request.body().as_ref();
    Incoming {
        authorization,
        path,
        body: stratus_app::parse_json_body(raw, MAX_JSON_BODY_BYTES),
        raw_body: raw.to_vec(),
    }
}

/// Sets up logging (JSON in Lambda when `AWS_LAMBDA_LOG_FORMAT=JSON`, text locally), builds
/// the application state once, and serves `operation` until the runtime stops.
pub async fn run<F, Fut>(operation: F) -> Result<(), BoxError>
where
    F: Fn(Arc<App>, Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, Error>> + Send,
{
    lambda_http::tracing::init_default_subscriber();
    let app = Arc::new(
        App::from_env()
            .await
            .map_err(|e| format!("start-up: {e:?}"))?,
    );
    let operation = Arc::new(operation);
    lambda_http::run(service_fn(move |request: Request| {
        let app = app.clone();
        let operation = operation.clone();
        async move {
            let response = match operation(app, incoming(&request)).await {
                Ok(reply) => to_response(reply, None),
                Err(error) => {
                    let reply = Reply::from(error.clone());
                    to_response(reply, Some(&error))
                }
            };
            Ok::<_, BoxError>(response)
        }
    }))
    .await
}

//! Functions' HTTP plumbing: tracing set-up, turning a Lambda HTTP request into an
//! [`Incoming`], and the one place where errors become answers (`application/problem+json`,
//! RFC 9457, through each feature's [`Problem`]). A function's `main` is `run` with a
//! closure naming its operation.

use std::future::Future;
use std::sync::Arc;

use lambda_http::http::{header, StatusCode};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::error::chain;
use crate::{Error, Incoming, Kernel, Problem};

pub use lambda_http::Error as BoxError;

/// A successful answer: a status and an optional JSON body (or, if the body could not be
/// encoded, the 500 that says so).
pub struct Reply(Result<(StatusCode, Option<Answer>), Error>);

/// A successful answer's body.
enum Answer {
    Json(serde_json::Value),
    /// `text/plain` (Graph's webhook validation echoes its token this way).
    Text(String),
}

impl Reply {
    /// 202 with a JSON body: accepted, and what became of it.
    pub fn accepted<T: Serialize>(value: &T) -> Reply {
        Reply::json(StatusCode::ACCEPTED, value)
    }

    /// A `text/plain` answer.
    pub fn text(status: StatusCode, text: impl Into<String>) -> Reply {
        Reply(Ok((status, Some(Answer::Text(text.into())))))
    }

    pub fn ok<T: Serialize>(value: &T) -> Reply {
        Reply::json(StatusCode::OK, value)
    }

    pub fn created<T: Serialize>(value: &T) -> Reply {
        Reply::json(StatusCode::CREATED, value)
    }

    pub fn no_content() -> Reply {
        Reply(Ok((StatusCode::NO_CONTENT, None)))
    }

    fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
        Reply(
            serde_json::to_value(value)
                .map(|body| (status, Some(Answer::Json(body))))
                .map_err(|e| Error::internal_from("encoding the answer", e)),
        )
    }

    fn into_response(self, request_id: &str) -> Response<Body> {
        let (status, body) = match self.0 {
            Ok(answer) => answer,
            Err(error) => return problem_response(&error, request_id),
        };
        let builder = Response::builder().status(status);
        let (builder, body) = match body {
            None => (builder, Body::Empty),
            Some(Answer::Json(json)) => (
                builder.header(header::CONTENT_TYPE, "application/json"),
                Body::Text(json.to_string()),
            ),
            Some(Answer::Text(text)) => (
                builder
                    .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .header("x-content-type-options", "nosniff"),
                Body::Text(text),
            ),
        };
        builder.body(body).unwrap_or_else(|_| fallback())
    }
}

/// The answer for a failed request, logged once: server errors with their whole chain,
/// refusals briefly. Every problem carries the request id, which the log line has too.
fn problem_response(error: &dyn Problem, request_id: &str) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(request_id, status = status.as_u16(), error = %chain(error), "request failed");
    } else {
        tracing::info!(request_id, status = status.as_u16(), error = %error, "request refused");
    }
    let body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": error.detail(),
        "requestId": request_id,
    });
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json");
    if let Some(reason) = error.invalid_token() {
        let reason = reason.replace('"', "'");
        builder = builder.header(
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{reason}\""),
        );
    } else if status == StatusCode::UNAUTHORIZED {
        builder = builder.header(header::WWW_AUTHENTICATE, "Bearer");
    }
    if let Some(secs) = error.retry_after_secs() {
        builder = builder.header(header::RETRY_AFTER, secs.to_string());
    }
    builder
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| fallback())
}

fn fallback() -> Response<Body> {
    Response::new(Body::Text("{\"status\":500}".into()))
}

/// Splits a Lambda HTTP request into what the operations read, moving the body's bytes.
pub fn incoming(request: Request) -> Incoming {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let path = request
        .path_parameters()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let query = request
        .query_string_parameters()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = match request.into_body() {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    Incoming::new(authorization, path, body).with_query(query)
}

/// Sets up logging (JSON in Lambda when `AWS_LAMBDA_LOG_FORMAT=JSON`, text locally), builds
/// the kernel once, and serves `operation` until the runtime stops.
pub async fn run<F, Fut, E>(operation: F) -> Result<(), BoxError>
where
    F: Fn(Arc<Kernel>, Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Reply, E>> + Send,
    E: Problem,
{
    let kernel = start().await?;
    let operation = Arc::new(operation);
    lambda_http::run(service_fn(move |request: Request| {
        let kernel = kernel.clone();
        let operation = operation.clone();
        async move {
            let request_id = request
                .lambda_context_ref()
                .map(|context| context.request_id.clone())
                .unwrap_or_default();
            let response = match operation(kernel, incoming(request)).await {
                Ok(reply) => reply.into_response(&request_id),
                Err(error) => problem_response(&error, &request_id),
            };
            Ok::<_, BoxError>(response)
        }
    }))
    .await
}

/// Logging and the kernel, once per process.
async fn start() -> Result<Arc<Kernel>, BoxError> {
    lambda_http::tracing::init_default_subscriber();
    Ok(Arc::new(
        Kernel::from_env()
            .await
            .map_err(|e| format!("start-up: {}", chain(&e)))?,
    ))
}

/// [`run`] for a function that no HTTP route reaches: an EventBridge schedule (or an
/// operator's invoke) hands it an event, which `operation` reads as JSON, and its JSON answer
/// is the invocation's result. A failure is logged with its chain and fails the invocation,
/// so the schedule's retry policy and the function's error metric see it.
pub async fn run_scheduled<F, Fut, T, E>(operation: F) -> Result<(), BoxError>
where
    F: Fn(Arc<Kernel>, serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send,
    T: Serialize,
    E: Problem,
{
    let kernel = start().await?;
    let operation = Arc::new(operation);
    lambda_http::lambda_runtime::run(service_fn(
        move |event: lambda_http::LambdaEvent<serde_json::Value>| {
            let kernel = kernel.clone();
            let operation = operation.clone();
            async move {
                let request_id = event.context.request_id.clone();
                match operation(kernel, event.payload).await {
                    Ok(answer) => Ok::<_, BoxError>(serde_json::to_value(answer)?),
                    Err(error) => {
                        tracing::error!(request_id, error = %chain(&error), "scheduled run failed");
                        Err(chain(&error).into())
                    }
                }
            }
        },
    ))
    .await
}

//! A local stand-in for Microsoft Graph and its token endpoint, for development and tests.
//!
//! It answers the calls Stratus makes, in the JSON shapes Graph documents: the
//! client-credentials token endpoint (`POST /{tenant}/oauth2/v2.0/token`), `GET
//! /v1.0/teams/{id}`, `GET /v1.0/teams/{id}/members` in pages of [`PAGE_SIZE`] (or `$top`)
//! linked by an absolute `@odata.nextLink`, and `POST`/`PATCH`/`GET`/`DELETE
//! /v1.0/subscriptions`. Teams and subscriptions belong to the tenant the token was issued
//! for, as in Graph, so one tenant never reads another's team.
//!
//! Tests steer it through `/_dev/…` (no token):
//! - `PUT /_dev/tenants/{tid}/teams/{teamId}` `{"displayName","members":[{"userId",
//!   "displayName","email","roles"}]}` sets a team and its roster; `DELETE` removes it;
//! - `POST /_dev/tenants/{tid}/throttle` `{"requests": N}` makes the tenant's next N Graph
//!   requests answer 429 with `Retry-After: 1`;
//! - `GET /_dev/tenants/{tid}/subscriptions` lists the tenant's subscriptions, `clientState`
//!   included.
//!
//! Hand-written on `std::net`, like the dev issuer: a few routes for the local stack do not
//! earn an async HTTP server in the build. One thread per connection, `Connection: close`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

/// Port of the Graph stand-in for `cargo xtask dev`.
pub const DEV_GRAPH_PORT: u16 = 9020;
/// The app credentials the stand-in accepts (and the local stack configures).
pub const DEV_CLIENT_ID: &str = "stratus-dev-graph-client";
pub const DEV_CLIENT_SECRET: &str = "stratus-dev-graph-secret";
/// Members per page unless `$top` asks for fewer: small, so that paging always happens.
pub const PAGE_SIZE: usize = 3;
/// Token lifetime, as Entra's (an hour, give or take).
const TOKEN_LIFETIME_SECS: u64 = 3599;
const MAX_HEAD_BYTES: usize = 16 * 1024;
const MAX_BODY_BYTES: usize = 1024 * 1024;
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// `STRATUS_GRAPH_BASE_URL` for a stand-in on `port`.
pub fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v1.0")
}

/// `STRATUS_GRAPH_TOKEN_URL` for a stand-in on `port` (Entra's shape, `{tenantid}` filled
/// in by the client).
pub fn token_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/{{tenantid}}/oauth2/v2.0/token")
}

#[derive(Default)]
struct State {
    /// (tenant, team id) → the team's `displayName` and its members as Graph lists them.
    teams: HashMap<(String, String), (String, Vec<Value>)>,
    /// Access token → the tenant it was issued for.
    tokens: HashMap<String, String>,
    /// Tenant → how many of its next requests answer 429.
    throttle: HashMap<String, u32>,
    /// Subscription id → (tenant, the subscription as stored).
    subscriptions: HashMap<String, (String, Value)>,
    issued: u64,
}

/// Serves on `127.0.0.1:port` until the process ends; a binding error is returned.
pub fn serve(port: u16) -> std::io::Result<(JoinHandle<()>, DevGraph)> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let state = Arc::new(Mutex::new(State::default()));
    let handle = DevGraph {
        state: state.clone(),
    };
    let thread = std::thread::Builder::new()
        .name(format!("dev-graph-{port}"))
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = state.clone();
                let _ = std::thread::Builder::new()
                    .name("dev-graph-conn".into())
                    .spawn(move || {
                        let _ = handle_connection(stream, port, &state);
                    });
            }
        })?;
    Ok((thread, handle))
}

/// In-process access to a running stand-in (the dev command seeds its demo team this way).
#[derive(Clone)]
pub struct DevGraph {
    state: Arc<Mutex<State>>,
}

impl DevGraph {
    /// Sets a team of `tenant` with its members (`{"userId","displayName","email","roles"}`).
    pub fn put_team(&self, tenant: &str, team_id: &str, display_name: &str, members: Vec<Value>) {
        if let Ok(mut state) = self.state.lock() {
            state.teams.insert(
                (tenant.to_lowercase(), team_id.to_lowercase()),
                (display_name.to_owned(), members),
            );
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Response {
    fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body,
        }
    }

    /// Graph's error shape.
    fn error(status: u16, code: &str, message: &str) -> Response {
        Response::json(
            status,
            json!({ "error": { "code": code, "message": message,
                               "innerError": { "request-id": "dev-graph" } } }),
        )
    }
}

fn handle_connection(
    mut stream: TcpStream,
    port: u16,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let response = match read_request(&mut stream)? {
        Some(request) => match state.lock() {
            Ok(mut state) => route(&request, port, &mut state),
            Err(_) => Response::error(500, "InternalServerError", "state poisoned"),
        },
        None => Response::error(400, "BadRequest", "malformed request"),
    };
    // A 204 has no body at all.
    let body = match response.status {
        204 => String::new(),
        _ => response.body.to_string(),
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut data = Vec::with_capacity(2048);
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if data.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
    };
    let Ok(head) = String::from_utf8(data[..head_end].to_vec()) else {
        return Ok(None);
    };
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (first.next(), first.next()) else {
        return Ok(None);
    };
    let mut length = 0usize;
    let mut authorization = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().unwrap_or(0);
        } else if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.to_owned());
        }
    }
    if length > MAX_BODY_BYTES {
        return Ok(None);
    }
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    body.truncate(length);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: parse_pairs(query),
        authorization,
        body,
    }))
}

/// `a=1&b=2` (query strings and form bodies), percent-decoded.
fn parse_pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(request: &Request, port: u16, state: &mut State) -> Response {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    match (method, segments.as_slice()) {
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => token(request, tenant, state),
        (_, ["_dev", "tenants", tenant, rest @ ..]) => control(request, tenant, rest, state),
        (_, ["v1.0", rest @ ..]) => {
            let Some(tenant) = request
                .authorization
                .as_deref()
                .and_then(|a| a.strip_prefix("Bearer "))
                .and_then(|t| state.tokens.get(t.trim()))
                .cloned()
            else {
                return Response::error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token is empty or not one this server issued.",
                );
            };
            if let Some(left) = state.throttle.get_mut(&tenant).filter(|n| **n > 0) {
                *left -= 1;
                let mut response = Response::error(
                    429,
                    "TooManyRequests",
                    "Too many requests; retry after the time in Retry-After.",
                );
                response.headers.push(("Retry-After", "1".into()));
                return response;
            }
            graph(request, port, &tenant, rest, state)
        }
        _ => Response::error(404, "NotFound", "No such route in the Graph stand-in."),
    }
}

fn token(request: &Request, tenant: &str, state: &mut State) -> Response {
    let form = parse_pairs(&String::from_utf8_lossy(&request.body));
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return Response::json(
            400,
            json!({ "error": "unsupported_grant_type",
                    "error_description": "AADSTS70003: only client_credentials is supported" }),
        );
    }
    if field("client_id") != DEV_CLIENT_ID || field("client_secret") != DEV_CLIENT_SECRET {
        return Response::json(
            401,
            json!({ "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided." }),
        );
    }
    state.issued += 1;
    let token = format!("dev-graph-{}-{}", state.issued, tenant.to_lowercase());
    state.tokens.insert(token.clone(), tenant.to_lowercase());
    Response::json(
        200,
        json!({ "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS,
                "ext_expires_in": TOKEN_LIFETIME_SECS, "access_token": token }),
    )
}

fn graph(request: &Request, port: u16, tenant: &str, rest: &[&str], state: &mut State) -> Response {
    match (request.method.as_str(), rest) {
        ("GET", ["teams", team]) => match state.teams.get(&(tenant.into(), team.to_lowercase())) {
            Some((name, _)) => Response::json(
                200,
                json!({ "id": team, "displayName": name, "description": null,
                        "isArchived": false, "visibility": "private" }),
            ),
            None => team_not_found(team),
        },
        ("GET", ["teams", team, "members"]) => {
            let Some((_, members)) = state.teams.get(&(tenant.into(), team.to_lowercase())) else {
                return team_not_found(team);
            };
            let skip: usize = request
                .query
                .get("$skiptoken")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let top = request
                .query
                .get("$top")
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(PAGE_SIZE)
                .min(PAGE_SIZE);
            let page: Vec<Value> = members.iter().skip(skip).take(top).map(member).collect();
            let mut body = json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams('…')/members",
                "@odata.count": page.len(),
                "value": page,
            });
            if skip + top < members.len() {
                body["@odata.nextLink"] = json!(format!(
                    "{}/teams/{team}/members?$top={top}&$skiptoken={}",
                    base_url(port),
                    skip + top
                ));
            }
            Response::json(200, body)
        }
        ("POST", ["subscriptions"]) => {
            let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) else {
                return Response::error(400, "BadRequest", "The body is not JSON.");
            };
            for field in [
                "changeType",
                "notificationUrl",
                "resource",
                "expirationDateTime",
            ] {
                if !body[field].is_string() {
                    return Response::error(
                        400,
                        "InvalidRequest",
                        &format!("{field} is required."),
                    );
                }
            }
            state.issued += 1;
            let id = format!("00000000-0000-4000-8000-{:012}", state.issued);
            body["id"] = json!(id);
            state
                .subscriptions
                .insert(id, (tenant.to_owned(), body.clone()));
            Response::json(201, without_client_state(body))
        }
        ("PATCH", ["subscriptions", id]) => {
            let Ok(patch) = serde_json::from_slice::<Value>(&request.body) else {
                return Response::error(400, "BadRequest", "The body is not JSON.");
            };
            match state.subscriptions.get_mut(*id) {
                Some((owner, stored)) if owner == tenant => {
                    if let Some(expiry) = patch.get("expirationDateTime") {
                        stored["expirationDateTime"] = expiry.clone();
                    }
                    Response::json(200, without_client_state(stored.clone()))
                }
                _ => Response::error(404, "ResourceNotFound", "The subscription was not found."),
            }
        }
        ("DELETE", ["subscriptions", id]) => match state.subscriptions.get(*id) {
            Some((owner, _)) if owner == tenant => {
                state.subscriptions.remove(*id);
                Response::json(204, json!(null))
            }
            _ => Response::error(404, "ResourceNotFound", "The subscription was not found."),
        },
        ("GET", ["subscriptions"]) => Response::json(
            200,
            json!({ "value": subscriptions_of(state, tenant)
                .into_iter().map(without_client_state).collect::<Vec<_>>() }),
        ),
        _ => Response::error(404, "NotFound", "No such route in the Graph stand-in."),
    }
}

fn control(request: &Request, tenant: &str, rest: &[&str], state: &mut State) -> Response {
    let tenant = tenant.to_lowercase();
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    match (request.method.as_str(), rest) {
        ("PUT", ["teams", team]) => {
            let name = body["displayName"].as_str().unwrap_or("Team").to_owned();
            let members = body["members"].as_array().cloned().unwrap_or_default();
            state
                .teams
                .insert((tenant, team.to_lowercase()), (name, members));
            Response::json(204, json!(null))
        }
        ("DELETE", ["teams", team]) => {
            state.teams.remove(&(tenant, team.to_lowercase()));
            Response::json(204, json!(null))
        }
        ("POST", ["throttle"]) => {
            let requests = body["requests"].as_u64().unwrap_or(1) as u32;
            state.throttle.insert(tenant, requests);
            Response::json(204, json!(null))
        }
        ("GET", ["subscriptions"]) => {
            Response::json(200, json!({ "value": subscriptions_of(state, &tenant) }))
        }
        _ => Response::error(404, "NotFound", "No such control route."),
    }
}

fn subscriptions_of(state: &State, tenant: &str) -> Vec<Value> {
    let mut list: Vec<Value> = state
        .subscriptions
        .values()
        .filter(|(owner, _)| owner == tenant)
        .map(|(_, s)| s.clone())
        .collect();
    list.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    list
}

/// Graph never returns a subscription's `clientState`.
fn without_client_state(mut subscription: Value) -> Value {
    if let Some(object) = subscription.as_object_mut() {
        object.remove("clientState");
    }
    subscription
}

fn team_not_found(team: &str) -> Response {
    Response::error(
        404,
        "NotFound",
        &format!("No team found with Group Id {team}"),
    )
}

/// A roster entry as Graph lists it (`aadUserConversationMember`).
fn member(m: &Value) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "id": format!("MCMjMiMj{}", m["userId"].as_str().unwrap_or_default()),
        "roles": m.get("roles").cloned().unwrap_or_else(|| json!([])),
        "displayName": m["displayName"],
        "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
        "userId": m["userId"],
        "email": m["email"],
        "tenantId": null,
    })
}

#[cfg(test)]
mod tests;

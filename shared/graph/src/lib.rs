//! Microsoft Graph, app-only: the client-credentials token (cached per tenant until shortly
//! before it expires), the team and its roster (`GET /teams/{id}`, `GET /teams/{id}/members`
//! across `@odata.nextLink` pages) and presence subscriptions (`POST` / `PATCH
//! /subscriptions`). Throttling (429, or 503 with `Retry-After`) is waited out within a bound
//! of attempts and seconds; every failure says which Graph call failed and keeps its cause.
//! Configuration: `STRATUS_GRAPH_BASE_URL`, `STRATUS_GRAPH_TOKEN_URL` (`{tenantid}` in it is
//! replaced by the tenant), `STRATUS_GRAPH_CLIENT_ID`, `STRATUS_GRAPH_CLIENT_SECRET`.

mod error;
mod paging;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::GraphError;
pub use paging::{next_page, retry_after, ThrottleBudget};

/// Longest wait for one Graph request (connect included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest answer read from Graph: a page of members is a few hundred KB at most.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Pages of a roster followed before giving up (a team has at most 25 000 members, Graph
/// pages of 100 or more: far inside this).
const MAX_PAGES: usize = 1_000;
/// A token is renewed this long before Graph says it expires, so a request never carries
/// one that expires in flight.
const TOKEN_MARGIN: Duration = Duration::from_secs(300);
/// Graph's scope for app-only access with the app's granted permissions.
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Where Graph and its token endpoint are, and the app's credentials.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
}

impl GraphConfig {
    /// The four `STRATUS_GRAPH_*` variables; a missing one is an error naming it.
    pub fn from_env() -> Result<GraphConfig, GraphError> {
        let var = |name: &'static str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or(GraphError::MissingConfig(name))
        };
        Ok(GraphConfig {
            base_url: var("STRATUS_GRAPH_BASE_URL")?
                .trim_end_matches('/')
                .to_owned(),
            token_url: var("STRATUS_GRAPH_TOKEN_URL")?,
            client_id: var("STRATUS_GRAPH_CLIENT_ID")?,
            client_secret: var("STRATUS_GRAPH_CLIENT_SECRET")?,
        })
    }
}

/// A team as Stratus reads it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A member's role in the team: Graph's `roles` holds `"owner"` for owners, nothing for
/// members, `"guest"` for guests (who serve as members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TeamRole {
    Owner,
    Member,
}

/// One person of a team's roster (an `aadUserConversationMember`).
#[derive(Clone, Debug, PartialEq)]
pub struct TeamMember {
    /// The member's Entra user id (O365 id).
    pub user_id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: TeamRole,
}

/// A Graph subscription as created or renewed.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub resource: String,
    pub expiration_date_time: String,
}

/// What creating a subscription asks for.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    pub change_type: String,
    pub notification_url: String,
    pub resource: String,
    pub expiration_date_time: String,
    pub client_state: String,
}

#[derive(Deserialize)]
struct MemberItem {
    #[serde(rename = "userId")]
    user_id: Option<String>,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    value: Vec<Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

/// The Graph client of a process: one HTTP client, one token cache; cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    config: GraphConfig,
    tokens: Arc<Mutex<HashMap<String, (String, Instant)>>>,
    budget: ThrottleBudget,
}

impl GraphClient {
    /// The client configured by the environment ([`GraphConfig::from_env`]).
    pub fn from_env() -> Result<GraphClient, GraphError> {
        GraphClient::new(GraphConfig::from_env()?)
    }

    pub fn new(config: GraphConfig) -> Result<GraphClient, GraphError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| GraphError::transport("building the HTTP client", e))?;
        Ok(GraphClient {
            http,
            config,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            budget: ThrottleBudget::default(),
        })
    }

    /// `GET /teams/{id}`; `NotFound` when the tenant has no such team.
    pub async fn team(&self, tenant: &str, team_id: &str) -> Result<Team, GraphError> {
        let call = format!("GET /teams/{team_id}");
        let url = format!("{}/teams/{}", self.config.base_url, encode(team_id));
        let value = self.call(tenant, &call, Method::GET, &url, None).await?;
        decode(&call, value)
    }

    /// `GET /teams/{id}/members`, every page.
    pub async fn team_members(
        &self,
        tenant: &str,
        team_id: &str,
    ) -> Result<Vec<TeamMember>, GraphError> {
        let call = format!("GET /teams/{team_id}/members");
        let mut url = format!("{}/teams/{}/members", self.config.base_url, encode(team_id));
        let mut members = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page = decode(
                &call,
                self.call(tenant, &call, Method::GET, &url, None).await?,
            )?;
            for value in page.value {
                let item: MemberItem = decode(&call, value)?;
                // Members without a user id (none are documented for teams) cannot be users.
                let Some(user_id) = item.user_id.filter(|id| !id.is_empty()) else {
                    continue;
                };
                let owner = item.roles.iter().any(|r| r.eq_ignore_ascii_case("owner"));
                members.push(TeamMember {
                    user_id,
                    display_name: item.display_name,
                    email: item.email,
                    role: if owner {
                        TeamRole::Owner
                    } else {
                        TeamRole::Member
                    },
                });
            }
            match next_page(&self.config.base_url, page.next_link.as_deref()).map_err(|link| {
                GraphError::ForeignNextLink {
                    call: call.clone(),
                    link,
                }
            })? {
                Some(next) => url = next,
                None => return Ok(members),
            }
        }
        Err(GraphError::TooManyPages {
            call,
            pages: MAX_PAGES,
        })
    }

    /// `POST /subscriptions`.
    pub async fn create_subscription(
        &self,
        tenant: &str,
        subscription: &NewSubscription,
    ) -> Result<Subscription, GraphError> {
        let call = "POST /subscriptions".to_owned();
        let url = format!("{}/subscriptions", self.config.base_url);
        let body = serde_json::to_value(subscription).map_err(|e| GraphError::decode(&call, e))?;
        let value = self
            .call(tenant, &call, Method::POST, &url, Some(body))
            .await?;
        decode(&call, value)
    }

    /// `PATCH /subscriptions/{id}` with a new expiry.
    pub async fn renew_subscription(
        &self,
        tenant: &str,
        id: &str,
        expiration_date_time: &str,
    ) -> Result<Subscription, GraphError> {
        let call = format!("PATCH /subscriptions/{id}");
        let url = format!("{}/subscriptions/{}", self.config.base_url, encode(id));
        let body = serde_json::json!({ "expirationDateTime": expiration_date_time });
        let value = self
            .call(tenant, &call, Method::PATCH, &url, Some(body))
            .await?;
        decode(&call, value)
    }

    /// `DELETE /subscriptions/{id}`; a subscription Graph no longer has counts as deleted.
    pub async fn delete_subscription(&self, tenant: &str, id: &str) -> Result<(), GraphError> {
        let call = format!("DELETE /subscriptions/{id}");
        let url = format!("{}/subscriptions/{}", self.config.base_url, encode(id));
        match self.call(tenant, &call, Method::DELETE, &url, None).await {
            Ok(_) | Err(GraphError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// An app-only token for the tenant, from the cache while it is fresh.
    async fn token(&self, tenant: &str) -> Result<String, GraphError> {
        if let Ok(cache) = self.tokens.lock() {
            if let Some((token, renew_at)) = cache.get(tenant) {
                if Instant::now() < *renew_at {
                    return Ok(token.clone());
                }
            }
        }
        let call = format!("token for tenant {tenant}");
        let url = self.config.token_url.replace("{tenantid}", tenant);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.as_str()),
            ("scope", GRAPH_SCOPE),
        ];
        let response = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| GraphError::transport(&call, e))?;
        let status = response.status();
        let body = read_bounded(&call, response).await?;
        if !status.is_success() {
            return Err(GraphError::status(&call, status.as_u16(), &body));
        }
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| GraphError::decode(&call, e))?;
        let lifetime = Duration::from_secs(answer.expires_in);
        // A short-lived token is used for half its life rather than not at all.
        let usable = lifetime.checked_sub(TOKEN_MARGIN).unwrap_or(lifetime / 2);
        if let Ok(mut cache) = self.tokens.lock() {
            cache.insert(
                tenant.to_owned(),
                (answer.access_token.clone(), Instant::now() + usable),
            );
        }
        Ok(answer.access_token)
    }

    /// One Graph call, throttling waited out within the budget; the answer's JSON.
    async fn call(
        &self,
        tenant: &str,
        call: &str,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, GraphError> {
        let token = self.token(tenant).await?;
        let mut attempts = 0u32;
        let mut waited = Duration::ZERO;
        loop {
            attempts += 1;
            let mut request = self.http.request(method.clone(), url).bearer_auth(&token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| GraphError::transport(call, e))?;
            let status = response.status();
            let throttled = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE;
            if throttled {
                let wait = retry_after(
                    response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok()),
                );
                match self.budget.next_wait(attempts, waited, wait) {
                    Some(wait) => {
                        tracing::info!(
                            call,
                            attempts,
                            wait_ms = wait.as_millis() as u64,
                            "Graph throttled; waiting"
                        );
                        tokio::time::sleep(wait).await;
                        waited += wait;
                        continue;
                    }
                    None => {
                        return Err(GraphError::Throttled {
                            call: call.to_owned(),
                            status: status.as_u16(),
                            attempts,
                            waited_secs: waited.as_secs(),
                        })
                    }
                }
            }
            let bytes = read_bounded(call, response).await?;
            if status == StatusCode::NOT_FOUND {
                return Err(GraphError::NotFound {
                    call: call.to_owned(),
                });
            }
            if !status.is_success() {
                return Err(GraphError::status(call, status.as_u16(), &bytes));
            }
            // 204 No Content (a delete) has no JSON to read.
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&bytes).map_err(|e| GraphError::decode(call, e));
        }
    }
}

/// The body, at most [`MAX_BODY_BYTES`] of it.
async fn read_bounded(call: &str, mut response: reqwest::Response) -> Result<Vec<u8>, GraphError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(GraphError::TooLarge {
            call: call.to_owned(),
            limit: MAX_BODY_BYTES,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| GraphError::transport(call, e))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(GraphError::TooLarge {
                call: call.to_owned(),
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode<T: serde::de::DeserializeOwned>(call: &str, value: Value) -> Result<T, GraphError> {
    serde_json::from_value(value).map_err(|e| GraphError::decode(call, e))
}

/// A path segment: ids are GUIDs or Graph's opaque ids, but nothing unexpected goes into a
/// URL unescaped.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'@' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(encode("19:abc@thread.tacv2"), "19:abc@thread.tacv2");
        assert_eq!(encode("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn missing_configuration_names_the_variable() {
        let err = GraphError::MissingConfig("STRATUS_GRAPH_TOKEN_URL");
        assert!(err.to_string().contains("STRATUS_GRAPH_TOKEN_URL"), "{err}");
    }

    #[test]
    fn members_read_roles_as_owner_or_member() {
        let item: MemberItem = serde_json::from_value(serde_json::json!({
            "@odata.type": "#microsoft.graph.aadUserConversationMember",
            "id": "MCMjMjQ=", "roles": ["owner"], "displayName": "Adele Vance",
            "userId": "73761f06-2ac9-469c-9f10-279a8cc267f9", "email": "adelev@contoso.com"
        }))
        .unwrap();
        assert_eq!(item.roles, ["owner"]);
        assert_eq!(
            item.user_id.as_deref(),
            Some("73761f06-2ac9-469c-9f10-279a8cc267f9")
        );
    }
}

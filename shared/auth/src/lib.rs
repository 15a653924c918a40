//! Bearer-token authentication for Stratus: validates Microsoft-Entra-style RS256 JWTs
//! (signature against the issuer's JWKS, `exp`/`nbf` with leeway, `aud`, then `tid` and the
//! tenant-templated `iss`) and turns them into a [`Principal`]. It owns the process-wide JWKS
//! cache: keys are fetched lazily over HTTP, kept for the life of the process, and refetched
//! when a token names an unknown `kid` — at most once per `min_refetch_interval`, so tokens
//! with made-up key ids cannot make us hammer the issuer. Any standards-conformant issuer
//! works by configuration alone ([`AuthConfig`]); nothing here is specific to the dev issuer.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::{Mutex, RwLock};

/// Placeholder in [`AuthConfig::issuer`] replaced by the token's `tid` (multi-tenant Entra).
pub const TENANT_ID_PLACEHOLDER: &str = "{tenantid}";

const DEFAULT_ISSUER: &str = "http://127.0.0.1:9010/{tenantid}/v2.0";
const DEFAULT_AUDIENCE: &str = "api://stratus";
const DEFAULT_JWKS_URL: &str = "http://127.0.0.1:9010/discovery/v2.0/keys";
const DEFAULT_LEEWAY_SECS: u64 = 30;
const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// Bounds one key-set fetch, connection included: a hung issuer costs a request at most this
/// long, and with keys already cached only requests naming an unknown `kid` wait for it.
const DEFAULT_JWKS_TIMEOUT: Duration = Duration::from_secs(3);
/// Signing keys rotate; an hour bounds how long a removed one keeps working.
const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(3600);

/// Which tokens are accepted and where their signing keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// Accepted `iss`; [`TENANT_ID_PLACEHOLDER`] is replaced by the token's `tid`.
    pub issuer: String,
    /// Accepted `aud` (the token's `aud` may be a string or an array containing it).
    pub audience: String,
    /// Where the issuer publishes its JSON Web Key Set.
    pub jwks_url: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
    /// Shortest time between two JWKS fetches triggered by unknown key ids.
    pub min_refetch_interval: Duration,
    /// Longest one JWKS fetch may take (`STRATUS_AUTH_JWKS_TIMEOUT_MS`).
    pub jwks_timeout: Duration,
    /// How long a fetched key set is trusted before it is fetched again
    /// (`STRATUS_AUTH_JWKS_MAX_AGE_SECS`): a key the issuer removed stops working within this.
    pub max_key_age: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            jwks_url: DEFAULT_JWKS_URL.to_owned(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            jwks_timeout: DEFAULT_JWKS_TIMEOUT,
            max_key_age: DEFAULT_MAX_KEY_AGE,
        }
    }
}

impl AuthConfig {
    /// Reads `STRATUS_AUTH_ISSUER`, `STRATUS_AUTH_AUDIENCE` and `STRATUS_AUTH_JWKS_URL`,
    /// falling back to the local dev issuer for any that is unset or empty, and
    /// `STRATUS_AUTH_JWKS_TIMEOUT_MS` (default 3000) and `STRATUS_AUTH_JWKS_MAX_AGE_SECS`
    /// (default 3600), each a positive whole number or else its default.
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let jwks_timeout = positive_env("STRATUS_AUTH_JWKS_TIMEOUT_MS")
            .map(Duration::from_millis)
            .unwrap_or(defaults.jwks_timeout);
        let max_key_age = positive_env("STRATUS_AUTH_JWKS_MAX_AGE_SECS")
            .map(Duration::from_secs)
            .unwrap_or(defaults.max_key_age);
        Self {
            issuer: env_or("STRATUS_AUTH_ISSUER", defaults.issuer),
            audience: env_or("STRATUS_AUTH_AUDIENCE", defaults.audience),
            jwks_url: env_or("STRATUS_AUTH_JWKS_URL", defaults.jwks_url),
            jwks_timeout,
            max_key_age,
            ..defaults
        }
    }
}

/// A variable holding a positive whole number; anything else leaves the default standing.
fn positive_env(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
}

fn env_or(name: &str, default: String) -> String {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value.trim().to_owned(),
        _ => default,
    }
}

/// The authenticated caller, taken from a validated token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's `tid`, checked to be a GUID, lowercase.
    pub tenant_id: String,
    /// `appid` (v1 tokens) or else `azp` (v2 tokens), as sent; not validated here.
    pub app_id: Option<String>,
    /// `oid`, or `sub` when the token has no `oid`; as sent.
    pub object_id: Option<String>,
    /// The `roles` claim (app roles granted to the caller).
    pub roles: Vec<String>,
}

impl Principal {
    /// Whether the token carries `role` (exact, case-sensitive, as Entra emits role values).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Why a request could not be authenticated. Messages never contain the token or key material.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, an empty one, or not of the form `Bearer <token>`.
    #[error("missing bearer token")]
    MissingToken,
    /// The token is malformed, wrongly signed, expired, not yet valid, or for another
    /// audience or issuer; the message says which.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token is valid but has no `tid` claim.
    #[error("No tenant id")]
    NoTenantId,
    /// The token's `tid` is not a GUID.
    #[error("Invalid tenant id")]
    InvalidTenantId,
    /// The issuer's signing keys could not be fetched or parsed.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Validates bearer tokens. Build once per process and share it (it is cheap to clone:
/// clones share the HTTP client and the key cache).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    validation: Validation,
    /// Building the client only fails if the TLS backend cannot initialise; kept as an error
    /// so that `new` stays infallible and the failure surfaces as `KeysUnavailable`.
    client: Result<reqwest::Client, String>,
    keys: RwLock<KeyCache>,
    /// Serialises fetches so concurrent requests with the same new `kid` fetch once.
    fetch: Mutex<()>,
}

#[derive(Default)]
struct KeyCache {
    keys: Vec<SigningKey>,
    /// Bumped on every successful fetch; 0 until the first one.
    generation: u64,
    /// When the last fetch attempt (successful or not) started; drives the rate limit.
    attempted_at: Option<Instant>,
    /// When the current set was fetched; past `max_key_age` it is fetched again.
    fetched_at: Option<Instant>,
}

/// What a caller needs from a refresh; lets tasks that queued behind a fetch see it done.
enum Wanted<'a> {
    Kid(&'a str),
    NewerThan(u64),
}

struct SigningKey {
    kid: Option<String>,
    key: DecodingKey,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Sets up validation and the HTTP client; no I/O happens until the first token.
    pub fn new(config: AuthConfig) -> Self {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = config.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        // `iss` is checked by hand after `tid` is known (the accepted issuer depends on it).
        validation.iss = None;

        let client = reqwest::Client::builder()
            .timeout(config.jwks_timeout)
            .connect_timeout(config.jwks_timeout)
            .build()
            .map_err(|e| format!("HTTP client unavailable: {e}"));

        Self {
            inner: Arc::new(Inner {
                config,
                validation,
                client,
                keys: RwLock::new(KeyCache::default()),
                fetch: Mutex::new(()),
            }),
        }
    }

    /// The configuration this authenticator enforces.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Validates the `Authorization` header value and returns the caller.
    pub async fn authenticate(
        &self,
        authorization_header: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let token = bearer_token(authorization_header)?;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("malformed token header".into()))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} not accepted",
                header.alg
            )));
        }

        self.refresh_if_old().await;
        let claims = match header.kid.as_deref() {
            Some(kid) => self.verify_with_kid(token, kid).await?,
            None => self.verify_without_kid(token).await?,
        };
        self.principal_from_claims(claims)
    }

    /// A key set older than `max_key_age` is fetched again before it is used, so that keys
    /// the issuer removed stop working. If the issuer cannot be reached the old set stays in
    /// service (tried again at most once per `min_refetch_interval`): an outage of the issuer
    /// must not lock everyone out.
    async fn refresh_if_old(&self) {
        let (generation, old) = {
            let cache = self.inner.keys.read().await;
            let old = cache
                .fetched_at
                .is_some_and(|at| at.elapsed() > self.inner.config.max_key_age);
            (cache.generation, old)
        };
        if old {
            // With keys cached, a failed refresh is not an error (see refresh_keys).
            let _ = self.refresh_keys(Wanted::NewerThan(generation)).await;
        }
    }

    async fn verify_with_kid(
        &self,
        token: &str,
        kid: &str,
    ) -> Result<Map<String, Value>, AuthError> {
        if !self.has_kid(kid).await {
            self.refresh_keys(Wanted::Kid(kid)).await?;
        }
        let keys = self.inner.keys.read().await;
        let key = keys
            .keys
            .iter()
            .find(|k| k.kid.as_deref() == Some(kid))
            .ok_or_else(|| AuthError::InvalidToken("unknown signing key id".into()))?;
        self.decode(token, &key.key)
    }

    /// Tokens without `kid` are tried against every key in the set; the first key whose
    /// signature matches decides (later claim errors are that key's verdict). If none
    /// matches, the set may have rotated: refetch (rate-limited) and try the new set once.
    async fn verify_without_kid(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        let generation = self.inner.keys.read().await.generation;
        if generation == 0 {
            self.refresh_keys(Wanted::NewerThan(0)).await?;
        } else if let Some(result) = self.try_every_key(token, generation).await {
            return result;
        } else {
            self.refresh_keys(Wanted::NewerThan(generation)).await?;
        }
        let current = self.inner.keys.read().await.generation;
        if current != generation {
            if let Some(result) = self.try_every_key(token, current).await {
                return result;
            }
        }
        Err(AuthError::InvalidToken(INVALID_SIGNATURE.into()))
    }

    /// `None` when no key of the current set (of `generation`) verifies the signature.
    async fn try_every_key(
        &self,
        token: &str,
        generation: u64,
    ) -> Option<Result<Map<String, Value>, AuthError>> {
        let keys = self.inner.keys.read().await;
        if keys.generation != generation {
            // Replaced meanwhile; the caller's retry logic decides what to do.
            return None;
        }
        for key in &keys.keys {
            match self.decode(token, &key.key) {
                Err(AuthError::InvalidToken(msg)) if msg == INVALID_SIGNATURE => continue,
                other => return Some(other),
            }
        }
        None
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Map<String, Value>, AuthError> {
        jsonwebtoken::decode::<Map<String, Value>>(token, key, &self.inner.validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::InvalidToken(describe(e.kind())))
    }

    fn principal_from_claims(&self, claims: Map<String, Value>) -> Result<Principal, AuthError> {
        let raw_tid = match claims.get("tid") {
            None | Some(Value::Null) => return Err(AuthError::NoTenantId),
            Some(Value::String(s)) if s.is_empty() => return Err(AuthError::NoTenantId),
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(AuthError::InvalidTenantId),
        };
        if stratus_ids::Guid::parse(raw_tid).is_none() {
            return Err(AuthError::InvalidTenantId);
        }

        // Exact comparison against the template with the tid as the token states it.
        let expected_issuer = self
            .inner
            .config
            .issuer
            .replace(TENANT_ID_PLACEHOLDER, raw_tid);
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == expected_issuer => {}
            _ => return Err(AuthError::InvalidToken("issuer not accepted".into())),
        }

        let string_claim = |name: &str| match claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let roles = match claims.get("roles") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };

        Ok(Principal {
            tenant_id: raw_tid.to_ascii_lowercase(),
            app_id: string_claim("appid").or_else(|| string_claim("azp")),
            object_id: string_claim("oid").or_else(|| string_claim("sub")),
            roles,
        })
    }

    async fn has_kid(&self, kid: &str) -> bool {
        self.inner
            .keys
            .read()
            .await
            .keys
            .iter()
            .any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Fetches the key set unless another task just did what we need, or the rate limit
    /// says not yet. Before the first successful fetch there is nothing to protect: every
    /// request needs keys, so an empty cache always tries (each try bounded by the timeout).
    async fn refresh_keys(&self, wanted: Wanted<'_>) -> Result<(), AuthError> {
        let _fetching = self.inner.fetch.lock().await;
        {
            let cache = self.inner.keys.read().await;
            let satisfied = match wanted {
                Wanted::Kid(kid) => cache.keys.iter().any(|k| k.kid.as_deref() == Some(kid)),
                Wanted::NewerThan(generation) => cache.generation > generation,
            };
            if satisfied {
                return Ok(());
            }
            let recently_attempted = cache
                .attempted_at
                .is_some_and(|at| at.elapsed() < self.inner.config.min_refetch_interval);
            if cache.generation > 0 && recently_attempted {
                tracing::debug!("signing key refetch suppressed by rate limit");
                return Ok(());
            }
        }

        self.inner.keys.write().await.attempted_at = Some(Instant::now());
        match self.fetch_keys().await {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "fetched signing keys");
                let mut cache = self.inner.keys.write().await;
                cache.keys = keys;
                cache.generation += 1;
                cache.fetched_at = Some(Instant::now());
                Ok(())
            }
            Err(message) => {
                tracing::warn!(error = %message, "fetching signing keys failed");
                if self.inner.keys.read().await.generation > 0 {
                    // Keep serving with the keys we have; an unknown kid is then rejected.
                    Ok(())
                } else {
                    Err(AuthError::KeysUnavailable(message))
                }
            }
        }
    }

    async fn fetch_keys(&self) -> Result<Vec<SigningKey>, String> {
        let client = self.inner.client.as_ref().map_err(Clone::clone)?;
        let url = &self.inner.config.jwks_url;
        let started = Instant::now();
        let response = client.get(url).send().await.map_err(|e| {
            let waited_ms = started.elapsed().as_millis();
            if e.is_timeout() {
                format!("GET {url}: no answer within {waited_ms} ms")
            } else {
                format!("GET {url} (after {waited_ms} ms): {e}")
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        let document: JwksDocument = response
            .json()
            .await
            .map_err(|e| format!("GET {url}: not a JWKS document: {e}"))?;
        Ok(parse_keys(document))
    }
}

const INVALID_SIGNATURE: &str = "invalid signature";

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::InvalidSignature => INVALID_SIGNATURE.into(),
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::ImmatureSignature => "token not yet valid (nbf)".into(),
        ErrorKind::InvalidAudience => "audience not accepted".into(),
        ErrorKind::InvalidIssuer => "issuer not accepted".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("missing required claim {claim}"),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            "algorithm not accepted".into()
        }
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => "malformed token claims".into(),
        _ => "malformed token".into(),
    }
}

/// Extracts the token from `Bearer <token>` (scheme case-insensitive, RFC 7235).
fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.map(str::trim).unwrap_or_default();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

/// A JWKS document with each key kept raw, so one unusable key does not spoil the set.
#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct RsaJwk {
    kty: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    kid: Option<String>,
    n: String,
    e: String,
}

/// Keeps the RSA signature keys usable for RS256 and silently drops everything else
/// (EC keys, encryption keys, other algorithms, broken entries).
fn parse_keys(document: JwksDocument) -> Vec<SigningKey> {
    document
        .keys
        .into_iter()
        .filter_map(|raw| {
            let jwk: RsaJwk = serde_json::from_value(raw).ok()?;
            let usable = jwk.kty == "RSA"
                && jwk.key_use.as_deref().is_none_or(|u| u == "sig")
                && jwk.alg.as_deref().is_none_or(|a| a == "RS256");
            if !usable {
                return None;
            }
            let key = DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()?;
            Some(SigningKey { kid: jwk.kid, key })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(Some("Bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")).ok(), Some("abc"));
        assert_eq!(bearer_token(Some("BEARER abc")).ok(), Some("abc"));
        for bad in [
            None,
            Some(""),
            Some("Bearer"),
            Some("Bearer "),
            Some("Basic x"),
            Some("abc"),
        ] {
            assert!(
                matches!(bearer_token(bad), Err(AuthError::MissingToken)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jwks_parsing_skips_unusable_entries() {
        let doc: JwksDocument = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"},
            {"kty": "RSA", "use": "enc", "kid": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "alg": "RS512", "kid": "rs512", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "no-n", "e": "AQAB"},
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "use": "sig", "kid": "good", "n": "AQAB", "e": "AQAB"}
        ]}))
        .expect("document");
        let keys = parse_keys(doc);
        let kids: Vec<_> = keys.iter().map(|k| k.kid.clone()).collect();
        assert_eq!(kids, vec![Some("good".to_owned())]);
    }

    #[test]
    fn defaults_are_the_local_dev_issuer() {
        let config = AuthConfig::default();
        assert_eq!(config.issuer, "http://127.0.0.1:9010/{tenantid}/v2.0");
        assert_eq!(config.audience, "api://stratus");
        assert_eq!(config.jwks_url, "http://127.0.0.1:9010/discovery/v2.0/keys");
        assert_eq!(config.leeway_secs, 30);
        assert_eq!(config.min_refetch_interval, Duration::from_secs(30));
    }
}

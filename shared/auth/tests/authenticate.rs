//! End-to-end checks of `Authenticator` with real RSA keys, real signed tokens and a real
//! (tiny) JWKS HTTP server on 127.0.0.1 that counts how often it is asked for keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use stratus_auth::{AuthConfig, AuthError, Authenticator, Principal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The test server's "status" for accepting a request and never answering it.
const HANG: u16 = 0;
const TEMPLATE: &str = "https://login.test/{tenantid}/v2.0";
const AUDIENCE: &str = "api://stratus";
const TENANT: &str = "6f1c2a4e-9b3d-4c8e-a1f0-2d3e4f5a6b7c";
const OTHER_TENANT: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const APP: &str = "11111111-2222-4333-8444-555555555555";
const USER: &str = "99999999-8888-4777-8666-555555555555";

struct TestKey {
    kid: String,
    encoding: EncodingKey,
    n: String,
    e: String,
    public_pem: String,
}

impl TestKey {
    fn generate(kid: &str) -> Self {
        let private = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("rsa key");
        let pem = private.to_pkcs1_pem(LineEnding::LF).expect("pkcs1 pem");
        let public = private.to_public_key();
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).expect("encoding key"),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            public_pem: public
                .to_public_key_pem(LineEnding::LF)
                .expect("public pem"),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "kid": self.kid, "n": self.n, "e": self.e})
    }
}

/// Key generation is the slow part; do it once for the whole test binary.
fn keys() -> &'static [TestKey; 3] {
    static KEYS: OnceLock<[TestKey; 3]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            TestKey::generate("key-a"),
            TestKey::generate("key-b"),
            TestKey::generate("key-c"),
        ]
    })
}

fn key_a() -> &'static TestKey {
    &keys()[0]
}
fn key_b() -> &'static TestKey {
    &keys()[1]
}
fn key_c() -> &'static TestKey {
    &keys()[2]
}

/// A JWKS document as an issuer might publish it, including entries we must skip.
fn jwks(keys: &[&TestKey]) -> String {
    let mut entries = vec![
        json!({"kty": "EC", "use": "sig", "crv": "P-256", "kid": "ec-key",
               "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
               "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
        json!({"kty": "RSA", "use": "enc", "kid": "enc-key", "n": key_c().n, "e": key_c().e}),
    ];
    entries.extend(keys.iter().map(|k| k.jwk()));
    json!({ "keys": entries }).to_string()
}

struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
    response: Arc<Mutex<(u16, String)>>,
}

impl JwksServer {
    async fn start(keys: &[&TestKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fetches = Arc::new(AtomicUsize::new(0));
        let response = Arc::new(Mutex::new((200, jwks(keys))));
        let (count, served) = (fetches.clone(), response.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let (count, served) = (count.clone(), served.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = served.lock().expect("lock").clone();
                    if status == HANG {
                        // A stopped issuer: the connection is accepted and nothing comes back.
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            url: format!("http://{addr}/discovery/v2.0/keys"),
            fetches,
            response,
        }
    }

    fn serve_keys(&self, keys: &[&TestKey]) {
        *self.response.lock().expect("lock") = (200, jwks(keys));
    }

    fn serve_raw(&self, status: u16, body: &str) {
        *self.response.lock().expect("lock") = (status, body.to_owned());
    }

    fn hang(&self) {
        *self.response.lock().expect("lock") = (HANG, String::new());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    fn authenticator(&self, min_refetch_interval: Duration) -> Authenticator {
        Authenticator::new(AuthConfig {
            issuer: TEMPLATE.to_owned(),
            audience: AUDIENCE.to_owned(),
            jwks_url: self.url.clone(),
            leeway_secs: 30,
            min_refetch_interval,
            ..AuthConfig::default()
        })
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn issuer_for(tid: &str) -> String {
    TEMPLATE.replace("{tenantid}", tid)
}

fn claims(tid: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer_for(tid),
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": tid,
        "appid": APP,
        "oid": USER,
        "roles": ["Provisioning.User.Create", "Provisioning.User.Read"],
    })
}

fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with_kid(key, Some(&key.kid), claims)
}

fn sign_with_kid(key: &TestKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn auth(authenticator: &Authenticator, token: &str) -> Result<Principal, AuthError> {
    authenticator.authenticate(Some(&bearer(token))).await
}

fn invalid_message(result: Result<Principal, AuthError>) -> String {
    match result {
        Err(AuthError::InvalidToken(message)) => message,
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

const LONG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn valid_token_yields_principal() {
    let server = JwksServer::start(&[key_a(), key_b()]).await;
    let authenticator = server.authenticator(LONG);

    let principal = auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("valid token");
    assert_eq!(principal.tenant_id, TENANT);
    assert_eq!(principal.app_id.as_deref(), Some(APP));
    assert_eq!(principal.object_id.as_deref(), Some(USER));
    assert_eq!(
        principal.roles,
        vec!["Provisioning.User.Create", "Provisioning.User.Read"]
    );
    assert!(principal.has_role("Provisioning.User.Read"));
    assert!(!principal.has_role("Provisioning.User.Delete"));
    assert!(!principal.has_role("provisioning.user.read"));

    // Second key of the set, scheme in another case; keys come from the cache.
    let principal = authenticator
        .authenticate(Some(&format!("bearer {}", sign(key_b(), &claims(TENANT)))))
        .await
        .expect("valid token, second key");
    assert_eq!(principal.tenant_id, TENANT);
    assert_eq!(server.fetches(), 1, "keys are cached");
}

#[tokio::test]
async fn tenant_id_is_lowercased_and_v2_claims_are_used() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let upper = TENANT.to_ascii_uppercase();
    let mut c = claims(&upper);
    let map = c.as_object_mut().expect("object");
    map.remove("appid");
    map.remove("oid");
    map.remove("roles");
    map.insert("azp".into(), json!(APP));
    map.insert("sub".into(), json!("subject-123"));
    map.insert("aud".into(), json!(["api://other", AUDIENCE]));

    let principal = auth(&authenticator, &sign(key_a(), &c))
        .await
        .expect("valid v2 token");
    assert_eq!(principal.tenant_id, TENANT);
    assert_eq!(principal.app_id.as_deref(), Some(APP));
    assert_eq!(principal.object_id.as_deref(), Some("subject-123"));
    assert!(principal.roles.is_empty());
}

#[tokio::test]
async fn appid_wins_over_azp_and_oid_over_sub() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let mut c = claims(TENANT);
    c["azp"] = json!("azp-value");
    c["sub"] = json!("sub-value");
    let principal = auth(&authenticator, &sign(key_a(), &c))
        .await
        .expect("valid");
    assert_eq!(principal.app_id.as_deref(), Some(APP));
    assert_eq!(principal.object_id.as_deref(), Some(USER));

    // Neither present: None, still authenticated (callers decide what that means).
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("appid");
    c.as_object_mut().expect("object").remove("oid");
    let principal = auth(&authenticator, &sign(key_a(), &c))
        .await
        .expect("valid");
    assert_eq!(principal.app_id, None);
    assert_eq!(principal.object_id, None);
}

#[tokio::test]
async fn missing_or_non_bearer_header_is_missing_token() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for header in [
        None,
        Some(""),
        Some("   "),
        Some("Bearer"),
        Some("Bearer   "),
        Some("Basic x"),
        Some("Basic dXNlcjpwYXNz"),
    ] {
        let result = authenticator.authenticate(header).await;
        assert!(
            matches!(result, Err(AuthError::MissingToken)),
            "{header:?}: {result:?}"
        );
    }
    assert_eq!(server.fetches(), 0, "no keys needed to reject these");
}

#[tokio::test]
async fn garbage_is_invalid_token() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for token in [
        "garbage",
        "a.b.c",
        "a.b",
        "....",
        "eyJhbGciOiJSUzI1NiJ9.e30.",
    ] {
        invalid_message(auth(&authenticator, token).await);
    }
    // A proper token with extra text is not accepted either.
    let token = sign(key_a(), &claims(TENANT));
    invalid_message(auth(&authenticator, &format!("{token}x")).await);
    invalid_message(auth(&authenticator, &format!("{token}.extra")).await);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let payload = URL_SAFE_NO_PAD.encode(claims(TENANT).to_string());
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "typ": "JWT", "kid": key_a().kid}),
        json!({"alg": "None", "typ": "JWT", "kid": key_a().kid}),
    ] {
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let token = format!("{header}.{payload}.");
        invalid_message(auth(&authenticator, &token).await);
    }
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn hs256_signed_with_public_key_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    // Classic key-confusion attack: HMAC with the public key bytes as the shared secret.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_a().kid.clone());
    let secret = EncodingKey::from_secret(key_a().public_pem.as_bytes());
    let token = jsonwebtoken::encode(&header, &claims(TENANT), &secret).expect("sign hs256");
    let message = invalid_message(auth(&authenticator, &token).await);
    assert!(message.contains("algorithm"), "{message}");

    // Other non-RS256 algorithms with the right RSA key are refused too.
    let mut header = Header::new(Algorithm::RS512);
    header.kid = Some(key_a().kid.clone());
    let token = jsonwebtoken::encode(&header, &claims(TENANT), &key_a().encoding).expect("rs512");
    invalid_message(auth(&authenticator, &token).await);
    let mut header = Header::new(Algorithm::PS256);
    header.kid = Some(key_a().kid.clone());
    let token = jsonwebtoken::encode(&header, &claims(TENANT), &key_a().encoding).expect("ps256");
    invalid_message(auth(&authenticator, &token).await);
}

#[tokio::test]
async fn token_signed_by_another_key_with_same_kid_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let token = sign_with_kid(key_c(), Some(&key_a().kid), &claims(TENANT));
    assert_eq!(
        invalid_message(auth(&authenticator, &token).await),
        "invalid signature"
    );
}

#[tokio::test]
async fn unknown_kid_refetches_at_most_once_per_interval() {
    let server = JwksServer::start(&[key_a()]).await;
    // Generous, so a loaded CI machine stays inside it where the test expects to.
    let interval = Duration::from_millis(1500);
    let authenticator = server.authenticator(interval);

    auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("valid");
    assert_eq!(server.fetches(), 1);

    // Right after the initial fetch: still inside the interval, so no refetch.
    let token = sign_with_kid(key_c(), Some("garbage-kid-1"), &claims(TENANT));
    assert_eq!(
        invalid_message(auth(&authenticator, &token).await),
        "unknown signing key id"
    );
    assert_eq!(server.fetches(), 1);

    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let token = sign_with_kid(key_c(), Some("garbage-kid-2"), &claims(TENANT));
    invalid_message(auth(&authenticator, &token).await);
    assert_eq!(server.fetches(), 2, "one refetch after the interval");

    for n in 3..10 {
        let token = sign_with_kid(key_c(), Some(&format!("garbage-kid-{n}")), &claims(TENANT));
        invalid_message(auth(&authenticator, &token).await);
    }
    assert_eq!(server.fetches(), 2, "rate limited within the interval");

    // Known keys keep working throughout.
    auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("valid");
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn unknown_kid_on_cold_start_fetches_once() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for kid in ["nope-1", "nope-2", "nope-3"] {
        let token = sign_with_kid(key_c(), Some(kid), &claims(TENANT));
        invalid_message(auth(&authenticator, &token).await);
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn concurrent_cold_start_fetches_once() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let token = sign(key_a(), &claims(TENANT));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (authenticator, token) = (authenticator.clone(), token.clone());
            tokio::spawn(async move { auth(&authenticator, &token).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("join").expect("valid");
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn key_rotation_is_picked_up_after_refetch() {
    let server = JwksServer::start(&[key_a()]).await;
    let interval = Duration::from_millis(1000);
    let authenticator = server.authenticator(interval);
    auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("old key");

    server.serve_keys(&[key_b()]);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let principal = auth(&authenticator, &sign(key_b(), &claims(TENANT)))
        .await
        .expect("new key after rotation");
    assert_eq!(principal.tenant_id, TENANT);
    assert_eq!(server.fetches(), 2);

    // The retired key is gone from the cache.
    assert_eq!(
        invalid_message(auth(&authenticator, &sign(key_a(), &claims(TENANT))).await),
        "unknown signing key id"
    );
}

#[tokio::test]
async fn token_without_kid_tries_every_key() {
    let server = JwksServer::start(&[key_a(), key_b()]).await;
    let interval = Duration::from_millis(200);
    let authenticator = server.authenticator(interval);
    auth(
        &authenticator,
        &sign_with_kid(key_b(), None, &claims(TENANT)),
    )
    .await
    .expect("second key of the set");
    assert_eq!(
        invalid_message(
            auth(
                &authenticator,
                &sign_with_kid(key_c(), None, &claims(TENANT))
            )
            .await
        ),
        "invalid signature"
    );
    // Claim errors are reported once a key's signature matched.
    let mut c = claims(TENANT);
    c["aud"] = json!("api://other");
    assert_eq!(
        invalid_message(auth(&authenticator, &sign_with_kid(key_a(), None, &c)).await),
        "audience not accepted"
    );

    // Rotation reaches kid-less tokens too (rate-limited like unknown kids).
    server.serve_keys(&[key_c()]);
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let before = server.fetches();
    auth(
        &authenticator,
        &sign_with_kid(key_c(), None, &claims(TENANT)),
    )
    .await
    .expect("rotated key without kid");
    assert_eq!(server.fetches(), before + 1);
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);

    let mut c = claims(TENANT);
    c["exp"] = json!(now() - 300);
    c["nbf"] = json!(now() - 3600);
    assert_eq!(
        invalid_message(auth(&authenticator, &sign(key_a(), &c)).await),
        "token expired"
    );

    let mut c = claims(TENANT);
    c["nbf"] = json!(now() + 300);
    assert_eq!(
        invalid_message(auth(&authenticator, &sign(key_a(), &c)).await),
        "token not yet valid (nbf)"
    );

    // Within the 30 s leeway both are accepted.
    let mut c = claims(TENANT);
    c["exp"] = json!(now() - 10);
    auth(&authenticator, &sign(key_a(), &c))
        .await
        .expect("exp within leeway");
    let mut c = claims(TENANT);
    c["nbf"] = json!(now() + 10);
    auth(&authenticator, &sign(key_a(), &c))
        .await
        .expect("nbf within leeway");

    // exp is required.
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("exp");
    let message = invalid_message(auth(&authenticator, &sign(key_a(), &c)).await);
    assert!(message.contains("exp"), "{message}");
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for aud in [
        json!("api://other"),
        json!(["api://other", "api://stratus2"]),
        json!("API://STRATUS"),
    ] {
        let mut c = claims(TENANT);
        c["aud"] = aud;
        assert_eq!(
            invalid_message(auth(&authenticator, &sign(key_a(), &c)).await),
            "audience not accepted"
        );
    }
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("aud");
    invalid_message(auth(&authenticator, &sign(key_a(), &c)).await);
}

#[tokio::test]
async fn wrong_issuer_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for iss in [
        json!(issuer_for(OTHER_TENANT)),
        json!("https://evil.test/6f1c2a4e-9b3d-4c8e-a1f0-2d3e4f5a6b7c/v2.0"),
        json!(TEMPLATE),
        json!(format!("{}/", issuer_for(TENANT))),
        json!(null),
        json!(42),
    ] {
        let mut c = claims(TENANT);
        c["iss"] = iss;
        assert_eq!(
            invalid_message(auth(&authenticator, &sign(key_a(), &c)).await),
            "issuer not accepted"
        );
    }
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("iss");
    assert_eq!(
        invalid_message(auth(&authenticator, &sign(key_a(), &c)).await),
        "issuer not accepted"
    );
}

#[tokio::test]
async fn issuer_template_accepts_each_tenant_with_its_own_issuer() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for tid in [TENANT, OTHER_TENANT] {
        let principal = auth(&authenticator, &sign(key_a(), &claims(tid)))
            .await
            .expect("tenant accepted");
        assert_eq!(principal.tenant_id, tid);
    }
    // A token for one tenant cannot claim another tenant's issuer.
    let mut c = claims(TENANT);
    c["iss"] = json!(issuer_for(OTHER_TENANT));
    invalid_message(auth(&authenticator, &sign(key_a(), &c)).await);

    // A single-tenant (no placeholder) configuration compares the issuer as is.
    let single = Authenticator::new(AuthConfig {
        issuer: issuer_for(TENANT),
        audience: AUDIENCE.to_owned(),
        jwks_url: server.url.clone(),
        leeway_secs: 30,
        min_refetch_interval: LONG,
        ..AuthConfig::default()
    });
    auth(&single, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("configured tenant");
    assert_eq!(
        invalid_message(auth(&single, &sign(key_a(), &claims(OTHER_TENANT))).await),
        "issuer not accepted"
    );
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let token = sign(key_a(), &claims(TENANT));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);

    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    payload["roles"] = json!(["Provisioning.User.Create", "Stratus.Operator"]);
    let forged = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    assert_eq!(
        invalid_message(auth(&authenticator, &tampered).await),
        "invalid signature"
    );

    // Tampering with the signature itself.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    signature[0] ^= 1;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(signature)
    );
    assert_eq!(
        invalid_message(auth(&authenticator, &tampered).await),
        "invalid signature"
    );
}

#[tokio::test]
async fn missing_tenant_id_is_no_tenant_id() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("tid");
    let result = auth(&authenticator, &sign(key_a(), &c)).await;
    assert!(matches!(result, Err(AuthError::NoTenantId)), "{result:?}");
    assert_eq!(
        result.err().map(|e| e.to_string()).as_deref(),
        Some("No tenant id")
    );

    let mut c = claims(TENANT);
    c["tid"] = json!("");
    let result = auth(&authenticator, &sign(key_a(), &c)).await;
    assert!(matches!(result, Err(AuthError::NoTenantId)), "{result:?}");
}

#[tokio::test]
async fn malformed_tenant_id_is_invalid_tenant_id() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    for tid in [
        json!("contoso"),
        json!("6f1c2a4e9b3d4c8ea1f02d3e4f5a6b7c"),
        json!("{6f1c2a4e-9b3d-4c8e-a1f0-2d3e4f5a6b7c}"),
        json!("6f1c2a4e-9b3d-4c8e-a1f0-2d3e4f5a6b7g"),
        json!(42),
    ] {
        let mut c = claims(TENANT);
        c["tid"] = tid.clone();
        let result = auth(&authenticator, &sign(key_a(), &c)).await;
        assert!(
            matches!(result, Err(AuthError::InvalidTenantId)),
            "{tid}: {result:?}"
        );
    }
}

#[tokio::test]
async fn token_checks_come_before_tenant_checks() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    // An expired token without tid is an invalid token, not "No tenant id".
    let mut c = claims(TENANT);
    c.as_object_mut().expect("object").remove("tid");
    c["exp"] = json!(now() - 300);
    invalid_message(auth(&authenticator, &sign(key_a(), &c)).await);
    // A forged token with a bad tid is an invalid token, not "Invalid tenant id".
    let mut c = claims(TENANT);
    c["tid"] = json!("not-a-guid");
    invalid_message(auth(&authenticator, &sign_with_kid(key_c(), Some("key-a"), &c)).await);
}

#[tokio::test]
async fn unreachable_or_broken_jwks_is_keys_unavailable() {
    let token = sign(key_a(), &claims(TENANT));

    // Nothing listening.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let authenticator = Authenticator::new(AuthConfig {
        issuer: TEMPLATE.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: format!("http://{addr}/keys"),
        leeway_secs: 30,
        min_refetch_interval: LONG,
        ..AuthConfig::default()
    });
    let result = auth(&authenticator, &token).await;
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );

    // Server errors and non-JWKS bodies; the cache stays empty, so each request retries.
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(Duration::ZERO);
    server.serve_raw(500, "{}");
    let result = auth(&authenticator, &token).await;
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    server.serve_raw(200, "<html>not json</html>");
    let result = auth(&authenticator, &token).await;
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(_))),
        "{result:?}"
    );
    assert_eq!(server.fetches(), 2);

    // Once the issuer recovers, tokens validate.
    server.serve_keys(&[key_a()]);
    auth(&authenticator, &token).await.expect("recovered");
    assert_eq!(server.fetches(), 3);

    // After that, a failing refetch keeps the cached keys in service.
    server.serve_raw(503, "");
    let unknown = sign_with_kid(key_c(), Some("unknown"), &claims(TENANT));
    invalid_message(auth(&authenticator, &unknown).await);
    assert_eq!(server.fetches(), 4, "refetch was attempted");
    auth(&authenticator, &token)
        .await
        .expect("cached keys still used");
}

#[tokio::test]
async fn a_hung_issuer_costs_at_most_the_jwks_timeout() {
    let timeout = Duration::from_millis(300);
    let bound = Duration::from_secs(2);
    let server = JwksServer::start(&[key_a()]).await;
    let config = |url: &str| AuthConfig {
        issuer: TEMPLATE.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: url.to_owned(),
        min_refetch_interval: Duration::ZERO,
        jwks_timeout: timeout,
        ..AuthConfig::default()
    };
    let warm = Authenticator::new(config(&server.url));
    let known = sign(key_a(), &claims(TENANT));
    auth(&warm, &known).await.expect("keys fetched");
    server.hang();

    // Known keys keep working without asking the issuer.
    let started = std::time::Instant::now();
    auth(&warm, &known)
        .await
        .expect("cached key still validates");
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());

    // An unknown kid makes a refetch, which gives up at the timeout; the token is refused
    // as unverifiable (401), the cached keys stay.
    let started = std::time::Instant::now();
    let unknown = sign_with_kid(key_b(), Some("rotated-in"), &claims(TENANT));
    let message = invalid_message(auth(&warm, &unknown).await);
    let waited = started.elapsed();
    assert!(message.contains("unknown signing key id"), "{message}");
    assert!(waited >= timeout && waited < bound, "{waited:?}");
    auth(&warm, &known)
        .await
        .expect("cached key still validates");

    // With nothing cached there is nothing to check a token against: keys unavailable
    // (the API answers 503), also within the bound.
    let cold = Authenticator::new(config(&server.url));
    let started = std::time::Instant::now();
    let result = auth(&cold, &known).await;
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(AuthError::KeysUnavailable(ref m)) if m.contains("no answer within")),
        "{result:?}"
    );
    assert!(waited >= timeout && waited < bound, "{waited:?}");
}

#[tokio::test]
async fn a_key_removed_by_the_issuer_stops_working_after_the_maximum_age() {
    let server = JwksServer::start(&[key_a(), key_b()]).await;
    let max_key_age = Duration::from_millis(200);
    let authenticator = Authenticator::new(AuthConfig {
        issuer: TEMPLATE.to_owned(),
        audience: AUDIENCE.to_owned(),
        jwks_url: server.url.clone(),
        min_refetch_interval: Duration::from_millis(100),
        max_key_age,
        ..AuthConfig::default()
    });
    let by_b = sign(key_b(), &claims(TENANT));
    auth(&authenticator, &by_b).await.expect("b is published");
    server.serve_keys(&[key_a()]);
    // Within the maximum age the cached set stands.
    auth(&authenticator, &by_b).await.expect("cached");
    assert_eq!(server.fetches(), 1);

    tokio::time::sleep(max_key_age + Duration::from_millis(50)).await;
    let message = invalid_message(auth(&authenticator, &by_b).await);
    assert!(message.contains("unknown signing key id"), "{message}");
    assert_eq!(server.fetches(), 2);
    auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("a is still published");

    // Past the age with the issuer down, the old set stays in service.
    tokio::time::sleep(max_key_age + Duration::from_millis(50)).await;
    server.serve_raw(503, "");
    auth(&authenticator, &sign(key_a(), &claims(TENANT)))
        .await
        .expect("kept while the issuer is down");
    assert_eq!(server.fetches(), 3, "the refresh was attempted");
}

#[tokio::test]
async fn error_messages_do_not_leak_the_token() {
    let server = JwksServer::start(&[key_a()]).await;
    let authenticator = server.authenticator(LONG);
    let mut c = claims(TENANT);
    c["exp"] = json!(now() - 300);
    let token = sign(key_a(), &c);
    let error = auth(&authenticator, &token).await.expect_err("expired");
    let text = format!("{error} {error:?}");
    for part in token.split('.') {
        assert!(!text.contains(part), "{text}");
    }
}

#[test]
fn config_from_env_reads_the_three_variables() {
    // Only this test touches these variables in this binary.
    std::env::remove_var("STRATUS_AUTH_ISSUER");
    std::env::remove_var("STRATUS_AUTH_AUDIENCE");
    std::env::remove_var("STRATUS_AUTH_JWKS_URL");
    let defaults = AuthConfig::from_env();
    assert_eq!(defaults.issuer, "http://127.0.0.1:9010/{tenantid}/v2.0");
    assert_eq!(defaults.audience, "api://stratus");
    assert_eq!(
        defaults.jwks_url,
        "http://127.0.0.1:9010/discovery/v2.0/keys"
    );
    assert_eq!(defaults.leeway_secs, 30);
    assert_eq!(defaults.min_refetch_interval, Duration::from_secs(30));

    std::env::set_var(
        "STRATUS_AUTH_ISSUER",
        "https://login.microsoftonline.com/{tenantid}/v2.0",
    );
    std::env::set_var("STRATUS_AUTH_AUDIENCE", "api://prod");
    std::env::set_var(
        "STRATUS_AUTH_JWKS_URL",
        "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    );
    let config = AuthConfig::from_env();
    assert_eq!(
        config.issuer,
        "https://login.microsoftonline.com/{tenantid}/v2.0"
    );
    assert_eq!(config.audience, "api://prod");
    assert_eq!(
        config.jwks_url,
        "https://login.microsoftonline.com/common/discovery/v2.0/keys"
    );
    std::env::remove_var("STRATUS_AUTH_ISSUER");
    std::env::remove_var("STRATUS_AUTH_AUDIENCE");
    std::env::remove_var("STRATUS_AUTH_JWKS_URL");
}

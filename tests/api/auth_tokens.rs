//! Authentication and authorization: hostile tokens (401 + `WWW-Authenticate: Bearer`) and the
//! seed's 401/403 family, in the contract's order of checks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};
use stratus_blackbox_tests::*;

// ---- hostile token builders ------------------------------------------------------------------

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.` — an unsigned token (`alg: none`).
fn alg_none(claims: &Value, kid: &str) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": kid });
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// HS256 with the issuer's public key PEM as the HMAC secret (the classic key-confusion attack).
fn hs256_with_public_key(stack: &Stack, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(stack.issuer.kid().to_owned());
    let key = EncodingKey::from_secret(stack.issuer.public_key_pem().as_bytes());
    jsonwebtoken::encode(&header, claims, &key).expect("HS256 signing")
}

/// RS256 by a key the stack does not trust, claiming the trusted key's `kid`.
fn foreign_key_with_trusted_kid(stack: &Stack, claims: &Value) -> String {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key");
    let pem = key.to_pkcs8_pem(LineEnding::LF).expect("PEM");
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA encoding key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(stack.issuer.kid().to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).expect("RS256 signing")
}

/// RS256 by another issuer's key, with that key's own `kid`.
fn foreign_key_own_kid(claims: &Value) -> String {
    let other = DevIssuer::generate().expect("another key");
    other.sign(claims).expect("signing")
}

/// A valid token whose payload is edited afterwards; header and signature are kept.
fn tampered(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS has three parts");
    let payload = URL_SAFE_NO_PAD.decode(parts[1]).expect("payload base64");
    let mut claims: Value = serde_json::from_slice(&payload).expect("payload JSON");
    edit(&mut claims);
    format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    )
}

/// Every hostile `Authorization` header value for a caller that would otherwise be accepted
/// (`good` is the valid spec), with a label for failure messages.
fn hostile_headers(stack: &Stack, good: &TokenSpec) -> Vec<(String, Option<String>)> {
    let claims = good.claims();
    let valid = stack.token(good);
    let bearer = |t: String| Some(format!("Bearer {t}"));
    let mut out = vec![
        ("no Authorization header".to_owned(), None),
        ("empty header".to_owned(), Some(String::new())),
        (
            "Bearer without token".to_owned(),
            Some("Bearer ".to_owned()),
        ),
        ("Bearer garbage".to_owned(), bearer("garbage".to_owned())),
        (
            "three garbage parts".to_owned(),
            bearer("aaaa.bbbb.cccc".to_owned()),
        ),
        (
            "Basic credentials".to_owned(),
            Some(format!("Basic {}", b64(b"app:secret"))),
        ),
        ("valid token without scheme".to_owned(), Some(valid.clone())),
        (
            "alg none".to_owned(),
            bearer(alg_none(&claims, stack.issuer.kid())),
        ),
        (
            "HS256 with the public key PEM as secret".to_owned(),
            bearer(hs256_with_public_key(stack, &claims)),
        ),
        (
            "another key with the trusted kid".to_owned(),
            bearer(foreign_key_with_trusted_kid(stack, &claims)),
        ),
        (
            "another key with its own kid".to_owned(),
            bearer(foreign_key_own_kid(&claims)),
        ),
        (
            "expired".to_owned(),
            bearer(stack.token(&good.clone().lifetime_secs(-600))),
        ),
        (
            "not yet valid".to_owned(),
            bearer(stack.token(&good.clone().not_before_offset_secs(600))),
        ),
        (
            "wrong audience".to_owned(),
            bearer(stack.token(&good.clone().audience("api://someone-else"))),
        ),
        (
            "no audience".to_owned(),
            bearer(stack.token(&good.clone().without("aud"))),
        ),
        (
            "no expiry".to_owned(),
            bearer(stack.token(&good.clone().without("exp"))),
        ),
        (
            "wrong issuer".to_owned(),
            bearer(
                stack.token(
                    &good
                        .clone()
                        .issuer("https://login.evil.example/{tenantid}/v2.0"),
                ),
            ),
        ),
        (
            "issuer of another tenant".to_owned(),
            bearer(
                stack.token(
                    &good
                        .clone()
                        .claim("iss", good.issuer_template.replace("{tenantid}", &new_id())),
                ),
            ),
        ),
        (
            "signature cut off".to_owned(),
            bearer(
                valid
                    .rsplit_once('.')
                    .map(|(h, _)| format!("{h}."))
                    .unwrap_or_default(),
            ),
        ),
    ];
    // Tampered payloads: the signature no longer matches.
    out.push((
        "tampered roles".to_owned(),
        // Minted without roles; the good spec's roles are written in afterwards.
        bearer(tampered(&stack.token(&good.clone().roles(&[])), |c| {
            c["roles"] = json!(good.roles);
        })),
    ));
    out.push((
        "tampered expiry".to_owned(),
        bearer(tampered(
            &stack.token(&good.clone().lifetime_secs(-600)),
            |c| {
                c["exp"] = json!(c["exp"].as_i64().unwrap_or(0) + 7200);
            },
        )),
    ));
    out
}

#[track_caller]
fn assert_rejected_token(reply: &Reply, label: &str) {
    assert_eq!(
        reply.status, 401,
        "{label}: expected 401; {} answered {}: {}",
        reply.what, reply.status, reply.text
    );
    let challenge = reply.header("www-authenticate").unwrap_or("");
    assert!(
        challenge.starts_with("Bearer"),
        "{label}: expected WWW-Authenticate: Bearer..., got {challenge:?}"
    );
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/problem+json"),
        "{label}: expected problem+json, got {content_type:?}: {}",
        reply.text
    );
}

#[tokio::test]
async fn hostile_tokens_are_401_on_reads() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    // Sanity: the good token works.
    stack.license_usage(&t.app_token()).await.assert_status(200);
    for (label, header) in hostile_headers(&stack, &t.app_spec()) {
        let reply = stack
            .send(
                Method::GET,
                LICENSE_USAGE_PATH,
                header.as_deref(),
                Body::None,
            )
            .await;
        assert_rejected_token(&reply, &label);
    }
}

#[tokio::test]
async fn hostile_tokens_are_401_on_create_and_create_nothing() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let mut ids = Vec::new();
    for (label, header) in hostile_headers(&stack, &t.app_spec()) {
        let id = new_id();
        let reply = stack
            .send(
                Method::POST,
                USER_PATH,
                header.as_deref(),
                json!({ "o365Id": id, "organizationUnitId": t.sales_ou }),
            )
            .await;
        assert_rejected_token(&reply, &label);
        ids.push(id);
    }
    for id in ids {
        t.get_user(&id).await.assert_problem(404, USER_NOT_FOUND);
    }
}

#[tokio::test]
async fn hostile_tokens_are_401_on_get_copy_and_delete() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let good = t.app_spec();
    let cases = [
        ("expired", stack.token(&good.clone().lifetime_secs(-600))),
        (
            "wrong audience",
            stack.token(&good.clone().audience("api://x")),
        ),
        ("foreign key", foreign_key_own_kid(&good.claims())),
        ("alg none", alg_none(&good.claims(), stack.issuer.kid())),
    ];
    for (label, token) in &cases {
        let reply = stack.get_user(token, &source).await;
        assert_rejected_token(&reply, label);
        let reply = stack
            .copy_user(
                token,
                json!({ "newO365Id": new_id(), "sourceO365Id": source }),
            )
            .await;
        assert_rejected_token(&reply, label);
        let reply = stack.delete_user(token, &source, None).await;
        assert_rejected_token(&reply, label);
    }
    t.get_user(&source).await.assert_status(200);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn tampered_tenant_is_401() {
    let stack = Stack::from_env();
    let a = TestTenant::create(&stack).await;
    let b = TestTenant::create(&stack).await;
    let id_in_b = b.new_user(&b.sales_ou).await;
    // A's valid token with B's tenant and app swapped into the payload.
    let forged = tampered(&a.app_token(), |c| {
        c["tid"] = json!(b.id);
        c["appid"] = json!(b.app_id);
        c["iss"] = json!(b.app_spec().issuer_template.replace("{tenantid}", &b.id));
    });
    let reply = stack.get_user(&forged, &id_in_b).await;
    assert_rejected_token(&reply, "tampered tid");
}

#[tokio::test]
async fn hostile_tokens_are_401_on_the_admin_api() {
    let stack = Stack::from_env();
    let good = stack.operator_spec();
    for (label, header) in hostile_headers(&stack, &good) {
        let tenant_id = new_id();
        let reply = stack
            .send(
                Method::PUT,
                &tenant_path(&tenant_id),
                header.as_deref(),
                json!({ "name": "Forged" }),
            )
            .await;
        assert_rejected_token(&reply, &label);
        // Nothing was created: a real operator creating it gets 201, not 200.
        stack
            .put_tenant(
                &stack.operator_token(),
                &tenant_id,
                json!({ "name": "Real" }),
            )
            .await
            .assert_status(201);
    }
    // A tenant admin's token turned into an operator's by editing the payload.
    let t = TestTenant::create(&stack).await;
    let forged = tampered(&t.admin_token(), |c| {
        c["tid"] = json!(stack.operator_tenant_id);
        c["roles"] = json!([ROLE_OPERATOR]);
        c["iss"] = json!(good
            .issuer_template
            .replace("{tenantid}", &stack.operator_tenant_id));
    });
    let reply = stack.put_provisioning(&forged, &t.id, false).await;
    assert_rejected_token(&reply, "tampered operator");
    stack.license_usage(&t.app_token()).await.assert_status(200);
}

#[tokio::test]
async fn leeway_of_thirty_seconds_is_tolerated() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    // Expired 10 s ago, valid from 10 s in the future: both inside the 30 s leeway.
    let token = t.token(&t.app_spec().lifetime_secs(-10));
    stack.license_usage(&token).await.assert_status(200);
    let token = t.token(&t.app_spec().not_before_offset_secs(10));
    stack.license_usage(&token).await.assert_status(200);
}

#[tokio::test]
async fn audience_may_be_an_array() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.token(&t.app_spec().claim(
        "aud",
        json!(["api://other", stratus_dev_issuer::DEV_AUDIENCE]),
    ));
    stack.license_usage(&token).await.assert_status(200);
}

// ---- the seed's 401/403 family ---------------------------------------------------------------

/// A claim the seed checks, missing or naming nothing Stratus knows: refused with the seed's
/// words, on a read and on a write alike.
#[tokio::test]
async fn missing_or_unknown_claims_are_refused_with_the_seeds_words() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let spec = t.app_spec();
    let usage = |spec: TokenSpec| Request::license_usage(&t.token(&spec));
    let create = |token: &str| {
        Request::create_user(
            token,
            json!({ "o365Id": new_id(), "organizationUnitId": t.sales_ou }),
        )
    };
    let no_such_tenant = t.token(&spec.clone().tenant(new_id()));
    let no_user = t.token(&spec.clone().without("oid"));
    let unregistered_app = new_id();
    let unregistered = t.token_for_app(&unregistered_app);
    let cases = vec![
        (
            "no tid",
            usage(spec.clone().no_tenant()),
            401,
            Detail::is("No tenant id"),
        ),
        (
            "empty tid",
            usage(spec.clone().claim("tid", "")),
            401,
            Detail::is("No tenant id"),
        ),
        (
            "tid not a GUID",
            usage(spec.clone().tenant("contoso")),
            401,
            Detail::is("Invalid tenant id"),
        ),
        (
            "tid of no tenant",
            Request::license_usage(&no_such_tenant),
            401,
            Detail::is("Invalid tenant id"),
        ),
        (
            "tid of no tenant, creating",
            create(&no_such_tenant),
            401,
            Detail::is("Invalid tenant id"),
        ),
        (
            "no app id",
            usage(spec.clone().no_app()),
            401,
            Detail::is("No app id"),
        ),
        (
            "app id not a GUID",
            usage(spec.clone().app("my-provisioning-app")),
            401,
            Detail::is("Invalid app id"),
        ),
        (
            "no oid",
            Request::license_usage(&no_user),
            403,
            Detail::is("No authenticated user"),
        ),
        (
            "no oid, creating",
            create(&no_user),
            403,
            Detail::is("No authenticated user"),
        ),
        (
            "app without a permission",
            Request::license_usage(&unregistered),
            401,
            Detail::is(no_app_permission(&unregistered_app)),
        ),
        (
            "app without a permission, creating",
            create(&unregistered),
            401,
            Detail::is(no_app_permission(&unregistered_app)),
        ),
    ];
    stack.assert_refusals(cases).await;
}

#[tokio::test]
async fn azp_is_accepted_as_the_app_id() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.token(&t.app_spec().no_app().claim("azp", t.app_id.clone()));
    stack.license_usage(&token).await.assert_status(200);
}

#[tokio::test]
async fn sub_stands_in_for_a_missing_oid() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.token(&t.app_spec().without("oid").claim("sub", new_id()));
    stack.license_usage(&token).await.assert_status(200);
}

#[tokio::test]
async fn each_operation_requires_its_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let all_but = |role: &str| -> String {
        let roles: Vec<&str> = ALL_PROVISIONING_ROLES
            .iter()
            .copied()
            .filter(|r| *r != role)
            .collect();
        t.app_token_with_roles(&roles)
    };

    let new = new_id();
    stack
        .create_user(
            &all_but(ROLE_CREATE),
            json!({ "o365Id": new, "organizationUnitId": t.sales_ou }),
        )
        .await
        .assert_problem(401, ROLE_MISSING);
    stack
        .get_user(&all_but(ROLE_READ), &source)
        .await
        .assert_problem(401, ROLE_MISSING);
    stack
        .license_usage(&all_but(ROLE_TENANT_READ))
        .await
        .assert_problem(401, ROLE_MISSING);
    stack
        .copy_user(
            &all_but(ROLE_CREATE),
            json!({ "newO365Id": new, "sourceO365Id": source }),
        )
        .await
        .assert_problem(401, ROLE_MISSING);
    stack
        .delete_user(&all_but(ROLE_DELETE), &source, None)
        .await
        .assert_problem(401, ROLE_MISSING);

    // The read role alone cannot create; no roles at all can do nothing.
    let read_only = t.app_token_with_roles(&[ROLE_READ]);
    stack
        .create_user(
            &read_only,
            json!({ "o365Id": new, "organizationUnitId": t.sales_ou }),
        )
        .await
        .assert_problem(401, ROLE_MISSING);
    stack.get_user(&read_only, &source).await.assert_status(200);
    let no_roles = t.token(&t.app_spec().roles(&[]));
    stack
        .license_usage(&no_roles)
        .await
        .assert_problem(401, ROLE_MISSING);
    // Admin roles are not provisioning roles.
    let admin_roles = t.app_token_with_roles(&[ROLE_TENANT_ADMIN, ROLE_OPERATOR]);
    stack
        .license_usage(&admin_roles)
        .await
        .assert_problem(401, ROLE_MISSING);

    // Nothing happened.
    t.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    t.get_user(&source).await.assert_status(200);
    // Each role alone is enough for its operation.
    stack
        .create_user(
            &t.app_token_with_roles(&[ROLE_CREATE]),
            json!({ "o365Id": new, "organizationUnitId": t.sales_ou }),
        )
        .await
        .assert_status(200);
    stack
        .delete_user(&t.app_token_with_roles(&[ROLE_DELETE]), &new, None)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn provisioning_api_disabled_by_admin_is_401() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    t.set_provisioning(false).await;
    t.license_usage()
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
    t.get_user(&id)
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
    t.create_user(&new_id(), &t.sales_ou)
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
    t.delete_user(&id, None)
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
    t.set_provisioning(true).await;
    t.get_user(&id).await.assert_status(200);
}

#[tokio::test]
async fn a_new_tenant_has_the_provisioning_api_off() {
    let stack = Stack::from_env();
    let tenant_id = new_id();
    let operator = stack.operator_token();
    stack
        .put_tenant(&operator, &tenant_id, json!({ "name": "Fresh" }))
        .await
        .assert_status(201);
    let token = stack.app_token(&tenant_id, &new_id(), &ALL_PROVISIONING_ROLES);
    stack
        .license_usage(&token)
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
}

#[tokio::test]
async fn removed_app_permission_is_401() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    t.license_usage().await.assert_status(200);
    stack
        .delete_app_permission(&t.admin_token(), &t.app_id)
        .await
        .assert_status(204);
    t.license_usage()
        .await
        .assert_problem(401, &no_app_permission(&t.app_id));
}

// ---- order of checks --------------------------------------------------------------------------

/// Two faults at once: the answer names the one the contract checks first (each case is
/// named "first before second" by the contract's step numbers).
#[tokio::test]
async fn checks_run_in_the_contract_order() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let spec = t.app_spec();
    let usage = |spec: TokenSpec| Request::license_usage(&t.token(&spec));
    let unregistered = new_id();
    let cases = vec![
        (
            "2 before 3: no tid and no app id",
            usage(spec.clone().no_tenant().no_app()),
            401,
            Detail::is("No tenant id"),
        ),
        (
            "2 before 3: bad tid and no app id",
            usage(spec.clone().tenant("x").no_app()),
            401,
            Detail::is("Invalid tenant id"),
        ),
        (
            "3 before 4: no app id and no user",
            usage(spec.clone().no_app().without("oid")),
            401,
            Detail::is("No app id"),
        ),
        (
            "3 before 4: bad app id and no user",
            usage(spec.clone().app("x").without("oid")),
            401,
            Detail::is("Invalid app id"),
        ),
        (
            "4 before 5: no user and no role",
            usage(spec.clone().without("oid").roles(&[])),
            403,
            Detail::is("No authenticated user"),
        ),
        (
            "5 before 6: no role and an unknown tenant",
            usage(spec.clone().tenant(new_id()).roles(&[])),
            401,
            Detail::is(ROLE_MISSING),
        ),
        (
            "6 before 8: unknown tenant and an unregistered app",
            usage(spec.clone().tenant(new_id()).app(new_id())),
            401,
            Detail::is("Invalid tenant id"),
        ),
        (
            "8 before 9: an unregistered app with a bad body",
            Request::create_user(
                &t.token_for_app(&unregistered),
                json!({ "o365Id": "bad", "organizationUnitId": "bad" }),
            ),
            401,
            Detail::is(no_app_permission(&unregistered)),
        ),
        (
            "5 before 9: missing role with a bad body",
            Request::create_user(
                &t.app_token_with_roles(&[ROLE_READ]),
                json!({ "o365Id": "bad" }),
            ),
            401,
            Detail::is(ROLE_MISSING),
        ),
        (
            "9 before 11: a bad o365Id in an OU outside the scope",
            Request::create_user(
                &t.app_token(),
                json!({ "o365Id": "bad", "organizationUnitId": t.support_ou }),
            ),
            400,
            Detail::is("\"o365Id\" must be a GUID"),
        ),
    ];
    stack.assert_refusals(cases).await;

    // 7 before 8: disabled tenant and an unregistered app.
    t.set_provisioning(false).await;
    stack
        .license_usage(&t.token_for_app(&new_id()))
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
}

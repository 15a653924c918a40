//! What goes into a dev token.

use serde_json::{Map, Value};

use crate::{issuer_template, DEV_AUDIENCE, DEV_OPERATOR_TENANT_ID, PROVISIONING_ROLES};

/// The claims of a token to mint, built with the setters below.
///
/// `iss` is `issuer_template` with `{tenantid}` replaced by `tenant_id` (left as is when there
/// is none). `extra` is merged last: it can add claims, override the computed ones, and a
/// `null` value removes a claim (e.g. `.without("oid")`).
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub issuer_template: String,
    pub audience: String,
    pub tenant_id: Option<String>,
    pub app_id: Option<String>,
    pub object_id: Option<String>,
    pub roles: Vec<String>,
    pub lifetime_secs: i64,
    pub not_before_offset_secs: i64,
    pub extra: Map<String, Value>,
}

impl TokenSpec {
    /// A token of the dev issuer on `port` for [`DEV_AUDIENCE`], valid for an hour from now,
    /// with a fresh random `oid` and no tenant, app or roles.
    pub fn new(port: u16) -> Self {
        Self {
            issuer_template: issuer_template(port),
            audience: DEV_AUDIENCE.to_owned(),
            tenant_id: None,
            app_id: None,
            object_id: Some(uuid::Uuid::new_v4().to_string()),
            roles: Vec::new(),
            lifetime_secs: 3600,
            not_before_offset_secs: 0,
            extra: Map::new(),
        }
    }

    /// The platform operator: operator tenant, role `Stratus.Operator`.
    pub fn operator(port: u16) -> Self {
        Self::new(port)
            .tenant(DEV_OPERATOR_TENANT_ID)
            .roles(&[crate::ROLE_OPERATOR])
    }

    /// An administrator of `tenant_id`: role `Tenant.Admin`.
    pub fn tenant_admin(port: u16, tenant_id: &str) -> Self {
        Self::new(port)
            .tenant(tenant_id)
            .roles(&[crate::ROLE_TENANT_ADMIN])
    }

    /// A provisioning app of `tenant_id` holding all four provisioning roles.
    pub fn provisioning_app(port: u16, tenant_id: &str, app_id: &str) -> Self {
        Self::new(port)
            .tenant(tenant_id)
            .app(app_id)
            .roles(&PROVISIONING_ROLES)
    }

    pub fn issuer(mut self, template: impl Into<String>) -> Self {
        self.issuer_template = template.into();
        self
    }

    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    pub fn no_tenant(mut self) -> Self {
        self.tenant_id = None;
        self
    }

    pub fn app(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    pub fn no_app(mut self) -> Self {
        self.app_id = None;
        self
    }

    pub fn object_id(mut self, oid: impl Into<String>) -> Self {
        self.object_id = Some(oid.into());
        self
    }

    pub fn no_object_id(mut self) -> Self {
        self.object_id = None;
        self
    }

    pub fn roles(mut self, roles: &[&str]) -> Self {
        self.roles = roles.iter().map(|role| (*role).to_owned()).collect();
        self
    }

    /// Seconds from now until `exp` (negative: already expired).
    pub fn lifetime_secs(mut self, secs: i64) -> Self {
        self.lifetime_secs = secs;
        self
    }

    /// Seconds from now until `nbf` (positive: not yet valid).
    pub fn not_before_offset_secs(mut self, secs: i64) -> Self {
        self.not_before_offset_secs = secs;
        self
    }

    /// Sets (or overrides) a claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Removes a claim, computed ones included.
    pub fn without(mut self, name: impl Into<String>) -> Self {
        self.extra.insert(name.into(), Value::Null);
        self
    }

    /// The claims as they will be signed, timed from now.
    pub fn claims(&self) -> Value {
        self.claims_at(unix_now())
    }

    fn claims_at(&self, now: i64) -> Value {
        let mut claims = Map::new();
        let iss = match &self.tenant_id {
            Some(tid) => self.issuer_template.replace("{tenantid}", tid),
            None => self.issuer_template.clone(),
        };
        claims.insert("iss".into(), iss.into());
        claims.insert("aud".into(), self.audience.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert(
            "nbf".into(),
            now.saturating_add(self.not_before_offset_secs).into(),
        );
        claims.insert("exp".into(), now.saturating_add(self.lifetime_secs).into());
        if let Some(tid) = &self.tenant_id {
            claims.insert("tid".into(), tid.clone().into());
        }
        if let Some(app) = &self.app_id {
            claims.insert("appid".into(), app.clone().into());
        }
        if let Some(oid) = &self.object_id {
            claims.insert("oid".into(), oid.clone().into());
        }
        // Entra leaves `roles` out when none are assigned.
        if !self.roles.is_empty() {
            claims.insert("roles".into(), self.roles.clone().into());
        }
        for (name, value) in &self.extra {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
        Value::Object(claims)
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_the_spec() {
        let spec = TokenSpec::new(9010)
            .tenant("t-1")
            .app("a-1")
            .object_id("o-1")
            .roles(&["R1", "R2"])
            .lifetime_secs(60)
            .not_before_offset_secs(-5);
        let claims = spec.claims_at(1000);
        assert_eq!(
            claims,
            serde_json::json!({
                "iss": "http://127.0.0.1:9010/t-1/v2.0",
                "aud": "api://stratus",
                "iat": 1000, "nbf": 995, "exp": 1060,
                "tid": "t-1", "appid": "a-1", "oid": "o-1",
                "roles": ["R1", "R2"],
            })
        );
    }

    #[test]
    fn extra_overrides_and_null_removes() {
        let spec = TokenSpec::new(9010)
            .tenant("t-1")
            .claim("azp", "a-2")
            .claim("aud", "api://other")
            .without("oid")
            .without("nbf");
        let claims = spec.claims_at(1000);
        assert_eq!(claims["azp"], "a-2");
        assert_eq!(claims["aud"], "api://other");
        assert!(claims.get("oid").is_none());
        assert!(claims.get("nbf").is_none());
        assert!(claims.get("appid").is_none());
        assert!(claims.get("roles").is_none());
    }

    #[test]
    fn without_tenant_the_template_stays() {
        let claims = TokenSpec::new(9011).claims_at(0);
        assert_eq!(claims["iss"], "http://127.0.0.1:9011/{tenantid}/v2.0");
        assert!(claims.get("tid").is_none());
        assert!(uuid::Uuid::parse_str(claims["oid"].as_str().unwrap()).is_ok());
    }

    #[test]
    fn presets() {
        let op = TokenSpec::operator(9010).claims_at(0);
        assert_eq!(op["tid"], DEV_OPERATOR_TENANT_ID);
        assert_eq!(op["roles"], serde_json::json!(["Stratus.Operator"]));
        let app = TokenSpec::provisioning_app(9010, "t", "a").claims_at(0);
        assert_eq!(app["roles"].as_array().unwrap().len(), 4);
        assert_eq!(app["appid"], "a");
    }
}

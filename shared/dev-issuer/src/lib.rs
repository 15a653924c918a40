//! A local stand-in for the Entra ID token issuer, for development and tests.
//!
//! It owns one RSA signing key (kept in a PEM file so tokens minted by one process verify
//! in another), publishes it as a JWKS document, mints RS256 tokens with the claims the
//! Stratus API reads (`iss`, `aud`, `tid`, `appid`, `oid`, `roles`, …), and serves the
//! JWKS and an OpenID configuration from a tiny HTTP server on the loopback interface.
//! Nothing here is used in production: the deployed stack trusts Entra's keys.

mod issuer;
mod server;
mod token;

pub use issuer::DevIssuer;
pub use server::serve_jwks;
pub use token::TokenSpec;

/// Port the dev issuer listens on for `cargo xtask dev`.
pub const DEV_ISSUER_PORT: u16 = 9010;
/// Audience the local stack accepts.
pub const DEV_AUDIENCE: &str = "api://stratus";
// The role names and the operator tenant are defined once, in `stratus-ids`; re-exported
// under the names the tools and tests use.
pub use stratus_ids::roles::{
    OPERATOR as ROLE_OPERATOR, PROVISIONING as PROVISIONING_ROLES,
    TENANT_ADMIN as ROLE_TENANT_ADMIN,
};
pub use stratus_ids::DEV_OPERATOR_TENANT_ID;

/// The accepted issuer for a dev issuer on `port`; `{tenantid}` is replaced by the token's `tid`.
pub fn issuer_template(port: u16) -> String {
    format!("http://127.0.0.1:{port}/{{tenantid}}/v2.0")
}

/// Where the dev issuer on `port` publishes its signing keys.
pub fn jwks_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/discovery/v2.0/keys")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_entra_shape() {
        assert_eq!(
            issuer_template(9010),
            "http://127.0.0.1:9010/{tenantid}/v2.0"
        );
        assert_eq!(jwks_url(9011), "http://127.0.0.1:9011/discovery/v2.0/keys");
    }
}

//! Key builders for the single table. Every item of a tenant's configuration lives in the
//! tenant's partition (`TENANT#<tid>`), so one query or batch read serves an operation;
//! audit records and rate-limit logs get partitions of their own so they never crowd it.

use stratus_domain::Guid;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// DynamoDB TTL attribute (epoch seconds), as declared in infra/template.yaml.
pub const EXPIRES_AT: &str = "expiresAt";

pub fn tenant_pk(tenant: &Guid) -> String {
    format!("TENANT#{tenant}")
}
pub const TENANT_SK: &str = "TENANT";

pub fn user_sk(user: &Guid) -> String {
    format!("USER#{user}")
}
/// Prefix of a user's item and everything hanging off it (service memberships).
pub fn user_prefix(user: &Guid) -> String {
    format!("USER#{user}")
}
pub fn ou_sk(ou: &Guid) -> String {
    format!("OU#{ou}")
}
pub const OU_PREFIX: &str = "OU#";
pub fn skill_sk(skill: &Guid) -> String {
    format!("SKILL#{skill}")
}
pub fn skill_name_sk(name: &str) -> String {
    format!("SKILLNAME#{}", name.to_lowercase())
}
pub fn rate_pk(tenant: &Guid, app_id: &str) -> String {
    format!("RATE#{tenant}#{}", app_id.to_ascii_lowercase())
}
pub const RATE_SK: &str = "RATE";
pub fn audit_pk(tenant: &Guid) -> String {
    format!("AUDIT#{tenant}")
}
pub fn audit_sk(at: &str) -> String {
    format!("{at}#{}", uuid::Uuid::new_v4())
}

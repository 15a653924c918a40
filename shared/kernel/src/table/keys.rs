//! Key builders for the single table. Every item of a tenant's configuration lives in the
//! tenant's partition (`TENANT#<tid>`), so one query or batch read serves an operation;
//! audit records and rate-limit logs get partitions of their own so they never crowd it.

use crate::Guid;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
/// DynamoDB TTL attribute (epoch seconds), as declared in infra/template.yaml.
pub const EXPIRES_AT: &str = "expiresAt";

pub fn tenant_pk(tenant: &Guid) -> String {
    format!("TENANT#{tenant}")
}
pub const TENANT_SK: &str = "TENANT";
/// The tenant's extension settings, one item (see `crate::settings`).
pub const SETTINGS_SK: &str = "SETTINGS";

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

/// One version of a tenant's routing-policy plugin (metadata only), in the tenant partition;
/// versions sort numerically within a plugin.
pub fn plugin_version_sk(name: &str, version: u32) -> String {
    format!("PLUGIN#{name}#V#{version:010}")
}
pub const PLUGIN_VERSION_PREFIX: &str = "PLUGIN#";
pub fn plugin_versions_prefix(name: &str) -> String {
    format!("PLUGIN#{name}#V#")
}
/// The newest version number a plugin has handed out (never reused, even after deletes).
pub fn plugin_head_sk(name: &str) -> String {
    format!("PLUGINHEAD#{name}")
}
/// A plugin version's bytes (source and precompiled artifact), chunked, in a partition of
/// their own so megabytes never crowd the tenant partition; deleting the version empties it.
pub fn plugin_blob_pk(tenant: &Guid, name: &str, version: u32) -> String {
    format!("PLUGINBLOB#{tenant}#{name}#{version}")
}
/// Chunk `index` of the blob with this kind and sha256, written by upload `upload` (each
/// upload attempt its own, so two uploads racing for a number never share a chunk item);
/// versions stored before uploads had ids have none.
pub fn plugin_chunk_sk(kind: &str, upload: Option<&str>, sha256: &str, index: usize) -> String {
    format!("{}{index:05}", plugin_blob_prefix(kind, upload, sha256))
}
pub fn plugin_blob_prefix(kind: &str, upload: Option<&str>, sha256: &str) -> String {
    match upload {
        Some(upload) => format!("{kind}#{upload}#{sha256}#"),
        None => format!("{kind}#{sha256}#"),
    }
}

/// A service (queue) of the tenant, in the tenant partition.
pub fn service_sk(service: &Guid) -> String {
    format!("SERVICE#{service}")
}
pub const SERVICE_PREFIX: &str = "SERVICE#";
/// Holds a service's UPN (SIP address), case-insensitively unique per tenant.
pub fn service_upn_sk(upn: &str) -> String {
    format!("SERVICEUPN#{}", upn.to_lowercase())
}

/// Every Teams-based service of every tenant, in a partition of its own, so the scheduled
/// roster sync finds them with one paginated query instead of a scan of the table.
pub const TEAMS_SERVICES_PK: &str = "TEAMSSERVICES";
pub fn teams_service_sk(tenant: &Guid, service: &Guid) -> String {
    format!("{tenant}#{service}")
}

/// Every tenant that has (or had) a service member, in a partition of its own: the tenants
/// whose agents' presence Stratus subscribes to. Written with each new membership.
pub const PRESENCE_TENANTS_PK: &str = "PRESENCETENANTS";
pub fn presence_tenant_sk(tenant: &Guid) -> String {
    tenant.to_string()
}
/// A Graph presence subscription of the tenant, by Graph's subscription id.
pub fn presence_subscription_sk(id: &str) -> String {
    format!("PRESENCESUB#{id}")
}
pub const PRESENCE_SUBSCRIPTION_PREFIX: &str = "PRESENCESUB#";
/// Per-tenant counters of presence notifications refused or ignored.
pub const PRESENCE_COUNTERS_SK: &str = "PRESENCECOUNTERS";

/// Prefix of every membership of the tenant (all services).
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// The user of a service-side membership key.
pub fn member_of_member_sk(sk: &str) -> Option<Guid> {
    let (_service, user) = sk.strip_prefix(MEMBER_PREFIX)?.split_once('#')?;
    Guid::parse(user)
}

/// A responsibility profile (which services' tasks an agent on it takes).
pub fn profile_sk(profile: &Guid) -> String {
    format!("PROFILE#{profile}")
}
pub const PROFILE_PREFIX: &str = "PROFILE#";
/// A not-available reason an agent can give.
pub fn na_reason_sk(reason: &Guid) -> String {
    format!("NAREASON#{reason}")
}
pub const NA_REASON_PREFIX: &str = "NAREASON#";

/// An agent of a service, under the service (who serves it: one query per service)...
pub fn member_sk(service: &Guid, user: &Guid) -> String {
    format!("MEMBER#{service}#{user}")
}
pub fn members_prefix(service: &Guid) -> String {
    format!("MEMBER#{service}#")
}
/// ...and its mirror under the user, which deleting the user finds with the user's own item
/// (one query, however many services the user serves).
pub fn user_membership_sk(user: &Guid, service: &Guid) -> String {
    format!("USER#{user}#MEMBER#{service}")
}
/// The service-side key of a membership, from its user-side key; `None` for any other key.
pub fn member_sk_of_user_membership(sk: &str) -> Option<String> {
    let (user, service) = sk.strip_prefix("USER#")?.split_once("#MEMBER#")?;
    Some(format!("MEMBER#{service}#{user}"))
}

/// An agent's own partition: its live state (presence, duty) and the history of it, apart
/// from the tenant's so that frequent state changes spread over many partition keys.
pub fn agent_pk(tenant: &Guid, user: &Guid) -> String {
    format!("AGENT#{tenant}#{user}")
}
pub const AGENT_STATE_SK: &str = "STATE";
pub fn state_history_sk(at: &str) -> String {
    format!("{STATE_HISTORY_PREFIX}{at}#{}", uuid::Uuid::new_v4())
}
pub const STATE_HISTORY_PREFIX: &str = "HISTORY#";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_membership_is_found_from_either_side() {
        let (user, service) = (Guid::new_random(), Guid::new_random());
        assert_eq!(
            member_sk_of_user_membership(&user_membership_sk(&user, &service)),
            Some(member_sk(&service, &user))
        );
        assert!(member_sk(&service, &user).starts_with(&members_prefix(&service)));
        assert_eq!(member_sk_of_user_membership(&user_sk(&user)), None);
        assert_eq!(member_of_member_sk(&member_sk(&service, &user)), Some(user));
        assert_eq!(member_of_member_sk("MEMBER#x"), None);
    }
}

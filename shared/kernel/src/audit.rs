//! Audit records: who changed what, when. Every mutation writes one in the same
//! transaction as the change itself.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub tenant_id: String,
    /// `app:<appId>` for application tokens, `user:<oid>` for delegated ones.
    pub actor: String,
    /// Dotted verb, e.g. `user.create`, `tenant.licenses.set`.
    pub action: String,
    /// What the action was applied to, e.g. `user:<o365Id>`.
    pub target: String,
    /// RFC 3339 UTC.
    pub at: String,
    /// Small JSON describing the change (never secrets).
    pub detail: serde_json::Value,
}

/// A record of `action` by `actor` on `target`, stamped now.
pub fn audit_record(
    tenant: &crate::Guid,
    actor: &str,
    action: &str,
    target: String,
    detail: serde_json::Value,
) -> AuditRecord {
    AuditRecord {
        tenant_id: tenant.to_string(),
        actor: actor.to_string(),
        action: action.to_string(),
        target,
        at: crate::clock::now_rfc3339(),
        detail,
    }
}

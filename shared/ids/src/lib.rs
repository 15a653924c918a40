//! The identifiers every part of Stratus agrees on — GUIDs as Entra ID writes them, the
//! role names tokens carry, the operator tenant of the local stack — in a crate with no
//! other dependencies, so the token validator, the kernel and the dev issuer share one
//! definition of each.

mod guid;
pub mod roles;

pub use guid::Guid;

/// The operator tenant of the local stack and the tests: its `Stratus.Operator` role counts
/// there. Deployments name their own (`STRATUS_OPERATOR_TENANT_ID`).
pub const DEV_OPERATOR_TENANT_ID: &str = "00000000-0000-4000-8000-00000000a1a1";

//! The Stratus kernel: what every feature builds on and nothing more.
//!
//! - identifiers ([`Guid`], re-exported from `stratus-ids`) and the tenant basics every
//!   feature reads: the [`Tenant`] record with its licence contingents, [`OrganizationUnit`]s,
//!   the [`User`] record;
//! - the tenant's extension [`settings`] (outbound limit, presence tracking, who may
//!   provision, …), which several features obey and one changes;
//! - the [`audit`] record every change writes with itself;
//! - the single DynamoDB [`table`]: client, bounds, keys, item mapping, the shared reads,
//!   and the transaction builder ([`table::Change`]) with its cancellation-reason mapping;
//! - [`access`]: the validated token and the operator and tenant-admin roles;
//! - [`Incoming`] (a request without HTTP types, its body parsed lazily), [`fields`] for
//!   reading JSON bodies, and [`Problem`], through which any feature's error becomes
//!   problem+json;
//! - [`run`], a function's whole `main`.
//!
//! Feature crates (provisioning, tenant administration, plugin administration, …) own
//! their operations, item kinds, errors and rules; they depend on this crate, never on each
//! other.

pub mod access;
pub mod audit;
pub mod clock;
pub mod error;
pub mod fields;
mod http;
mod kernel;
pub mod license;
pub mod organization;
pub mod presence;
mod request;
pub mod settings;
pub mod table;
pub mod tenant;
pub mod user;

pub use error::{Error, Problem};
pub use http::{run, run_scheduled, BoxError, Reply};
pub use kernel::{retry_on_race, Kernel, Settings};
pub use lambda_http::http::StatusCode;
pub use license::{LicenseCount, LicenseType, LicenseUsage};
pub use organization::OrganizationUnit;
pub use request::{Incoming, DEFAULT_JSON_LIMIT_BYTES};
pub use stratus_auth;
pub use stratus_ids::{roles, Guid};
pub use tenant::Tenant;
pub use user::User;

//! Stratus domain: the product's pure types and rules — tenants, organization units,
//! licences, users and their copy/patch semantics, the provisioning rate-limit schedule,
//! audit records — and the one typed error enum every layer reports through. No AWS, HTTP
//! or async runtime here: everything is unit-tested without I/O.

pub mod audit;
pub mod error;
pub mod fields;
pub mod guid;
pub mod license;
pub mod organization;
pub mod rate_limit;
pub mod tenant;
pub mod user;

pub use error::Error;
pub use guid::Guid;
pub use license::{LicenseCount, LicenseType, LicenseUsage};
pub use organization::OrganizationUnit;
pub use tenant::Tenant;
pub use user::{AssignmentType, User, UserPatch};

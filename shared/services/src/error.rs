//! What the service operations answer when they refuse a request.

use stratus_kernel::{Error, Problem, StatusCode};

use crate::service::AssignmentType;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    #[error("Service {0} was not found")]
    NotFound(String),
    /// 409: the UPN (SIP address) is another service's.
    #[error("Another service of this tenant has the UPN {0}")]
    UpnTaken(String),
    /// 409: the seed's rule, "never switchable".
    #[error(
        "The user assignment type is fixed when a service is created; this service stays {}",
        .current.id()
    )]
    AssignmentTypeFixed { current: AssignmentType },
    /// 409: the tenant's data region was chosen with its first service.
    #[error("The tenant's data region is {current} and can never change")]
    RegionFixed { current: String },
    /// 400: the tenant has no region yet, so its first service has to name one.
    #[error("\"region\" is required for the tenant's first service: one of {}", .known.join(", "))]
    RegionRequired { known: Vec<String> },
    /// 400: not one of the configured regions.
    #[error("\"region\" {given:?} is not a region (one of {})", .known.join(", "))]
    UnknownRegion { given: String, known: Vec<String> },
    /// 400: the seed's feature matrix.
    #[error("A Teams-based service is named after its team; its name cannot be edited")]
    NameFromTeam,
    /// 400: Teams-based services are provisioned from their team.
    #[error(
        "A Teams-based service is provisioned from its team: POST /api/admin/services/from-team"
    )]
    TeamsBasedFromTeamOnly,
    /// 400: agents are assigned one by one only to skill-based services (the seed).
    #[error(
        "Agents are assigned to skill-based services only; this service is {}",
        .current.id()
    )]
    AgentsOnSkillBasedOnly { current: AssignmentType },
    /// 400: only users with a Contact Center licence can be agents.
    #[error("User {0} has no Contact Center license; only licensed users can be agents")]
    AgentWithoutContactCenterLicense(String),
    /// 404: the user is not an agent of the service.
    #[error("User {user} is not an agent of service {service}")]
    NotAnAgent { service: String, user: String },
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for ServiceError {
    fn status(&self) -> StatusCode {
        match self {
            ServiceError::NotFound(_) | ServiceError::NotAnAgent { .. } => StatusCode::NOT_FOUND,
            ServiceError::UpnTaken(_)
            | ServiceError::AssignmentTypeFixed { .. }
            | ServiceError::RegionFixed { .. } => StatusCode::CONFLICT,
            ServiceError::RegionRequired { .. }
            | ServiceError::UnknownRegion { .. }
            | ServiceError::NameFromTeam
            | ServiceError::TeamsBasedFromTeamOnly
            | ServiceError::AgentsOnSkillBasedOnly { .. }
            | ServiceError::AgentWithoutContactCenterLicense(_) => StatusCode::BAD_REQUEST,
            ServiceError::Kernel(e) => e.status(),
        }
    }

    fn as_kernel(&self) -> Option<&Error> {
        match self {
            ServiceError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

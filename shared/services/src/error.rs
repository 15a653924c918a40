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
    /// 403: the tenant setting (SPEC §4, seed: Tenant Administration > Provisioning).
    #[error(
        "Provisioning services from teams is disabled for this tenant (tenant setting \
         serviceProvisioning.minimumRole is Disabled)"
    )]
    ProvisioningDisabled,
    /// 403: the tenant setting asks for a tenant admin.
    #[error(
        "Only tenant administrators may provision services from teams (tenant setting \
         serviceProvisioning.minimumRole is TenantAdmin)"
    )]
    ProvisioningNeedsTenantAdmin,
    /// 400: the body's team is not one Microsoft Graph knows in this tenant.
    #[error("\"teamId\" {0} is not a team of this tenant in Microsoft Teams")]
    TeamNotFound(String),
    /// 409: the service's team was deleted (or left the tenant) since it was provisioned.
    #[error("The service's team {0} no longer exists in Microsoft Teams")]
    TeamGone(String),
    /// 400: only Teams-based services have a roster to sync.
    #[error("Only Teams-based services sync with a team; this service is {}", .current.id())]
    NotTeamsBased { current: AssignmentType },
    /// 400: the seed's feature matrix: no distribution on services without users.
    #[error("Services with user assignment type None have no distribution settings")]
    NoDistributionOnNone,
    /// 400: the seed's feature matrix.
    #[error(
        "A distribution policy applies to skill-based services only; this service is {}",
        .current.id()
    )]
    PolicyOnSkillBasedOnly { current: AssignmentType },
    /// 400: the policy names a plugin version that was never uploaded (or was deleted).
    #[error("Plugin {plugin} has no version {version}")]
    NoSuchPluginVersion { plugin: String, version: u32 },
    /// 400: the plugin's own `validate-config` refused the configuration.
    #[error("Plugin {plugin} version {version} refused the configuration: {reason}")]
    ConfigurationRefused {
        plugin: String,
        version: u32,
        reason: String,
    },
    /// 404: duty and presence are kept for members of services only.
    #[error("User {0} is not a member of any service; duty and presence are kept for members")]
    NotAMemberAnywhere(String),
    /// 400: the profile is not one of the tenant's.
    #[error("\"activeProfileId\" {0} is not a responsibility profile of this tenant")]
    UnknownProfile(String),
    /// 400: the user's record lists the profiles they may take, and not this one.
    #[error("Responsibility profile {profile} is not one of user {user}'s profiles")]
    ProfileNotAssigned { profile: String, user: String },
    /// 400: the reason is not one of the tenant's.
    #[error("\"notAvailableReasonId\" {0} is not a not-available reason of this tenant")]
    UnknownNotAvailableReason(String),
    /// 400: the user's record lists the reasons they may give, and not this one.
    #[error("Not-available reason {reason} is not one of user {user}'s reasons")]
    ReasonNotAssigned { reason: String, user: String },
    /// 400: the seed's feature matrix: the Active toggle exists on Teams-based services.
    #[error(
        "The Active toggle exists on Teams-based services only; this service is {}",
        .current.id()
    )]
    ActiveOnTeamsBasedOnly { current: AssignmentType },
    /// 400: the seed's feature matrix: duty profiles exist for skill-based services only.
    #[error(
        "Responsibility profiles cover skill-based services only; service {service} is {current}"
    )]
    ProfileOnSkillBasedOnly { service: String, current: String },
    #[error(transparent)]
    Kernel(#[from] Error),
}

impl Problem for ServiceError {
    fn status(&self) -> StatusCode {
        match self {
            ServiceError::NotFound(_)
            | ServiceError::NotAnAgent { .. }
            | ServiceError::NotAMemberAnywhere(_) => StatusCode::NOT_FOUND,
            ServiceError::UpnTaken(_)
            | ServiceError::AssignmentTypeFixed { .. }
            | ServiceError::RegionFixed { .. }
            | ServiceError::TeamGone(_) => StatusCode::CONFLICT,
            ServiceError::ProvisioningDisabled | ServiceError::ProvisioningNeedsTenantAdmin => {
                StatusCode::FORBIDDEN
            }
            ServiceError::RegionRequired { .. }
            | ServiceError::UnknownRegion { .. }
            | ServiceError::NameFromTeam
            | ServiceError::TeamsBasedFromTeamOnly
            | ServiceError::AgentsOnSkillBasedOnly { .. }
            | ServiceError::AgentWithoutContactCenterLicense(_)
            | ServiceError::TeamNotFound(_)
            | ServiceError::NotTeamsBased { .. } => StatusCode::BAD_REQUEST,
            ServiceError::NoDistributionOnNone
            | ServiceError::PolicyOnSkillBasedOnly { .. }
            | ServiceError::NoSuchPluginVersion { .. }
            | ServiceError::ConfigurationRefused { .. }
            | ServiceError::UnknownProfile(_)
            | ServiceError::ProfileNotAssigned { .. }
            | ServiceError::UnknownNotAvailableReason(_)
            | ServiceError::ReasonNotAssigned { .. }
            | ServiceError::ActiveOnTeamsBasedOnly { .. }
            | ServiceError::ProfileOnSkillBasedOnly { .. } => StatusCode::BAD_REQUEST,
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

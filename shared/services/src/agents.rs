//! Agents of skill-based services (`PUT` / `DELETE /api/admin/services/{serviceId}/agents/
//! {o365Id}`): existing users with a Contact Center licence, not active by default (their
//! active responsibility profile decides, once duty exists). A membership is stored twice,
//! under the service (who serves it) and under the user (where deleting the user finds it),
//! always in one transaction.

use serde::{Deserialize, Serialize};
use serde_json::json;
use stratus_kernel::audit::audit_record;
use stratus_kernel::fields::path_guid;
use stratus_kernel::{retry_on_race, Error, Guid, Incoming, Kernel, LicenseType, User};

use crate::service::{AssignmentType, Service};
use crate::store::ServiceStore;
use crate::{existing_service, service_id, ServiceError};

/// A user's membership of a service as an agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub service_id: Guid,
    pub o365_id: Guid,
    /// Agents of skill-based services start inactive: their duty decides; members of
    /// Teams-based services start active.
    pub active: bool,
    pub added_at: String,
    /// When `active` last changed (none: never, since `added_at`).
    #[serde(default)]
    pub active_since: Option<String>,
    /// A Teams-based service's member's portal role, from their role in the team. Kept on
    /// the membership, not the user: one person can own one team and be a member of another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal_role: Option<PortalRole>,
}

/// The portal role a Teams-based service's member gets from the team (the seed: "Existing
/// MS Teams roles (owner and member) are included as Nimbus users").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PortalRole {
    Owner,
    Member,
}

/// Whether `user` may become an agent of `service`, and if not, the rule it breaks.
pub fn check_agent(service: &Service, user: &User) -> Result<(), ServiceError> {
    if service.assignment_type != AssignmentType::SkillBased {
        return Err(ServiceError::AgentsOnSkillBasedOnly {
            current: service.assignment_type,
        });
    }
    if !user.licenses.contains(&LicenseType::ContactCenter) {
        return Err(ServiceError::AgentWithoutContactCenterLicense(
            user.o365_id.to_string(),
        ));
    }
    Ok(())
}

fn agent_id(incoming: &Incoming) -> Result<Guid, Error> {
    path_guid("o365Id", incoming.path_param("o365Id"))
}

/// `PUT /api/admin/services/{serviceId}/agents/{o365Id}`: makes the user an agent of the
/// service (again: the same answer).
pub async fn add_service_agent(kernel: &Kernel, incoming: Incoming) -> Result<Agent, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let (service_id, user_id) = (service_id(&incoming)?, agent_id(&incoming)?);
    let table = kernel.table();
    retry_on_race(|| async {
        let service = existing_service(table, &admin.tenant_id, &service_id).await?;
        let user = table
            .user(&admin.tenant_id, &user_id)
            .await?
            .ok_or(Error::UserNotFound)?;
        check_agent(&service.service, &user.user)?;
        if let Some(agent) = table.agent(&admin.tenant_id, &service_id, &user_id).await? {
            return Ok(agent);
        }
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "service.agent.add",
            format!("service:{service_id}"),
            json!({ "o365Id": user_id }),
        );
        let agent = Agent {
            service_id: service_id.clone(),
            o365_id: user_id.clone(),
            active: false,
            added_at: audit.at.clone(),
            active_since: None,
            portal_role: None,
        };
        table
            .add_agent(&admin.tenant_id, &service, &user, &agent, &audit)
            .await?;
        Ok(agent)
    })
    .await
}

/// `DELETE /api/admin/services/{serviceId}/agents/{o365Id}`.
pub async fn remove_service_agent(kernel: &Kernel, incoming: Incoming) -> Result<(), ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let (service_id, user_id) = (service_id(&incoming)?, agent_id(&incoming)?);
    let audit = audit_record(
        &admin.tenant_id,
        &admin.actor,
        "service.agent.remove",
        format!("service:{service_id}"),
        json!({ "o365Id": user_id }),
    );
    kernel
        .table()
        .remove_agent(&admin.tenant_id, &service_id, &user_id, &audit)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::service::test_service as service;

    #[test]
    fn agents_are_licensed_users_of_skill_based_services() {
        let mut user = User::empty(Guid::new_random(), Guid::new_random());
        assert!(matches!(
            check_agent(&service(AssignmentType::SkillBased), &user),
            Err(ServiceError::AgentWithoutContactCenterLicense(_))
        ));
        user.licenses = vec![LicenseType::ContactCenter];
        assert_eq!(
            check_agent(&service(AssignmentType::SkillBased), &user),
            Ok(())
        );
        for other in [AssignmentType::TeamsBased, AssignmentType::None] {
            assert!(matches!(
                check_agent(&service(other), &user),
                Err(ServiceError::AgentsOnSkillBasedOnly { .. })
            ));
        }
    }
}

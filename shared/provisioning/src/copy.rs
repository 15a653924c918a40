//! The rules of copying and deleting a user through the public API: only manually managed
//! users, and a copy only from a Contact Center licensed template.

use stratus_kernel::user::AssignmentType;
use stratus_kernel::{Guid, LicenseType, User};

use crate::ProvisioningError;

/// The copy of `source` for `new_id`: general settings (licences, modalities, OU), roles,
/// skills, responsibility profiles, not-available reasons, Interact and Assistant
/// settings. Directory fields come from the new identity, not the template.
pub fn copy_of(source: &User, new_id: Guid) -> Result<User, ProvisioningError> {
    if source.assignment_type == AssignmentType::TeamsSynced {
        return Err(ProvisioningError::SourceTeamsSynced);
    }
    if !source.licenses.contains(&LicenseType::ContactCenter) {
        return Err(ProvisioningError::SourceWithoutContactCenterLicense);
    }
    Ok(User {
        o365_id: new_id,
        upn: None,
        display_name: None,
        first_name: None,
        last_name: None,
        email: None,
        ..source.clone()
    })
}

/// Teams-synced users belong to their Team; only manually managed ones may be deleted.
pub fn ensure_deletable(user: &User) -> Result<(), ProvisioningError> {
    match user.assignment_type {
        AssignmentType::SkillBased => Ok(()),
        AssignmentType::TeamsSynced => Err(ProvisioningError::DeleteTeamsSynced),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stratus_kernel::user::SkillLevel;

    fn licensed_source() -> User {
        let mut u = User::empty(Guid::new_random(), Guid::new_random());
        u.licenses = vec![LicenseType::ContactCenter, LicenseType::Interact];
        u.upn = Some("ann@contoso.example".into());
        u.roles = vec!["Agent".into()];
        u.skills = vec![SkillLevel {
            skill_id: Guid::new_random(),
            level: 70,
        }];
        u.interact = Some(json!({"enabled": true}));
        u
    }

    #[test]
    fn copy_takes_configuration_but_not_identity() {
        let source = licensed_source();
        let new_id = Guid::new_random();
        let copy = copy_of(&source, new_id.clone()).unwrap();
        assert_eq!(copy.o365_id, new_id);
        assert_eq!(copy.upn, None);
        assert_eq!(copy.licenses, source.licenses);
        assert_eq!(copy.skills, source.skills);
        assert_eq!(copy.roles, source.roles);
        assert_eq!(copy.interact, source.interact);
        assert_eq!(copy.organization_unit_id, source.organization_unit_id);
        assert_eq!(copy.assignment_type, AssignmentType::SkillBased);
    }

    #[test]
    fn copy_rejects_synced_and_unlicensed_sources() {
        let mut synced = licensed_source();
        synced.assignment_type = AssignmentType::TeamsSynced;
        assert_eq!(
            copy_of(&synced, Guid::new_random()),
            Err(ProvisioningError::SourceTeamsSynced)
        );
        let plain = User::empty(Guid::new_random(), Guid::new_random());
        assert_eq!(
            copy_of(&plain, Guid::new_random()),
            Err(ProvisioningError::SourceWithoutContactCenterLicense)
        );
    }

    #[test]
    fn only_manually_managed_users_can_be_deleted() {
        let mut user = licensed_source();
        assert_eq!(ensure_deletable(&user), Ok(()));
        user.assignment_type = AssignmentType::TeamsSynced;
        assert_eq!(
            ensure_deletable(&user),
            Err(ProvisioningError::DeleteTeamsSynced)
        );
    }
}

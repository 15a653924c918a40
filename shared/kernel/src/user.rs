//! Users: what a user carries. The rules for copying and deleting one belong to
//! provisioning, the rules for changing one to tenant administration.

use crate::license::LicenseType;
use crate::Guid;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a user came to Stratus. Only manually managed ("skill-based") users may be copied
/// or deleted through the public API; Teams-synced ones belong to their Team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssignmentType {
    SkillBased,
    TeamsSynced,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Modality {
    Audio,
    Video,
    Chat,
    Email,
    ExternalTask,
}

impl Modality {
    pub const ALL: [Modality; 5] = [
        Modality::Audio,
        Modality::Video,
        Modality::Chat,
        Modality::Email,
        Modality::ExternalTask,
    ];

    /// A modality by name, case-insensitively.
    pub fn parse(text: &str) -> Option<Modality> {
        Modality::ALL
            .into_iter()
            .find(|m| format!("{m:?}").eq_ignore_ascii_case(text))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillLevel {
    pub skill_id: Guid,
    pub level: u8,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponsibilityProfiles {
    #[serde(default)]
    pub profile_ids: Vec<Guid>,
    pub default_profile_id: Option<Guid>,
    pub active_profile_id: Option<Guid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub o365_id: Guid,
    pub organization_unit_id: Guid,
    pub assignment_type: AssignmentType,
    // Directory fields: Entra ID stays the source of truth; filled by directory sync.
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub licenses: Vec<LicenseType>,
    #[serde(default)]
    pub modalities: Vec<Modality>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    #[serde(default)]
    pub responsibility_profiles: ResponsibilityProfiles,
    #[serde(default)]
    pub not_available_reasons: Vec<Guid>,
    pub interact: Option<Value>,
    pub assistant: Option<Value>,
    /// The person asked to restrict the processing of their data (GDPR art. 18): they keep
    /// their record, but no task is routed to them. Left out of answers while false, so the
    /// provisioning API's answers keep the seed's shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub processing_restricted: bool,
}

impl User {
    /// An empty, unconfigured, manually managed user without licences.
    pub fn empty(o365_id: Guid, organization_unit_id: Guid) -> User {
        User {
            o365_id,
            organization_unit_id,
            assignment_type: AssignmentType::SkillBased,
            upn: None,
            display_name: None,
            first_name: None,
            last_name: None,
            email: None,
            licenses: Vec::new(),
            modalities: Vec::new(),
            roles: Vec::new(),
            skills: Vec::new(),
            responsibility_profiles: ResponsibilityProfiles::default(),
            not_available_reasons: Vec::new(),
            interact: None,
            assistant: None,
            processing_restricted: false,
        }
    }

    /// A teams-synced user as directory sync creates it.
    pub fn teams_synced(o365_id: Guid, organization_unit_id: Guid) -> User {
        User {
            assignment_type: AssignmentType::TeamsSynced,
            ..User::empty(o365_id, organization_unit_id)
        }
    }
}

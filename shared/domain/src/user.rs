//! Users: what a user carries, and the rules for creating, copying and changing one.

use crate::fields::{guid_list, Fields};
use crate::license::LicenseType;
use crate::{Error, Guid};
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
    const ALL: [Modality; 5] = [
        Modality::Audio,
        Modality::Video,
        Modality::Chat,
        Modality::Email,
        Modality::ExternalTask,
    ];

    fn parse(text: &str) -> Option<Modality> {
        Modality::ALL
            .into_iter()
            .find(|m| format!("{m:?}").eq_ignore_ascii_case(text))
    }
}

pub const MAX_SKILL_LEVEL: u8 = 100;
/// Interact and Assistant settings are opaque objects; this bounds their size.
pub const MAX_SETTINGS_BYTES: usize = 8 * 1024;

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
        }
    }

    /// A teams-synced user as directory sync creates it.
    pub fn teams_synced(o365_id: Guid, organization_unit_id: Guid) -> User {
        User {
            assignment_type: AssignmentType::TeamsSynced,
            ..User::empty(o365_id, organization_unit_id)
        }
    }

    /// The copy of `self` for `new_id`: general settings (licences, modalities, OU), roles,
    /// skills, responsibility profiles, not-available reasons, Interact and Assistant
    /// settings. Directory fields come from the new identity, not the template.
    pub fn copy_to(&self, new_id: Guid) -> Result<User, Error> {
        if self.assignment_type == AssignmentType::TeamsSynced {
            return Err(Error::SourceTeamsSynced);
        }
        if !self.licenses.contains(&LicenseType::ContactCenter) {
            return Err(Error::SourceWithoutContactCenterLicense);
        }
        Ok(User {
            o365_id: new_id,
            upn: None,
            display_name: None,
            first_name: None,
            last_name: None,
            email: None,
            ..self.clone()
        })
    }

    pub fn ensure_deletable(&self) -> Result<(), Error> {
        match self.assignment_type {
            AssignmentType::SkillBased => Ok(()),
            AssignmentType::TeamsSynced => Err(Error::DeleteTeamsSynced),
        }
    }
}

/// The validated parts of an admin PATCH; `None` leaves a part unchanged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserPatch {
    pub licenses: Option<Vec<LicenseType>>,
    pub skills: Option<Vec<SkillLevel>>,
    pub responsibility_profiles: Option<ResponsibilityProfiles>,
    pub not_available_reasons: Option<Vec<Guid>>,
    pub modalities: Option<Vec<Modality>>,
    pub organization_unit_id: Option<Guid>,
    pub interact: Option<Option<Value>>,
    pub assistant: Option<Option<Value>>,
}

const PATCH_FIELDS: [&str; 8] = [
    "licenses",
    "skills",
    "responsibilityProfiles",
    "notAvailableReasons",
    "modalities",
    "organizationUnitId",
    "interact",
    "assistant",
];

impl UserPatch {
    pub fn parse(body: Value) -> Result<UserPatch, Error> {
        let f = Fields::from_value(body, "")?;
        f.reject_unknown(&PATCH_FIELDS, "a user")?;
        let mut patch = UserPatch::default();
        if let Some(v) = f.get("licenses") {
            patch.licenses = Some(parse_enum_list(
                "licenses",
                v,
                LicenseType::parse,
                "license type",
            )?);
        }
        if let Some(v) = f.get("modalities") {
            patch.modalities = Some(parse_enum_list(
                "modalities",
                v,
                Modality::parse,
                "modality",
            )?);
        }
        if let Some(v) = f.get("skills") {
            patch.skills = Some(parse_skills(v)?);
        }
        if let Some(v) = f.get("responsibilityProfiles") {
            patch.responsibility_profiles = Some(parse_profiles(v.clone())?);
        }
        if let Some(v) = f.get("notAvailableReasons") {
            patch.not_available_reasons = Some(guid_list("notAvailableReasons", v)?);
        }
        patch.organization_unit_id = f.guid("organizationUnitId")?;
        if f.has("interact") {
            patch.interact = Some(parse_settings("interact", f.get("interact"))?);
        }
        if f.has("assistant") {
            patch.assistant = Some(parse_settings("assistant", f.get("assistant"))?);
        }
        Ok(patch)
    }

    pub fn apply(&self, user: &User) -> User {
        let mut next = user.clone();
        if let Some(v) = &self.licenses {
            next.licenses = v.clone();
        }
        if let Some(v) = &self.skills {
            next.skills = v.clone();
        }
        if let Some(v) = &self.responsibility_profiles {
            next.responsibility_profiles = v.clone();
        }
        if let Some(v) = &self.not_available_reasons {
            next.not_available_reasons = v.clone();
        }
        if let Some(v) = &self.modalities {
            next.modalities = v.clone();
        }
        if let Some(v) = &self.organization_unit_id {
            next.organization_unit_id = v.clone();
        }
        if let Some(v) = &self.interact {
            next.interact = v.clone();
        }
        if let Some(v) = &self.assistant {
            next.assistant = v.clone();
        }
        next
    }
}

fn parse_enum_list<T: PartialEq + Copy>(
    field: &str,
    value: &Value,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Vec<T>, Error> {
    let items = value
        .as_array()
        .ok_or_else(|| Error::field(field, "must be an array of strings"))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let text = item
            .as_str()
            .ok_or_else(|| Error::field(field, "must be an array of strings"))?;
        let parsed = parse(text).ok_or_else(|| {
            Error::BadRequest(format!("\"{field}\" contains an unknown {what}: {text:?}"))
        })?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn parse_skills(value: &Value) -> Result<Vec<SkillLevel>, Error> {
    let items = value
        .as_array()
        .ok_or_else(|| Error::field("skills", "must be an array of {\"skillId\", \"level\"}"))?;
    let mut out: Vec<SkillLevel> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let context = format!("skills[{i}].");
        let f = Fields::from_value(item.clone(), &context)?;
        f.reject_unknown(&["skillId", "level"], "a skill assignment")?;
        let skill_id = f.required_guid("skillId")?;
        let level = f
            .get("level")
            .and_then(Value::as_u64)
            .filter(|l| *l <= MAX_SKILL_LEVEL as u64)
            .ok_or_else(|| {
                Error::field(
                    &f.name("level"),
                    &format!("must be an integer from 0 to {MAX_SKILL_LEVEL}"),
                )
            })? as u8;
        if out.iter().any(|s| s.skill_id == skill_id) {
            return Err(Error::field(&f.name("skillId"), "is assigned twice"));
        }
        out.push(SkillLevel { skill_id, level });
    }
    Ok(out)
}

fn parse_profiles(value: Value) -> Result<ResponsibilityProfiles, Error> {
    let f = Fields::from_value(value, "responsibilityProfiles.")?;
    f.reject_unknown(
        &["profileIds", "defaultProfileId", "activeProfileId"],
        "responsibility profiles",
    )?;
    let profile_ids = match f.get("profileIds") {
        Some(v) => guid_list(&f.name("profileIds"), v)?,
        None => Vec::new(),
    };
    let default_profile_id = f.guid("defaultProfileId")?;
    let active_profile_id = f.guid("activeProfileId")?;
    for (field, id) in [
        ("defaultProfileId", &default_profile_id),
        ("activeProfileId", &active_profile_id),
    ] {
        if let Some(id) = id {
            if !profile_ids.contains(id) {
                return Err(Error::field(
                    &f.name(field),
                    "must be one of \"profileIds\"",
                ));
            }
        }
    }
    Ok(ResponsibilityProfiles {
        profile_ids,
        default_profile_id,
        active_profile_id,
    })
}

fn parse_settings(field: &str, value: Option<&Value>) -> Result<Option<Value>, Error> {
    match value {
        None => Ok(None),
        Some(v @ Value::Object(_)) => {
            if v.to_string().len() > MAX_SETTINGS_BYTES {
                return Err(Error::field(
                    field,
                    &format!("must be at most {MAX_SETTINGS_BYTES} bytes of JSON"),
                ));
            }
            Ok(Some(v.clone()))
        }
        Some(_) => Err(Error::field(field, "must be a JSON object or null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let copy = source.copy_to(new_id.clone()).unwrap();
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
            synced.copy_to(Guid::new_random()),
            Err(Error::SourceTeamsSynced)
        );
        let plain = User::empty(Guid::new_random(), Guid::new_random());
        assert_eq!(
            plain.copy_to(Guid::new_random()),
            Err(Error::SourceWithoutContactCenterLicense)
        );
    }

    #[test]
    fn patch_parses_every_part_and_names_bad_fields() {
        let skill = Guid::new_random();
        let profile = Guid::new_random();
        let patch = UserPatch::parse(json!({
            "Licenses": ["contactcenter", "Interact"],
            "skills": [{"skillId": skill.as_str(), "level": 100}],
            "responsibilityProfiles": {"profileIds": [profile.as_str()], "activeProfileId": profile.as_str()},
            "modalities": ["audio", "Chat"],
            "interact": {"enabled": true},
            "assistant": null
        }))
        .unwrap();
        assert_eq!(
            patch.licenses,
            Some(vec![LicenseType::ContactCenter, LicenseType::Interact])
        );
        assert_eq!(patch.skills.as_ref().unwrap()[0].level, 100);
        assert_eq!(patch.assistant, Some(None));
        let user = patch.apply(&User::empty(Guid::new_random(), Guid::new_random()));
        assert_eq!(user.modalities, vec![Modality::Audio, Modality::Chat]);

        let msg = |v: Value| UserPatch::parse(v).unwrap_err().to_string();
        assert_eq!(
            msg(json!({"skills": [{"skillId": skill.as_str(), "level": 101}]})),
            "\"skills[0].level\" must be an integer from 0 to 100"
        );
        assert_eq!(
            msg(json!({"licenses": ["Gold"]})),
            "\"licenses\" contains an unknown license type: \"Gold\""
        );
        assert_eq!(
            msg(json!({"nickname": "x"})),
            "\"nickname\" is not a field of a user"
        );
        assert_eq!(
            msg(
                json!({"responsibilityProfiles": {"profileIds": [], "defaultProfileId": profile.as_str()}})
            ),
            "\"responsibilityProfiles.defaultProfileId\" must be one of \"profileIds\""
        );
    }
}

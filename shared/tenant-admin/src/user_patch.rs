//! A tenant administrator's change to a user (`PATCH /api/admin/users/{o365Id}`): which
//! parts it names, each validated, and the user it makes.

use serde_json::Value;
use stratus_kernel::fields::{guid_list, Fields};
use stratus_kernel::license::LicenseType;
use stratus_kernel::user::{Modality, ResponsibilityProfiles, SkillLevel, User};
use stratus_kernel::{Error, Guid};

/// The highest skill level.
pub const MAX_SKILL_LEVEL: u8 = 100;
/// Interact and Assistant settings are opaque objects; this bounds their size.
pub const MAX_SETTINGS_BYTES: usize = 8 * 1024;

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
    pub processing_restricted: Option<bool>,
}

const PATCH_FIELDS: [&str; 9] = [
    "licenses",
    "skills",
    "responsibilityProfiles",
    "notAvailableReasons",
    "modalities",
    "organizationUnitId",
    "interact",
    "assistant",
    "processingRestricted",
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
        patch.processing_restricted = f.bool("processingRestricted")?;
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
        if let Some(v) = self.processing_restricted {
            next.processing_restricted = v;
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
    use stratus_kernel::user::Modality;

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

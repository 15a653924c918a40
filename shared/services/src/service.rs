//! A service (queue) and the rules of creating and changing one: the fields of SPEC §4, the
//! user assignment type fixed at creation, and the part of the seed's feature matrix that
//! concerns a service's own settings (which types have an editable name).

use serde::{Deserialize, Serialize};
use stratus_kernel::fields::Fields;
use stratus_kernel::organization::validate_name;
use stratus_kernel::{Error, Guid, LicenseType};

use crate::ServiceError;

/// How a service gets its people; fixed when the service is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssignmentType {
    /// Members come from a Microsoft Teams team; the name is the team's.
    TeamsBased,
    /// Agents are assigned one by one; a distribution policy applies.
    SkillBased,
    /// No users: a gateway (IVR, first-level redirection).
    None,
}

impl AssignmentType {
    pub const ALL: [AssignmentType; 3] = [
        AssignmentType::TeamsBased,
        AssignmentType::SkillBased,
        AssignmentType::None,
    ];

    pub fn id(self) -> &'static str {
        match self {
            AssignmentType::TeamsBased => "TeamsBased",
            AssignmentType::SkillBased => "SkillBased",
            AssignmentType::None => "None",
        }
    }

    fn parse(text: &str) -> Option<AssignmentType> {
        Self::ALL
            .into_iter()
            .find(|t| t.id().eq_ignore_ascii_case(text))
    }

    /// The seed's feature matrix: "Editable Name field" exists for skill-based and none; a
    /// Teams-based service is named after its team.
    pub fn has_editable_name(self) -> bool {
        !matches!(self, AssignmentType::TeamsBased)
    }
}

/// The licence types a service can take a seat of.
pub const SERVICE_LICENSES: [LicenseType; 3] = [
    LicenseType::AdvancedRouting,
    LicenseType::EnterpriseRouting,
    LicenseType::ContactCenter,
];

/// Longest UPN (SIP address) accepted.
const MAX_UPN_CHARS: usize = 256;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: Guid,
    pub name: String,
    /// The service's SIP address; unique per tenant, case-insensitively.
    pub upn: String,
    /// Optional phone number, E.164.
    pub pstn: Option<String>,
    pub organization_unit_id: Guid,
    pub license_type: LicenseType,
    pub assignment_type: AssignmentType,
    /// The tenant's data region (the same for all of its services).
    pub region: String,
    pub created_at: String,
    /// The Microsoft Teams team a Teams-based service was provisioned from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<Guid>,
    /// Distribution settings; none on services of type None.
    pub distribution: Option<crate::DistributionSettings>,
}

impl Service {
    /// Which not-quite-free presence states the service still rings (none without
    /// distribution settings, as their defaults).
    pub fn presence_routing(&self) -> crate::presence::PresenceRouting {
        self.distribution
            .as_ref()
            .map(|d| d.presence)
            .unwrap_or_default()
    }
}

/// A validated `POST /api/admin/services` body.
#[derive(Clone, Debug, PartialEq)]
pub struct NewService {
    pub name: String,
    pub upn: String,
    pub pstn: Option<String>,
    pub organization_unit_id: Guid,
    pub license_type: LicenseType,
    pub assignment_type: AssignmentType,
    pub region: Option<String>,
}

const CREATE_FIELDS: [&str; 7] = [
    "name",
    "upn",
    "pstn",
    "organizationUnitId",
    "licenseType",
    "assignmentType",
    "region",
];

impl NewService {
    pub fn parse(body: &Fields) -> Result<NewService, ServiceError> {
        body.reject_unknown(&CREATE_FIELDS, "a service")?;
        let assignment_type =
            assignment_type(body)?.ok_or_else(|| Error::field("assignmentType", "is required"))?;
        if assignment_type == AssignmentType::TeamsBased {
            return Err(ServiceError::TeamsBasedFromTeamOnly);
        }
        Ok(NewService {
            name: validate_name("name", &body.required_string("name")?)?,
            upn: upn(&body.required_string("upn")?)?,
            pstn: pstn(body)?.flatten(),
            organization_unit_id: body.required_guid("organizationUnitId")?,
            license_type: license_type(body)?
                .ok_or_else(|| Error::field("licenseType", "is required"))?,
            assignment_type,
            region: body.string("region")?,
        })
    }
}

/// A validated `PATCH /api/admin/services/{serviceId}` body; `None` leaves a part as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServicePatch {
    pub name: Option<String>,
    pub upn: Option<String>,
    pub pstn: Option<Option<String>>,
    pub organization_unit_id: Option<Guid>,
    pub license_type: Option<LicenseType>,
    assignment_type: Option<AssignmentType>,
    region: Option<String>,
}

impl ServicePatch {
    pub fn parse(body: &Fields) -> Result<ServicePatch, ServiceError> {
        body.reject_unknown(&CREATE_FIELDS, "a service")?;
        Ok(ServicePatch {
            name: body
                .string("name")?
                .map(|n| validate_name("name", &n))
                .transpose()?,
            upn: body.string("upn")?.map(|u| upn(&u)).transpose()?,
            pstn: pstn(body)?,
            organization_unit_id: body.guid("organizationUnitId")?,
            license_type: license_type(body)?,
            assignment_type: assignment_type(body)?,
            region: body.string("region")?,
        })
    }

    /// The service after the patch, or the rule it breaks.
    pub fn apply(&self, service: &Service) -> Result<Service, ServiceError> {
        if let Some(wanted) = self.assignment_type {
            if wanted != service.assignment_type {
                return Err(ServiceError::AssignmentTypeFixed {
                    current: service.assignment_type,
                });
            }
        }
        if let Some(region) = &self.region {
            if *region != service.region {
                return Err(ServiceError::RegionFixed {
                    current: service.region.clone(),
                });
            }
        }
        if let Some(name) = &self.name {
            if *name != service.name && !service.assignment_type.has_editable_name() {
                return Err(ServiceError::NameFromTeam);
            }
        }
        let mut next = service.clone();
        if let Some(name) = &self.name {
            next.name = name.clone();
        }
        if let Some(upn) = &self.upn {
            next.upn = upn.clone();
        }
        if let Some(pstn) = &self.pstn {
            next.pstn = pstn.clone();
        }
        if let Some(unit) = &self.organization_unit_id {
            next.organization_unit_id = unit.clone();
        }
        if let Some(license) = self.license_type {
            next.license_type = license;
        }
        Ok(next)
    }
}

fn assignment_type(body: &Fields) -> Result<Option<AssignmentType>, Error> {
    body.string("assignmentType")?
        .map(|text| {
            AssignmentType::parse(&text).ok_or_else(|| {
                Error::BadRequest(format!(
                    "\"assignmentType\" {text:?} is not an assignment type (one of TeamsBased, \
                     SkillBased, None)"
                ))
            })
        })
        .transpose()
}

fn license_type(body: &Fields) -> Result<Option<LicenseType>, Error> {
    body.string("licenseType")?
        .map(|text| {
            LicenseType::parse(&text)
                .filter(|t| SERVICE_LICENSES.contains(t))
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "\"licenseType\" {text:?} is not a service licence (one of \
                         AdvancedRouting, EnterpriseRouting, ContactCenter)"
                    ))
                })
        })
        .transpose()
}

/// A SIP address: `user@domain`, no spaces or control characters, bounded.
pub(crate) fn upn(text: &str) -> Result<String, Error> {
    let upn = text.trim();
    let shaped = upn
        .split_once('@')
        .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
        && !upn.chars().any(|c| c.is_whitespace() || c.is_control());
    if !shaped || upn.chars().count() > MAX_UPN_CHARS {
        return Err(Error::field(
            "upn",
            &format!(
                "must be a SIP address like queue@contoso.com (at most {MAX_UPN_CHARS} characters)"
            ),
        ));
    }
    Ok(upn.to_owned())
}

/// `pstn`: absent (unchanged), `null` (none) or an E.164 number: `+`, then 8 to 15 digits,
/// the first not 0.
fn pstn(body: &Fields) -> Result<Option<Option<String>>, Error> {
    if !body.has("pstn") {
        return Ok(None);
    }
    let Some(text) = body.string("pstn")? else {
        return Ok(Some(None));
    };
    let digits = text.strip_prefix('+').unwrap_or_default();
    let e164 = (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0');
    if !e164 {
        return Err(Error::BadRequest(format!(
            "\"pstn\" {text:?} is not an E.164 number (+, country code and number: 8 to 15 \
             digits)"
        )));
    }
    Ok(Some(Some(text)))
}

/// A service of each type for the crate's unit tests.
#[cfg(test)]
pub(crate) fn test_service(assignment_type: AssignmentType) -> Service {
    Service {
        id: Guid::new_random(),
        name: "Support".into(),
        upn: "support@contoso.com".into(),
        pstn: None,
        organization_unit_id: Guid::new_random(),
        license_type: LicenseType::ContactCenter,
        assignment_type,
        region: "ch-01".into(),
        created_at: String::new(),
        team_id: None,
        distribution: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn fields(v: Value) -> Fields {
        Fields::from_value(v, "").unwrap()
    }

    fn body() -> Value {
        json!({
            "name": "Support", "upn": "support@contoso.com", "pstn": "+41445001122",
            "organizationUnitId": Guid::new_random().as_str(),
            "licenseType": "ContactCenter", "assignmentType": "SkillBased"
        })
    }

    fn service(assignment_type: AssignmentType) -> Service {
        let new = NewService::parse(&fields(body())).unwrap();
        Service {
            id: Guid::new_random(),
            name: new.name,
            upn: new.upn,
            pstn: new.pstn,
            organization_unit_id: new.organization_unit_id,
            license_type: new.license_type,
            assignment_type,
            region: "ch-01".into(),
            created_at: String::new(),
            team_id: None,
            distribution: None,
        }
    }

    fn refusal(patch: Value, of: AssignmentType) -> String {
        ServicePatch::parse(&fields(patch))
            .and_then(|p| p.apply(&service(of)))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_new_service_names_each_bad_field() {
        assert!(NewService::parse(&fields(body())).is_ok());
        let bad = |key: &str, value: Value| {
            let mut b = body();
            b[key] = value;
            NewService::parse(&fields(b)).unwrap_err().to_string()
        };
        assert!(bad("upn", json!("support")).starts_with("\"upn\" must be a SIP address"));
        assert!(bad("pstn", json!("0445001122")).contains("is not an E.164 number"));
        assert!(bad("pstn", json!("+0445001122")).contains("is not an E.164 number"));
        assert!(bad("licenseType", json!("Interact")).contains("is not a service licence"));
        assert!(bad("assignmentType", json!("Teams")).contains("is not an assignment type"));
        assert!(bad("colour", json!("red")).contains("is not a field of a service"));
        assert!(bad("assignmentType", json!("TeamsBased")).contains("from-team"));
    }

    #[test]
    fn the_assignment_type_and_region_never_change() {
        let err = refusal(
            json!({ "assignmentType": "None" }),
            AssignmentType::SkillBased,
        );
        assert!(err.contains("SkillBased") && err.contains("fixed"), "{err}");
        let err = refusal(json!({ "region": "use-01" }), AssignmentType::None);
        assert!(err.contains("ch-01"), "{err}");
        // Naming the current values is no change.
        let same = ServicePatch::parse(&fields(json!({ "assignmentType": "skillbased" })))
            .unwrap()
            .apply(&service(AssignmentType::SkillBased));
        assert!(same.is_ok());
    }

    #[test]
    fn only_skill_based_and_none_services_have_an_editable_name() {
        for editable in [AssignmentType::SkillBased, AssignmentType::None] {
            let renamed = ServicePatch::parse(&fields(json!({ "name": "Billing" })))
                .unwrap()
                .apply(&service(editable))
                .unwrap();
            assert_eq!(renamed.name, "Billing");
        }
        let err = refusal(json!({ "name": "Billing" }), AssignmentType::TeamsBased);
        assert!(err.contains("team"), "{err}");
    }

    #[test]
    fn pstn_can_be_cleared() {
        let cleared = ServicePatch::parse(&fields(json!({ "pstn": null })))
            .unwrap()
            .apply(&service(AssignmentType::SkillBased))
            .unwrap();
        assert_eq!(cleared.pstn, None);
    }
}

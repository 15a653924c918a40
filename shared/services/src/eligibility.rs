//! Who may take a task of a service now, and why not (`GET /api/admin/services/{serviceId}/
//! eligibility`). [`member_eligibility`] is the one filter: live routing asks it too.
//!
//! A member is eligible when all of these hold (SPEC §5, the seeds):
//! - on a skill-based service, they hold a Contact Center licence;
//! - they are on duty: on a skill-based service their active responsibility profile covers
//!   the service; on a Teams-based one they are "Active" there;
//! - they have given no not-available reason;
//! - their presence lets the task through ([`presence_allows`], with the tenant's extended
//!   presence and the service's distribution settings).
//!
//! Reading a service's members costs the same whatever else they serve: one query of the
//! service's memberships, and one batch read of their users and live states (100 keys per
//! request, sent side by side), never a scan.

use serde::Serialize;
use std::collections::HashMap;
use stratus_kernel::presence::Presence;

use stratus_kernel::table::{
    agent_state_key, from_item, key, keys, presence_text, sort_key, AgentState, Item, VersionedUser,
};
use stratus_kernel::{Guid, Incoming, Kernel, LicenseType, User};

use crate::presence::{presence_allows, PresenceRefusal, PresenceRouting};
use crate::service::{AssignmentType, Service};
use crate::state::active_profile;
use crate::ServiceError;
use crate::{existing_service, service_id, Agent, NotAvailableReason, ResponsibilityProfile};

/// Why a member may not take a task now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "camelCase")]
pub enum Ineligible {
    /// Skill-based services are served by Contact Center licensed agents.
    NoContactCenterLicense,
    /// No active responsibility profile covers this service.
    #[serde(rename_all = "camelCase")]
    NotOnDuty { active_profile_id: Option<Guid> },
    /// "Active" is off for this Teams-based service.
    NotActive,
    #[serde(rename_all = "camelCase")]
    NotAvailable {
        reason_id: Guid,
        reason: Option<String>,
    },
    /// The presence is one this service does not ring (or never rings).
    #[serde(rename_all = "camelCase")]
    PresenceNotAllowed {
        presence: String,
        refusal: PresenceRefusal,
    },
    /// The member's user no longer exists (a deletion in progress).
    UnknownUser,
    /// The person restricted the processing of their data: no task reaches them.
    Restricted,
}

/// What the filter needs of the tenant besides the member.
pub struct Context<'a> {
    pub service: &'a Service,
    pub profiles: &'a [ResponsibilityProfile],
    pub reasons: &'a [NotAvailableReason],
    /// The tenant tracks extended presence ("in a call" is known).
    pub extended_presence: bool,
}

/// Every reason `member` may not take a task of the service now; empty: eligible. Pure.
pub fn member_eligibility(
    cx: &Context,
    member: &Agent,
    user: Option<&User>,
    state: Option<&AgentState>,
) -> Vec<Ineligible> {
    let Some(user) = user else {
        return vec![Ineligible::UnknownUser];
    };
    let empty = AgentState::default();
    let state = state.unwrap_or(&empty);
    let mut reasons = Vec::new();
    if user.processing_restricted {
        reasons.push(Ineligible::Restricted);
    }
    match cx.service.assignment_type {
        AssignmentType::SkillBased => {
            if !user.licenses.contains(&LicenseType::ContactCenter) {
                reasons.push(Ineligible::NoContactCenterLicense);
            }
            let profile = active_profile(user, state);
            let covers = profile.as_ref().is_some_and(|id| {
                cx.profiles
                    .iter()
                    .any(|p| &p.id == id && p.service_ids.contains(&cx.service.id))
            });
            if !covers {
                reasons.push(Ineligible::NotOnDuty {
                    active_profile_id: profile,
                });
            }
        }
        AssignmentType::TeamsBased if !member.active => reasons.push(Ineligible::NotActive),
        AssignmentType::TeamsBased | AssignmentType::None => {}
    }
    if let Some(reason_id) = &state.not_available_reason_id {
        reasons.push(Ineligible::NotAvailable {
            reason_id: reason_id.clone(),
            reason: cx
                .reasons
                .iter()
                .find(|r| &r.id == reason_id)
                .map(|r| r.name.clone()),
        });
    }
    let presence = state.presence.unwrap_or(Presence::UNKNOWN);
    let routing = cx.service.presence_routing();
    if let Err(refusal) = presence_allows(presence, cx.extended_presence, &routing) {
        reasons.push(Ineligible::PresenceNotAllowed {
            presence: presence_text(presence),
            refusal,
        });
    }
    reasons
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberEligibility {
    pub o365_id: Guid,
    pub eligible: bool,
    pub reasons: Vec<Ineligible>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    pub service_id: Guid,
    pub extended_presence: bool,
    pub presence_routing: PresenceRouting,
    pub members: Vec<MemberEligibility>,
}

/// What deciding who may take a service's task needs, read at once: the service's members
/// with their users and live states, and the tenant's duty configuration.
pub struct Roster {
    pub profiles: Vec<ResponsibilityProfile>,
    pub reasons: Vec<NotAvailableReason>,
    /// The tenant tracks extended presence ("in a call" is known).
    pub extended_presence: bool,
    pub members: Vec<RosterMember>,
}

pub struct RosterMember {
    pub agent: Agent,
    pub user: Option<User>,
    pub state: Option<AgentState>,
    /// The stored state item as read: live routing keeps its own attributes on it.
    pub state_item: Option<Item>,
}

impl Roster {
    /// The filter's view of the tenant for `service`.
    pub fn context<'a>(&'a self, service: &'a Service) -> Context<'a> {
        Context {
            service,
            profiles: &self.profiles,
            reasons: &self.reasons,
            extended_presence: self.extended_presence,
        }
    }
}

/// The members of a service with their users and live states: one query of the service's
/// memberships (with the tenant's profiles, reasons and settings beside it), then one batch
/// read of the users and states.
pub async fn service_roster(
    kernel: &Kernel,
    tenant: &Guid,
    service: &Service,
) -> Result<Roster, ServiceError> {
    let table = kernel.table();
    let pk = keys::tenant_pk(tenant);
    let members_prefix = keys::members_prefix(&service.id);
    let (members, profiles, reasons, settings) = futures::try_join!(
        table.query_prefix(pk.clone(), &members_prefix),
        table.query_prefix(pk.clone(), keys::PROFILE_PREFIX),
        table.query_prefix(pk.clone(), keys::NA_REASON_PREFIX),
        table.tenant_settings(tenant),
    )?;
    let members: Vec<Agent> = members
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let profiles: Vec<ResponsibilityProfile> = profiles
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let reasons: Vec<NotAvailableReason> = reasons
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?;
    let wanted = members
        .iter()
        .flat_map(|m| {
            [
                key(pk.clone(), keys::user_sk(&m.o365_id)),
                agent_state_key(tenant, &m.o365_id),
            ]
        })
        .collect();
    let mut users = HashMap::new();
    let mut states = HashMap::new();
    for item in table.batch_get(wanted).await? {
        if sort_key(&item) == keys::AGENT_STATE_SK {
            let state: AgentState = from_item(item.clone())?;
            if let Some(id) = state.o365_id.clone() {
                states.insert(id, (state, item));
            }
        } else {
            let user = VersionedUser::from_item(item)?.user;
            users.insert(user.o365_id.clone(), user);
        }
    }
    let members = members
        .into_iter()
        .map(|agent| {
            let user = users.remove(&agent.o365_id);
            let (state, state_item) = match states.remove(&agent.o365_id) {
                Some((state, item)) => (Some(state), Some(item)),
                None => (None, None),
            };
            RosterMember {
                agent,
                user,
                state,
                state_item,
            }
        })
        .collect();
    Ok(Roster {
        profiles,
        reasons,
        extended_presence: settings.presence_tracking.enabled,
        members,
    })
}

/// Every member of a service with whether it may take a task now (the eligibility answer;
/// live routing filters the same [`Roster`] with [`member_eligibility`]).
pub async fn service_eligibility(
    kernel: &Kernel,
    tenant: &Guid,
    service: &Service,
) -> Result<Eligibility, ServiceError> {
    let roster = service_roster(kernel, tenant, service).await?;
    let cx = roster.context(service);
    let members = roster
        .members
        .iter()
        .map(|m| {
            let reasons = member_eligibility(&cx, &m.agent, m.user.as_ref(), m.state.as_ref());
            MemberEligibility {
                o365_id: m.agent.o365_id.clone(),
                eligible: reasons.is_empty(),
                reasons,
            }
        })
        .collect();
    Ok(Eligibility {
        service_id: service.id.clone(),
        extended_presence: roster.extended_presence,
        presence_routing: service.presence_routing(),
        members,
    })
}

/// `GET /api/admin/services/{serviceId}/eligibility`.
pub async fn get_service_eligibility(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Eligibility, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let id = service_id(&incoming)?;
    let service = existing_service(kernel.table(), &admin.tenant_id, &id).await?;
    service_eligibility(kernel, &admin.tenant_id, &service.service).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_service;
    use stratus_kernel::presence::{Activity, Availability};

    struct Fixture {
        service: Service,
        profile: ResponsibilityProfile,
        reason: NotAvailableReason,
        user: User,
        member: Agent,
        state: AgentState,
    }

    fn fixture(t: AssignmentType) -> Fixture {
        let service = test_service(t);
        let profile = ResponsibilityProfile {
            id: Guid::new_random(),
            name: "Day".into(),
            service_ids: vec![service.id.clone()],
        };
        let mut user = User::empty(Guid::new_random(), Guid::new_random());
        user.licenses = vec![LicenseType::ContactCenter];
        let member = Agent {
            service_id: service.id.clone(),
            o365_id: user.o365_id.clone(),
            active: t == AssignmentType::TeamsBased,
            added_at: String::new(),
            active_since: None,
            portal_role: None,
        };
        let state = AgentState {
            o365_id: Some(user.o365_id.clone()),
            presence: Some(Presence {
                availability: Availability::Available,
                activity: Activity::Available,
            }),
            profile_chosen: true,
            active_profile_id: Some(profile.id.clone()),
            ..AgentState::default()
        };
        Fixture {
            service,
            reason: NotAvailableReason {
                id: Guid::new_random(),
                name: "Lunch".into(),
            },
            profile,
            user,
            member,
            state,
        }
    }

    fn check(f: &Fixture, extended: bool) -> Vec<Ineligible> {
        let cx = Context {
            service: &f.service,
            profiles: std::slice::from_ref(&f.profile),
            reasons: std::slice::from_ref(&f.reason),
            extended_presence: extended,
        };
        member_eligibility(&cx, &f.member, Some(&f.user), Some(&f.state))
    }

    #[test]
    fn an_available_agent_on_duty_is_eligible() {
        for t in [AssignmentType::SkillBased, AssignmentType::TeamsBased] {
            assert_eq!(check(&fixture(t), false), vec![]);
        }
    }

    #[test]
    fn duty_means_a_covering_profile_on_skill_based_and_active_on_teams_based() {
        let mut f = fixture(AssignmentType::SkillBased);
        f.profile.service_ids.clear();
        assert_eq!(
            check(&f, false),
            vec![Ineligible::NotOnDuty {
                active_profile_id: Some(f.profile.id.clone())
            }]
        );
        f.state.active_profile_id = None;
        assert_eq!(
            check(&f, false),
            vec![Ineligible::NotOnDuty {
                active_profile_id: None
            }]
        );
        let mut f = fixture(AssignmentType::TeamsBased);
        f.member.active = false;
        // Teams-based services ignore profiles and licences: the toggle decides.
        f.user.licenses.clear();
        f.state.active_profile_id = None;
        assert_eq!(check(&f, false), vec![Ineligible::NotActive]);
    }

    #[test]
    fn every_reason_is_named_at_once() {
        let mut f = fixture(AssignmentType::SkillBased);
        f.user.licenses.clear();
        f.state.not_available_reason_id = Some(f.reason.id.clone());
        f.state.presence = None;
        f.state.profile_chosen = false;
        f.state.active_profile_id = None;
        assert_eq!(
            check(&f, true),
            vec![
                Ineligible::NoContactCenterLicense,
                Ineligible::NotOnDuty {
                    active_profile_id: None
                },
                Ineligible::NotAvailable {
                    reason_id: f.reason.id.clone(),
                    reason: Some("Lunch".into())
                },
                Ineligible::PresenceNotAllowed {
                    presence: "PresenceUnknown/PresenceUnknown".into(),
                    refusal: PresenceRefusal::PresenceUnknown
                },
            ]
        );
    }

    #[test]
    fn presence_follows_the_services_settings_and_the_tenants_tracking() {
        let mut f = fixture(AssignmentType::SkillBased);
        f.state.presence = Some(Presence {
            availability: Availability::Busy,
            activity: Activity::InACall,
        });
        let refused = |refusal| {
            vec![Ineligible::PresenceNotAllowed {
                presence: "Busy/InACall".into(),
                refusal,
            }]
        };
        assert_eq!(check(&f, false), refused(PresenceRefusal::Busy));
        let mut settings = crate::DistributionSettings::default();
        settings.presence.deliver_when_busy = true;
        f.service.distribution = Some(settings);
        // Without extended presence the call is not known: Busy follows the Busy setting.
        assert_eq!(check(&f, false), vec![]);
        assert_eq!(check(&f, true), refused(PresenceRefusal::InACall));
    }

    #[test]
    fn a_restricted_person_is_never_eligible() {
        let mut f = fixture(AssignmentType::SkillBased);
        f.user.processing_restricted = true;
        assert_eq!(check(&f, false), vec![Ineligible::Restricted]);
    }

    #[test]
    fn a_membership_without_its_user_is_never_eligible() {
        let f = fixture(AssignmentType::SkillBased);
        let cx = Context {
            service: &f.service,
            profiles: &[],
            reasons: &[],
            extended_presence: false,
        };
        assert_eq!(
            member_eligibility(&cx, &f.member, None, Some(&f.state)),
            vec![Ineligible::UnknownUser]
        );
    }
}

//! Agents' duty and presence: an agent switches their active responsibility profile and
//! sets or clears a not-available reason (`PUT /api/me/state`, or a tenant admin for them:
//! `PUT /api/admin/users/{o365Id}/state`); a member of a Teams-based service toggles "Active"
//! there (`PUT /api/me/services/{serviceId}/active`); an operator or tenant admin sets a
//! presence (`PUT /api/admin/presence/{o365Id}`). Every change is written with its entry in
//! the user-state history (kernel `agent_state`).

use serde::Serialize;
use stratus_kernel::clock::now_rfc3339;
use stratus_kernel::fields::{path_guid, Fields};
use stratus_kernel::presence::{Activity, Availability, Presence};
use stratus_kernel::table::{
    agent_state_key, key, keys, sort_key, AgentState, PresenceWrite, StateChange,
};
use stratus_kernel::{retry_on_race, Error, Guid, Incoming, Kernel, User};

use crate::service::AssignmentType;
use crate::store::ServiceStore;
use crate::{existing_service, service_id, Agent, ServiceError};

/// An agent's duty and presence as the state operations answer them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStateView {
    pub o365_id: Guid,
    /// The profile in force: chosen, else the user's active, else their default.
    pub active_profile_id: Option<Guid>,
    pub not_available_reason_id: Option<Guid>,
    pub presence: Option<Presence>,
    pub presence_since: Option<String>,
}

impl AgentStateView {
    pub fn of(user: &User, state: &AgentState) -> AgentStateView {
        AgentStateView {
            o365_id: user.o365_id.clone(),
            active_profile_id: active_profile(user, state),
            not_available_reason_id: state.not_available_reason_id.clone(),
            presence: state.presence,
            presence_since: state.presence_since.clone(),
        }
    }
}

/// The responsibility profile in force for an agent: the one they (or an admin) chose,
/// else the user's own active one, else their default.
pub fn active_profile(user: &User, state: &AgentState) -> Option<Guid> {
    if state.profile_chosen {
        return state.active_profile_id.clone();
    }
    let profiles = &user.responsibility_profiles;
    profiles
        .active_profile_id
        .clone()
        .or_else(|| profiles.default_profile_id.clone())
}

/// A validated `{"activeProfileId"?, "notAvailableReasonId"?}`: `Some(None)` clears.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DutyChange {
    pub profile: Option<Option<Guid>>,
    pub reason: Option<Option<Guid>>,
}

impl DutyChange {
    pub fn parse(body: &Fields) -> Result<DutyChange, Error> {
        body.reject_unknown(
            &["activeProfileId", "notAvailableReasonId"],
            "an agent's state",
        )?;
        let field = |name: &str| -> Result<Option<Option<Guid>>, Error> {
            if !body.has(name) {
                return Ok(None);
            }
            Ok(Some(body.guid(name)?))
        };
        let change = DutyChange {
            profile: field("activeProfileId")?,
            reason: field("notAvailableReasonId")?,
        };
        if change == DutyChange::default() {
            return Err(Error::BadRequest(
                "Give \"activeProfileId\" and/or \"notAvailableReasonId\" (null clears)".into(),
            ));
        }
        Ok(change)
    }

    /// Whether the user may take what the change names: a profile or reason must exist in
    /// the tenant (`known`), and where the user's record lists the ones assigned to them,
    /// be one of those. Pure.
    pub fn check(
        &self,
        user: &User,
        profile_exists: bool,
        reason_exists: bool,
    ) -> Result<(), ServiceError> {
        if let Some(Some(profile)) = &self.profile {
            let assigned = &user.responsibility_profiles.profile_ids;
            if !profile_exists {
                return Err(ServiceError::UnknownProfile(profile.to_string()));
            }
            if !assigned.is_empty() && !assigned.contains(profile) {
                return Err(ServiceError::ProfileNotAssigned {
                    profile: profile.to_string(),
                    user: user.o365_id.to_string(),
                });
            }
        }
        if let Some(Some(reason)) = &self.reason {
            let assigned = &user.not_available_reasons;
            if !reason_exists {
                return Err(ServiceError::UnknownNotAvailableReason(reason.to_string()));
            }
            if !assigned.is_empty() && !assigned.contains(reason) {
                return Err(ServiceError::ReasonNotAssigned {
                    reason: reason.to_string(),
                    user: user.o365_id.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The state after the change, and its history entries.
    pub fn apply(
        &self,
        user: &User,
        before: &AgentState,
        at: &str,
        by: &str,
    ) -> (AgentState, Vec<StateChange>) {
        let mut after = before.clone();
        let mut history = Vec::new();
        let entry = |kind: &str, from: &Option<Guid>, to: &Option<Guid>, start: &Option<String>| {
            StateChange {
                o365_id: user.o365_id.clone(),
                kind: kind.into(),
                service_id: None,
                from: from.as_ref().map(Guid::to_string),
                to: to.as_ref().map(Guid::to_string),
                start: start.clone(),
                end: at.to_owned(),
                by: by.to_owned(),
            }
        };
        if let Some(profile) = &self.profile {
            let current = active_profile(user, before);
            if &current != profile || !before.profile_chosen {
                if &current != profile {
                    history.push(entry("profile", &current, profile, &before.profile_since));
                    after.profile_since = Some(at.to_owned());
                }
                after.profile_chosen = true;
                after.active_profile_id = profile.clone();
            }
        }
        if let Some(reason) = &self.reason {
            if &before.not_available_reason_id != reason {
                history.push(entry(
                    "notAvailable",
                    &before.not_available_reason_id,
                    reason,
                    &before.not_available_since,
                ));
                after.not_available_reason_id = reason.clone();
                after.not_available_since = Some(at.to_owned());
            }
        }
        (after, history)
    }
}

/// Reads what a duty change needs in one round trip (the user, their state, and the named
/// profile and reason), checks it and writes it with its history.
async fn change_duty(
    kernel: &Kernel,
    tenant: &Guid,
    user_id: &Guid,
    change: &DutyChange,
    by: &str,
) -> Result<AgentStateView, ServiceError> {
    let table = kernel.table();
    let pk = keys::tenant_pk(tenant);
    let profile_sk = match &change.profile {
        Some(Some(p)) => Some(keys::profile_sk(p)),
        _ => None,
    };
    let reason_sk = match &change.reason {
        Some(Some(r)) => Some(keys::na_reason_sk(r)),
        _ => None,
    };
    retry_on_race(|| async {
        let mut wanted = vec![
            key(pk.clone(), keys::user_sk(user_id)),
            agent_state_key(tenant, user_id),
        ];
        wanted.extend(profile_sk.iter().map(|sk| key(pk.clone(), sk.clone())));
        wanted.extend(reason_sk.iter().map(|sk| key(pk.clone(), sk.clone())));
        let found = table.batch_get(wanted).await?;
        let find = |sk: &str| found.iter().find(|item| sort_key(item) == sk);
        let user = find(&keys::user_sk(user_id))
            .cloned()
            .map(stratus_kernel::table::VersionedUser::from_item)
            .transpose()?
            .ok_or(Error::UserNotFound)?
            .user;
        let state: AgentState = find(keys::AGENT_STATE_SK)
            .cloned()
            .map(stratus_kernel::table::from_item)
            .transpose()?
            .ok_or_else(|| ServiceError::NotAMemberAnywhere(user_id.to_string()))?;
        change.check(
            &user,
            profile_sk.as_deref().is_some_and(|sk| find(sk).is_some()),
            reason_sk.as_deref().is_some_and(|sk| find(sk).is_some()),
        )?;
        let (after, history) = change.apply(&user, &state, &now_rfc3339(), by);
        if after != state {
            table.set_duty(tenant, &state, &after, &history).await?;
        }
        Ok(AgentStateView::of(&user, &after))
    })
    .await
}

/// `PUT /api/me/state`: the caller's own duty.
pub async fn put_my_state(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<AgentStateView, ServiceError> {
    let me = kernel.user_caller(&incoming).await?;
    let change = DutyChange::parse(&incoming.body_fields()?)?;
    change_duty(kernel, &me.tenant_id, &me.o365_id, &change, "agent").await
}

/// `PUT /api/admin/users/{o365Id}/state`: a tenant admin sets an agent's duty for them.
pub async fn put_user_state(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<AgentStateView, ServiceError> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let user = path_guid("o365Id", incoming.path_param("o365Id"))?;
    let change = DutyChange::parse(&incoming.body_fields()?)?;
    change_duty(kernel, &admin.tenant_id, &user, &change, &admin.actor).await
}

/// `PUT /api/me/services/{serviceId}/active`: `{"active": bool}`, for a member of a
/// Teams-based service (the seed's feature matrix: the toggle exists there only).
pub async fn put_my_service_active(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<Agent, ServiceError> {
    let me = kernel.user_caller(&incoming).await?;
    let service_id = service_id(&incoming)?;
    let body = incoming.body_fields()?;
    body.reject_unknown(&["active"], "the Active toggle")?;
    let active = body
        .bool("active")?
        .ok_or_else(|| Error::field("active", "is required (true or false)"))?;
    let table = kernel.table();
    retry_on_race(|| async {
        let service = existing_service(table, &me.tenant_id, &service_id).await?;
        if service.service.assignment_type != AssignmentType::TeamsBased {
            return Err(ServiceError::ActiveOnTeamsBasedOnly {
                current: service.service.assignment_type,
            });
        }
        let member = table
            .agent(&me.tenant_id, &service_id, &me.o365_id)
            .await?
            .ok_or_else(|| ServiceError::NotAnAgent {
                service: service_id.to_string(),
                user: me.o365_id.to_string(),
            })?;
        if member.active == active {
            return Ok(member);
        }
        let at = now_rfc3339();
        let after = Agent {
            active,
            active_since: Some(at.clone()),
            ..member.clone()
        };
        let entry = StateChange {
            o365_id: me.o365_id.clone(),
            kind: "active".into(),
            service_id: Some(service_id.clone()),
            from: Some(member.active.to_string()),
            to: Some(active.to_string()),
            start: member
                .active_since
                .clone()
                .or(Some(member.added_at.clone())),
            end: at,
            by: "agent".into(),
        };
        table
            .set_member_active(&me.tenant_id, &member, &after, &entry)
            .await?;
        Ok(after)
    })
    .await
}

/// A validated `{"availability", "activity"}` in Graph's values.
pub fn parse_presence(body: &Fields) -> Result<Presence, Error> {
    body.reject_unknown(&["availability", "activity"], "a presence")?;
    let availability = body.required_string("availability")?;
    let availability = Availability::parse(&availability).ok_or_else(|| {
        let known: Vec<&str> = Availability::ALL.iter().map(|a| a.id()).collect();
        Error::field(
            "availability",
            &format!(
                "{availability:?} is not one of Graph's: {}",
                known.join(", ")
            ),
        )
    })?;
    let activity = body.required_string("activity")?;
    let parsed = Activity::parse(&activity);
    if parsed == Activity::PresenceUnknown && !activity.eq_ignore_ascii_case("PresenceUnknown") {
        let known: Vec<&str> = Activity::ALL.iter().map(|a| a.id()).collect();
        return Err(Error::field(
            "activity",
            &format!("{activity:?} is not one of: {}", known.join(", ")),
        ));
    }
    Ok(Presence {
        availability,
        activity: parsed,
    })
}

/// What the presence API answers: whether the presence was stored (a later one may already
/// be there) and the presence now in force.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdate {
    pub o365_id: Guid,
    pub applied: bool,
    pub presence: Option<Presence>,
}

/// `PUT /api/admin/presence/{o365Id}` (operator with `?tenantId=`, or tenant admin).
pub async fn put_presence(
    kernel: &Kernel,
    incoming: Incoming,
) -> Result<PresenceUpdate, ServiceError> {
    let named = incoming
        .query_param("tenantId")
        .map(|t| Guid::parse(t).ok_or_else(|| Error::field("tenantId", "must be a GUID")))
        .transpose()?;
    let caller = kernel
        .operator_or_tenant_admin(&incoming, named.as_ref())
        .await?;
    let user = path_guid("o365Id", incoming.path_param("o365Id"))?;
    let presence = parse_presence(&incoming.body_fields()?)?;
    let table = kernel.table();
    let written = table
        .record_presence(
            &caller.tenant_id,
            &user,
            presence,
            &now_rfc3339(),
            &caller.actor,
        )
        .await?;
    match written {
        PresenceWrite::UnknownUser => Err(ServiceError::NotAMemberAnywhere(user.to_string())),
        PresenceWrite::Applied => Ok(PresenceUpdate {
            o365_id: user,
            applied: true,
            presence: Some(presence),
        }),
        PresenceWrite::Stale => {
            let state = table.agent_state(&caller.tenant_id, &user).await?;
            Ok(PresenceUpdate {
                o365_id: user,
                applied: false,
                presence: state.and_then(|s| s.presence),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(v: Value) -> Result<DutyChange, String> {
        DutyChange::parse(&Fields::from_value(v, "").unwrap()).map_err(|e| e.to_string())
    }

    fn user() -> User {
        User::empty(Guid::new_random(), Guid::new_random())
    }

    #[test]
    fn null_clears_and_absent_keeps() {
        let p = Guid::new_random();
        assert_eq!(
            parse(json!({ "activeProfileId": p.as_str() })),
            Ok(DutyChange {
                profile: Some(Some(p.clone())),
                reason: None
            })
        );
        assert_eq!(
            parse(json!({ "notAvailableReasonId": null })),
            Ok(DutyChange {
                profile: None,
                reason: Some(None)
            })
        );
        assert!(parse(json!({})).is_err());
        assert_eq!(
            parse(json!({ "activeProfileId": "x" })),
            Err("\"activeProfileId\" must be a GUID".into())
        );
    }

    #[test]
    fn a_profile_must_exist_and_be_the_users_where_the_user_lists_theirs() {
        let (p, other) = (Guid::new_random(), Guid::new_random());
        let change = DutyChange {
            profile: Some(Some(p.clone())),
            reason: None,
        };
        let mut u = user();
        assert!(matches!(
            change.check(&u, false, false),
            Err(ServiceError::UnknownProfile(_))
        ));
        assert_eq!(change.check(&u, true, false), Ok(()));
        u.responsibility_profiles.profile_ids = vec![other];
        assert!(matches!(
            change.check(&u, true, false),
            Err(ServiceError::ProfileNotAssigned { .. })
        ));
        u.responsibility_profiles.profile_ids.push(p);
        assert_eq!(change.check(&u, true, false), Ok(()));
    }

    #[test]
    fn changes_write_history_from_what_was_in_force() {
        let (default, chosen) = (Guid::new_random(), Guid::new_random());
        let mut u = user();
        u.responsibility_profiles.default_profile_id = Some(default.clone());
        let before = AgentState::default();
        assert_eq!(active_profile(&u, &before), Some(default.clone()));
        let change = DutyChange {
            profile: Some(Some(chosen.clone())),
            reason: Some(None),
        };
        let (after, history) = change.apply(&u, &before, "2026-11-30T10:00:00Z", "agent");
        assert_eq!(active_profile(&u, &after), Some(chosen.clone()));
        // The reason was already clear: only the profile changed.
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].from, Some(default.to_string()));
        assert_eq!(history[0].to, Some(chosen.to_string()));
        // Clearing the profile leaves the agent with none, not with the default.
        let clear = DutyChange {
            profile: Some(None),
            reason: None,
        };
        let (cleared, history) = clear.apply(&u, &after, "2026-11-30T11:00:00Z", "agent");
        assert_eq!(active_profile(&u, &cleared), None);
        assert_eq!(history[0].start.as_deref(), Some("2026-11-30T10:00:00Z"));
    }

    #[test]
    fn presence_values_are_graphs() {
        let p = |v: Value| {
            parse_presence(&Fields::from_value(v, "").unwrap()).map_err(|e| e.to_string())
        };
        assert_eq!(
            p(json!({ "availability": "Busy", "activity": "InACall" })),
            Ok(Presence {
                availability: Availability::Busy,
                activity: Activity::InACall
            })
        );
        assert!(p(json!({ "availability": "Sleeping", "activity": "Away" }))
            .unwrap_err()
            .starts_with("\"availability\" \"Sleeping\" is not one of Graph's"));
        assert!(p(json!({ "availability": "Away", "activity": "Napping" }))
            .unwrap_err()
            .starts_with("\"activity\" \"Napping\" is not one of"));
    }
}

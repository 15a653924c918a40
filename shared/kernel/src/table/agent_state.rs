//! An agent's live state: presence and duty (active responsibility profile, not-available
//! reason), and the history of its changes.
//!
//! Presence and duty change every few seconds across a large tenant, so they live in a
//! partition per agent (`AGENT#<tid>#<oid>`), never in the tenant's: a busy tenant's state
//! changes spread over as many partition keys as it has agents, and no write touches a
//! tenant-wide item. The state item exists from the user's first service membership until the
//! user is deleted; a presence for anyone without one is "unknown" and ignored. Presence and
//! duty are separate attributes of the one item, written by separate updates, so neither
//! overwrites the other; eligibility reads one item per member.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{from_item, key, keys, n, s, Change, Expr, Item, Meaning, Table};
use crate::presence::Presence;
use crate::{Error, Guid};

/// How long a user-state history entry is kept (the TTL attribute deletes it after).
pub const STATE_HISTORY_DAYS: i64 = 90;
/// Attempts at a presence write racing other writes of the same agent's presence.
const PRESENCE_ATTEMPTS: u32 = 20;

/// The stored live state of one agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentState {
    pub o365_id: Option<Guid>,
    /// `None` until a presence has been received.
    pub presence: Option<Presence>,
    /// When the stored presence was observed (µs since the epoch): older news is dropped.
    pub presence_at: Option<i64>,
    /// Graph's `sequenceNumber` of the stored presence, when it came from Graph: Graph's own
    /// order of a user's presence versions, which arrival times cannot give.
    pub presence_sequence: Option<String>,
    /// Since when the presence has been what it is.
    pub presence_since: Option<String>,
    /// Whether the agent (or an admin for them) ever chose a profile; until then the
    /// user's own active or default profile applies.
    pub profile_chosen: bool,
    pub active_profile_id: Option<Guid>,
    pub profile_since: Option<String>,
    pub not_available_reason_id: Option<Guid>,
    pub not_available_since: Option<String>,
    /// Moves with every duty change (presence has its own ordering, `presence_at`).
    pub version: u64,
}

/// What became of a presence write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceWrite {
    Applied,
    /// A presence observed later is already stored; this one was dropped.
    Stale,
    /// No agent state: the user is not (or no longer) a member of any service.
    UnknownUser,
}

/// One entry of the user-state history: the agent was `from` between `start` and `end`,
/// then `to`. `service_id` where the state is per service (the Active toggle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateChange {
    pub o365_id: Guid,
    /// `presence`, `profile`, `notAvailable`, `active`.
    pub kind: String,
    pub service_id: Option<Guid>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub start: Option<String>,
    pub end: String,
    /// Who changed it: `presence-api`, `graph`, `agent`, `admin:<oid>`, `system`.
    pub by: String,
}

pub fn agent_state_key(tenant: &Guid, user: &Guid) -> Item {
    key(keys::agent_pk(tenant, user), keys::AGENT_STATE_SK)
}

/// The history entry as an item of the agent's partition, expiring after
/// [`STATE_HISTORY_DAYS`].
pub fn state_change_item(tenant: &Guid, change: &StateChange) -> Result<Item, Error> {
    let mut item = super::to_item(
        keys::agent_pk(tenant, &change.o365_id),
        keys::state_history_sk(&change.end),
        change,
    )?;
    let expires = time::OffsetDateTime::now_utc().unix_timestamp() + STATE_HISTORY_DAYS * 86_400;
    item.insert(keys::EXPIRES_AT.into(), n(expires));
    Ok(item)
}

impl<E> Change<E> {
    /// Makes sure the user has an agent state (a membership is being added): creates it
    /// empty, or leaves the existing one as it is.
    pub fn ensure_agent_state(&mut self, tenant: &Guid, user: &Guid) -> Result<(), Error> {
        self.update(
            agent_state_key(tenant, user),
            "SET o365Id = :o, version = if_not_exists(version, :zero)",
            "",
            Expr::new()
                .value(":o", s(user.as_str()))
                .value(":zero", n(0)),
            Meaning::Unconditional,
        )
    }
}

impl<E> Change<E> {
    /// Writes a user-state history entry with the change.
    pub fn state_change(&mut self, tenant: &Guid, entry: &StateChange) -> Result<(), Error> {
        self.put(
            state_change_item(tenant, entry)?,
            None,
            Meaning::Unconditional,
        )
    }
}

/// An RFC 3339 time as µs since the epoch.
pub fn micros_of(rfc3339: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000).ok()
}

impl Table {
    pub async fn agent_state(
        &self,
        tenant: &Guid,
        user: &Guid,
    ) -> Result<Option<AgentState>, Error> {
        self.get(agent_state_key(tenant, user))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The states of these users that exist, in no particular order.
    pub async fn agent_states(
        &self,
        tenant: &Guid,
        users: &[Guid],
    ) -> Result<Vec<AgentState>, Error> {
        let keys = users.iter().map(|u| agent_state_key(tenant, u)).collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Stores a presence observed at `observed_at` (RFC 3339) unless a later one is stored,
    /// with its history entry when it changed. `by` says where it came from.
    pub async fn record_presence(
        &self,
        tenant: &Guid,
        user: &Guid,
        presence: Presence,
        observed_at: &str,
        by: &str,
    ) -> Result<PresenceWrite, Error> {
        self.record_presence_version(tenant, user, presence, observed_at, None, by)
            .await
    }

    /// [`Table::record_presence`] for a presence that carries Graph's `sequenceNumber`:
    /// between two versions that both have one, the sequence decides which is newer
    /// (a notification Graph delivers late loses to the one it had sent after it);
    /// otherwise the observation times do.
    pub async fn record_presence_version(
        &self,
        tenant: &Guid,
        user: &Guid,
        presence: Presence,
        observed_at: &str,
        sequence: Option<&str>,
        by: &str,
    ) -> Result<PresenceWrite, Error> {
        let at = micros_of(observed_at)
            .ok_or_else(|| Error::BadRequest(format!("{observed_at:?} is not an RFC 3339 time")))?;
        for _ in 0..PRESENCE_ATTEMPTS {
            let Some(state) = self.agent_state(tenant, user).await? else {
                return Ok(PresenceWrite::UnknownUser);
            };
            if is_stale(&state, at, sequence) {
                return Ok(PresenceWrite::Stale);
            }
            // Conditional on the observation read, so two writers never both apply.
            let (condition, mut expr) = match state.presence_at {
                Some(stored) => ("presenceAt = :seen", Expr::new().value(":seen", n(stored))),
                None => (
                    "attribute_exists(PK) AND attribute_not_exists(presenceAt)",
                    Expr::new(),
                ),
            };
            let changed = state.presence != Some(presence);
            // An arrival time earlier than the stored one can still be the newer version (its
            // sequence says so); the stored time never goes back.
            let at = at.max(state.presence_at.unwrap_or(at));
            let mut sets = vec!["presenceAt = :at"];
            expr = expr.value(":at", n(at));
            if let Some(sequence) = sequence {
                sets.push("presenceSequence = :seq");
                expr = expr.value(":seq", s(sequence));
            }
            if changed {
                sets.extend(["presence = :p", "presenceSince = :since"]);
                expr = expr
                    .value(":p", presence_value(presence))
                    .value(":since", s(observed_at));
            }
            let mut c = Change::<Error>::on(self);
            c.update(
                agent_state_key(tenant, user),
                &format!("SET {}", sets.join(", ")),
                condition,
                expr,
                Meaning::Fails(Error::ConcurrentChange),
            )?;
            if changed {
                c.state_change(
                    tenant,
                    &StateChange {
                        o365_id: user.clone(),
                        kind: "presence".into(),
                        service_id: None,
                        from: state.presence.map(presence_text),
                        to: Some(presence_text(presence)),
                        start: state.presence_since.clone(),
                        end: observed_at.to_owned(),
                        by: by.to_owned(),
                    },
                )?;
            }
            match self.commit(c).await {
                Ok(()) => return Ok(PresenceWrite::Applied),
                Err(Error::ConcurrentChange) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::ConcurrentChange)
    }

    /// A user's state history, oldest first.
    pub async fn state_history(
        &self,
        tenant: &Guid,
        user: &Guid,
    ) -> Result<Vec<StateChange>, Error> {
        self.query_prefix(keys::agent_pk(tenant, user), keys::STATE_HISTORY_PREFIX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}

/// Whether a presence observed at `at` (with Graph's `sequence`, if any) is older than the
/// stored one. Pure.
fn is_stale(stored: &AgentState, at: i64, sequence: Option<&str>) -> bool {
    match (stored.presence_sequence.as_deref(), sequence) {
        // Graph's sequence numbers are lexicographically sortable.
        (Some(stored), Some(new)) => stored >= new,
        _ => stored.presence_at.is_some_and(|stored| stored >= at),
    }
}

fn presence_value(p: Presence) -> AttributeValue {
    AttributeValue::M(
        [
            ("availability".to_owned(), s(p.availability.id())),
            ("activity".to_owned(), s(p.activity.id())),
        ]
        .into(),
    )
}

/// A presence as the history writes it: `Busy/InACall`.
pub fn presence_text(p: Presence) -> String {
    format!("{}/{}", p.availability.id(), p.activity.id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphs_sequence_decides_between_two_graph_versions_and_time_otherwise() {
        let stored = AgentState {
            presence_at: Some(100),
            presence_sequence: Some("0000000000000012".into()),
            ..AgentState::default()
        };
        // Arrived later, but Graph sent it earlier.
        assert!(is_stale(&stored, 200, Some("0000000000000011")));
        assert!(is_stale(&stored, 200, Some("0000000000000012")));
        // Arrived at the same time as the stored one, but is Graph's next version.
        assert!(!is_stale(&stored, 100, Some("0000000000000013")));
        // Without a sequence on either side, the times decide.
        assert!(is_stale(&stored, 100, None));
        assert!(!is_stale(&stored, 101, None));
        let unsequenced = AgentState {
            presence_at: Some(100),
            ..AgentState::default()
        };
        assert!(is_stale(&unsequenced, 99, Some("1")));
        assert!(!is_stale(&AgentState::default(), 0, None));
    }

    #[test]
    fn observation_times_order_across_spellings() {
        let a = micros_of("2026-11-30T10:00:00Z").unwrap();
        let b = micros_of("2026-11-30T10:00:00.0000010Z").unwrap();
        let c = micros_of("2026-11-30T11:00:00.5+01:00").unwrap();
        assert_eq!(b - a, 1);
        assert_eq!(c - a, 500_000);
        assert_eq!(micros_of("yesterday"), None);
    }
}

//! Whether a member's presence lets a service's task reach them: the seed's table (tenant
//! settings, "Presence Tracking"), as a pure rule that the eligibility answer and live
//! routing will both ask. Presence is in Microsoft Graph's terms (availability + activity).
//!
//! - Delivered while Available.
//! - While Busy, Busy in a meeting or Away, only where the service's distribution settings
//!   allow each.
//! - Never in a call, Do Not Disturb or Offline.
//! - Without extended presence (the tenant's presence tracking off) "in a call" is not known:
//!   Busy follows the service's Busy setting whatever the activity. With it, Away and Be
//!   right back still follow the Away setting: Microsoft does not report a call under them
//!   (the seed's known limitation).

use serde::{Deserialize, Serialize};
pub use stratus_kernel::presence::{Activity, Availability, Presence};

/// A service's distribution settings about presence: which not-quite-free states it still
/// rings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceRouting {
    pub deliver_when_busy: bool,
    pub deliver_when_busy_in_a_meeting: bool,
    pub deliver_when_away: bool,
}

/// Why presence keeps a task from a member (the eligibility answer names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PresenceRefusal {
    InACall,
    DoNotDisturb,
    Offline,
    PresenceUnknown,
    /// Busy, and the service does not ring busy members.
    Busy,
    /// In a meeting, and the service does not ring members in meetings.
    BusyInAMeeting,
    /// Away or be right back, and the service does not ring away members.
    Away,
}

/// Whether a task may be offered to a member with this presence. `extended`: the tenant
/// tracks extended presence, so "in a call" and "in a meeting" are known.
pub fn presence_allows(
    presence: Presence,
    extended: bool,
    service: &PresenceRouting,
) -> Result<(), PresenceRefusal> {
    let allow = |yes: bool, refusal| if yes { Ok(()) } else { Err(refusal) };
    match presence.availability {
        Availability::Available | Availability::AvailableIdle => Ok(()),
        Availability::DoNotDisturb => Err(PresenceRefusal::DoNotDisturb),
        Availability::Offline => Err(PresenceRefusal::Offline),
        Availability::PresenceUnknown => Err(PresenceRefusal::PresenceUnknown),
        Availability::Away | Availability::BeRightBack => {
            allow(service.deliver_when_away, PresenceRefusal::Away)
        }
        Availability::Busy | Availability::BusyIdle if extended => match presence.activity {
            Activity::InACall | Activity::InAConferenceCall => Err(PresenceRefusal::InACall),
            Activity::InAMeeting | Activity::Presenting => allow(
                service.deliver_when_busy_in_a_meeting,
                PresenceRefusal::BusyInAMeeting,
            ),
            _ => allow(service.deliver_when_busy, PresenceRefusal::Busy),
        },
        Availability::Busy | Availability::BusyIdle => {
            allow(service.deliver_when_busy, PresenceRefusal::Busy)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Activity as Ac;
    use Availability as Av;
    use PresenceRefusal as R;

    const NONE: PresenceRouting = PresenceRouting {
        deliver_when_busy: false,
        deliver_when_busy_in_a_meeting: false,
        deliver_when_away: false,
    };
    const ALL: PresenceRouting = PresenceRouting {
        deliver_when_busy: true,
        deliver_when_busy_in_a_meeting: true,
        deliver_when_away: true,
    };

    fn cell(av: Av, ac: Ac, extended: bool, s: PresenceRouting) -> Result<(), R> {
        presence_allows(
            Presence {
                availability: av,
                activity: ac,
            },
            extended,
            &s,
        )
    }

    #[test]
    fn available_is_always_delivered() {
        for extended in [false, true] {
            for s in [NONE, ALL] {
                assert_eq!(cell(Av::Available, Ac::Available, extended, s), Ok(()));
                assert_eq!(cell(Av::AvailableIdle, Ac::Inactive, extended, s), Ok(()));
            }
        }
    }

    #[test]
    fn in_a_call_do_not_disturb_and_offline_are_never_delivered() {
        for s in [NONE, ALL] {
            assert_eq!(cell(Av::Busy, Ac::InACall, true, s), Err(R::InACall));
            assert_eq!(
                cell(Av::Busy, Ac::InAConferenceCall, true, s),
                Err(R::InACall)
            );
            assert_eq!(cell(Av::BusyIdle, Ac::InACall, true, s), Err(R::InACall));
            for extended in [false, true] {
                assert_eq!(
                    cell(Av::DoNotDisturb, Ac::Presenting, extended, s),
                    Err(R::DoNotDisturb)
                );
                assert_eq!(
                    cell(Av::DoNotDisturb, Ac::DoNotDisturb, extended, s),
                    Err(R::DoNotDisturb)
                );
                assert_eq!(cell(Av::Offline, Ac::OffWork, extended, s), Err(R::Offline));
                assert_eq!(
                    cell(Av::PresenceUnknown, Ac::PresenceUnknown, extended, s),
                    Err(R::PresenceUnknown)
                );
            }
        }
    }

    #[test]
    fn busy_in_a_meeting_and_away_follow_the_services_settings() {
        // Extended presence knows the meeting from the plain busy.
        let only_meetings = PresenceRouting {
            deliver_when_busy_in_a_meeting: true,
            ..NONE
        };
        assert_eq!(cell(Av::Busy, Ac::InAMeeting, true, only_meetings), Ok(()));
        assert_eq!(cell(Av::Busy, Ac::Busy, true, only_meetings), Err(R::Busy));
        let only_busy = PresenceRouting {
            deliver_when_busy: true,
            ..NONE
        };
        assert_eq!(cell(Av::Busy, Ac::Busy, true, only_busy), Ok(()));
        assert_eq!(
            cell(Av::Busy, Ac::InAMeeting, true, only_busy),
            Err(R::BusyInAMeeting)
        );
        for extended in [false, true] {
            for away in [Av::Away, Av::BeRightBack] {
                assert_eq!(cell(away, Ac::Away, extended, NONE), Err(R::Away));
                assert_eq!(cell(away, Ac::Away, extended, ALL), Ok(()));
            }
        }
    }

    #[test]
    fn without_extended_presence_busy_follows_the_busy_setting_whatever_the_activity() {
        let only_busy = PresenceRouting {
            deliver_when_busy: true,
            ..NONE
        };
        for activity in [Ac::Busy, Ac::InACall, Ac::InAMeeting] {
            assert_eq!(cell(Av::Busy, activity, false, only_busy), Ok(()));
            assert_eq!(cell(Av::Busy, activity, false, NONE), Err(R::Busy));
        }
    }

    #[test]
    fn away_with_a_call_under_it_follows_the_away_setting_as_microsoft_reports_none() {
        // The seed's known limitation: no "in a call" under Away or Be right back.
        assert_eq!(cell(Av::Away, Ac::InACall, true, ALL), Ok(()));
        assert_eq!(cell(Av::BeRightBack, Ac::InACall, true, NONE), Err(R::Away));
    }
}

//! Presence in Microsoft Graph's terms (availability + activity), as the presence API and
//! Graph's change notifications deliver it and as routing reads it.

use serde::{Deserialize, Serialize};

/// Graph's `availability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    Available,
    AvailableIdle,
    Away,
    BeRightBack,
    Busy,
    BusyIdle,
    DoNotDisturb,
    Offline,
    PresenceUnknown,
}

/// Graph's `activity` (the values routing reads; any other is kept as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activity {
    Available,
    Away,
    BeRightBack,
    Busy,
    DoNotDisturb,
    InACall,
    InAConferenceCall,
    Inactive,
    InAMeeting,
    Offline,
    OffWork,
    OutOfOffice,
    Presenting,
    UrgentInterruptionsOnly,
    PresenceUnknown,
}

impl Availability {
    pub const ALL: [Availability; 9] = [
        Availability::Available,
        Availability::AvailableIdle,
        Availability::Away,
        Availability::BeRightBack,
        Availability::Busy,
        Availability::BusyIdle,
        Availability::DoNotDisturb,
        Availability::Offline,
        Availability::PresenceUnknown,
    ];

    /// Graph's spelling, case-insensitively; `None` for anything else.
    pub fn parse(text: &str) -> Option<Availability> {
        Self::ALL
            .into_iter()
            .find(|a| a.id().eq_ignore_ascii_case(text))
    }

    pub fn id(self) -> &'static str {
        match self {
            Availability::Available => "Available",
            Availability::AvailableIdle => "AvailableIdle",
            Availability::Away => "Away",
            Availability::BeRightBack => "BeRightBack",
            Availability::Busy => "Busy",
            Availability::BusyIdle => "BusyIdle",
            Availability::DoNotDisturb => "DoNotDisturb",
            Availability::Offline => "Offline",
            Availability::PresenceUnknown => "PresenceUnknown",
        }
    }
}

impl Activity {
    pub const ALL: [Activity; 15] = [
        Activity::Available,
        Activity::Away,
        Activity::BeRightBack,
        Activity::Busy,
        Activity::DoNotDisturb,
        Activity::InACall,
        Activity::InAConferenceCall,
        Activity::Inactive,
        Activity::InAMeeting,
        Activity::Offline,
        Activity::OffWork,
        Activity::OutOfOffice,
        Activity::Presenting,
        Activity::UrgentInterruptionsOnly,
        Activity::PresenceUnknown,
    ];

    /// Graph's spelling, case-insensitively. Graph adds activities over time, and routing
    /// decides on the availability first, so an activity it does not know is kept as
    /// `PresenceUnknown` rather than refused.
    pub fn parse(text: &str) -> Activity {
        Self::ALL
            .into_iter()
            .find(|a| a.id().eq_ignore_ascii_case(text))
            .unwrap_or(Activity::PresenceUnknown)
    }

    pub fn id(self) -> &'static str {
        match self {
            Activity::Available => "Available",
            Activity::Away => "Away",
            Activity::BeRightBack => "BeRightBack",
            Activity::Busy => "Busy",
            Activity::DoNotDisturb => "DoNotDisturb",
            Activity::InACall => "InACall",
            Activity::InAConferenceCall => "InAConferenceCall",
            Activity::Inactive => "Inactive",
            Activity::InAMeeting => "InAMeeting",
            Activity::Offline => "Offline",
            Activity::OffWork => "OffWork",
            Activity::OutOfOffice => "OutOfOffice",
            Activity::Presenting => "Presenting",
            Activity::UrgentInterruptionsOnly => "UrgentInterruptionsOnly",
            Activity::PresenceUnknown => "PresenceUnknown",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub availability: Availability,
    pub activity: Activity,
}

impl Presence {
    /// What is known of someone nothing has been heard of yet.
    pub const UNKNOWN: Presence = Presence {
        availability: Availability::PresenceUnknown,
        activity: Activity::PresenceUnknown,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_spellings_round_trip_and_new_activities_are_unknown() {
        for a in Availability::ALL {
            assert_eq!(Availability::parse(a.id()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.id());
        }
        for a in Activity::ALL {
            assert_eq!(Activity::parse(a.id()), a);
            assert_eq!(serde_json::to_value(a).unwrap(), a.id());
        }
        assert_eq!(Availability::parse("busy"), Some(Availability::Busy));
        assert_eq!(Availability::parse("Sleeping"), None);
        assert_eq!(Activity::parse("InAGroupCall"), Activity::PresenceUnknown);
    }
}

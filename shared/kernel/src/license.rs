//! Licence types and contingents: how many a tenant bought, how many are in use.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LicenseType {
    AdvancedRouting,
    EnterpriseRouting,
    ContactCenter,
    AttendantConsole,
    Interact,
    Assistant,
    Transcription,
}

impl LicenseType {
    /// Every type, in the order licence usage lists them.
    pub const ALL: [LicenseType; 7] = [
        LicenseType::AdvancedRouting,
        LicenseType::EnterpriseRouting,
        LicenseType::ContactCenter,
        LicenseType::AttendantConsole,
        LicenseType::Interact,
        LicenseType::Assistant,
        LicenseType::Transcription,
    ];

    pub fn id(self) -> &'static str {
        match self {
            LicenseType::AdvancedRouting => "AdvancedRouting",
            LicenseType::EnterpriseRouting => "EnterpriseRouting",
            LicenseType::ContactCenter => "ContactCenter",
            LicenseType::AttendantConsole => "AttendantConsole",
            LicenseType::Interact => "Interact",
            LicenseType::Assistant => "Assistant",
            LicenseType::Transcription => "Transcription",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LicenseType::AdvancedRouting => "Advanced Routing",
            LicenseType::EnterpriseRouting => "Enterprise Routing",
            LicenseType::ContactCenter => "Contact Center",
            LicenseType::AttendantConsole => "Attendant Console",
            LicenseType::Interact => "Interact",
            LicenseType::Assistant => "Assistant",
            LicenseType::Transcription => "Transcription",
        }
    }

    /// Licence type ids match case-insensitively, like every other field name here.
    pub fn parse(id: &str) -> Option<LicenseType> {
        LicenseType::ALL
            .into_iter()
            .find(|t| t.id().eq_ignore_ascii_case(id))
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseCount {
    pub total: u32,
    pub in_use: u32,
}

/// One line of the licence usage answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseUsage {
    pub license: LicenseType,
    pub name: String,
    pub total: u32,
    pub in_use: u32,
    pub available: u32,
}

/// Usage for every licence type, types the tenant never bought included (as zero).
pub fn usage(pool: &BTreeMap<LicenseType, LicenseCount>) -> Vec<LicenseUsage> {
    LicenseType::ALL
        .into_iter()
        .map(|license| {
            let count = pool.get(&license).copied().unwrap_or_default();
            LicenseUsage {
                license,
                name: license.name().to_string(),
                total: count.total,
                in_use: count.in_use,
                available: count.total.saturating_sub(count.in_use),
            }
        })
        .collect()
}

/// The licence delta between two sets: (taken, freed).
pub fn delta(
    before: &[LicenseType],
    after: &[LicenseType],
) -> (Vec<LicenseType>, Vec<LicenseType>) {
    let taken = after
        .iter()
        .filter(|l| !before.contains(l))
        .copied()
        .collect();
    let freed = before
        .iter()
        .filter(|l| !after.contains(l))
        .copied()
        .collect();
    (taken, freed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lists_every_type_in_order_with_availability() {
        let mut pool = BTreeMap::new();
        pool.insert(
            LicenseType::ContactCenter,
            LicenseCount {
                total: 10,
                in_use: 3,
            },
        );
        let usage = usage(&pool);
        assert_eq!(usage.len(), 7);
        assert_eq!(usage[0].license, LicenseType::AdvancedRouting);
        assert_eq!(usage[2].name, "Contact Center");
        assert_eq!(
            (usage[2].total, usage[2].in_use, usage[2].available),
            (10, 3, 7)
        );
        assert_eq!(usage[6].available, 0);
    }

    #[test]
    fn parses_ids_case_insensitively() {
        assert_eq!(
            LicenseType::parse("contactcenter"),
            Some(LicenseType::ContactCenter)
        );
        assert_eq!(LicenseType::parse("Contact Center"), None);
    }

    #[test]
    fn delta_names_taken_and_freed() {
        use LicenseType::*;
        let (taken, freed) = delta(&[ContactCenter, Interact], &[ContactCenter, Assistant]);
        assert_eq!(taken, vec![Assistant]);
        assert_eq!(freed, vec![Interact]);
    }
}

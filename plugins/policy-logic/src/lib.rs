//! The built-in routing strategies as pure functions over plain structs that mirror the
//! `stratus:routing@1.0.0` records. No WebAssembly, no bindings: the policy components
//! (`skill-based`, `time-of-day`, `classic`) are thin wrappers around this crate, and its
//! unit tests run natively. Strings the host sends only on demand (candidate ids and
//! attributes) come through the [`Host`] trait so tests can pass a fake.
//!
//! `no_std` + `alloc` outside tests: the components then link no std and import nothing
//! but the contract's `host` interface.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

pub mod classic;
mod config;
pub mod rng;
pub mod skill;
pub mod time_of_day;

pub use config::ConfigError;

/// "Never" in the last-offered / last-answered columns.
pub const NEVER: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modality {
    Audio,
    Video,
    Chat,
    Email,
    ExternalTask,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Monday = 0 … Sunday = 6.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A skill the task needs: a column of the skill table and the minimum level (1..=100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkillRequirement {
    pub skill: u16,
    pub min_level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub service: String,
    pub modality: Modality,
    pub priority: u8,
    pub waited_seconds: u32,
    pub required_skills: Vec<SkillRequirement>,
    pub caller: String,
}

/// The eligible candidates as columns; entry i of every list belongs to candidate i.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Candidates {
    pub count: u32,
    /// Row-major `count` × `skill_names.len()`: level 1..=100, 0 = lacks the skill.
    pub skill_levels: Vec<u8>,
    pub idle_seconds: Vec<u32>,
    pub handled_today: Vec<u32>,
    pub talk_seconds_today: Vec<u32>,
    pub last_offered_seconds_ago: Vec<u32>,
    pub last_answered_seconds_ago: Vec<u32>,
}

impl Candidates {
    /// Columns are read defensively: a short column reads as 0 rather than trapping.
    pub fn idle(&self, i: u32) -> u32 {
        col(&self.idle_seconds, i, 0)
    }
    pub fn handled(&self, i: u32) -> u32 {
        col(&self.handled_today, i, 0)
    }
    pub fn talk(&self, i: u32) -> u32 {
        col(&self.talk_seconds_today, i, 0)
    }
    pub fn last_offered(&self, i: u32) -> u32 {
        col(&self.last_offered_seconds_ago, i, NEVER)
    }
    /// Level of candidate `i` in skill column `skill` of a table `skills` wide.
    pub fn level(&self, i: u32, skill: u16, skills: usize) -> u8 {
        let cell = (i as usize)
            .checked_mul(skills)
            .and_then(|row| row.checked_add(skill as usize));
        match cell {
            Some(cell) if (skill as usize) < skills => {
                self.skill_levels.get(cell).copied().unwrap_or(0)
            }
            _ => 0,
        }
    }
}

fn col(column: &[u32], i: u32, missing: u32) -> u32 {
    column.get(i as usize).copied().unwrap_or(missing)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub now_utc_seconds: i64,
    pub local_date: LocalDate,
    pub weekday: Weekday,
    pub minutes_since_midnight: u16,
    pub holiday: bool,
    pub config: String,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub order: Vec<u32>,
    pub simultaneous: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overflow {
    pub reason: String,
    pub target: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Offer(Offer),
    Wait(u32),
    Overflow(Overflow),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub decision: Decision,
    pub reason: String,
}

/// Everything `decide` receives, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub task: &'a Task,
    pub skill_names: &'a [String],
    pub candidates: &'a Candidates,
    pub context: &'a Context,
}

/// The contract's `host` imports: strings only when a policy asks for them.
pub trait Host {
    fn candidate_id(&self, index: u32) -> String;
    fn candidate_attribute(&self, index: u32, key: &str) -> Option<String>;
    fn task_attribute(&self, key: &str) -> Option<String>;
}

/// Default re-check hint when nobody can be offered and the config names none.
pub const DEFAULT_RECHECK_SECONDS: u32 = 10;

/// A configuration the host should never have passed (it validates first): decide by longest
/// idle and say why, rather than trap, so the recorded reason names the problem.
pub(crate) fn invalid_config_fallback(input: &Input, error: &ConfigError) -> Outcome {
    let mut outcome = classic::longest_idle(input.candidates, DEFAULT_RECHECK_SECONDS);
    outcome.reason = alloc::format!("invalid configuration ({error}); longest idle instead");
    outcome
}

/// Candidate indices sorted by `rank` ascending, index breaking ties (a total order, so the
/// result never depends on the sort algorithm). Rank and index are packed into one integer:
/// sorting primitives costs a fraction of sorting tuples through a comparison closure.
pub(crate) fn order_by(
    indices: impl Iterator<Item = u32>,
    mut rank: impl FnMut(u32) -> u64,
) -> Vec<u32> {
    sorted_indices(indices.map(|i| pack(rank(i), i)).collect())
}

pub(crate) fn pack(rank: u64, index: u32) -> u128 {
    ((rank as u128) << 32) | index as u128
}

pub(crate) fn sorted_indices(mut keyed: Vec<u128>) -> Vec<u32> {
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k as u32).collect()
}

/// Rank helpers for `order_by`: `high` sorts first, then `low`; `desc` flips a column.
pub(crate) fn rank2(high: u32, low: u32) -> u64 {
    ((high as u64) << 32) | low as u64
}

pub(crate) fn desc(value: u32) -> u32 {
    u32::MAX - value
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for hand-written test inputs.
    use super::*;
    use std::collections::HashMap;

    pub fn task(waited: u32) -> Task {
        Task {
            id: "t1".into(),
            service: "support".into(),
            modality: Modality::Audio,
            priority: 0,
            waited_seconds: waited,
            required_skills: vec![],
            caller: "+4930123".into(),
        }
    }

    pub fn context(config: &str) -> Context {
        Context {
            now_utc_seconds: 1_795_000_000,
            local_date: LocalDate {
                year: 2026,
                month: 11,
                day: 23,
            },
            weekday: Weekday::Monday,
            minutes_since_midnight: 10 * 60,
            holiday: false,
            config: config.into(),
            seed: 42,
        }
    }

    /// Candidates with the given idle seconds and zeroes elsewhere.
    pub fn idle(idle: &[u32]) -> Candidates {
        let n = idle.len();
        Candidates {
            count: n as u32,
            skill_levels: vec![],
            idle_seconds: idle.to_vec(),
            handled_today: vec![0; n],
            talk_seconds_today: vec![0; n],
            last_offered_seconds_ago: vec![NEVER; n],
            last_answered_seconds_ago: vec![NEVER; n],
        }
    }

    #[derive(Default)]
    pub struct FakeHost {
        pub ids: Vec<&'static str>,
        pub attributes: HashMap<(u32, &'static str), &'static str>,
        pub lookups: std::cell::Cell<u32>,
    }

    impl Host for FakeHost {
        fn candidate_id(&self, index: u32) -> String {
            self.lookups.set(self.lookups.get() + 1);
            self.ids.get(index as usize).copied().unwrap_or("?").into()
        }
        fn candidate_attribute(&self, index: u32, key: &str) -> Option<String> {
            self.lookups.set(self.lookups.get() + 1);
            self.attributes
                .iter()
                .find(|((i, k), _)| *i == index && *k == key)
                .map(|(_, v)| v.to_string())
        }
        fn task_attribute(&self, _key: &str) -> Option<String> {
            None
        }
    }

    pub fn offered(outcome: &Outcome) -> (Vec<u32>, bool) {
        match &outcome.decision {
            Decision::Offer(offer) => (offer.order.clone(), offer.simultaneous),
            other => panic!("expected an offer, got {other:?} ({})", outcome.reason),
        }
    }
}

//! Time-of-day routing: weekly windows and holidays in the service's time zone.
//!
//! ```json
//! { "windows": [
//!     { "days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:00", "strategy": 0 },
//!     { "days": ["fri"], "from": "22:00", "to": "06:00", "strategy": "longest-idle" },
//!     { "days": ["sat"], "from": "10:00", "to": "14:00",
//!       "strategy": { "strategy": "serial", "order": ["agent-a", "agent-b"] } }
//!   ],
//!   "skillSteps": [ { "requirements": [{ "skill": "billing", "minLevel": 50 }] } ],
//!   "holidays": ["2026-12-25", "2026-12-26"],
//!   "outOfHours": { "reason": "closed", "target": "voicemail" },
//!   "recheckSeconds": 10 }
//! ```
//! The host has already resolved the decision time in the service's time zone (so DST is its
//! business): this policy reads `local-date`, `weekday`, `minutes-since-midnight` and
//! `holiday`. Closed on a holiday (the host's flag or a listed date). Otherwise the first
//! window containing the time decides, with its `strategy`: a classic strategy name, a classic
//! configuration object, or the index of a step in `skillSteps` (candidates meeting that step,
//! by proficiency, then longest idle). A window whose `from` is later than its `to` runs across
//! midnight into the next day: `fri 22:00–06:00` covers Friday 22:00 to Saturday 06:00. `to`
//! may be "24:00". Outside every window: overflow with `outOfHours` (reason, target).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use crate::classic::{self, ClassicConfig};
use crate::config::{self, array, err, Obj, OverflowConfig, Path, Result};
use crate::skill::{self, Step};
use crate::{ConfigError, Decision, Host, Input, LocalDate, Outcome, Overflow};

pub const MAX_WINDOWS: usize = 64;
pub const MAX_HOLIDAYS: usize = 1000;

const DAY_NAMES: [[&str; 2]; 7] = [
    ["mon", "monday"],
    ["tue", "tuesday"],
    ["wed", "wednesday"],
    ["thu", "thursday"],
    ["fri", "friday"],
    ["sat", "saturday"],
    ["sun", "sunday"],
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WindowStrategy {
    Classic(ClassicConfig),
    /// Index into `skill_steps`.
    SkillStep(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Monday = bit 0 … Sunday = bit 6.
    pub days: u8,
    /// Minutes since midnight; `to` may be 1440 ("24:00").
    pub from: u16,
    pub to: u16,
    pub strategy: WindowStrategy,
}

impl Window {
    fn has_day(&self, weekday: usize) -> bool {
        self.days & (1 << weekday) != 0
    }

    /// Whether the window covers `minute` of the day `weekday` (Monday = 0).
    pub fn contains(&self, weekday: usize, minute: u16) -> bool {
        if self.from < self.to {
            self.has_day(weekday) && self.from <= minute && minute < self.to
        } else {
            // Across midnight: the evening of a listed day, or the morning after one.
            let yesterday = (weekday + 6) % 7;
            (self.has_day(weekday) && minute >= self.from)
                || (self.has_day(yesterday) && minute < self.to)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeOfDayConfig {
    pub windows: Vec<Window>,
    pub skill_steps: Vec<Step>,
    pub holidays: Vec<LocalDate>,
    pub out_of_hours: OverflowConfig,
    pub recheck_seconds: u32,
}

pub fn parse_config(config: &str) -> core::result::Result<TimeOfDayConfig, ConfigError> {
    let value = config::parse(config)?;
    let obj = Obj::new(
        &value,
        Path::Root,
        &[
            "windows",
            "skillSteps",
            "holidays",
            "outOfHours",
            "recheckSeconds",
        ],
    )?;

    let mut skill_steps = Vec::new();
    if let Some(steps) = obj.get("skillSteps") {
        let path = obj.path_of("skillSteps");
        for (i, step) in array(steps, &path, 0, skill::MAX_STEPS)?.iter().enumerate() {
            skill_steps.push(skill::parse_step(step, path.index(i), false)?);
        }
    }

    let path = obj.path_of("windows");
    let items = array(obj.required("windows")?, &path, 1, MAX_WINDOWS)?;
    let mut windows = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        windows.push(parse_window(item, path.index(i), skill_steps.len())?);
    }

    let mut holidays = Vec::new();
    if let Some(list) = obj.get("holidays") {
        let path = obj.path_of("holidays");
        for (i, item) in array(list, &path, 0, MAX_HOLIDAYS)?.iter().enumerate() {
            holidays.push(parse_date(item, &path.index(i))?);
        }
    }

    let out_of_hours = match obj.get("outOfHours") {
        Some(v) => config::overflow(v, obj.path_of("outOfHours"))?,
        None => OverflowConfig::default(),
    };
    Ok(TimeOfDayConfig {
        windows,
        skill_steps,
        holidays,
        out_of_hours,
        recheck_seconds: config::recheck_seconds(&obj)?,
    })
}

fn parse_window(value: &Value, path: Path, step_count: usize) -> Result<Window> {
    let obj = Obj::new(value, path, &["days", "from", "to", "strategy"])?;
    let days_path = obj.path_of("days");
    let mut days = 0u8;
    for (i, day) in array(obj.required("days")?, &days_path, 1, 7)?
        .iter()
        .enumerate()
    {
        let day_path = days_path.index(i);
        let name = config::string(day, &day_path)?;
        let lower = name.to_ascii_lowercase();
        match DAY_NAMES
            .iter()
            .position(|names| names.contains(&lower.as_str()))
        {
            Some(d) => days |= 1 << d,
            None => {
                return err(
                    &day_path,
                    format_args!("\"{name}\" is not a weekday (mon, tue, wed, thu, fri, sat, sun)"),
                )
            }
        }
    }
    let from = parse_time(obj.required("from")?, &obj.path_of("from"), false)?;
    let to = parse_time(obj.required("to")?, &obj.path_of("to"), true)?;
    if from == to {
        return err(
            &obj.path_of("to"),
            "equals \"from\"; for a whole day use \"00:00\" to \"24:00\"",
        );
    }
    let strategy_path = obj.path_of("strategy");
    let strategy = match obj.required("strategy")? {
        Value::String(name) => {
            WindowStrategy::Classic(ClassicConfig::named(classic::simple(name, &strategy_path)?))
        }
        Value::Number(_) => {
            let index =
                config::uint(obj.required("strategy")?, &strategy_path, 0, u32::MAX)? as usize;
            if index >= step_count {
                return err(
                    &strategy_path,
                    format_args!(
                        "skill step {index} does not exist (\"skillSteps\" has {step_count})"
                    ),
                );
            }
            WindowStrategy::SkillStep(index)
        }
        v @ Value::Object(_) => WindowStrategy::Classic(classic::parse_value(v, strategy_path)?),
        other => {
            return err(
                &strategy_path,
                format_args!(
                "expected a strategy name, a strategy object or a skill step index, got {other}"
            ),
            )
        }
    };
    Ok(Window {
        days,
        from,
        to,
        strategy,
    })
}

/// "HH:MM" → minutes since midnight; "24:00" only where `allow_end_of_day`.
fn parse_time(value: &Value, path: &Path, allow_end_of_day: bool) -> Result<u16> {
    let text = config::string(value, path)?;
    let bad = || {
        err(
            path,
            format_args!(
                "expected \"HH:MM\" (00:00–23:59{}), got \"{text}\"",
                if allow_end_of_day { " or 24:00" } else { "" }
            ),
        )
    };
    let b = text.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return bad();
    }
    let hours = ((b[0] - b'0') * 10 + (b[1] - b'0')) as u16;
    let minutes = ((b[3] - b'0') * 10 + (b[4] - b'0')) as u16;
    match (hours, minutes) {
        (24, 0) if allow_end_of_day => Ok(1440),
        (0..=23, 0..=59) => Ok(hours * 60 + minutes),
        _ => bad(),
    }
}

fn parse_date(value: &Value, path: &Path) -> Result<LocalDate> {
    let text = config::string(value, path)?;
    let bad = || {
        err(
            path,
            format_args!("expected a date \"YYYY-MM-DD\", got \"{text}\""),
        )
    };
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return bad();
    }
    let number =
        |range: core::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u16>().ok());
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return bad();
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return bad(),
    };
    if day == 0 || day > days_in_month {
        return bad();
    }
    Ok(LocalDate {
        year,
        month: month as u8,
        day: day as u8,
    })
}

fn describe(window: &Window, index: usize) -> String {
    let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    format!(
        "window {} ({}–{})",
        index + 1,
        hhmm(window.from),
        hhmm(window.to)
    )
}

fn overflow(config: &TimeOfDayConfig, default_reason: String, reason: String) -> Outcome {
    let overflow = Overflow {
        reason: config.out_of_hours.reason.clone().unwrap_or(default_reason),
        target: config.out_of_hours.target.clone(),
    };
    Outcome {
        decision: Decision::Overflow(overflow),
        reason,
    }
}

pub fn decide_with(config: &TimeOfDayConfig, input: &Input, host: &dyn Host) -> Outcome {
    let ctx = input.context;
    let d = ctx.local_date;
    let date = format!("{:04}-{:02}-{:02}", d.year, d.month, d.day);
    if ctx.holiday || config.holidays.contains(&d) {
        return overflow(
            config,
            format!("closed for a holiday ({date})"),
            format!("holiday {date}: out of hours"),
        );
    }
    let weekday = ctx.weekday.index();
    let minute = ctx.minutes_since_midnight;
    let Some((index, window)) = config
        .windows
        .iter()
        .enumerate()
        .find(|(_, w)| w.contains(weekday, minute))
    else {
        let hhmm = format!("{:02}:{:02}", minute / 60, minute % 60);
        let day = DAY_NAMES[weekday][0];
        return overflow(
            config,
            "out of hours".into(),
            format!("{day} {date} {hhmm}: outside every window"),
        );
    };
    let mut outcome = match &window.strategy {
        WindowStrategy::Classic(classic) => classic::decide_with(classic, input, host),
        WindowStrategy::SkillStep(step) => match config.skill_steps.get(*step) {
            Some(step_config) => {
                let order = skill::qualifying(step_config, input);
                if order.is_empty() {
                    Outcome {
                        decision: Decision::Wait(config.recheck_seconds),
                        reason: format!("skill step {step}: nobody qualifies"),
                    }
                } else {
                    let reason = format!(
                        "skill step {step}: {} of {} candidates qualify",
                        order.len(),
                        input.candidates.count
                    );
                    Outcome {
                        decision: Decision::Offer(crate::Offer {
                            order,
                            simultaneous: false,
                        }),
                        reason,
                    }
                }
            }
            None => classic::longest_idle(input.candidates, config.recheck_seconds),
        },
    };
    outcome.reason = format!("{}: {}", describe(window, index), outcome.reason);
    outcome
}

/// The `decide` export: parse `context.config`, then decide.
pub fn decide(input: &Input, host: &dyn Host) -> Outcome {
    match parse_config(&input.context.config) {
        Ok(config) => decide_with(&config, input, host),
        Err(error) => crate::invalid_config_fallback(input, &error),
    }
}

pub fn validate(config: &str) -> core::result::Result<(), String> {
    parse_config(config).map(|_| ()).map_err(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::{Candidates, Context, Weekday};

    const CONFIG: &str = r#"{
        "windows": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "17:00", "strategy": 0},
            {"days": ["Friday"], "from": "22:00", "to": "06:00", "strategy": "longest-idle"},
            {"days": ["sat"], "from": "10:00", "to": "24:00", "strategy": {"strategy": "ring-all", "maxOffers": 2}}
        ],
        "skillSteps": [{"requirements": [{"skill": "billing", "minLevel": 50}]}],
        "holidays": ["2026-12-25"],
        "outOfHours": {"target": "voicemail"}
    }"#;

    fn team() -> Candidates {
        let mut c = idle(&[10, 300, 200]);
        c.skill_levels = vec![90, 40, 60]; // one column: billing
        c
    }

    fn at(weekday: Weekday, hh: u16, mm: u16, date: (u16, u8, u8)) -> Context {
        Context {
            weekday,
            minutes_since_midnight: hh * 60 + mm,
            local_date: LocalDate {
                year: date.0,
                month: date.1,
                day: date.2,
            },
            ..context(CONFIG)
        }
    }

    fn run_at(context: &Context) -> Outcome {
        let names = vec!["billing".to_string()];
        let task = task(0);
        let c = team();
        decide(
            &Input {
                task: &task,
                skill_names: &names,
                candidates: &c,
                context,
            },
            &FakeHost::default(),
        )
    }

    fn closed(outcome: &Outcome) -> Overflow {
        match &outcome.decision {
            Decision::Overflow(o) => o.clone(),
            other => panic!("expected overflow, got {other:?} ({})", outcome.reason),
        }
    }

    // 2026-11-23 is a Monday, 2026-11-27 a Friday, 2026-11-28 a Saturday.
    #[test]
    fn weekday_window_uses_the_skill_step() {
        let out = run_at(&at(Weekday::Monday, 8, 0, (2026, 11, 23)));
        // billing ≥ 50: 0 (90) then 2 (60).
        assert_eq!(offered(&out), (vec![0, 2], false));
        assert!(
            out.reason
                .starts_with("window 1 (08:00–17:00): skill step 0"),
            "{}",
            out.reason
        );
        // 17:00 is already closed (to is exclusive).
        let out = run_at(&at(Weekday::Monday, 17, 0, (2026, 11, 23)));
        assert_eq!(
            closed(&out),
            Overflow {
                reason: "out of hours".into(),
                target: Some("voicemail".into())
            }
        );
        assert!(
            out.reason
                .starts_with("mon 2026-11-23 17:00: outside every window"),
            "{}",
            out.reason
        );
    }

    #[test]
    fn a_window_across_midnight_covers_the_next_morning() {
        // Friday 23:30 → window 2.
        assert_eq!(
            offered(&run_at(&at(Weekday::Friday, 23, 30, (2026, 11, 27)))).0,
            vec![1, 2, 0]
        );
        // Saturday 05:59 still window 2 (started Friday); Saturday 06:00 closed.
        assert_eq!(
            offered(&run_at(&at(Weekday::Saturday, 5, 59, (2026, 11, 28)))).0,
            vec![1, 2, 0]
        );
        closed(&run_at(&at(Weekday::Saturday, 6, 0, (2026, 11, 28))));
        // Friday 05:00 is not covered: Thursday is not a day of window 2.
        closed(&run_at(&at(Weekday::Friday, 5, 0, (2026, 11, 27))));
        // Friday 21:59 closed (the weekday window ended at 17:00).
        closed(&run_at(&at(Weekday::Friday, 21, 59, (2026, 11, 27))));
    }

    #[test]
    fn sunday_evening_window_wraps_into_monday() {
        let config = r#"{"windows": [{"days": ["sun"], "from": "20:00", "to": "02:00", "strategy": "ring-all"}]}"#;
        let mut ctx = at(Weekday::Monday, 1, 59, (2026, 11, 23));
        ctx.config = config.into();
        assert!(offered(&run_at(&ctx)).1, "ring-all offers simultaneously");
        ctx.minutes_since_midnight = 2 * 60;
        assert_eq!(closed(&run_at(&ctx)).target, None);
    }

    #[test]
    fn window_until_midnight_with_an_object_strategy() {
        let out = run_at(&at(Weekday::Saturday, 23, 59, (2026, 11, 28)));
        assert_eq!(offered(&out), (vec![0, 1], true));
    }

    #[test]
    fn holidays_close_the_service() {
        // A Friday in a window, but a listed holiday.
        let out = run_at(&at(Weekday::Friday, 10, 0, (2026, 12, 25)));
        assert_eq!(
            closed(&out),
            Overflow {
                reason: "closed for a holiday (2026-12-25)".into(),
                target: Some("voicemail".into())
            }
        );
        // The host's holiday flag closes too.
        let mut ctx = at(Weekday::Monday, 10, 0, (2026, 11, 23));
        ctx.holiday = true;
        assert!(closed(&run_at(&ctx))
            .reason
            .starts_with("closed for a holiday"));
    }

    #[test]
    fn dst_is_the_hosts_business_the_local_time_decides() {
        // The same UTC instant resolved by the host before and after a DST change (e.g. 07:30
        // in winter time vs 08:30 in summer time): only the local minutes matter.
        let before = at(Weekday::Monday, 7, 30, (2026, 3, 30));
        let after = Context {
            minutes_since_midnight: 8 * 60 + 30,
            ..before.clone()
        };
        assert_eq!(before.now_utc_seconds, after.now_utc_seconds);
        closed(&run_at(&before));
        assert_eq!(offered(&run_at(&after)).0, vec![0, 2]);
    }

    #[test]
    fn configured_reason_and_target() {
        let config = r#"{"windows": [{"days": ["sat"], "from": "10:00", "to": "11:00", "strategy": "random"}],
                         "outOfHours": {"reason": "we are closed", "target": "+4930999"}}"#;
        let mut ctx = at(Weekday::Monday, 10, 0, (2026, 11, 23));
        ctx.config = config.into();
        assert_eq!(
            closed(&run_at(&ctx)),
            Overflow {
                reason: "we are closed".into(),
                target: Some("+4930999".into())
            }
        );
    }

    #[test]
    fn validation_names_the_field() {
        let w = |window: &str| format!(r#"{{"windows": [{window}]}}"#);
        let cases = [
            ("{}".to_string(), "windows: is required"),
            (r#"{"windows": []}"#.to_string(), "windows: needs at least 1 entry"),
            (w(r#"{"days": ["mon"], "from": "8:00", "to": "17:00", "strategy": "random"}"#), "windows[0].from: expected \"HH:MM\""),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "24:01", "strategy": "random"}"#), "windows[0].to: expected \"HH:MM\""),
            (w(r#"{"days": ["mon"], "from": "24:00", "to": "10:00", "strategy": "random"}"#), "windows[0].from: expected \"HH:MM\""),
            (w(r#"{"days": ["mon"], "from": "10:00", "to": "10:00", "strategy": "random"}"#), "windows[0].to: equals \"from\""),
            (w(r#"{"days": ["mon", "funday"], "from": "08:00", "to": "10:00", "strategy": "random"}"#), "windows[0].days[1]: \"funday\" is not a weekday"),
            (w(r#"{"days": [], "from": "08:00", "to": "10:00", "strategy": "random"}"#), "windows[0].days: needs at least 1 entry"),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": 0}"#), "windows[0].strategy: skill step 0 does not exist"),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": "serial"}"#), "windows[0].strategy: \"serial\" needs settings"),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": {"strategy": "serial"}}"#), "windows[0].strategy.order: is required"),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": true}"#), "windows[0].strategy: expected a strategy name"),
            (w(r#"{"days": ["mon"], "from": "08:00", "to": "10:00"}"#), "windows[0].strategy: is required"),
            (
                r#"{"windows": [{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": "random"}], "holidays": ["2026-02-29"]}"#.to_string(),
                "holidays[0]: expected a date \"YYYY-MM-DD\", got \"2026-02-29\"",
            ),
            (
                r#"{"windows": [{"days": ["mon"], "from": "08:00", "to": "10:00", "strategy": "random"}], "skillSteps": [{"afterSeconds": 0, "requirements": []}]}"#.to_string(),
                "skillSteps[0].afterSeconds: unknown field",
            ),
        ];
        for (config, expected) in cases {
            let error = validate(&config).expect_err(&config);
            assert!(
                error.starts_with(expected),
                "{config}\n  got: {error}\n  want: {expected}"
            );
        }
        assert_eq!(validate(CONFIG), Ok(()));
        assert_eq!(
            validate(
                r#"{"windows": [{"days": ["sun"], "from": "00:00", "to": "24:00", "strategy": "random"}], "holidays": ["2028-02-29"]}"#
            ),
            Ok(())
        );
    }
}

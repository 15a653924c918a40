//! Decision input in the product's words — a task with named skill requirements, agents with
//! named skills, a moment and the service's time zone — turned into the contract's compact
//! form: the skill names once as a table, levels as one byte per cell, numbers as columns,
//! strings kept on the host side. The simulate operation reads this form from its body; the
//! routing function builds the same input from stored agents.
//!
//! The moment is resolved here, on the host, with the IANA time zone database (`chrono-tz`):
//! a plugin gets the local date, weekday and minutes since midnight already computed, so DST
//! changes and time zones never need to be understood inside the sandbox.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::{
    Candidates, Context, DecisionInput, HostStrings, LocalDate, Modality, SkillRequirement, Task,
    Weekday,
};

/// Most candidates one decision may be given (the contract's lists stay bounded).
pub const MAX_CANDIDATES: usize = 5_000;
/// Most distinct skills across the task and the candidates.
pub const MAX_SKILLS: usize = 1_000;
/// "Never" in the contract's last-offered / last-answered columns.
pub const NEVER: u32 = u32::MAX;

/// Why an input could not be built; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

fn invalid(field: &str, problem: impl std::fmt::Display) -> SpecError {
    SpecError(format!("\"{field}\" {problem}"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredSkill {
    pub skill: String,
    /// 1..=100.
    pub min_level: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskSpec {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub service: String,
    /// `audio` (default), `video`, `chat`, `email` or `externalTask`.
    #[serde(default)]
    pub modality: Option<String>,
    #[serde(default)]
    pub priority: u8,
    #[serde(default)]
    pub waited_seconds: u32,
    #[serde(default)]
    pub required_skills: Vec<RequiredSkill>,
    #[serde(default)]
    pub caller: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CandidateSpec {
    pub agent_id: String,
    /// Skill name → level 1..=100.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    #[serde(default)]
    pub idle_seconds: u32,
    #[serde(default)]
    pub handled_today: u32,
    #[serde(default)]
    pub talk_seconds_today: u32,
    /// Absent: never offered today.
    #[serde(default)]
    pub last_offered_seconds_ago: Option<u32>,
    #[serde(default)]
    pub last_answered_seconds_ago: Option<u32>,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// When the decision is made and where the service is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MomentSpec {
    /// RFC 3339 instant, e.g. `2026-03-29T00:30:00Z`.
    pub at: String,
    /// IANA time zone of the service, e.g. `Europe/Berlin`; UTC when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The service's holidays as local dates (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// The seed for policies that draw lots (random, weighted random).
    #[serde(default)]
    pub seed: u64,
}

fn modality(name: Option<&str>) -> Result<Modality, SpecError> {
    let Some(name) = name else {
        return Ok(Modality::Audio);
    };
    let normalized: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Ok(match normalized.as_str() {
        "audio" => Modality::Audio,
        "video" => Modality::Video,
        "chat" => Modality::Chat,
        "email" => Modality::Email,
        "externaltask" => Modality::ExternalTask,
        _ => {
            return Err(invalid(
                "task.modality",
                format!("is {name:?}; one of audio, video, chat, email, externalTask"),
            ))
        }
    })
}

fn weekday(day: chrono::Weekday) -> Weekday {
    match day {
        chrono::Weekday::Mon => Weekday::Monday,
        chrono::Weekday::Tue => Weekday::Tuesday,
        chrono::Weekday::Wed => Weekday::Wednesday,
        chrono::Weekday::Thu => Weekday::Thursday,
        chrono::Weekday::Fri => Weekday::Friday,
        chrono::Weekday::Sat => Weekday::Saturday,
        chrono::Weekday::Sun => Weekday::Sunday,
    }
}

/// The decision moment resolved in the service's time zone, with `config` attached.
pub fn context(moment: &MomentSpec, config: &str) -> Result<Context, SpecError> {
    let utc: DateTime<Utc> = DateTime::parse_from_rfc3339(moment.at.trim())
        .map_err(|e| invalid("at", format!("is not an RFC 3339 instant: {e}")))?
        .with_timezone(&Utc);
    let zone_name = moment.time_zone.as_deref().unwrap_or("UTC");
    let zone: Tz = zone_name.parse().map_err(|_| {
        invalid(
            "timeZone",
            format!("is {zone_name:?}, not an IANA time zone such as \"Europe/Berlin\""),
        )
    })?;
    let local = utc.with_timezone(&zone);
    let date = local.date_naive();
    let mut holiday = false;
    for (i, text) in moment.holidays.iter().enumerate() {
        let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
            .map_err(|_| invalid(&format!("holidays[{i}]"), "is not a date (YYYY-MM-DD)"))?;
        holiday |= day == date;
    }
    Ok(Context {
        now_utc_seconds: utc.timestamp(),
        local_date: LocalDate {
            year: u16::try_from(date.year()).map_err(|_| invalid("at", "is out of range"))?,
            month: date.month() as u8,
            day: date.day() as u8,
        },
        weekday: weekday(date.weekday()),
        minutes_since_midnight: (local.hour() * 60 + local.minute()) as u16,
        holiday,
        config: config.to_owned(),
        seed: moment.seed,
    })
}

fn level(field: &str, level: u8) -> Result<u8, SpecError> {
    if (1..=100).contains(&level) {
        Ok(level)
    } else {
        Err(invalid(field, format!("is {level}; levels are 1 to 100")))
    }
}

/// The contract's input for one decision. Skill names are matched exactly; the table holds
/// the task's required skills first, then the candidates' other skills in order of
/// appearance.
pub fn decision_input(
    task: &TaskSpec,
    candidates: &[CandidateSpec],
    context: Context,
) -> Result<DecisionInput, SpecError> {
    if candidates.len() > MAX_CANDIDATES {
        return Err(invalid(
            "candidates",
            format!(
                "lists {} agents; at most {MAX_CANDIDATES}",
                candidates.len()
            ),
        ));
    }
    let mut skill_names: Vec<String> = Vec::new();
    let column = |name: &str, skill_names: &mut Vec<String>| -> Result<u16, SpecError> {
        if let Some(at) = skill_names.iter().position(|n| n == name) {
            return Ok(at as u16);
        }
        if skill_names.len() >= MAX_SKILLS {
            return Err(invalid(
                "skills",
                format!("name more than {MAX_SKILLS} distinct skills"),
            ));
        }
        skill_names.push(name.to_owned());
        Ok((skill_names.len() - 1) as u16)
    };
    let mut required_skills = Vec::with_capacity(task.required_skills.len());
    for (i, req) in task.required_skills.iter().enumerate() {
        let field = format!("task.requiredSkills[{i}].minLevel");
        required_skills.push(SkillRequirement {
            skill: column(&req.skill, &mut skill_names)?,
            min_level: level(&field, req.min_level)?,
        });
    }
    let mut cells: Vec<(usize, u16, u8)> = Vec::new();
    let mut seen_ids = std::collections::HashSet::new();
    for (i, candidate) in candidates.iter().enumerate() {
        if candidate.agent_id.trim().is_empty() {
            return Err(invalid(&format!("candidates[{i}].agentId"), "is required"));
        }
        if !seen_ids.insert(candidate.agent_id.as_str()) {
            return Err(invalid(
                &format!("candidates[{i}].agentId"),
                format!("{:?} is listed twice", candidate.agent_id),
            ));
        }
        for (name, value) in &candidate.skills {
            let field = format!("candidates[{i}].skills.{name}");
            cells.push((i, column(name, &mut skill_names)?, level(&field, *value)?));
        }
    }
    let width = skill_names.len();
    let count = candidates.len();
    let mut skill_levels = vec![0u8; count * width];
    for (row, col, value) in cells {
        skill_levels[row * width + col as usize] = value;
    }
    let column_of = |f: fn(&CandidateSpec) -> u32| candidates.iter().map(f).collect::<Vec<u32>>();
    let columns = Candidates {
        count: count as u32,
        skill_levels,
        idle_seconds: column_of(|c| c.idle_seconds),
        handled_today: column_of(|c| c.handled_today),
        talk_seconds_today: column_of(|c| c.talk_seconds_today),
        last_offered_seconds_ago: column_of(|c| c.last_offered_seconds_ago.unwrap_or(NEVER)),
        last_answered_seconds_ago: column_of(|c| c.last_answered_seconds_ago.unwrap_or(NEVER)),
    };
    let strings = HostStrings {
        candidate_ids: candidates.iter().map(|c| c.agent_id.clone()).collect(),
        candidate_attributes: candidates.iter().map(|c| c.attributes.clone()).collect(),
        task_attributes: task.attributes.clone(),
    };
    Ok(DecisionInput {
        task: Task {
            id: task.id.clone(),
            service: task.service.clone(),
            modality: modality(task.modality.as_deref())?,
            priority: task.priority,
            waited_seconds: task.waited_seconds,
            required_skills,
            caller: task.caller.clone(),
        },
        skill_names,
        candidates: columns,
        context,
        strings: Arc::new(strings),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(at: &str, zone: &str) -> MomentSpec {
        MomentSpec {
            at: at.into(),
            time_zone: Some(zone.into()),
            holidays: vec![],
            seed: 0,
        }
    }

    fn local(at: &str, zone: &str) -> (LocalDate, Weekday, u16) {
        let c = context(&moment(at, zone), "{}").expect("resolves");
        (c.local_date, c.weekday, c.minutes_since_midnight)
    }

    fn date(year: u16, month: u8, day: u8) -> LocalDate {
        LocalDate { year, month, day }
    }

    #[test]
    fn resolves_in_the_services_zone_across_midnight() {
        // 23:30 UTC on a Sunday is already Monday 00:30 in Berlin (winter, UTC+1).
        assert_eq!(
            local("2026-01-04T23:30:00Z", "Europe/Berlin"),
            (date(2026, 1, 5), Weekday::Monday, 30)
        );
        // …and still Sunday afternoon in New York (UTC-5).
        assert_eq!(
            local("2026-01-04T23:30:00Z", "America/New_York"),
            (date(2026, 1, 4), Weekday::Sunday, 18 * 60 + 30)
        );
        // Offsets in the input are honoured: the same instant written in +01:00.
        assert_eq!(
            local("2026-01-05T00:30:00+01:00", "UTC"),
            (date(2026, 1, 4), Weekday::Sunday, 23 * 60 + 30)
        );
    }

    #[test]
    fn follows_dst_changes() {
        // Berlin springs forward on 2026-03-29 at 02:00 → 03:00 local (01:00 UTC).
        assert_eq!(
            local("2026-03-29T00:59:00Z", "Europe/Berlin").2,
            60 + 59 // 01:59 CET
        );
        assert_eq!(
            local("2026-03-29T01:00:00Z", "Europe/Berlin").2,
            3 * 60 // 03:00 CEST: 02:xx never happens
        );
        // 09:00 local is 08:00 UTC before the change and 07:00 UTC after it.
        assert_eq!(local("2026-03-27T08:00:00Z", "Europe/Berlin").2, 9 * 60);
        assert_eq!(local("2026-03-30T07:00:00Z", "Europe/Berlin").2, 9 * 60);
        // Falling back on 2026-10-25: 02:30 local happens twice, an hour apart in UTC.
        assert_eq!(
            local("2026-10-25T00:30:00Z", "Europe/Berlin").2,
            2 * 60 + 30
        );
        assert_eq!(
            local("2026-10-25T01:30:00Z", "Europe/Berlin").2,
            2 * 60 + 30
        );
        // The southern hemisphere changes the other way round (Sydney: +11 in January).
        assert_eq!(
            local("2026-01-15T22:00:00Z", "Australia/Sydney"),
            (date(2026, 1, 16), Weekday::Friday, 9 * 60)
        );
        assert_eq!(
            local("2026-07-15T23:00:00Z", "Australia/Sydney"),
            (date(2026, 7, 16), Weekday::Thursday, 9 * 60)
        );
    }

    #[test]
    fn holidays_are_local_dates() {
        let mut m = moment("2026-12-24T23:30:00Z", "Europe/Berlin");
        m.holidays = vec!["2026-12-25".into(), "2026-12-26".into()];
        assert!(context(&m, "{}").expect("resolves").holiday);
        // In UTC it is still the 24th: not a holiday there.
        m.time_zone = Some("UTC".into());
        assert!(!context(&m, "{}").expect("resolves").holiday);
        m.holidays = vec!["25.12.2026".into()];
        assert_eq!(
            context(&m, "{}").unwrap_err().0,
            "\"holidays[0]\" is not a date (YYYY-MM-DD)"
        );
    }

    #[test]
    fn names_bad_moments() {
        let err = context(&moment("yesterday", "UTC"), "{}").unwrap_err();
        assert!(
            err.0.starts_with("\"at\" is not an RFC 3339 instant"),
            "{err}"
        );
        let err = context(&moment("2026-01-01T00:00:00Z", "Mars/Olympus"), "{}").unwrap_err();
        assert!(
            err.0.starts_with("\"timeZone\" is \"Mars/Olympus\""),
            "{err}"
        );
    }

    fn agent(id: &str, skills: &[(&str, u8)], idle: u32) -> CandidateSpec {
        CandidateSpec {
            agent_id: id.into(),
            skills: skills.iter().map(|(n, l)| ((*n).into(), *l)).collect(),
            idle_seconds: idle,
            ..CandidateSpec::default()
        }
    }

    #[test]
    fn builds_the_skill_table_once() {
        let task = TaskSpec {
            required_skills: vec![RequiredSkill {
                skill: "french".into(),
                min_level: 40,
            }],
            modality: Some("external-task".into()),
            ..TaskSpec::default()
        };
        let candidates = [
            agent("a", &[("english", 70)], 5),
            agent("b", &[("french", 50), ("english", 20)], 9),
        ];
        let ctx = context(&moment("2026-01-01T00:00:00Z", "UTC"), "{}").expect("ctx");
        let input = decision_input(&task, &candidates, ctx).expect("input");
        assert_eq!(input.skill_names, vec!["french", "english"]);
        assert_eq!(input.task.required_skills[0].skill, 0);
        assert_eq!(input.task.modality, Modality::ExternalTask);
        // Rows: a = [french 0, english 70], b = [french 50, english 20].
        assert_eq!(input.candidates.skill_levels, vec![0, 70, 50, 20]);
        assert_eq!(input.candidates.idle_seconds, vec![5, 9]);
        assert_eq!(
            input.candidates.last_offered_seconds_ago,
            vec![NEVER, NEVER]
        );
        assert_eq!(input.strings.candidate_ids, vec!["a", "b"]);
    }

    #[test]
    fn names_bad_candidates() {
        let ctx = || context(&moment("2026-01-01T00:00:00Z", "UTC"), "{}").expect("ctx");
        let twice = [agent("a", &[], 0), agent("a", &[], 0)];
        let err = decision_input(&TaskSpec::default(), &twice, ctx()).unwrap_err();
        assert_eq!(err.0, "\"candidates[1].agentId\" \"a\" is listed twice");
        let zero = [agent("a", &[("french", 0)], 0)];
        let err = decision_input(&TaskSpec::default(), &zero, ctx()).unwrap_err();
        assert_eq!(
            err.0,
            "\"candidates[0].skills.french\" is 0; levels are 1 to 100"
        );
        let task = TaskSpec {
            modality: Some("fax".into()),
            ..TaskSpec::default()
        };
        let err = decision_input(&task, &[], ctx()).unwrap_err();
        assert!(err.0.starts_with("\"task.modality\" is \"fax\""), "{err}");
    }
}

//! Skill-based routing with an escalating distribution order.
//!
//! ```json
//! { "steps": [
//!     { "afterSeconds": 0,  "requirements": [{ "skill": "billing", "minLevel": 80 }] },
//!     { "afterSeconds": 30, "requirements": [{ "skill": "billing", "minLevel": 40 }] },
//!     { "afterSeconds": 90, "requirements": [], "useTaskSkills": true }
//!   ],
//!   "overflow": { "reason": "no billing agent", "target": "billing-backup" },
//!   "recheckSeconds": 10 }
//! ```
//! The step in force is the last whose `afterSeconds` ≤ the task's wait; the task keeps its
//! place in the queue while the steps relax. Candidates meeting every requirement of the step
//! are offered by proficiency (sum of their levels in the step's skills) descending, then
//! longest idle, then index. When nobody qualifies the task waits until the next step's
//! threshold; past the last step it overflows if `overflow` is configured, else it waits
//! `recheckSeconds`. `useTaskSkills` adds the task's own required skills to a step.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::config::{self, array, err, uint, Obj, OverflowConfig, Path, Result};
use crate::{
    desc, pack, rank2, sorted_indices, Decision, Input, Offer, Outcome, Overflow, SkillRequirement,
};

pub const MAX_STEPS: usize = 32;
pub const MAX_REQUIREMENTS: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub skill: String,
    pub min_level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub after_seconds: u32,
    pub requirements: Vec<Requirement>,
    pub use_task_skills: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillConfig {
    pub steps: Vec<Step>,
    pub overflow: Option<OverflowConfig>,
    pub recheck_seconds: u32,
}

pub fn parse_config(config: &str) -> core::result::Result<SkillConfig, crate::ConfigError> {
    let value = config::parse(config)?;
    let obj = Obj::new(&value, Path::Root, &["steps", "overflow", "recheckSeconds"])?;
    let steps_path = obj.path_of("steps");
    let items = array(obj.required("steps")?, &steps_path, 1, MAX_STEPS)?;
    let mut steps: Vec<Step> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let step = parse_step(item, steps_path.index(i), true)?;
        match steps.last() {
            None if step.after_seconds != 0 => {
                return err(
                    &steps_path.index(0).key("afterSeconds"),
                    "the first step must start at 0",
                );
            }
            Some(prev) if step.after_seconds <= prev.after_seconds => {
                return err(
                    &steps_path.index(i).key("afterSeconds"),
                    format_args!(
                        "must be greater than the previous step's ({})",
                        prev.after_seconds
                    ),
                );
            }
            _ => {}
        }
        steps.push(step);
    }
    let overflow = obj
        .get("overflow")
        .map(|v| config::overflow(v, obj.path_of("overflow")))
        .transpose()?;
    Ok(SkillConfig {
        steps,
        overflow,
        recheck_seconds: config::recheck_seconds(&obj)?,
    })
}

/// One step object; `with_after` is false where steps are picked by index (time-of-day).
pub(crate) fn parse_step(value: &serde_json::Value, path: Path, with_after: bool) -> Result<Step> {
    let allowed: &[&str] = if with_after {
        &["afterSeconds", "requirements", "useTaskSkills"]
    } else {
        &["requirements", "useTaskSkills"]
    };
    let obj = Obj::new(value, path, allowed)?;
    let after_seconds = if with_after {
        uint(
            obj.required("afterSeconds")?,
            &obj.path_of("afterSeconds"),
            0,
            7 * 86_400,
        )?
    } else {
        0
    };
    let use_task_skills = match obj.get("useTaskSkills") {
        None => false,
        Some(v) => match v.as_bool() {
            Some(b) => b,
            None => {
                return err(
                    &obj.path_of("useTaskSkills"),
                    format_args!("expected true or false, got {v}"),
                )
            }
        },
    };
    let req_path = obj.path_of("requirements");
    let items = array(
        obj.required("requirements")?,
        &req_path,
        0,
        MAX_REQUIREMENTS,
    )?;
    let mut requirements: Vec<Requirement> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let req = Obj::new(item, req_path.index(i), &["skill", "minLevel"])?;
        let skill = config::string(req.required("skill")?, &req.path_of("skill"))?;
        if requirements.iter().any(|r| r.skill == skill) {
            return err(
                &req.path_of("skill"),
                format_args!("\"{skill}\" is already required by this step"),
            );
        }
        let min_level = uint(req.required("minLevel")?, &req.path_of("minLevel"), 1, 100)? as u8;
        requirements.push(Requirement { skill, min_level });
    }
    Ok(Step {
        after_seconds,
        requirements,
        use_task_skills,
    })
}

/// The step in force after `waited` seconds: the last whose threshold has passed.
pub fn step_in_force(steps: &[Step], waited: u32) -> usize {
    steps
        .iter()
        .rposition(|s| s.after_seconds <= waited)
        .unwrap_or(0)
}

/// The step's requirements as (skill column, minimum level); `None` when a required skill is
/// not in the skill table, so nobody can meet it.
fn resolve(step: &Step, input: &Input) -> Option<Vec<SkillRequirement>> {
    let mut resolved =
        Vec::with_capacity(step.requirements.len() + input.task.required_skills.len());
    for req in &step.requirements {
        let column = input
            .skill_names
            .iter()
            .position(|name| *name == req.skill)?;
        resolved.push(SkillRequirement {
            skill: column as u16,
            min_level: req.min_level,
        });
    }
    if step.use_task_skills {
        for req in &input.task.required_skills {
            if (req.skill as usize) >= input.skill_names.len() {
                return None;
            }
            match resolved.iter_mut().find(|r| r.skill == req.skill) {
                Some(r) => r.min_level = r.min_level.max(req.min_level),
                None => resolved.push(*req),
            }
        }
    }
    Some(resolved)
}

/// Candidates meeting `step`, by proficiency desc, idle desc, index.
pub fn qualifying(step: &Step, input: &Input) -> Vec<u32> {
    let Some(requirements) = resolve(step, input) else {
        return Vec::new();
    };
    let candidates = input.candidates;
    let width = input.skill_names.len();
    let mut keyed: Vec<u128> = Vec::new();
    'candidate: for i in 0..candidates.count {
        let mut proficiency = 0u32;
        for req in &requirements {
            let level = candidates.level(i, req.skill, width);
            if level < req.min_level.max(1) {
                continue 'candidate;
            }
            proficiency += level as u32;
        }
        // Proficiency desc, then idle desc, then index.
        keyed.push(pack(rank2(desc(proficiency), desc(candidates.idle(i))), i));
    }
    sorted_indices(keyed)
}

pub fn decide_with(config: &SkillConfig, input: &Input) -> Outcome {
    let steps = &config.steps;
    let waited = input.task.waited_seconds;
    let current = step_in_force(steps, waited);
    let Some(step) = steps.get(current) else {
        return Outcome {
            decision: Decision::Wait(config.recheck_seconds),
            reason: "no step configured".into(),
        };
    };
    let label = format!(
        "step {}/{} (from {}s)",
        current + 1,
        steps.len(),
        step.after_seconds
    );
    let order = qualifying(step, input);
    if !order.is_empty() {
        let reason = format!(
            "{label}: {} of {} candidates qualify",
            order.len(),
            input.candidates.count
        );
        return Outcome {
            decision: Decision::Offer(Offer {
                order,
                simultaneous: false,
            }),
            reason,
        };
    }
    if let Some(next) = steps.get(current + 1) {
        let wait = next.after_seconds.saturating_sub(waited).max(1);
        return Outcome {
            decision: Decision::Wait(wait),
            reason: format!(
                "{label}: nobody qualifies; step {} applies in {wait}s",
                current + 2
            ),
        };
    }
    match &config.overflow {
        Some(overflow) => {
            let reason = overflow
                .reason
                .clone()
                .unwrap_or_else(|| "nobody meets the last step".into());
            Outcome {
                reason: format!("{label}: nobody qualifies; overflow"),
                decision: Decision::Overflow(Overflow {
                    reason,
                    target: overflow.target.clone(),
                }),
            }
        }
        None => Outcome {
            decision: Decision::Wait(config.recheck_seconds),
            reason: format!("{label}: nobody qualifies; last step, waiting"),
        },
    }
}

/// The `decide` export: parse `context.config`, then decide.
pub fn decide(input: &Input) -> Outcome {
    match parse_config(&input.context.config) {
        Ok(config) => decide_with(&config, input),
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
    use crate::{Candidates, NEVER};

    const CONFIG: &str = r#"{
        "steps": [
            {"afterSeconds": 0,  "requirements": [{"skill": "billing", "minLevel": 80}, {"skill": "german", "minLevel": 50}]},
            {"afterSeconds": 30, "requirements": [{"skill": "billing", "minLevel": 40}]},
            {"afterSeconds": 90, "requirements": []}
        ],
        "recheckSeconds": 5
    }"#;

    fn names() -> Vec<String> {
        vec!["german".into(), "billing".into(), "french".into()]
    }

    /// Rows are (german, billing, french).
    fn team() -> Candidates {
        let mut c = idle(&[100, 300, 200, 50, 400]);
        c.skill_levels = vec![
            90, 80, 0, // 0: german 90 billing 80 → step 1 proficiency 170
            50, 90, 0, // 1: 140
            0, 100, 0, // 2: no german → not in step 1; step 2 proficiency 100
            60, 80, 0, // 3: 140, less idle than 1
            0, 30, 70, // 4: billing 30 → only from step 3
        ];
        c
    }

    fn run(config: &str, waited: u32, candidates: &Candidates) -> Outcome {
        let names = names();
        let task = task(waited);
        let context = context(config);
        decide(&Input {
            task: &task,
            skill_names: &names,
            candidates,
            context: &context,
        })
    }

    #[test]
    fn first_step_orders_by_proficiency_then_idle() {
        let out = run(CONFIG, 0, &team());
        // 0 (170), then 1 and 3 tie at 140: 1 idles 300 s, 3 idles 50 s.
        assert_eq!(offered(&out), (vec![0, 1, 3], false));
        assert!(out.reason.starts_with("step 1/3"), "{}", out.reason);
    }

    #[test]
    fn escalates_as_the_task_waits() {
        // Step 2 at exactly 30 s: billing ≥ 40 → 2 (100), 1 (90), 0 and 3 (80: 0 idles longer).
        assert_eq!(offered(&run(CONFIG, 30, &team())).0, vec![2, 1, 0, 3]);
        assert_eq!(offered(&run(CONFIG, 89, &team())).0, vec![2, 1, 0, 3]);
        // Step 3: no requirement, everyone at proficiency 0 → longest idle first.
        assert_eq!(offered(&run(CONFIG, 90, &team())).0, vec![4, 1, 2, 0, 3]);
    }

    #[test]
    fn nobody_qualifies_waits_until_the_next_step() {
        let mut c = team();
        c.skill_levels = vec![0; 15];
        let out = run(CONFIG, 12, &c);
        assert_eq!(out.decision, Decision::Wait(18));
        let out = run(CONFIG, 30, &c);
        assert_eq!(out.decision, Decision::Wait(60));
    }

    #[test]
    fn past_the_last_step_overflows_when_configured_else_waits() {
        let config = r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "french", "minLevel": 90}]}],
                         "overflow": {"reason": "no French speaker", "target": "fr-backup"}}"#;
        let out = run(config, 500, &team());
        assert_eq!(
            out.decision,
            Decision::Overflow(Overflow {
                reason: "no French speaker".into(),
                target: Some("fr-backup".into())
            })
        );
        let config = r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "french", "minLevel": 90}]}]}"#;
        assert_eq!(
            run(config, 500, &team()).decision,
            Decision::Wait(crate::DEFAULT_RECHECK_SECONDS)
        );
    }

    #[test]
    fn a_skill_missing_from_the_table_means_nobody_qualifies() {
        let config = r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "klingon", "minLevel": 1}]}],
                         "overflow": {}}"#;
        let out = run(config, 0, &team());
        assert!(matches!(
            out.decision,
            Decision::Overflow(Overflow { target: None, .. })
        ));
    }

    #[test]
    fn task_skills_join_a_step_when_asked() {
        let config = r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "billing", "minLevel": 10}], "useTaskSkills": true}]}"#;
        let names = names();
        let mut task = task(0);
        // french (column 2) ≥ 50, and billing raised by the task from 10 to 40: candidate 4
        // speaks French (70) but has billing 30.
        task.required_skills = vec![
            SkillRequirement {
                skill: 2,
                min_level: 50,
            },
            SkillRequirement {
                skill: 1,
                min_level: 40,
            },
        ];
        let c = team();
        let context = context(config);
        let out = decide(&Input {
            task: &task,
            skill_names: &names,
            candidates: &c,
            context: &context,
        });
        assert_eq!(out.decision, Decision::Wait(crate::DEFAULT_RECHECK_SECONDS));
        task.required_skills[1].min_level = 20;
        let out = decide(&Input {
            task: &task,
            skill_names: &names,
            candidates: &c,
            context: &context,
        });
        assert_eq!(offered(&out).0, vec![4]);
    }

    #[test]
    fn short_columns_never_trap() {
        let c = Candidates {
            count: 3,
            skill_levels: vec![90],
            last_offered_seconds_ago: vec![NEVER],
            ..Default::default()
        };
        let out = run(CONFIG, 90, &c);
        assert_eq!(offered(&out).0, vec![0, 1, 2]);
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            ("[]", "configuration: expected an object"),
            ("{", "configuration is not valid JSON"),
            ("{}", "steps: is required"),
            (r#"{"steps": []}"#, "steps: needs at least 1 entry"),
            (
                r#"{"steps": [{"afterSeconds": 5, "requirements": []}]}"#,
                "steps[0].afterSeconds: the first step must start at 0",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": []}, {"afterSeconds": 0, "requirements": []}]}"#,
                "steps[1].afterSeconds: must be greater than the previous step's (0)",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "x", "minLevel": 0}]}]}"#,
                "steps[0].requirements[0].minLevel: expected an integer from 1 to 100, got 0",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "x", "minLevel": 5}, {"skill": "x", "minLevel": 9}]}]}"#,
                "steps[0].requirements[1].skill: \"x\" is already required by this step",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": [{"skill": "", "minLevel": 5}]}]}"#,
                "steps[0].requirements[0].skill: must not be empty",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": []}], "overfow": {}}"#,
                "overfow: unknown field",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": []}], "recheckSeconds": 0}"#,
                "recheckSeconds: expected an integer from 1 to 86400, got 0",
            ),
            (
                r#"{"steps": [{"afterSeconds": 0, "requirements": [], "useTaskSkills": "yes"}]}"#,
                "steps[0].useTaskSkills: expected true or false",
            ),
        ];
        for (config, expected) in cases {
            let error = validate(config).expect_err(config);
            assert!(
                error.starts_with(expected),
                "{config}\n  got: {error}\n  want: {expected}"
            );
        }
        assert_eq!(validate(CONFIG), Ok(()));
    }

    #[test]
    fn an_invalid_config_falls_back_to_longest_idle_and_says_so() {
        let out = run("{}", 0, &team());
        assert_eq!(offered(&out).0, vec![4, 1, 2, 0, 3]);
        assert!(out.reason.contains("steps: is required"), "{}", out.reason);
    }
}

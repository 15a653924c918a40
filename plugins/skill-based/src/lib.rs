//! The built-in skill-based routing policy (escalating distribution order) as a component.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

struct SkillBased;

impl Guest for SkillBased {
    fn decide(
        task: Task,
        skill_names: Vec<String>,
        candidates: Candidates,
        context: Context,
    ) -> Outcome {
        run_policy(task, skill_names, candidates, context, |input, _host| {
            policy_logic::skill::decide(input)
        })
    }

    fn validate_config(config: String) -> Result<(), String> {
        policy_logic::skill::validate(&config)
    }
}

export!(SkillBased);

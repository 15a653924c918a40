//! The built-in time-of-day routing policy (weekly windows, holidays, overflow) as a component.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

struct TimeOfDay;

impl Guest for TimeOfDay {
    fn decide(
        task: Task,
        skill_names: Vec<String>,
        candidates: Candidates,
        context: Context,
    ) -> Outcome {
        run_policy(
            task,
            skill_names,
            candidates,
            context,
            policy_logic::time_of_day::decide,
        )
    }

    fn validate_config(config: String) -> Result<(), String> {
        policy_logic::time_of_day::validate(&config)
    }
}

export!(TimeOfDay);

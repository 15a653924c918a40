//! The classic routing strategies (longest idle, round robin, serial, ring-all, fewest calls, least talk time, random, weighted random) as one component selected by configuration.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

struct Classic;

impl Guest for Classic {
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
            policy_logic::classic::decide,
        )
    }

    fn validate_config(config: String) -> Result<(), String> {
        policy_logic::classic::validate(&config)
    }
}

export!(Classic);

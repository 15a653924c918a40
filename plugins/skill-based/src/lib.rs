//! The built-in skill-based routing policy (escalating distribution order) as a component.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

policy_component!(
    SkillBased,
    |input, _host| policy_logic::skill::decide(input),
    policy_logic::skill::validate
);

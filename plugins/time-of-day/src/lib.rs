//! The built-in time-of-day routing policy (weekly windows, holidays, overflow) as a component.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

policy_component!(
    TimeOfDay,
    policy_logic::time_of_day::decide,
    policy_logic::time_of_day::validate
);

//! The classic routing strategies (longest idle, round robin, serial, ring-all, fewest calls, least talk time, random, weighted random) as one component selected by configuration.
//! A thin component wrapper: the strategy lives in `policy-logic`, the bindings and glue in
//! `plugins/guest/glue.rs`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

include!("../../guest/glue.rs");

policy_component!(
    Classic,
    policy_logic::classic::decide,
    policy_logic::classic::validate
);

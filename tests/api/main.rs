//! The black-box tests: one binary, one module per area of the API. One binary links once
//! instead of once per area, loads the dev issuer's key once, and lets `cargo xtask test`
//! choose what runs when by module path (`outage::` and `plugins::compiler_heavy::` run on
//! their own, after the rest). The client helpers they share are the library of this crate
//! (`tests/src/lib.rs`).

mod admin;
mod agents;
mod auth_tokens;
mod concurrency;
mod copy;
mod delete;
mod isolation;
mod licenses;
mod openapi_contract;
mod outage;
mod plugins;
mod presence;
mod provisioning;
mod rate_limit;
mod routing;
mod services;
mod teams;
mod tenant_settings;

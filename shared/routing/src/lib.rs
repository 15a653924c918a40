//! Stratus routing host: runs tenants' WebAssembly routing policies (the
//! `stratus:routing@1.0.0` world in `plugins/wit`) under a hostile-proof sandbox. It owns the
//! one per-process wasmtime [`PolicyEngine`] (component model, pooling allocator, fuel, epoch
//! deadline ticking every millisecond), upload-time validation and precompilation
//! ([`Policy::compile`]), loading a precompiled artifact only after checking its seal, an
//! HMAC under a key from configuration ([`CompiledPolicy::from_artifact`]), and one decision per fresh `Store`
//! ([`CompiledPolicy::decide`]) whose failures — traps, fuel, deadline, memory, invalid
//! output — fail only that decision and fall back to longest idle. It also holds the native
//! Rust strategies: longest idle (the fallback) and skill-based (the benchmark baseline).
//! No WASI: a policy sees only its input and the `host` string look-ups, so the same input
//! always yields the same decision.
//!
//! Stored policies: [`stored`] maps versions and their chunked bytes to the table, and the
//! process's [`PolicyRegistry`] loads them (engines per profile, the artifact key, the cache
//! of loaded policies) for simulations and live routing alike.
//!
//! ```text
//! let engine = PolicyEngine::new(Limits::default())?;           // once per process
//! let up = Policy::compile(&engine, &uploaded_bytes)?;           // upload: 4xx on Err
//! store(up.source_sha256, bytes, up.artifact_sha256, up.artifact, up.artifact_seal);
//! let policy = CompiledPolicy::from_artifact(&engine, &artifact, &artifact_seal)?; // cache it
//! let result = policy.decide(&input);  // never fails: result.error + fallback outcome
//! ```
//! Artifacts are specific to this wasmtime version and engine configuration: after an
//! upgrade `from_artifact` answers `ArtifactUnusable`, and the stored source must be compiled
//! again.

pub mod complexity;
mod deadline;
mod engine;
mod error;
mod limiter;
pub mod native;
mod policy;
pub mod registry;
mod seal;
pub mod spec;
pub mod stored;
pub mod text;

/// Host bindings generated from the contract; the record types are the decision input and
/// output, so nothing is converted on the hot path.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit",
        world: "routing-policy",
        // Serde so the management API can take a simulated task and return the decision.
        additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
    });
}

pub use bindings::stratus::routing::types::{
    Candidates, Context, Decision, LocalDate, Modality, Offer, Outcome, Overflow, SkillRequirement,
    Task, Weekday,
};
pub use complexity::{CodeShape, CompileLimits};
pub use engine::{Limits, PolicyEngine, Profile};
pub use error::{ConfigError, PluginError};
pub use policy::{
    sha256_hex, CompiledPolicy, DecisionInput, DecisionResult, HostStrings, Policy, UploadedPolicy,
    ALLOWED_IMPORTS, HOST_CALL_FUEL, HOST_FUEL_PER_BYTE, MAX_ATTRIBUTE_KEY_BYTES, WORLD,
};
pub use registry::{PolicyRegistry, ENGINE_ID};
pub use seal::ArtifactKey;

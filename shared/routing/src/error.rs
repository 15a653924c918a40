//! Typed failures of a policy: at upload (the binary is not an acceptable component), at
//! load (the stored artifact is not the one compiled), and per decision (the plugin failed;
//! the fallback decided instead).

use thiserror::Error;

/// Why a policy was rejected or why one decision fell back to longest idle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PluginError {
    // --- upload ---
    #[error("the binary is {size} bytes, the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("not a WebAssembly binary (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build for wasm32-wasip2 or wrap the module \
         with `wasm-tools component new` against the stratus:routing world"
    )]
    CoreModule,
    #[error("invalid component: {0}")]
    Invalid(String),
    #[error(
        "imports outside the allow-list: {}. A policy may import only stratus:routing/host and \
         stratus:routing/types (no WASI): from Rust, build with no_std for wasm32-wasip2 (see \
         the guide); from JavaScript with jco, add --backend-qjs-stub-wasi (QuickJS backend) \
         or --disable all (SpiderMonkey backend)",
        .0.join(", ")
    )]
    DisallowedImports(Vec<String>),
    #[error("does not implement world {world}: {detail}", world = crate::WORLD)]
    WrongWorld { detail: String },
    #[error("exceeds the sandbox limits: {0}")]
    ExceedsLimits(String),
    /// Refused before compiling: the code is larger or more deeply built than any routing
    /// policy needs, and would cost the compiler too long.
    #[error("too complex to compile: {value} {what}, the limit is {limit}")]
    TooComplex {
        what: String,
        value: u64,
        limit: u64,
    },
    /// The compiler did not finish within its budget.
    #[error(
        "compiling took longer than the budget of {budget_ms} ms; make the policy smaller \
         or simpler"
    )]
    CompileTimeout { budget_ms: u64 },
    /// The trial instantiation at upload failed (a start-up that loops, traps, or grows
    /// past the limits).
    #[error("start-up failed: {0}")]
    StartupFailed(Box<PluginError>),

    // --- load ---
    #[error("precompiled artifact's seal is {actual}, expected {expected}: refusing to load it")]
    ArtifactTampered { expected: String, actual: String },
    #[error("precompiled artifact is unusable by this host: {0}")]
    ArtifactUnusable(String),

    // --- one decision ---
    #[error("instruction budget of {budget} fuel exhausted")]
    FuelExhausted { budget: u64 },
    #[error("wall-clock deadline of {millis} ms exceeded")]
    DeadlineExceeded { millis: u64 },
    #[error("wasm stack overflow")]
    StackOverflow,
    #[error("memory limit of {limit} bytes reached")]
    MemoryLimit { limit: usize },
    #[error("table limit of {limit} elements reached")]
    TableLimit { limit: usize },
    #[error("plugin trapped: {0}")]
    Trap(String),
    #[error("invalid output: {0}")]
    InvalidOutput(String),
}

impl PluginError {
    /// A short stable code for records and problem details.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too-large",
            Self::NotWasm => "not-wasm",
            Self::CoreModule => "core-module",
            Self::Invalid(_) => "invalid-component",
            Self::DisallowedImports(_) => "disallowed-imports",
            Self::WrongWorld { .. } => "wrong-world",
            Self::ExceedsLimits(_) => "exceeds-limits",
            Self::TooComplex { .. } => "too-complex",
            Self::CompileTimeout { .. } => "compile-timeout",
            Self::StartupFailed(_) => "startup-failed",
            Self::ArtifactTampered { .. } => "artifact-tampered",
            Self::ArtifactUnusable(_) => "artifact-unusable",
            Self::FuelExhausted { .. } => "fuel-exhausted",
            Self::DeadlineExceeded { .. } => "deadline-exceeded",
            Self::StackOverflow => "stack-overflow",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::TableLimit { .. } => "table-limit",
            Self::Trap(_) => "trap",
            Self::InvalidOutput(_) => "invalid-output",
        }
    }

    /// Whether the error is the uploader's to fix (a 4xx at upload) rather than a
    /// per-decision failure.
    pub fn is_upload_rejection(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. }
                | Self::NotWasm
                | Self::CoreModule
                | Self::Invalid(_)
                | Self::DisallowedImports(_)
                | Self::WrongWorld { .. }
                | Self::ExceedsLimits(_)
                | Self::TooComplex { .. }
                | Self::CompileTimeout { .. }
                | Self::StartupFailed(_)
        )
    }
}

/// Why `validate-config` did not accept a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The policy looked at the configuration and said what is wrong with it.
    #[error("{0}")]
    Rejected(String),
    /// The policy failed while validating (trap, fuel, deadline, …).
    #[error("the policy failed while validating the configuration: {0}")]
    Plugin(PluginError),
}

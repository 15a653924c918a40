//! The one wasmtime engine per process and the limits every decision runs under.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::complexity::CompileLimits;
use crate::error::PluginError;
use crate::policy::DecisionState;
use crate::seal::ArtifactKey;

/// Interpreted profile: instructions and milliseconds per decision (measured; see the guide).
/// The JavaScript example needs 0.5 M fuel for 10 candidates, 1.6 M for 100 and 14.8 M for
/// 1,000 (2.5 ms in a release build on the development machine): four times that, and a
/// deadline that leaves a slow Lambda share the same margin.
const INTERPRETED_FUEL: u64 = 60_000_000;
const INTERPRETED_DEADLINE_MS: u64 = 100;

/// Per slot: a small policy's whole working set (stack, data, a little heap).
const KEEP_RESIDENT_BYTES: usize = 256 << 10;

/// What a policy may use. Stated here once, reported to authors (simulate, get-plugin) as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted component binary at upload.
    pub max_binary_bytes: usize,
    /// Instruction budget per decision (instantiation included).
    pub fuel: u64,
    /// Whether fuel is metered at all (off only to measure its overhead).
    pub fuel_metering: bool,
    /// Deadline per decision, in epoch ticks: of wall time, then checked against the time the
    /// decision thread actually ran (see `policy::deadline_check`).
    pub deadline_ticks: u64,
    /// How often the engine's epoch advances.
    pub epoch_tick: Duration,
    /// Linear memory cap per instance.
    pub max_memory_bytes: usize,
    /// Table size cap per table.
    pub max_table_elements: usize,
    /// Wasm stack cap.
    pub max_wasm_stack: usize,
    /// Component instances alive at once in this process (pool size).
    pub max_concurrent_instances: u32,
    /// Core instances a component may contain.
    pub max_core_instances_per_component: u32,
    /// Linear memories a component may contain.
    pub max_memories_per_component: u32,
    /// Tables a component may contain.
    pub max_tables_per_component: u32,
    /// Longest accepted `reason` (and overflow reason / target) in characters.
    pub max_reason_chars: usize,
    /// Longest `wait(n)` honoured; a longer one is clamped to it (and the answer says so).
    pub max_wait_seconds: u32,
    /// What the compiler is given at upload, and for how long.
    pub compile: CompileLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_binary_bytes: 4 << 20,
            fuel: 10_000_000,
            fuel_metering: true,
            deadline_ticks: 20,
            epoch_tick: Duration::from_millis(1),
            max_memory_bytes: 16 << 20,
            max_table_elements: 10_000,
            max_wasm_stack: 512 << 10,
            max_concurrent_instances: 100,
            max_core_instances_per_component: 10,
            max_memories_per_component: 1,
            max_tables_per_component: 4,
            max_reason_chars: 200,
            max_wait_seconds: 3600,
            compile: CompileLimits::default(),
        }
    }
}

/// Which limits a policy runs under, chosen at upload from what the component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Code compiled to WebAssembly (Rust, C, …): one core module, one memory.
    Compiled,
    /// A language runtime compiled to WebAssembly that interprets the policy (JavaScript
    /// through jco's QuickJS engine): several core modules and memories, and an interpreter's
    /// appetite for instructions.
    Interpreted,
}

impl Profile {
    pub const ALL: [Profile; 2] = [Profile::Compiled, Profile::Interpreted];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Compiled => "compiled",
            Profile::Interpreted => "interpreted",
        }
    }

    /// The stored name back; anything else (versions stored before profiles existed) is
    /// `Compiled`, which is what they were uploaded under.
    pub fn parse(name: &str) -> Profile {
        match name {
            "interpreted" => Profile::Interpreted,
            _ => Profile::Compiled,
        }
    }

    /// A component that defines more than one linear memory, or more core instances than
    /// the compiled profile allows, carries a language runtime of its own (compiled code
    /// links into one module with one memory; the shim modules wit-component adds for host
    /// calls have none): it gets the interpreted profile.
    pub fn of(component: &[u8]) -> Profile {
        let (mut memories, mut core_instances) = (0u32, 0u32);
        for payload in wasmparser::Parser::new(0).parse_all(component) {
            match payload {
                Ok(wasmparser::Payload::MemorySection(section)) => memories += section.count(),
                Ok(wasmparser::Payload::InstanceSection(section)) => {
                    core_instances += section.count()
                }
                _ => {}
            }
        }
        let compiled = Limits::default();
        if memories > compiled.max_memories_per_component
            || core_instances > compiled.max_core_instances_per_component
        {
            Profile::Interpreted
        } else {
            Profile::Compiled
        }
    }

    /// The limits of this profile.
    pub fn limits(self) -> Limits {
        match self {
            Profile::Compiled => Limits::default(),
            Profile::Interpreted => Limits::interpreted(),
        }
    }
}

impl Limits {
    /// The interpreted profile (see [`Profile::Interpreted`]), from measuring the JavaScript
    /// example policy (plugins/examples/js) at 1,000 candidates; see the guide.
    pub fn interpreted() -> Self {
        Self {
            fuel: INTERPRETED_FUEL,
            deadline_ticks: INTERPRETED_DEADLINE_MS,
            max_memory_bytes: 32 << 20,
            max_concurrent_instances: 50,
            max_core_instances_per_component: 16,
            max_memories_per_component: 4,
            max_tables_per_component: 8,
            ..Self::default()
        }
    }

    /// The deadline in wall-clock terms (the epoch granularity makes it approximate).
    pub fn deadline(&self) -> Duration {
        self.epoch_tick * u32::try_from(self.deadline_ticks).unwrap_or(u32::MAX)
    }
}

/// What the engine compiles with; artifacts depend on all of it. Where instances are
/// allocated is not part of it: wasmtime's compiled code is the same with or without the
/// pooling allocator.
fn compilation_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(limits.fuel_metering)
        .epoch_interruption(true)
        .max_wasm_stack(limits.max_wasm_stack)
        // Determinism: same input, same decision, on any host CPU.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true);
    config
}

/// The process-wide engine: build it once (at cold start) and share it; cloning is cheap.
#[derive(Clone)]
pub struct PolicyEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<DecisionState>>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) artifact_key: ArtifactKey,
}

impl PolicyEngine {
    /// Builds the engine and starts the epoch ticker thread, which ends when the last clone
    /// of the engine is dropped.
    pub fn new(limits: Limits) -> Result<Self, PluginError> {
        let mut pool = PoolingAllocationConfig::new();
        let instances = limits.max_concurrent_instances;
        pool.total_component_instances(instances)
            .total_core_instances(instances * limits.max_core_instances_per_component)
            .max_core_instances_per_component(limits.max_core_instances_per_component)
            .max_memories_per_component(limits.max_memories_per_component)
            .total_memories(instances * limits.max_memories_per_component)
            .max_tables_per_component(limits.max_tables_per_component)
            .total_tables(instances * limits.max_tables_per_component)
            .table_elements(limits.max_table_elements)
            .max_memory_size(limits.max_memory_bytes)
            // Reset the first pages a decision touched with memset rather than madvise, so
            // the next instance in the slot does not take a page fault on each of them.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);

        let mut config = compilation_config(&limits);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| PluginError::Invalid(format!("{e:#}")))?;

        let mut linker = Linker::new(&engine);
        crate::policy::define_host(&mut linker)
            .map_err(|e| PluginError::Invalid(format!("{e:#}")))?;

        let weak = engine.weak();
        let tick = limits.epoch_tick;
        std::thread::Builder::new()
            .name("routing-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            })
            .map_err(|e| PluginError::Invalid(format!("cannot start the epoch ticker: {e}")))?;

        Ok(Self {
            engine,
            linker: Arc::new(linker),
            limits: Arc::new(limits),
            artifact_key: ArtifactKey::random(),
        })
    }

    /// Seals and checks artifacts with `key` (from configuration) instead of the random key
    /// a new engine has, whose seals no other process can check.
    pub fn with_artifact_key(mut self, key: ArtifactKey) -> Self {
        self.artifact_key = key;
        self
    }

    pub fn artifact_key(&self) -> &ArtifactKey {
        &self.artifact_key
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether `artifact`, which this engine would not load, loads in an engine that differs
    /// only in not pooling instances: if so, only the pool's limits stood in its way.
    ///
    /// # Safety
    ///
    /// As for [`Component::deserialize`]: `artifact` was produced by `precompile_component`
    /// of an engine this one is compatible with.
    pub(crate) unsafe fn loads_without_the_pool(&self, artifact: &[u8]) -> bool {
        let Ok(unpooled) = Engine::new(&compilation_config(&self.limits)) else {
            return false;
        };
        // SAFETY: the caller's promise, and this engine compiles exactly as `self` does.
        unsafe { Component::deserialize(&unpooled, artifact) }.is_ok()
    }

    /// The underlying wasmtime engine (benchmarks, diagnostics).
    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }
}

//! The one wasmtime engine per process and the limits every decision runs under.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::complexity::CompileLimits;
use crate::error::PluginError;
use crate::policy::DecisionState;

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
    /// Wall-clock deadline per decision, in epoch ticks.
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
            max_tables_per_component: 4,
            max_reason_chars: 200,
            max_wait_seconds: 3600,
            compile: CompileLimits::default(),
        }
    }
}

impl Limits {
    /// The deadline in wall-clock terms (the epoch granularity makes it approximate).
    pub fn deadline(&self) -> Duration {
        self.epoch_tick * u32::try_from(self.deadline_ticks).unwrap_or(u32::MAX)
    }
}

/// The process-wide engine: build it once (at cold start) and share it; cloning is cheap.
#[derive(Clone)]
pub struct PolicyEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<DecisionState>>,
    pub(crate) limits: Arc<Limits>,
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
            // One linear memory per policy: the guest's own (no WASI adapter).
            .max_memories_per_component(1)
            .total_memories(instances)
            .max_tables_per_component(limits.max_tables_per_component)
            .total_tables(instances * limits.max_tables_per_component)
            .table_elements(limits.max_table_elements)
            .max_memory_size(limits.max_memory_bytes)
            // Reset the first pages a decision touched with memset rather than madvise, so
            // the next instance in the slot does not take a page fault on each of them.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(limits.fuel_metering)
            .epoch_interruption(true)
            .max_wasm_stack(limits.max_wasm_stack)
            // Determinism: same input, same decision, on any host CPU.
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
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
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The underlying wasmtime engine (benchmarks, diagnostics).
    pub fn wasmtime(&self) -> &Engine {
        &self.engine
    }
}

//! A policy's life: validated and precompiled at upload, loaded from its artifact (hash
//! checked) on the routing path, then one fresh `Store` per decision under the limits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, StoreContextMut, Trap};

use crate::bindings::RoutingPolicyPre;
use crate::complexity;
use crate::engine::{Limits, PolicyEngine};
use crate::error::{ConfigError, PluginError};
use crate::limiter::{Refusal, SandboxLimiter};
use crate::native;
use crate::text::untrusted;
use crate::{Candidates, Context, Decision, Outcome, Task};

/// The world every policy must implement.
pub const WORLD: &str = "stratus:routing/routing-policy@1.0.0";

/// The only imports a policy may have: the host's string look-ups and the shared types.
pub const ALLOWED_IMPORTS: &[&str] = &["stratus:routing/host@1.0.0", "stratus:routing/types@1.0.0"];

/// Strings a policy may ask for through the `host` imports; shared, not copied, per decision.
#[derive(Debug, Clone, Default)]
pub struct HostStrings {
    /// Entry i is candidate i's agent id.
    pub candidate_ids: Vec<String>,
    /// Entry i holds candidate i's free-form attributes.
    pub candidate_attributes: Vec<BTreeMap<String, String>>,
    pub task_attributes: BTreeMap<String, String>,
}

/// Everything one decision sees.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub task: Task,
    pub skill_names: Vec<String>,
    pub candidates: Candidates,
    pub context: Context,
    pub strings: Arc<HostStrings>,
}

/// What one decision produced: the plugin's outcome, or — if it failed — the error and the
/// fallback (longest idle) outcome.
#[derive(Debug, Clone)]
pub struct DecisionResult {
    pub outcome: Outcome,
    /// Set when the plugin failed and `outcome` is the fallback's.
    pub error: Option<PluginError>,
    /// The `wait(n)` the plugin asked for when it was longer than the limit, which is what
    /// `outcome` waits instead.
    pub wait_clamped_from: Option<u32>,
    pub fuel_used: u64,
    pub elapsed: Duration,
}

impl DecisionResult {
    pub fn fell_back(&self) -> bool {
        self.error.is_some()
    }
}

/// Per-decision store data.
pub(crate) struct DecisionState {
    limiter: SandboxLimiter,
    strings: Arc<HostStrings>,
}

/// What a host call costs in fuel: a look-up is work the policy makes the host do, and only
/// fuel bounds it the same way on every machine. A call, plus a unit per byte copied in or out.
pub const HOST_CALL_FUEL: u64 = 100;
pub const HOST_FUEL_PER_BYTE: u64 = 1;
/// Longer attribute keys are not looked up (none is that long); the answer is `none`.
pub const MAX_ATTRIBUTE_KEY_BYTES: usize = 256;

/// The `host` interface, by hand rather than through the generated trait, because charging
/// fuel needs the store, which the generated bindings do not hand to an import.
/// An index out of range answers `""` (candidate-id) or `none` (the attributes).
pub(crate) fn define_host(linker: &mut Linker<DecisionState>) -> wasmtime::Result<()> {
    // Type-only interface; the component imports it as an (empty) instance.
    linker.instance("stratus:routing/types@1.0.0")?;
    let mut host = linker.instance("stratus:routing/host@1.0.0")?;
    host.func_wrap(
        "candidate-id",
        |mut store: StoreContextMut<'_, DecisionState>, (index,): (u32,)| {
            charge(&mut store, 0)?;
            let id = store
                .data()
                .strings
                .candidate_ids
                .get(index as usize)
                .cloned()
                .unwrap_or_default();
            charge(&mut store, id.len())?;
            Ok((id,))
        },
    )?;
    host.func_wrap(
        "candidate-attribute",
        |mut store: StoreContextMut<'_, DecisionState>, (index, key): (u32, String)| {
            charge(&mut store, key.len())?;
            let value = if key.len() > MAX_ATTRIBUTE_KEY_BYTES {
                None
            } else {
                store
                    .data()
                    .strings
                    .candidate_attributes
                    .get(index as usize)
                    .and_then(|attributes| attributes.get(&key))
                    .cloned()
            };
            charge(&mut store, value.as_ref().map_or(0, String::len))?;
            Ok((value,))
        },
    )?;
    host.func_wrap(
        "task-attribute",
        |mut store: StoreContextMut<'_, DecisionState>, (key,): (String,)| {
            charge(&mut store, key.len())?;
            let value = if key.len() > MAX_ATTRIBUTE_KEY_BYTES {
                None
            } else {
                store.data().strings.task_attributes.get(&key).cloned()
            };
            charge(&mut store, value.as_ref().map_or(0, String::len))?;
            Ok((value,))
        },
    )?;
    Ok(())
}

/// Takes a host call's fuel; out of fuel is the same trap as running out in the guest.
fn charge(store: &mut StoreContextMut<'_, DecisionState>, bytes: usize) -> wasmtime::Result<()> {
    let Ok(left) = store.get_fuel() else {
        // Metering is off (only to measure its overhead).
        return Ok(());
    };
    let cost = HOST_CALL_FUEL.saturating_add((bytes as u64).saturating_mul(HOST_FUEL_PER_BYTE));
    match left.checked_sub(cost) {
        Some(rest) => store.set_fuel(rest),
        None => {
            store.set_fuel(0)?;
            Err(Trap::OutOfFuel.into())
        }
    }
}

/// Upload-time entry point.
pub struct Policy;

/// The result of an accepted upload: store `artifact` (content-addressed by
/// `artifact_sha256`) next to the source (`source_sha256`); `policy` is ready to run.
pub struct UploadedPolicy {
    pub source_sha256: String,
    pub artifact: Vec<u8>,
    pub artifact_sha256: String,
    /// The engine key's HMAC of `artifact`: what loading it checks.
    pub artifact_seal: String,
    pub policy: CompiledPolicy,
}

impl Policy {
    /// Validates an uploaded binary and precompiles it for this engine. Rejections are typed
    /// and name the problem: size, not wasm, core module, invalid, imports outside the
    /// allow-list, wrong world, sandbox limits (huge memory/tables, start-up that never ends).
    pub fn compile(engine: &PolicyEngine, bytes: &[u8]) -> Result<UploadedPolicy, PluginError> {
        let limit = engine.limits.max_binary_bytes;
        if bytes.len() > limit {
            return Err(PluginError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        if wasmparser::Parser::is_core_wasm(bytes) {
            return Err(PluginError::CoreModule);
        }
        if !wasmparser::Parser::is_component(bytes) {
            return Err(if bytes.starts_with(b"\0asm") {
                PluginError::Invalid("unsupported WebAssembly version or layer".into())
            } else {
                PluginError::NotWasm
            });
        }
        complexity::check(bytes, &engine.limits.compile)?;
        let artifact = precompile_within_budget(engine, bytes)?;
        let artifact_sha256 = sha256_hex(&artifact);
        let artifact_seal = engine.artifact_key.seal(&artifact);
        let policy = CompiledPolicy::from_artifact(engine, &artifact, &artifact_seal)?;
        // One trial instantiation under the limits: a start-up that loops, traps or needs more
        // memory than allowed is the uploader's problem, found now rather than per call.
        let mut store = policy.new_store(Arc::default());
        policy
            .pre
            .instantiate(&mut store)
            .map_err(|e| PluginError::StartupFailed(Box::new(policy.classify(e, &store))))?;
        Ok(UploadedPolicy {
            source_sha256: sha256_hex(bytes),
            artifact,
            artifact_sha256,
            artifact_seal,
            policy,
        })
    }
}

/// Compiles on a thread of its own and waits at most the budget. A compile that runs over is
/// abandoned: the upload is answered at once and holds nothing the thread needs (the thread
/// owns a copy of the bytes and a handle on the engine; wasmtime compiles on the calling
/// thread only, so it blocks no other compile), and what it produces is dropped unseen.
fn precompile_within_budget(engine: &PolicyEngine, bytes: &[u8]) -> Result<Vec<u8>, PluginError> {
    let budget = engine.limits.compile.budget;
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    let compiler = engine.engine.clone();
    let source = bytes.to_vec();
    std::thread::Builder::new()
        .name("routing-compile".into())
        .spawn(move || {
            let artifact = compiler
                .precompile_component(&source)
                .map_err(|e| wasmtime_message(&e));
            let _ = answer.send(artifact);
        })
        .map_err(|e| PluginError::Invalid(format!("cannot start the compiler thread: {e}")))?;
    match answered.recv_timeout(budget) {
        Ok(artifact) => artifact.map_err(PluginError::Invalid),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(PluginError::CompileTimeout {
            budget_ms: budget.as_millis() as u64,
        }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(PluginError::Invalid(
            "the compiler stopped without an answer".into(),
        )),
    }
}

/// A loaded policy: `InstancePre` built once, cheap to clone, shareable across threads.
#[derive(Clone)]
pub struct CompiledPolicy {
    engine: PolicyEngine,
    pre: RoutingPolicyPre<DecisionState>,
    imports: Arc<Vec<String>>,
    exports: Arc<Vec<String>>,
}

impl CompiledPolicy {
    /// Loads a precompiled artifact after checking its seal (the HMAC under the engine's
    /// key that [`Policy::compile`] gave it); the routing path calls this, never the compiler.
    pub fn from_artifact(
        engine: &PolicyEngine,
        artifact: &[u8],
        expected_seal: &str,
    ) -> Result<Self, PluginError> {
        if !engine.artifact_key.verifies(artifact, expected_seal) {
            return Err(PluginError::ArtifactTampered {
                expected: untrusted(expected_seal, 64),
                actual: engine.artifact_key.seal(artifact),
            });
        }
        // SAFETY: `deserialize` trusts its input to be an artifact produced by
        // `precompile_component` of a compatible engine. Only a holder of the artifact key,
        // which is configuration and never stored with the artifacts, can seal bytes; these
        // carry a host's seal, so a host compiled them and they are unmodified.
        let component =
            unsafe { Component::deserialize(&engine.engine, artifact) }.map_err(|e| {
                // A component over the pool's limits (its memories, tables, core instances,
                // their sizes) is refused with an error of no type, in wasmtime's words, as
                // is an artifact of another host version: whether the same bytes load without
                // the pool is what tells them apart. wasmtime's words stay the detail.
                // SAFETY: the same sealed artifact as above.
                if unsafe { engine.loads_without_the_pool(artifact) } {
                    PluginError::ExceedsLimits(wasmtime_message(&e))
                } else {
                    PluginError::ArtifactUnusable(wasmtime_message(&e))
                }
            })?;

        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(&engine.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports: Vec<String> = ty
            .exports(&engine.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let disallowed: Vec<String> = imports
            .iter()
            .filter(|name| !ALLOWED_IMPORTS.contains(&name.as_str()))
            .map(|name| untrusted(name, MAX_NAME_CHARS))
            .collect();
        if !disallowed.is_empty() {
            return Err(PluginError::DisallowedImports(disallowed));
        }

        let instance_pre =
            engine
                .linker
                .instantiate_pre(&component)
                .map_err(|e| PluginError::WrongWorld {
                    detail: wasmtime_message(&e),
                })?;
        let pre = RoutingPolicyPre::new(instance_pre).map_err(|e| PluginError::WrongWorld {
            detail: wasmtime_message(&e),
        })?;
        Ok(Self {
            engine: engine.clone(),
            pre,
            imports: Arc::new(imports),
            exports: Arc::new(exports),
        })
    }

    /// The limits every decision of this policy runs under (reported to authors).
    pub fn limits(&self) -> &Limits {
        &self.engine.limits
    }

    /// The component's import names (a subset of [`ALLOWED_IMPORTS`]).
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The component's export names (at least `decide` and `validate-config`).
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    fn new_store(&self, strings: Arc<HostStrings>) -> Store<DecisionState> {
        let limits = &self.engine.limits;
        let state = DecisionState {
            limiter: SandboxLimiter::new(limits),
            strings,
        };
        let mut store = Store::new(&self.engine.engine, state);
        store.limiter(|s| &mut s.limiter);
        if limits.fuel_metering {
            // Fuel is enabled on the engine, so setting it cannot fail.
            let _ = store.set_fuel(limits.fuel);
        }
        store.set_epoch_deadline(limits.deadline_ticks);
        store.epoch_deadline_callback(crate::deadline::deadline_check(limits));
        store
    }

    fn fuel_used(&self, store: &Store<DecisionState>) -> u64 {
        if !self.engine.limits.fuel_metering {
            return 0;
        }
        self.engine
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0))
    }

    fn classify(&self, err: wasmtime::Error, store: &Store<DecisionState>) -> PluginError {
        let limits = &self.engine.limits;
        if let Some(trap) = err.downcast_ref::<Trap>() {
            return match trap {
                Trap::OutOfFuel => PluginError::FuelExhausted {
                    budget: limits.fuel,
                },
                Trap::Interrupt => PluginError::DeadlineExceeded {
                    millis: limits.deadline().as_millis() as u64,
                },
                Trap::StackOverflow => PluginError::StackOverflow,
                other => PluginError::Trap(other.to_string()),
            };
        }
        // A refusal ends the call with an error of no type wasmtime would recognise; what
        // the limiter noted is what names it.
        match store.data().limiter.refused() {
            Some(Refusal::Memory) => {
                return PluginError::MemoryLimit {
                    limit: limits.max_memory_bytes,
                }
            }
            Some(Refusal::Table) => {
                return PluginError::TableLimit {
                    limit: limits.max_table_elements,
                }
            }
            None => {}
        }
        // Out of fuel can also surface from the host side of a call.
        if store.get_fuel().map(|f| f == 0).unwrap_or(false) {
            return PluginError::FuelExhausted {
                budget: limits.fuel,
            };
        }
        let chain = err
            .chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        PluginError::Trap(untrusted(&chain, MAX_MESSAGE_CHARS))
    }

    /// One decision in a fresh store. Never fails: a failing plugin yields the typed error and
    /// the longest-idle fallback.
    pub fn decide(&self, input: &DecisionInput) -> DecisionResult {
        let started = Instant::now();
        let mut store = self.new_store(input.strings.clone());
        let called = self.pre.instantiate(&mut store).and_then(|policy| {
            policy.call_decide(
                &mut store,
                &input.task,
                &input.skill_names,
                &input.candidates,
                &input.context,
            )
        });
        let fuel_used = self.fuel_used(&store);
        let checked = match called {
            Ok(outcome) => validate_outcome(outcome, &input.candidates, &self.engine.limits),
            Err(e) => Err(self.classify(e, &store)),
        };
        drop(store);
        match checked {
            Ok(mut outcome) => {
                let wait_clamped_from =
                    clamp_wait(&mut outcome, self.engine.limits.max_wait_seconds);
                DecisionResult {
                    outcome,
                    error: None,
                    wait_clamped_from,
                    fuel_used,
                    elapsed: started.elapsed(),
                }
            }
            Err(error) => DecisionResult {
                outcome: native::longest_idle(&input.candidates),
                error: Some(error),
                wait_clamped_from: None,
                fuel_used,
                elapsed: started.elapsed(),
            },
        }
    }

    /// Why the policy refuses a configuration (its own reason, or how it failed while
    /// checking); `None` when it accepts it.
    pub fn config_refusal(&self, config: &str) -> Option<String> {
        match self.validate_config(config) {
            Ok(()) => None,
            Err(ConfigError::Rejected(reason)) => Some(reason),
            Err(ConfigError::Plugin(error)) => Some(format!(
                "the plugin failed while validating ({}): {error}",
                error.code()
            )),
        }
    }

    /// Runs the policy's `validate-config` export under the same limits.
    pub fn validate_config(&self, config: &str) -> Result<(), ConfigError> {
        let mut store = self.new_store(Arc::default());
        let called = self
            .pre
            .instantiate(&mut store)
            .and_then(|policy| policy.call_validate_config(&mut store, config));
        match called {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(ConfigError::Rejected(untrusted(&reason, MAX_MESSAGE_CHARS))),
            Err(e) => Err(ConfigError::Plugin(self.classify(e, &store))),
        }
    }
}

/// Longest message that quotes a plugin (its configuration verdict, a trap, a wasmtime
/// error naming things inside the binary), and longest quoted name.
const MAX_MESSAGE_CHARS: usize = 1000;
const MAX_NAME_CHARS: usize = 200;

/// A wasmtime error as text fit to show: it may quote names from the binary.
fn wasmtime_message(error: &wasmtime::Error) -> String {
    untrusted(&format!("{error:#}"), MAX_MESSAGE_CHARS)
}

/// Checks a plugin's answer against the candidates it was given, and makes its text safe
/// to show (see [`crate::text`]).
fn validate_outcome(
    mut outcome: Outcome,
    candidates: &Candidates,
    limits: &Limits,
) -> Result<Outcome, PluginError> {
    let max = limits.max_reason_chars;
    let too_long = |what: &str, s: &str| -> Result<(), PluginError> {
        let n = s.chars().count();
        if n > max {
            Err(PluginError::InvalidOutput(format!(
                "{what} is {n} characters, the limit is {max}"
            )))
        } else {
            Ok(())
        }
    };
    too_long("reason", &outcome.reason)?;
    match &outcome.decision {
        Decision::Offer(offer) => {
            let count = candidates.count as usize;
            if offer.order.len() > count {
                return Err(PluginError::InvalidOutput(format!(
                    "order lists {} entries but only {count} candidates were given",
                    offer.order.len()
                )));
            }
            let mut seen = vec![false; count];
            for &index in &offer.order {
                let slot = seen.get_mut(index as usize).ok_or_else(|| {
                    PluginError::InvalidOutput(format!(
                        "candidate index {index} is out of range (0..{count})"
                    ))
                })?;
                if std::mem::replace(slot, true) {
                    return Err(PluginError::InvalidOutput(format!(
                        "candidate index {index} appears more than once"
                    )));
                }
            }
        }
        Decision::Wait(_) => {}
        Decision::Overflow(overflow) => {
            too_long("overflow reason", &overflow.reason)?;
            if let Some(target) = &overflow.target {
                too_long("overflow target", target)?;
            }
        }
    }
    outcome.reason = untrusted(&outcome.reason, max);
    if let Decision::Overflow(overflow) = &mut outcome.decision {
        overflow.reason = untrusted(&overflow.reason, max);
        overflow.target = overflow.target.as_deref().map(|t| untrusted(t, max));
    }
    Ok(outcome)
}

/// A wait past the limit parks a task for longer than anyone would (a `u32` allows 136 years):
/// it is shortened to the limit, and the original is returned for the record.
fn clamp_wait(outcome: &mut Outcome, max_seconds: u32) -> Option<u32> {
    match &mut outcome.decision {
        Decision::Wait(seconds) if *seconds > max_seconds => {
            Some(std::mem::replace(seconds, max_seconds))
        }
        _ => None,
    }
}

/// The lowercase hex SHA-256 of `bytes`: how sources and artifacts are addressed.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

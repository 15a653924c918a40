//! The process's policy registry: one wasmtime engine per limits profile (built on first
//! use), the key artifacts are sealed with, and the loaded policies it has seen, by artifact
//! digest. Simulations and live routing load stored versions through it, so a warm process
//! deserializes an artifact once and never compiles unless the artifact was made by another
//! host version, sealed under another key, or tampered with.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use stratus_kernel::{Error, Guid};

use crate::stored::{PluginStore, PluginVersion, ARTIFACT_BLOB, SOURCE_BLOB};
use crate::{ArtifactKey, CompiledPolicy, Limits, PluginError, Policy, PolicyEngine, Profile};
use stratus_kernel::table::Table;

/// What artifacts made here are compatible with; recorded with each version.
pub const ENGINE_ID: &str = "wasmtime-48";
/// Loaded policies kept per process; past it the cache starts over.
const POLICY_CACHE_LIMIT: usize = 64;

/// The registry; [`PolicyRegistry::global`] is the process's one.
pub struct PolicyRegistry {
    compiled: OnceLock<Result<PolicyEngine, String>>,
    interpreted: OnceLock<Result<PolicyEngine, String>>,
    loaded: Mutex<HashMap<String, CompiledPolicy>>,
}

impl PolicyRegistry {
    /// The process's registry (engines hold pooled memory: one set per process).
    pub fn global() -> &'static PolicyRegistry {
        static GLOBAL: OnceLock<PolicyRegistry> = OnceLock::new();
        GLOBAL.get_or_init(|| PolicyRegistry {
            compiled: OnceLock::new(),
            interpreted: OnceLock::new(),
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The engine for a limits profile (one each: pooling settings are per engine, and an
    /// artifact loads only into the configuration that compiled it), with the compile
    /// budget from `STRATUS_PLUGIN_COMPILE_BUDGET_MS` when set.
    pub fn engine(&self, profile: Profile) -> Result<&PolicyEngine, Error> {
        let slot = match profile {
            Profile::Compiled => &self.compiled,
            Profile::Interpreted => &self.interpreted,
        };
        slot.get_or_init(|| {
            let engine =
                PolicyEngine::new(configured_limits(profile)?).map_err(|e| e.to_string())?;
            Ok(engine.with_artifact_key(artifact_key()?))
        })
        .as_ref()
        .map_err(|e| Error::internal(format!("the routing engine did not start: {e}")))
    }

    /// Keeps a policy this process compiled or loaded, under its artifact's digest.
    pub fn remember(&self, artifact_sha256: &str, policy: &CompiledPolicy) {
        if let Ok(mut cache) = self.loaded.lock() {
            if cache.len() >= POLICY_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(artifact_sha256.to_owned(), policy.clone());
        }
    }

    fn cached(&self, artifact_sha256: &str) -> Option<CompiledPolicy> {
        self.loaded
            .lock()
            .ok()
            .and_then(|cache| cache.get(artifact_sha256).cloned())
    }

    /// A stored version's policy: from this process's cache, else from the stored artifact
    /// (its seal checked), else — when the artifact is not loadable here — compiled again
    /// from the stored source and written back, so that the next cold load need not compile.
    pub async fn load(
        &self,
        table: &Table,
        tenant: &Guid,
        version: &PluginVersion,
    ) -> Result<CompiledPolicy, Error> {
        if let Some(policy) = self.cached(&version.artifact_sha256) {
            return Ok(policy);
        }
        let engine = self.engine(Profile::parse(&version.profile))?.clone();
        let artifact = blob(table, tenant, version, ARTIFACT_BLOB).await?;
        let seal = version.artifact_seal.clone().unwrap_or_default();
        let loader = engine.clone();
        let from_artifact =
            blocking(move || CompiledPolicy::from_artifact(&loader, &artifact, &seal)).await?;
        let (sha, policy) = match from_artifact {
            Ok(policy) => (version.artifact_sha256.clone(), policy),
            Err(
                why @ (PluginError::ArtifactUnusable(_) | PluginError::ArtifactTampered { .. }),
            ) => {
                tracing::warn!(code = why.code(), %why, plugin = %version.name,
                    version = version.version,
                    "stored artifact not loadable; compiling the source again");
                recompile(table, tenant, version, engine).await?
            }
            Err(other) => {
                return Err(Error::internal_from(
                    format!("loading plugin {} v{}", version.name, version.version),
                    other,
                ))
            }
        };
        self.remember(&sha, &policy);
        Ok(policy)
    }
}

/// The key artifacts are sealed with: `STRATUS_ARTIFACT_KEY` (a secret of at least 32 bytes;
/// a secret in AWS, a generated file in the local stack). Without it each process seals with
/// a key of its own, so every other process compiles the stored source again.
fn artifact_key() -> Result<ArtifactKey, String> {
    static KEY: OnceLock<Result<ArtifactKey, String>> = OnceLock::new();
    KEY.get_or_init(|| match std::env::var("STRATUS_ARTIFACT_KEY") {
        Ok(hex) if !hex.trim().is_empty() => {
            ArtifactKey::from_secret(&hex).map_err(|e| format!("STRATUS_ARTIFACT_KEY: {e}"))
        }
        _ => {
            tracing::warn!(
                "STRATUS_ARTIFACT_KEY is not set: artifacts are sealed with a key of this \
                 process only, and other processes will compile them again"
            );
            Ok(ArtifactKey::random())
        }
    })
    .clone()
}

fn configured_limits(profile: Profile) -> Result<Limits, String> {
    let mut limits = profile.limits();
    if let Ok(value) = std::env::var("STRATUS_PLUGIN_COMPILE_BUDGET_MS") {
        let ms: u64 = value
            .trim()
            .parse()
            .ok()
            .filter(|ms| *ms > 0)
            .ok_or_else(|| {
                format!("STRATUS_PLUGIN_COMPILE_BUDGET_MS must be a positive number, not {value:?}")
            })?;
        limits.compile.budget = std::time::Duration::from_millis(ms);
    }
    Ok(limits)
}

/// Runs CPU-bound host work (compiling, deserializing, deciding) off the async runtime's
/// threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal_from("plugin work on a blocking thread", e))
}

/// A version's stored source or artifact, by the digest its item records.
async fn blob(
    table: &Table,
    tenant: &Guid,
    version: &PluginVersion,
    kind: &str,
) -> Result<Vec<u8>, Error> {
    let sha = if kind == SOURCE_BLOB {
        &version.source_sha256
    } else {
        &version.artifact_sha256
    };
    table
        .plugin_blob(
            tenant,
            &version.name,
            version.version,
            version.upload_id.as_deref(),
            kind,
            sha,
        )
        .await
}

/// Compiles a version's stored source again and files the new artifact for later loads.
async fn recompile(
    table: &Table,
    tenant: &Guid,
    version: &PluginVersion,
    engine: PolicyEngine,
) -> Result<(String, CompiledPolicy), Error> {
    let source = blob(table, tenant, version, SOURCE_BLOB).await?;
    let compiled = blocking(move || Policy::compile(&engine, &source))
        .await?
        .map_err(|e| Error::internal_from("recompiling a stored plugin", e))?;
    // The store does not hash; the compiler just did.
    if compiled.source_sha256 != version.source_sha256 {
        return Err(Error::internal(format!(
            "plugin {} v{}: stored source hashes to {}, expected {}",
            version.name, version.version, compiled.source_sha256, version.source_sha256
        )));
    }
    let refreshed = PluginVersion {
        artifact_sha256: compiled.artifact_sha256.clone(),
        artifact_size: compiled.artifact.len() as u64,
        artifact_seal: Some(compiled.artifact_seal.clone()),
        engine: ENGINE_ID.to_owned(),
        ..version.clone()
    };
    // A failed write-back costs a later cold load this compile again, nothing more.
    if let Err(error) = table
        .replace_plugin_artifact(tenant, &refreshed, &compiled.artifact)
        .await
    {
        tracing::warn!(%error, plugin = %version.name, version = version.version,
            "writing the recompiled artifact back failed");
    }
    Ok((compiled.artifact_sha256, compiled.policy))
}

//! Distribution-policy plugin management (`/api/admin/plugins`, tenant admin): upload a
//! version (validated, precompiled and size-checked by the routing host, stored chunked and
//! content-addressed), list, get, delete a version no service uses, validate a configuration
//! with the plugin's own `validate-config`, and simulate a decision — so an author sees the
//! order, reason, fuel and time of a policy before assigning it. The process keeps one
//! wasmtime engine and the loaded policies it has seen (by artifact hash); the simulate path
//! deserializes stored artifacts and never compiles unless the artifact was made by another
//! host version.

mod views;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::{json, Value};
use stratus_app::{App, Incoming};
use stratus_domain::{Error, Guid};
use stratus_routing::spec::{self, CandidateSpec, MomentSpec, TaskSpec};
use stratus_routing::{
    ArtifactKey, CompiledPolicy, ConfigError, Limits, PluginError, Policy, PolicyEngine, Profile,
};
use stratus_store::{
    audit_record, PluginVersion, ARTIFACT_BLOB as ARTIFACT, SOURCE_BLOB as SOURCE,
};

pub use views::{
    ConfigCheck, LimitsView, PluginSummary, PluginVersionView, SimulatedDecision, Simulation,
};

/// Simulation bodies carry candidate lists; larger than the default JSON cap.
pub const MAX_SIMULATION_BODY_BYTES: usize = 1024 * 1024;
const MAX_NAME_CHARS: usize = 63;
const POLICY_CACHE_LIMIT: usize = 64;
/// What artifacts made here are compatible with; recorded with each version.
pub const ENGINE_ID: &str = "wasmtime-48";

static COMPILED_ENGINE: OnceLock<Result<PolicyEngine, String>> = OnceLock::new();
static INTERPRETED_ENGINE: OnceLock<Result<PolicyEngine, String>> = OnceLock::new();
static LOADED: OnceLock<Mutex<HashMap<String, CompiledPolicy>>> = OnceLock::new();

/// The process's engine for a limits profile (one each: pooling settings are per engine, and
/// an artifact loads only into the configuration that compiled it), built on first use (the
/// compile budget from `STRATUS_PLUGIN_COMPILE_BUDGET_MS` when set).
fn engine(profile: Profile) -> Result<&'static PolicyEngine, Error> {
    let slot = match profile {
        Profile::Compiled => &COMPILED_ENGINE,
        Profile::Interpreted => &INTERPRETED_ENGINE,
    };
    slot.get_or_init(|| {
        let engine = PolicyEngine::new(configured_limits(profile)?).map_err(|e| e.to_string())?;
        Ok(engine.with_artifact_key(artifact_key()?))
    })
    .as_ref()
    .map_err(|e| Error::Internal(format!("the routing engine did not start: {e}")))
}

fn profile_of(version: &PluginVersion) -> Profile {
    Profile::parse(&version.profile)
}

/// The key artifacts are sealed with: `STRATUS_ARTIFACT_KEY` (a secret of at least 32 bytes; a
/// secret in AWS, a generated file in the local stack). Without it each process seals with a
/// key of its own, so every other process compiles the stored source again.
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

fn loaded() -> &'static Mutex<HashMap<String, CompiledPolicy>> {
    LOADED.get_or_init(Default::default)
}

fn remember(sha: &str, policy: &CompiledPolicy) {
    if let Ok(mut cache) = loaded().lock() {
        if cache.len() >= POLICY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(sha.to_owned(), policy.clone());
    }
}

/// A plugin name: 1–63 lowercase letters, digits and hyphens, starting with a letter or digit.
pub fn plugin_name(raw: Option<&str>) -> Result<String, Error> {
    let name = raw.unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(Error::BadRequest(format!(
            "\"pluginName\" {name:?} is not a plugin name: 1 to {MAX_NAME_CHARS} lowercase \
             letters, digits and hyphens, not starting with a hyphen"
        )))
    }
}

fn version_number(raw: Option<&str>) -> Result<u32, Error> {
    let raw = raw.unwrap_or_default();
    raw.parse::<u32>().ok().filter(|v| *v >= 1).ok_or_else(|| {
        Error::BadRequest(format!(
            "\"version\" {raw:?} is not a version number (1, 2, …)"
        ))
    })
}

/// An upload the host refused, as the caller's problem: 413 for size, 400 otherwise.
fn rejection(error: PluginError) -> Error {
    match error {
        PluginError::TooLarge { .. } => {
            Error::PayloadTooLarge(format!("The plugin is too large: {error}"))
        }
        other => Error::BadRequest(format!(
            "The plugin was rejected ({}): {other}",
            other.code()
        )),
    }
}

fn not_found(name: &str, version: u32) -> Error {
    Error::NotFound(format!("Plugin {name} has no version {version}"))
}

/// Runs CPU-bound host work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("plugin work panicked: {e}")))
}

/// A version's loaded policy: from this process's cache, else from the stored artifact
/// (its seal checked), else — when the artifact was made by another host version, sealed
/// under another key, or tampered with — compiled again from the stored source and written
/// back, so that the next cold load need not compile it.
async fn load(app: &App, tenant: &Guid, version: &PluginVersion) -> Result<CompiledPolicy, Error> {
    if let Some(policy) = loaded()
        .lock()
        .ok()
        .and_then(|cache| cache.get(&version.artifact_sha256).cloned())
    {
        return Ok(policy);
    }
    let engine = engine(profile_of(version))?;
    let artifact = blob(app, tenant, version, ARTIFACT).await?;
    let seal = version.artifact_seal.clone().unwrap_or_default();
    let from_artifact =
        blocking(move || CompiledPolicy::from_artifact(engine, &artifact, &seal)).await?;
    let (sha, policy) = match from_artifact {
        Ok(policy) => (version.artifact_sha256.clone(), policy),
        Err(why @ (PluginError::ArtifactUnusable(_) | PluginError::ArtifactTampered { .. })) => {
            tracing::warn!(code = why.code(), %why, plugin = %version.name, version = version.version,
                "stored artifact not loadable; compiling the source again");
            recompile(app, tenant, version, engine).await?
        }
        Err(other) => {
            return Err(Error::Internal(format!(
                "loading plugin {} v{}: {other}",
                version.name, version.version
            )))
        }
    };
    remember(&sha, &policy);
    Ok(policy)
}

/// A version's stored source or artifact, by the digest its item records.
async fn blob(
    app: &App,
    tenant: &Guid,
    version: &PluginVersion,
    kind: &str,
) -> Result<Vec<u8>, Error> {
    let sha = if kind == SOURCE {
        &version.source_sha256
    } else {
        &version.artifact_sha256
    };
    app.store()
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
    app: &App,
    tenant: &Guid,
    version: &PluginVersion,
    engine: &'static PolicyEngine,
) -> Result<(String, CompiledPolicy), Error> {
    let source = blob(app, tenant, version, SOURCE).await?;
    let compiled = blocking(move || Policy::compile(engine, &source))
        .await?
        .map_err(|e| Error::Internal(format!("recompiling a stored plugin: {e}")))?;
    // The store does not hash; the compiler just did.
    if compiled.source_sha256 != version.source_sha256 {
        return Err(Error::Internal(format!(
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
    if let Err(error) = app
        .store()
        .replace_plugin_artifact(tenant, &refreshed, &compiled.artifact)
        .await
    {
        tracing::warn!(%error, plugin = %version.name, version = version.version,
            "writing the recompiled artifact back failed");
    }
    Ok((compiled.artifact_sha256, compiled.policy))
}

/// The version named by the path, or 404.
async fn addressed_version(
    app: &App,
    tenant: &Guid,
    incoming: &Incoming,
) -> Result<PluginVersion, Error> {
    let name = plugin_name(incoming.path_param("pluginName"))?;
    let version = version_number(incoming.path_param("version"))?;
    app.store()
        .plugin_version(tenant, &name, version)
        .await?
        .ok_or_else(|| not_found(&name, version))
}

/// `POST /api/admin/plugins/{pluginName}/versions`: the body is the component's bytes.
pub async fn upload_version(app: &App, incoming: Incoming) -> Result<PluginVersionView, Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let name = plugin_name(incoming.path_param("pluginName"))?;
    let bytes = incoming.raw_body;
    if bytes.is_empty() {
        return Err(Error::BadRequest(
            "The request body must be the plugin: a WebAssembly component (application/wasm)"
                .into(),
        ));
    }
    let profile = Profile::of(&bytes);
    let engine = engine(profile)?;
    let started = Instant::now();
    let (bytes, compiled) = blocking(move || {
        let compiled = Policy::compile(engine, &bytes);
        (bytes, compiled)
    })
    .await?;
    let compiled = compiled.map_err(rejection)?;
    let compile_micros = started.elapsed().as_micros() as u64;
    let store = app.store();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let previous = store.plugin_head(&admin.tenant_id, &name).await?;
        let number = previous.unwrap_or(0) + 1;
        // Chunks of this attempt only: if it loses the number or fails, they expire.
        let upload_id = uuid::Uuid::new_v4().to_string();
        for (kind, sha, blob) in [
            (SOURCE, &compiled.source_sha256, &bytes),
            (ARTIFACT, &compiled.artifact_sha256, &compiled.artifact),
        ] {
            store
                .put_plugin_blob(
                    &admin.tenant_id,
                    &name,
                    number,
                    Some(&upload_id),
                    kind,
                    sha,
                    blob,
                )
                .await?;
        }
        let version = PluginVersion {
            name: name.clone(),
            version: number,
            source_sha256: compiled.source_sha256.clone(),
            source_size: bytes.len() as u64,
            artifact_sha256: compiled.artifact_sha256.clone(),
            artifact_size: compiled.artifact.len() as u64,
            artifact_seal: Some(compiled.artifact_seal.clone()),
            engine: ENGINE_ID.to_owned(),
            imports: compiled.policy.imports().to_vec(),
            exports: compiled.policy.exports().to_vec(),
            uploaded_at: String::new(),
            uploaded_by: admin.actor.clone(),
            assignments: 0,
            upload_id: Some(upload_id),
            profile: profile.as_str().to_owned(),
        };
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "plugin.upload",
            format!("plugin:{name}:{number}"),
            json!({ "sourceSha256": version.source_sha256, "sourceSize": version.source_size }),
        );
        let version = PluginVersion {
            uploaded_at: audit.at.clone(),
            ..version
        };
        match store
            .create_plugin_version(&admin.tenant_id, &version, previous, &audit)
            .await
        {
            Ok(()) => {
                remember(&version.artifact_sha256, &compiled.policy);
                let mut view = PluginVersionView::new(version, engine.limits());
                view.compile_micros = Some(compile_micros);
                return Ok(view);
            }
            // Another upload of this plugin took the number: take the next one.
            Err(Error::ConcurrentChange) if attempts < 10 => continue,
            Err(other) => return Err(other),
        }
    }
}

/// `GET /api/admin/plugins`: every plugin with its versions.
pub async fn list(app: &App, incoming: Incoming) -> Result<Vec<PluginSummary>, Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let mut plugins: Vec<PluginSummary> = Vec::new();
    for version in app.store().plugin_versions(&admin.tenant_id).await? {
        let limits = profile_of(&version).limits();
        let view = PluginVersionView::new(version, &limits);
        match plugins.last_mut() {
            Some(last) if last.name == view.stored.name => last.versions.push(view),
            _ => plugins.push(PluginSummary {
                name: view.stored.name.clone(),
                versions: vec![view],
            }),
        }
    }
    Ok(plugins)
}

/// `GET /api/admin/plugins/{pluginName}/versions/{version}`.
pub async fn get_version(app: &App, incoming: Incoming) -> Result<PluginVersionView, Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let version = addressed_version(app, &admin.tenant_id, &incoming).await?;
    let limits = profile_of(&version).limits();
    Ok(PluginVersionView::new(version, &limits))
}

/// `DELETE /api/admin/plugins/{pluginName}/versions/{version}`: only while no service uses it.
pub async fn delete_version(app: &App, incoming: Incoming) -> Result<(), Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let version = addressed_version(app, &admin.tenant_id, &incoming).await?;
        if version.assignments > 0 {
            return Err(Error::Conflict(format!(
                "Plugin {} version {} is assigned to {} service(s); unassign it first",
                version.name, version.version, version.assignments
            )));
        }
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "plugin.delete",
            format!("plugin:{}:{}", version.name, version.version),
            json!({ "sourceSha256": version.source_sha256 }),
        );
        match app
            .store()
            .delete_plugin_version(&admin.tenant_id, &version.name, version.version, &audit)
            .await
        {
            Err(Error::ConcurrentChange) if attempts < 5 => continue,
            other => return other,
        }
    }
}

/// The configuration as the plugin receives it: JSON text (`{}` when none was given).
fn configuration_text(body: &Value) -> String {
    body.get("configuration")
        .map(Value::to_string)
        .unwrap_or_else(|| "{}".into())
}

fn check_config(policy: &CompiledPolicy, config: &str) -> ConfigCheck {
    match policy.validate_config(config) {
        Ok(()) => ConfigCheck {
            valid: true,
            reason: None,
        },
        Err(ConfigError::Rejected(reason)) => ConfigCheck {
            valid: false,
            reason: Some(reason),
        },
        Err(ConfigError::Plugin(error)) => ConfigCheck {
            valid: false,
            reason: Some(format!(
                "the plugin failed while validating ({}): {error}",
                error.code()
            )),
        },
    }
}

fn object_body(incoming: &Incoming) -> Result<Value, Error> {
    let body = stratus_app::parse_json_body(&incoming.raw_body, MAX_SIMULATION_BODY_BYTES)?
        .ok_or_else(|| Error::BadRequest("A JSON request body is required".into()))?;
    if !body.is_object() {
        return Err(Error::BadRequest(
            "The request body must be a JSON object".into(),
        ));
    }
    Ok(body)
}

/// `POST /api/admin/plugins/{pluginName}/versions/{version}/validate-config`:
/// `{"configuration": …}` → whether the plugin accepts it, and why not.
pub async fn validate_config(app: &App, incoming: Incoming) -> Result<ConfigCheck, Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let body = object_body(&incoming)?;
    let version = addressed_version(app, &admin.tenant_id, &incoming).await?;
    let policy = load(app, &admin.tenant_id, &version).await?;
    let config = configuration_text(&body);
    blocking(move || check_config(&policy, &config)).await
}

/// Takes a field out of the body (no copy of a large candidate list) and deserializes it.
fn field<T: serde::de::DeserializeOwned>(body: &mut Value, name: &str) -> Result<T, Error> {
    let value = body.get_mut(name).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| Error::BadRequest(format!("\"{name}\": {e}")))
}

/// `POST /api/admin/plugins/{pluginName}/versions/{version}/simulate`: runs one decision
/// of the version with a configuration against a posted task and candidates, exactly as the
/// routing function would (same limits, same fallback), and reports what happened.
pub async fn simulate(app: &App, incoming: Incoming) -> Result<Simulation, Error> {
    let (admin, _) = app.tenant_admin(&incoming).await?;
    let mut body = object_body(&incoming)?;
    for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["configuration", "task", "candidates", "moment"].contains(&key.as_str()) {
            return Err(Error::BadRequest(format!(
                "\"{key}\" is not a simulation field (configuration, task, candidates, moment)"
            )));
        }
    }
    let task: TaskSpec = match body.get("task") {
        Some(_) => field(&mut body, "task")?,
        None => TaskSpec::default(),
    };
    let candidates: Vec<CandidateSpec> = field(&mut body, "candidates")?;
    let moment: MomentSpec = match body.get("moment") {
        Some(_) => field(&mut body, "moment")?,
        None => MomentSpec {
            at: now_rfc3339(),
            time_zone: None,
            holidays: Vec::new(),
            seed: 0,
        },
    };
    let config = configuration_text(&body);
    let context = spec::context(&moment, &config).map_err(|e| Error::BadRequest(e.0))?;
    let input =
        spec::decision_input(&task, &candidates, context).map_err(|e| Error::BadRequest(e.0))?;

    let version = addressed_version(app, &admin.tenant_id, &incoming).await?;
    let policy = load(app, &admin.tenant_id, &version).await?;
    let limits = policy.limits().clone();
    let (check, result) = blocking(move || {
        let check = check_config(&policy, &config);
        let result = check.valid.then(|| policy.decide(&input));
        (check, result.map(|r| (r, input)))
    })
    .await?;
    let Some((result, input)) = result else {
        return Err(Error::BadRequest(format!(
            "\"configuration\" was rejected by the plugin: {}",
            check.reason.unwrap_or_default()
        )));
    };
    Ok(Simulation::new(&version, &result, &input, &limits))
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

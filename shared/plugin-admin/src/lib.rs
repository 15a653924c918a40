//! Routing-policy plugin administration (`/api/admin/plugins`, tenant admin): upload a
//! version (validated, precompiled and size-checked by the routing host, stored chunked and
//! content-addressed), list, get, delete a version no service uses, validate a configuration
//! with the plugin's own `validate-config`, and simulate a decision — so an author sees the
//! order, reason, fuel and time of a policy before assigning it. Stored versions are loaded
//! through the routing host's [`PolicyRegistry`], as live routing loads them.

mod error;
mod views;

use std::time::Instant;

use serde_json::{json, Value};
use stratus_kernel::audit::audit_record;
use stratus_kernel::clock::now_rfc3339;
use stratus_kernel::{Error, Guid, Incoming, Kernel};
use stratus_routing::registry::blocking;
use stratus_routing::spec::{self, CandidateSpec, MomentSpec, TaskSpec};
use stratus_routing::stored::{PluginStore, PluginVersion, ARTIFACT_BLOB, SOURCE_BLOB};
use stratus_routing::{CompiledPolicy, Policy, PolicyRegistry, Profile, ENGINE_ID};

pub use error::PluginAdminError;
pub use views::{
    ConfigCheck, LimitsView, PluginSummary, PluginVersionView, SimulatedDecision, Simulation,
};

type Result<T> = std::result::Result<T, PluginAdminError>;

/// Simulation bodies carry candidate lists; larger than the default JSON cap.
pub const MAX_SIMULATION_BODY_BYTES: usize = 1024 * 1024;
use stratus_routing::stored::MAX_PLUGIN_NAME_CHARS as MAX_NAME_CHARS;

/// A plugin name: 1–63 lowercase letters, digits and hyphens, starting with a letter or digit.
pub fn plugin_name(raw: Option<&str>) -> std::result::Result<String, Error> {
    let name = raw.unwrap_or_default();
    if stratus_routing::stored::is_plugin_name(name) {
        Ok(name.to_owned())
    } else {
        Err(Error::BadRequest(format!(
            "\"pluginName\" {name:?} is not a plugin name: 1 to {MAX_NAME_CHARS} lowercase \
             letters, digits and hyphens, not starting with a hyphen"
        )))
    }
}

fn version_number(raw: Option<&str>) -> std::result::Result<u32, Error> {
    let raw = raw.unwrap_or_default();
    raw.parse::<u32>().ok().filter(|v| *v >= 1).ok_or_else(|| {
        Error::BadRequest(format!(
            "\"version\" {raw:?} is not a version number (1, 2, …)"
        ))
    })
}

/// The version named by the path, or 404.
async fn addressed_version(
    kernel: &Kernel,
    tenant: &Guid,
    incoming: &Incoming,
) -> Result<PluginVersion> {
    let name = plugin_name(incoming.path_param("pluginName"))?;
    let version = version_number(incoming.path_param("version"))?;
    kernel
        .table()
        .plugin_version(tenant, &name, version)
        .await?
        .ok_or(PluginAdminError::VersionNotFound { name, version })
}

/// `POST /api/admin/plugins/{pluginName}/versions`: the body is the component's bytes.
pub async fn upload_plugin_version(
    kernel: &Kernel,
    mut incoming: Incoming,
) -> Result<PluginVersionView> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let name = plugin_name(incoming.path_param("pluginName"))?;
    let bytes = incoming.take_body();
    if bytes.is_empty() {
        return Err(Error::BadRequest(
            "The request body must be the plugin: a WebAssembly component (application/wasm)"
                .into(),
        )
        .into());
    }
    let registry = PolicyRegistry::global();
    let profile = Profile::of(&bytes);
    let engine = registry.engine(profile)?.clone();
    let limits = engine.limits().clone();
    let started = Instant::now();
    let (bytes, compiled) = blocking(move || {
        let compiled = Policy::compile(&engine, &bytes);
        (bytes, compiled)
    })
    .await?;
    let compiled = compiled.map_err(PluginAdminError::Rejected)?;
    let compile_micros = started.elapsed().as_micros() as u64;
    let table = kernel.table();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let previous = table.plugin_head(&admin.tenant_id, &name).await?;
        let number = previous.unwrap_or(0) + 1;
        // Chunks of this attempt only: if it loses the number or fails, they expire.
        let upload_id = uuid::Uuid::new_v4().to_string();
        for (kind, sha, blob) in [
            (SOURCE_BLOB, &compiled.source_sha256, &bytes),
            (ARTIFACT_BLOB, &compiled.artifact_sha256, &compiled.artifact),
        ] {
            table
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
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "plugin.upload",
            format!("plugin:{name}:{number}"),
            json!({ "sourceSha256": compiled.source_sha256, "sourceSize": bytes.len() }),
        );
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
            uploaded_at: audit.at.clone(),
            uploaded_by: admin.actor.clone(),
            assignments: 0,
            upload_id: Some(upload_id),
            profile: profile.as_str().to_owned(),
            decision_failures: 0,
        };
        match table
            .create_plugin_version(&admin.tenant_id, &version, previous, &audit)
            .await
        {
            Ok(()) => {
                registry.remember(&version.artifact_sha256, &compiled.policy);
                let mut view = PluginVersionView::new(version, &limits);
                view.compile_micros = Some(compile_micros);
                return Ok(view);
            }
            // Another upload of this plugin took the number: take the next one.
            Err(Error::ConcurrentChange) if attempts < 10 => continue,
            Err(other) => return Err(other.into()),
        }
    }
}

/// `GET /api/admin/plugins`: every plugin with its versions.
pub async fn list_plugins(kernel: &Kernel, incoming: Incoming) -> Result<Vec<PluginSummary>> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let mut plugins: Vec<PluginSummary> = Vec::new();
    for version in kernel.table().plugin_versions(&admin.tenant_id).await? {
        let limits = Profile::parse(&version.profile).limits();
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
pub async fn get_plugin_version(kernel: &Kernel, incoming: Incoming) -> Result<PluginVersionView> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let version = addressed_version(kernel, &admin.tenant_id, &incoming).await?;
    let limits = Profile::parse(&version.profile).limits();
    Ok(PluginVersionView::new(version, &limits))
}

/// `DELETE /api/admin/plugins/{pluginName}/versions/{version}`: only while no service uses it.
pub async fn delete_plugin_version(kernel: &Kernel, incoming: Incoming) -> Result<()> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let version = addressed_version(kernel, &admin.tenant_id, &incoming).await?;
        if version.assignments > 0 {
            return Err(PluginAdminError::VersionInUse {
                name: version.name,
                version: version.version,
                assignments: version.assignments,
            });
        }
        let audit = audit_record(
            &admin.tenant_id,
            &admin.actor,
            "plugin.delete",
            format!("plugin:{}:{}", version.name, version.version),
            json!({ "sourceSha256": version.source_sha256 }),
        );
        match kernel
            .table()
            .delete_plugin_version(&admin.tenant_id, &version.name, version.version, &audit)
            .await
        {
            Err(Error::ConcurrentChange) if attempts < 5 => continue,
            other => return Ok(other?),
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
    let reason = policy.config_refusal(config);
    ConfigCheck {
        valid: reason.is_none(),
        reason,
    }
}

/// `POST /api/admin/plugins/{pluginName}/versions/{version}/validate-config`:
/// `{"configuration": …}` → whether the plugin accepts it, and why not.
pub async fn validate_plugin_config(
    kernel: &Kernel,
    mut incoming: Incoming,
) -> Result<ConfigCheck> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let body = incoming.take_json_object(MAX_SIMULATION_BODY_BYTES)?;
    let version = addressed_version(kernel, &admin.tenant_id, &incoming).await?;
    let policy = PolicyRegistry::global()
        .load(kernel.table(), &admin.tenant_id, &version)
        .await?;
    let config = configuration_text(&body);
    Ok(blocking(move || check_config(&policy, &config)).await?)
}

/// Takes a field out of the body (no copy of a large candidate list) and deserializes it.
fn field<T: serde::de::DeserializeOwned>(body: &mut Value, name: &str) -> Result<T> {
    let value = body.get_mut(name).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| Error::BadRequest(format!("\"{name}\": {e}")).into())
}

/// `POST /api/admin/plugins/{pluginName}/versions/{version}/simulate`: runs one decision of
/// the version with a configuration against a posted task and candidates, exactly as the
/// routing function would (same limits, same fallback), and reports what happened.
pub async fn simulate_plugin_version(
    kernel: &Kernel,
    mut incoming: Incoming,
) -> Result<Simulation> {
    let admin = kernel.tenant_admin(&incoming).await?;
    let mut body = incoming.take_json_object(MAX_SIMULATION_BODY_BYTES)?;
    for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["configuration", "task", "candidates", "moment"].contains(&key.as_str()) {
            return Err(Error::BadRequest(format!(
                "\"{key}\" is not a simulation field (configuration, task, candidates, moment)"
            ))
            .into());
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

    let version = addressed_version(kernel, &admin.tenant_id, &incoming).await?;
    let policy = PolicyRegistry::global()
        .load(kernel.table(), &admin.tenant_id, &version)
        .await?;
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
        ))
        .into());
    };
    Ok(Simulation::new(&version, &result, &input, &limits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_kernel::{Problem, StatusCode};
    use stratus_routing::PluginError;

    #[test]
    fn plugin_names_and_versions_are_parsed_from_the_path() {
        assert_eq!(
            plugin_name(Some("skill-based-2")).as_deref(),
            Ok("skill-based-2")
        );
        for bad in ["", "-lead", "Upper", "under_score", &"x".repeat(64)] {
            let err = plugin_name(Some(bad)).unwrap_err().to_string();
            assert!(err.starts_with("\"pluginName\""), "{bad:?}: {err}");
        }
        assert_eq!(version_number(Some("3")), Ok(3));
        for bad in ["0", "-1", "one", ""] {
            assert!(version_number(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refused_uploads_answer_by_kind() {
        let too_large = PluginAdminError::Rejected(PluginError::TooLarge { size: 10, limit: 5 });
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            too_large.detail(),
            "The plugin is too large: the binary is 10 bytes, the limit is 5 bytes"
        );
        let not_wasm = PluginAdminError::Rejected(PluginError::NotWasm);
        assert_eq!(not_wasm.status(), StatusCode::BAD_REQUEST);
        assert!(not_wasm
            .detail()
            .starts_with("The plugin was rejected (not-wasm): "));
        let engine = PluginAdminError::from(Error::internal("the routing engine did not start"));
        assert_eq!(engine.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!engine.detail().contains("engine"), "{}", engine.detail());
    }
}

//! Routing-policy plugins as stored: a metadata item per version in the tenant partition,
//! a head item that hands out version numbers (never reused), and the version's bytes —
//! the uploaded component and its precompiled artifact, each larger than DynamoDB's 400 KB
//! item limit allows — as chunks in a partition of the version's own, addressed by the
//! upload that wrote them and the blob's sha256. The digests come from the routing host, which
//! checks what it reads back (the artifact's seal before it is deserialized, the source's
//! digest after a recompile), so the store hashes nothing itself. Chunks are written before
//! the transaction that makes the version visible, so a version is never seen half-stored.
//! They are written with a TTL that the same transaction removes: the chunks of an upload
//! that failed, or lost its number to another, expire by themselves.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use stratus_kernel::audit::AuditRecord;
use stratus_kernel::table::{
    from_item, key, keys, n, not_exists, s, to_item, Change, Expr, Item, Meaning, Table,
};
use stratus_kernel::{Error, Guid};

/// Bytes per chunk item: well under the 400 KB item limit with key and attribute names.
pub const BLOB_CHUNK_BYTES: usize = 350_000;
/// How long the chunks of an upload that never became a version are kept (TTL): a failed or
/// out-raced upload's bytes are collected by DynamoDB, with nothing to run.
pub const UNCOMMITTED_CHUNK_SECONDS: i64 = 24 * 3600;
/// Chunks one version may have: each becomes permanent in the transaction that makes the
/// version visible, and a transaction holds at most 100 items (three go to the version,
/// the number's head and the audit record).
pub const MAX_CHUNKS_PER_VERSION: usize = 96;

/// The blob kinds of a version: the uploaded component and its precompiled artifact.
pub const SOURCE_BLOB: &str = "SOURCE";
pub const ARTIFACT_BLOB: &str = "ARTIFACT";

/// One uploaded version of a plugin (what get and list answer, and what loading needs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginVersion {
    pub name: String,
    pub version: u32,
    pub source_sha256: String,
    pub source_size: u64,
    pub artifact_sha256: String,
    pub artifact_size: u64,
    /// The HMAC of the artifact under the hosts' artifact key (configuration, never stored):
    /// what a host checks before it loads the artifact. Versions stored before seals existed
    /// have none, and are compiled again from the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_seal: Option<String>,
    /// The host the artifact was compiled for; another host recompiles from the source.
    pub engine: String,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pub uploaded_at: String,
    pub uploaded_by: String,
    /// Services this version is assigned to; a version in use cannot be deleted.
    #[serde(default)]
    pub assignments: u32,
    /// The upload whose chunks hold this version's bytes (see [`PluginStore::put_plugin_blob`]);
    /// none for versions stored before uploads had ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// The limits profile chosen at upload (`compiled` or `interpreted`); versions stored
    /// before profiles existed were compiled ones.
    #[serde(default = "compiled_profile")]
    pub profile: String,
    /// Live decisions in which this version failed and the fallback decided (counted by the
    /// routing function).
    #[serde(default)]
    pub decision_failures: u64,
}

/// Longest plugin name.
pub const MAX_PLUGIN_NAME_CHARS: usize = 63;

/// A plugin name: 1–63 lowercase letters, digits and hyphens, not starting with a hyphen
/// (it becomes part of item keys and URLs).
pub fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_PLUGIN_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
}

fn compiled_profile() -> String {
    "compiled".into()
}

/// The sort keys of an upload's chunks, from the sizes the version records; more than a
/// transaction can make permanent is refused (413).
fn chunk_keys(version: &PluginVersion, upload: &str) -> Result<Vec<String>, Error> {
    let count = |size: u64| (size as usize).div_ceil(BLOB_CHUNK_BYTES);
    let blobs = [
        (
            SOURCE_BLOB,
            &version.source_sha256,
            count(version.source_size),
        ),
        (
            ARTIFACT_BLOB,
            &version.artifact_sha256,
            count(version.artifact_size),
        ),
    ];
    let total: usize = blobs.iter().map(|(_, _, chunks)| chunks).sum();
    if total > MAX_CHUNKS_PER_VERSION {
        return Err(Error::PayloadTooLarge(format!(
            "The plugin is too large to store: its source and compiled form take {total} \
             chunks of {BLOB_CHUNK_BYTES} bytes, the limit is {MAX_CHUNKS_PER_VERSION}"
        )));
    }
    Ok(blobs
        .iter()
        .flat_map(|(kind, sha, chunks)| {
            (0..*chunks).map(move |index| keys::plugin_chunk_sk(kind, Some(upload), sha, index))
        })
        .collect())
}

// Implemented and called on the concrete `Table` only, so the futures' `Send` is known
// where they are awaited.
#[allow(async_fn_in_trait)]
pub trait PluginStore {
    /// The newest version number handed out for a plugin, if any.
    async fn plugin_head(&self, tenant: &Guid, name: &str) -> Result<Option<u32>, Error>;

    /// Writes a blob's chunks under a version, addressed by `sha256`, the digest of `bytes`
    /// (idempotent: same key, same bytes). With an `upload` id the chunks are that upload's
    /// and expire (TTL) unless [`PluginStore::create_plugin_version`] makes them permanent.
    #[allow(clippy::too_many_arguments)]
    async fn put_plugin_blob(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        upload: Option<&str>,
        kind: &str,
        sha256: &str,
        bytes: &[u8],
    ) -> Result<(), Error>;

    /// Reads back the blob stored under `sha256`; the caller checks the bytes against it
    /// before trusting them. No chunks there is an error (never an empty blob).
    async fn plugin_blob(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        upload: Option<&str>,
        kind: &str,
        sha256: &str,
    ) -> Result<Vec<u8>, Error>;

    /// Makes a version visible: takes its number from the head (which must still say
    /// `previous`, else a concurrent upload took it: `ConcurrentChange`), stores the
    /// metadata and the audit record, all or nothing.
    async fn create_plugin_version(
        &self,
        tenant: &Guid,
        version: &PluginVersion,
        previous: Option<u32>,
        audit: &AuditRecord,
    ) -> Result<(), Error>;

    /// Files an artifact compiled again from a version's source (by a host of another
    /// version, or under another key) so that the next cold load need not compile it: the
    /// chunks first, then the version item points at them. The old artifact's chunks stay
    /// in the version's partition until the version is deleted.
    async fn replace_plugin_artifact(
        &self,
        tenant: &Guid,
        version: &PluginVersion,
        artifact: &[u8],
    ) -> Result<(), Error>;

    /// Every version of every plugin of the tenant, by name then version.
    async fn plugin_versions(&self, tenant: &Guid) -> Result<Vec<PluginVersion>, Error>;

    async fn plugin_version(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
    ) -> Result<Option<PluginVersion>, Error>;

    /// Removes a version that no service uses (its metadata and audit record in one
    /// transaction; a version that became used or vanished meanwhile: `ConcurrentChange`),
    /// then its chunks.
    async fn delete_plugin_version(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        audit: &AuditRecord,
    ) -> Result<(), Error>;
}

impl PluginStore for Table {
    async fn plugin_head(&self, tenant: &Guid, name: &str) -> Result<Option<u32>, Error> {
        Ok(self
            .get(key(keys::tenant_pk(tenant), keys::plugin_head_sk(name)))
            .await?
            .and_then(|item| {
                item.get("latestVersion")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
            }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn put_plugin_blob(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        upload: Option<&str>,
        kind: &str,
        sha256: &str,
        bytes: &[u8],
    ) -> Result<(), Error> {
        let expires_at = upload
            .map(|_| time::OffsetDateTime::now_utc().unix_timestamp() + UNCOMMITTED_CHUNK_SECONDS);
        let place = (tenant, name, version, upload);
        write_chunks(self, place, kind, sha256, bytes, expires_at).await
    }

    async fn plugin_blob(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        upload: Option<&str>,
        kind: &str,
        sha256: &str,
    ) -> Result<Vec<u8>, Error> {
        let items = self
            .query_prefix(
                keys::plugin_blob_pk(tenant, name, version),
                &keys::plugin_blob_prefix(kind, upload, sha256),
            )
            .await?;
        let mut bytes = Vec::new();
        for item in &items {
            let chunk = item
                .get("bytes")
                .and_then(|v| v.as_b().ok())
                .ok_or_else(|| Error::internal("a plugin chunk without bytes"))?;
            bytes.extend_from_slice(chunk.as_ref());
        }
        if items.is_empty() {
            return Err(Error::internal(format!(
                "reading plugin blob {kind} {sha256} of {name} v{version}: no chunks"
            )));
        }
        Ok(bytes)
    }

    async fn create_plugin_version(
        &self,
        tenant: &Guid,
        version: &PluginVersion,
        previous: Option<u32>,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let pk = keys::tenant_pk(tenant);
        let mut c = Change::on(self);
        c.require_tenant(tenant)?;
        let (condition, expr) = match previous {
            None => (
                "attribute_not_exists(PK)",
                Expr::new().value(":next", n(version.version)),
            ),
            Some(latest) => (
                "latestVersion = :latest",
                Expr::new()
                    .value(":next", n(version.version))
                    .value(":latest", n(latest)),
            ),
        };
        c.update(
            key(pk.clone(), keys::plugin_head_sk(&version.name)),
            "SET latestVersion = :next",
            condition,
            expr,
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.put(
            to_item(
                pk,
                keys::plugin_version_sk(&version.name, version.version),
                version,
            )?,
            Some(not_exists()),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        if let Some(upload) = version.upload_id.as_deref() {
            let blob_pk = keys::plugin_blob_pk(tenant, &version.name, version.version);
            for chunk_sk in chunk_keys(version, upload)? {
                c.update(
                    key(blob_pk.clone(), chunk_sk),
                    &format!("REMOVE {}", keys::EXPIRES_AT),
                    "attribute_exists(PK)",
                    Expr::new(),
                    Meaning::Fails(Error::internal(
                        "a chunk of the upload was missing when it was committed",
                    )),
                )?;
            }
        }
        c.audit(audit)?;
        self.commit(c).await
    }

    async fn replace_plugin_artifact(
        &self,
        tenant: &Guid,
        version: &PluginVersion,
        artifact: &[u8],
    ) -> Result<(), Error> {
        // Permanent at once (no TTL): the version item points at them in the next step.
        put_permanent_blob(
            self,
            tenant,
            version,
            ARTIFACT_BLOB,
            &version.artifact_sha256,
            artifact,
        )
        .await?;
        let mut c = Change::on(self);
        c.update(
            key(
                keys::tenant_pk(tenant),
                keys::plugin_version_sk(&version.name, version.version),
            ),
            "SET artifactSha256 = :sha, artifactSize = :size, artifactSeal = :seal, engine = :engine",
            "attribute_exists(PK)",
            Expr::new()
                .value(":sha", s(version.artifact_sha256.clone()))
                .value(":size", n(version.artifact_size))
                .value(":seal", s(version.artifact_seal.clone().unwrap_or_default()))
                .value(":engine", s(version.engine.clone())),
            // Deleted meanwhile: nothing to point at the new chunks, which go with the partition.
            Meaning::Fails(Error::NotFound(format!(
                "Plugin {} has no version {}",
                version.name, version.version
            ))),
        )?;
        self.commit(c).await
    }

    async fn plugin_versions(&self, tenant: &Guid) -> Result<Vec<PluginVersion>, Error> {
        self.query_prefix(keys::tenant_pk(tenant), keys::PLUGIN_VERSION_PREFIX)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn plugin_version(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
    ) -> Result<Option<PluginVersion>, Error> {
        self.get(key(
            keys::tenant_pk(tenant),
            keys::plugin_version_sk(name, version),
        ))
        .await?
        .map(from_item)
        .transpose()
    }

    async fn delete_plugin_version(
        &self,
        tenant: &Guid,
        name: &str,
        version: u32,
        audit: &AuditRecord,
    ) -> Result<(), Error> {
        let mut c = Change::on(self);
        c.delete(
            key(
                keys::tenant_pk(tenant),
                keys::plugin_version_sk(name, version),
            ),
            Some((
                "attribute_exists(PK) AND assignments = :zero",
                Expr::new().value(":zero", n(0)),
            )),
            Meaning::Fails(Error::ConcurrentChange),
        )?;
        c.audit(audit)?;
        self.commit(c).await?;
        let pk = keys::plugin_blob_pk(tenant, name, version);
        let requests = self
            .query_prefix(pk.clone(), "")
            .await?
            .into_iter()
            .map(|item| {
                let sk = item.get(keys::SK).cloned().unwrap_or_else(|| s(""));
                let delete = DeleteRequest::builder()
                    .set_key(Some(Item::from([
                        (keys::PK.to_owned(), s(pk.clone())),
                        (keys::SK.to_owned(), sk),
                    ])))
                    .build()
                    .map_err(|e| Error::internal_from("building a chunk delete", e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, Error>>()?;
        self.batch_write(requests).await
    }
}

/// Chunks that a version item already (or at once) points at: no TTL.
async fn put_permanent_blob(
    table: &Table,
    tenant: &Guid,
    version: &PluginVersion,
    kind: &str,
    sha256: &str,
    bytes: &[u8],
) -> Result<(), Error> {
    let place = (
        tenant,
        version.name.as_str(),
        version.version,
        version.upload_id.as_deref(),
    );
    write_chunks(table, place, kind, sha256, bytes, None).await
}

async fn write_chunks(
    table: &Table,
    (tenant, name, version, upload): (&Guid, &str, u32, Option<&str>),
    kind: &str,
    sha256: &str,
    bytes: &[u8],
    expires_at: Option<i64>,
) -> Result<(), Error> {
    let pk = keys::plugin_blob_pk(tenant, name, version);
    let requests: Vec<WriteRequest> = bytes
        .chunks(BLOB_CHUNK_BYTES)
        .enumerate()
        .map(|(index, chunk)| {
            let mut item = key(
                pk.clone(),
                keys::plugin_chunk_sk(kind, upload, sha256, index),
            );
            item.insert("bytes".into(), AttributeValue::B(Blob::new(chunk)));
            if let Some(at) = expires_at {
                item.insert(keys::EXPIRES_AT.into(), n(at));
            }
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| Error::internal_from("building a chunk put", e))?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_, Error>>()?;
    table.batch_write(requests).await
}

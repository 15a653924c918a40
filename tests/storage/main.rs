//! Storage behaviour against DynamoDB Local (started by `cargo xtask test`): every
//! invariant the table enforces, checked with real concurrent writers, through each
//! feature's storage seam (provisioning, tenant administration, stored plugins, tenant
//! settings).

#[path = "../common/floor.rs"]
mod floor;
mod routing;

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use std::path::Path;
use stratus_kernel::license::LicenseType;
use stratus_kernel::table::Table as Store;
use stratus_kernel::{Error, Guid, OrganizationUnit, Tenant, User};
use stratus_provisioning::store::ProvisioningStore;
use stratus_provisioning::ProvisioningError;
use stratus_routing::sha256_hex;
use stratus_routing::stored::PluginStore;
use stratus_services::store::{ServiceStore, VersionedService};
use stratus_tenant_admin::store::{Skill, TenantAdminStore};
use stratus_tenant_admin::TenantAdminError;
use stratus_tenant_settings::store::SettingsStore;
use stratus_tenant_settings::SettingsError;

/// A table of its own, fresh, so tests run in parallel without sharing state.
async fn store() -> Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: these tests need DynamoDB Local; run `cargo xtask test`"
    );
    let base = Store::from_env().await.expect("client");
    let table = format!("store-test-{}", Guid::new_random());
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    stratus_kernel::table::setup::create_table_from_template(base.client(), &template, &table)
        .await
        .expect("create table");
    Store::new(base.client().clone(), table)
}

use floor::audit;

/// A tenant with `contact_center` Contact Center seats and a root unit.
async fn tenant(store: &Store, contact_center: u32) -> (Guid, OrganizationUnit) {
    floor::tenant(store, contact_center).await
}

fn licensed_user(ou: &OrganizationUnit) -> User {
    let mut u = User::empty(Guid::new_random(), ou.id.clone());
    u.licenses = vec![LicenseType::ContactCenter];
    u
}

async fn in_use(store: &Store, tenant: &Guid) -> u32 {
    store.tenant(tenant).await.unwrap().unwrap().licenses[&LicenseType::ContactCenter].in_use
}

#[tokio::test]
async fn a_user_is_created_once() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let user = User::empty(Guid::new_random(), root.id.clone());
    store
        .create_user(&t, &user, &audit(&t, "user.create"))
        .await
        .unwrap();
    let again = store
        .create_user(&t, &user, &audit(&t, "user.create"))
        .await;
    assert_eq!(again, Err(ProvisioningError::UserAlreadyExists));
    let read = store.user(&t, &user.o365_id).await.unwrap().unwrap();
    assert_eq!(read.user, user);
    assert_eq!(read.version, 1);
}

#[tokio::test]
async fn concurrent_allocations_never_exceed_the_contingent() {
    let store = store().await;
    let (t, root) = tenant(&store, 3).await;
    let users: Vec<User> = (0..10).map(|_| licensed_user(&root)).collect();
    let record = audit(&t, "user.copy");
    let results = join_all(users.iter().map(|u| store.create_user(&t, u, &record))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 3, "{results:?}");
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| *e
            == ProvisioningError::Kernel(Error::NoLicenseAvailable(LicenseType::ContactCenter))));
    assert_eq!(in_use(&store, &t).await, 3);
}

#[tokio::test]
async fn a_refused_allocation_writes_nothing() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let user = licensed_user(&root);
    assert_eq!(
        store.create_user(&t, &user, &audit(&t, "user.copy")).await,
        Err(ProvisioningError::Kernel(Error::NoLicenseAvailable(
            LicenseType::ContactCenter
        )))
    );
    assert!(store.user(&t, &user.o365_id).await.unwrap().is_none());
    // Only the tenant's own audit records exist: the refused change left none.
    let actions: Vec<String> = store
        .audit_records(&t)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, vec!["tenant.create", "licenses"]);
}

#[tokio::test]
async fn deleting_frees_seats_and_removes_memberships() {
    let store = store().await;
    let (t, root) = tenant(&store, 2).await;
    let user = licensed_user(&root);
    store
        .create_user(&t, &user, &audit(&t, "user.create"))
        .await
        .unwrap();
    // A service membership hanging off the user (services arrive later; the key is fixed).
    let member_sk = format!("USER#{}#MEMBER#{}", user.o365_id, Guid::new_random());
    store
        .client()
        .put_item()
        .table_name(store.name())
        .item(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{t}")),
        )
        .item(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S(member_sk.clone()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(in_use(&store, &t).await, 1);
    let (found, dependents) = store
        .user_with_dependents(&t, &user.o365_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dependents, vec![member_sk]);
    store
        .delete_user(&t, &found, &dependents, &audit(&t, "user.delete"))
        .await
        .unwrap();
    assert_eq!(in_use(&store, &t).await, 0);
    assert!(store
        .user_with_dependents(&t, &user.o365_id)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_stale_version_is_refused() {
    let store = store().await;
    let (t, root) = tenant(&store, 1).await;
    let user = User::empty(Guid::new_random(), root.id.clone());
    store
        .create_user(&t, &user, &audit(&t, "user.create"))
        .await
        .unwrap();
    let read = store.user(&t, &user.o365_id).await.unwrap().unwrap();
    let licensed = User {
        licenses: vec![LicenseType::ContactCenter],
        ..user.clone()
    };
    store
        .replace_user(&t, &read, &licensed, &audit(&t, "user.update"))
        .await
        .unwrap();
    assert_eq!(in_use(&store, &t).await, 1);
    // A second writer still holding version 1 loses, and its licence change is not applied.
    assert_eq!(
        store
            .replace_user(&t, &read, &user, &audit(&t, "user.update"))
            .await,
        Err(TenantAdminError::Kernel(Error::ConcurrentChange))
    );
    assert_eq!(in_use(&store, &t).await, 1);
}

#[tokio::test]
async fn contingents_cannot_drop_below_usage() {
    let store = store().await;
    let (t, root) = tenant(&store, 2).await;
    for _ in 0..2 {
        store
            .create_user(&t, &licensed_user(&root), &audit(&t, "user.copy"))
            .await
            .unwrap();
    }
    let result = store
        .set_license_totals(
            &t,
            &[(LicenseType::Interact, 5), (LicenseType::ContactCenter, 1)],
            &audit(&t, "licenses"),
        )
        .await;
    assert_eq!(
        result,
        Err(TenantAdminError::LicensesBelowUsage {
            license: LicenseType::ContactCenter,
            total: 1,
            in_use: 2
        })
    );
    // All or nothing: the Interact total did not change either.
    assert_eq!(
        store.tenant(&t).await.unwrap().unwrap().licenses[&LicenseType::Interact].total,
        0
    );
}

#[tokio::test]
async fn the_rate_log_has_one_writer_per_version() {
    let store = store().await;
    let t = Guid::new_random();
    assert!(store.save_rate_log(&t, "app", None, &[1]).await.unwrap());
    assert!(!store.save_rate_log(&t, "app", None, &[2]).await.unwrap());
    let log = store.rate_log(&t, "app").await.unwrap();
    assert_eq!(log.slots_ms, vec![1]);
    assert!(store
        .save_rate_log(&t, "app", log.version, &[1, 3])
        .await
        .unwrap());
    assert!(!store
        .save_rate_log(&t, "app", log.version, &[1, 4])
        .await
        .unwrap());
    assert_eq!(
        store.rate_log(&t, "app").await.unwrap().slots_ms,
        vec![1, 3]
    );
}

#[tokio::test]
async fn the_snapshot_reads_tenant_log_and_users_at_once() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let user = User::empty(Guid::new_random(), root.id.clone());
    store
        .create_user(&t, &user, &audit(&t, "user.create"))
        .await
        .unwrap();
    store.save_rate_log(&t, "app", None, &[42]).await.unwrap();
    let missing = Guid::new_random();
    let snap = store
        .snapshot(&t, "app", &[&user.o365_id, &missing])
        .await
        .unwrap();
    assert_eq!(snap.tenant.unwrap().id, t);
    assert_eq!(snap.rate_log.slots_ms, vec![42]);
    assert_eq!(snap.users.len(), 1);
    assert!(snap.users.contains_key(&user.o365_id));
}

#[tokio::test]
async fn skill_names_are_unique_per_tenant() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let skill = |name: &str| Skill {
        id: Guid::new_random(),
        name: name.into(),
        organization_unit_id: root.id.clone(),
    };
    store
        .create_skill(&t, &skill("French"), &audit(&t, "skill"))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_skill(&t, &skill("FRENCH"), &audit(&t, "skill"))
            .await,
        Err(TenantAdminError::SkillAlreadyExists)
    );
    let (other, other_root) = tenant(&store, 0).await;
    let theirs = Skill {
        id: Guid::new_random(),
        name: "French".into(),
        organization_unit_id: other_root.id,
    };
    store
        .create_skill(&other, &theirs, &audit(&other, "skill"))
        .await
        .unwrap();
}

#[tokio::test]
async fn app_permissions_are_set_and_removed() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let app = Guid::new_random().to_string();
    store
        .set_app_permission(&t, &app, std::slice::from_ref(&root.id), &audit(&t, "perm"))
        .await
        .unwrap();
    assert_eq!(
        store.tenant(&t).await.unwrap().unwrap().app_scope(&app),
        Some(&[root.id.clone()][..])
    );
    store
        .remove_app_permission(&t, &app, &audit(&t, "perm"))
        .await
        .unwrap();
    assert_eq!(
        store
            .remove_app_permission(&t, &app, &audit(&t, "perm"))
            .await,
        Err(TenantAdminError::AppPermissionNotFound(app.clone()))
    );
    // A tenant admin's token named a tenant that is not ours: no permission item appears.
    let stranger = Guid::new_random();
    let invalid = Err(TenantAdminError::Kernel(Error::InvalidTenantId));
    assert_eq!(
        store
            .set_app_permission(&stranger, &app, &[], &audit(&stranger, "perm"))
            .await,
        invalid
    );
    assert_eq!(
        store
            .remove_app_permission(&stranger, &app, &audit(&stranger, "perm"))
            .await,
        invalid
    );
    assert_eq!(store.tenant(&stranger).await.unwrap(), None);
}

#[tokio::test]
async fn a_tenant_is_created_once_and_units_are_listed() {
    let store = store().await;
    let (t, root) = tenant(&store, 0).await;
    let again = Tenant::new(t.clone(), "Other".into(), Guid::new_random());
    let other_root =
        OrganizationUnit::root(again.root_organization_unit_id.clone(), "Other".into());
    assert!(!store
        .create_tenant(&again, &other_root, &audit(&t, "tenant.create"))
        .await
        .unwrap());
    let child = OrganizationUnit::child_of(&root, Guid::new_random(), "Sales".into());
    store
        .create_organization_unit(&t, &child, &audit(&t, "ou"))
        .await
        .unwrap();
    let mut units = store.organization_units(&t).await.unwrap();
    units.sort_by_key(|u| u.path.len());
    assert_eq!(units, vec![root, child]);
}

// ---- routing-policy plugins -----------------------------------------------------------------

fn plugin_version(
    name: &str,
    version: u32,
    source: &str,
    artifact: &str,
) -> stratus_routing::stored::PluginVersion {
    stratus_routing::stored::PluginVersion {
        name: name.into(),
        version,
        source_sha256: source.into(),
        source_size: 0,
        artifact_sha256: artifact.into(),
        artifact_size: 0,
        artifact_seal: None,
        engine: "test".into(),
        imports: vec![],
        exports: vec!["decide".into()],
        uploaded_at: "2026-11-23T00:00:00Z".into(),
        uploaded_by: "app:test".into(),
        assignments: 0,
        upload_id: None,
        profile: "compiled".into(),
        decision_failures: 0,
    }
}

#[tokio::test]
async fn plugin_blobs_larger_than_an_item_round_trip_and_are_checked() {
    let store = store().await;
    let tenant = Guid::new_random();
    // 4 MiB of varied bytes: twelve chunks, several batches.
    let blob: Vec<u8> = (0..4 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(blob.len() > 10 * stratus_routing::stored::BLOB_CHUNK_BYTES);
    let sha = sha256_hex(&blob);
    store
        .put_plugin_blob(&tenant, "big", 1, None, "SOURCE", &sha, &blob)
        .await
        .unwrap();
    let back = store
        .plugin_blob(&tenant, "big", 1, None, "SOURCE", &sha)
        .await
        .unwrap();
    assert!(back == blob, "the blob came back different");
    // Nothing is stored under another digest: an error, never an empty blob.
    let wrong = "0".repeat(64);
    assert!(matches!(
        store
            .plugin_blob(&tenant, "big", 1, None, "SOURCE", &wrong)
            .await,
        Err(Error::Internal(_))
    ));
    // Another tenant's address holds nothing.
    assert!(store
        .plugin_blob(&Guid::new_random(), "big", 1, None, "SOURCE", &sha)
        .await
        .is_err());
}

#[tokio::test]
async fn a_version_is_only_stored_for_a_tenant_that_exists() {
    let store = store().await;
    let stranger = Guid::new_random();
    let v = plugin_version("p", 1, &"a".repeat(64), &"b".repeat(64));
    assert_eq!(
        store
            .create_plugin_version(&stranger, &v, None, &audit(&stranger, "plugin.upload"))
            .await,
        Err(Error::InvalidTenantId)
    );
    assert_eq!(store.plugin_head(&stranger, "p").await.unwrap(), None);
}

#[tokio::test]
async fn concurrent_uploads_never_share_a_version_number() {
    let store = store().await;
    let (tenant, _) = tenant(&store, 0).await;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let tenant = tenant.clone();
        async move {
            let v = plugin_version("race", 1, &format!("{i:064}"), &format!("{i:064}"));
            store
                .create_plugin_version(&tenant, &v, None, &audit(&tenant, "plugin.upload"))
                .await
        }
    });
    let results = join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(Error::ConcurrentChange))));
    assert_eq!(store.plugin_head(&tenant, "race").await.unwrap(), Some(1));
    // The next number needs the head as it is now.
    let v2 = plugin_version("race", 2, "a", "b");
    assert!(matches!(
        store
            .create_plugin_version(&tenant, &v2, None, &audit(&tenant, "plugin.upload"))
            .await,
        Err(Error::ConcurrentChange)
    ));
    store
        .create_plugin_version(&tenant, &v2, Some(1), &audit(&tenant, "plugin.upload"))
        .await
        .unwrap();
    let listed: Vec<u32> = store
        .plugin_versions(&tenant)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, [1, 2]);
}

#[tokio::test]
async fn deleting_a_version_removes_its_chunks_but_not_a_version_in_use() {
    let store = store().await;
    let (tenant, _) = tenant(&store, 0).await;
    let bytes = vec![7u8; 800_000];
    let sha = sha256_hex(&bytes);
    store
        .put_plugin_blob(&tenant, "p", 1, None, "ARTIFACT", &sha, &bytes)
        .await
        .unwrap();
    let v1 = plugin_version("p", 1, &sha, &sha);
    store
        .create_plugin_version(&tenant, &v1, None, &audit(&tenant, "plugin.upload"))
        .await
        .unwrap();
    store
        .delete_plugin_version(&tenant, "p", 1, &audit(&tenant, "plugin.delete"))
        .await
        .unwrap();
    assert_eq!(store.plugin_version(&tenant, "p", 1).await.unwrap(), None);
    assert!(store
        .plugin_blob(&tenant, "p", 1, None, "ARTIFACT", &sha)
        .await
        .is_err());
    // A version a service uses stays (assignments come with services; set it directly here).
    let mut v2 = plugin_version("p", 2, &sha, &sha);
    v2.assignments = 1;
    store
        .create_plugin_version(&tenant, &v2, Some(1), &audit(&tenant, "plugin.upload"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .delete_plugin_version(&tenant, "p", 2, &audit(&tenant, "plugin.delete"))
            .await,
        Err(Error::ConcurrentChange)
    ));
    assert!(store
        .plugin_version(&tenant, "p", 2)
        .await
        .unwrap()
        .is_some());
}

/// A write that its timeout cut off happened once or not at all. The impatient client gives
/// up after a millisecond, usually after DynamoDB Local has the request, and the SDK repeats
/// the attempt (same client request token); afterwards the caller's own retry either writes
/// the user or finds it written, and every user holds exactly one seat.
#[tokio::test]
async fn writes_cut_off_by_their_timeout_happen_at_most_once() {
    use std::time::Duration;
    use stratus_kernel::error::Dependency;
    use stratus_kernel::table::DynamoDbBounds;

    let store = store().await;
    let (t, root) = tenant(&store, 50).await;
    let impatient = Store::from_env_with(DynamoDbBounds {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(1),
        operation: Duration::from_millis(20),
        max_attempts: 3,
    })
    .await
    .expect("client");
    let impatient = Store::new(impatient.client().clone(), store.name());

    let users: Vec<User> = (0..20).map(|_| licensed_user(&root)).collect();
    let mut cut_off = Vec::new();
    for user in &users {
        match impatient
            .create_user(&t, user, &audit(&t, "user.create"))
            .await
        {
            Ok(()) => {}
            Err(ProvisioningError::Kernel(Error::Unavailable(Dependency::Database, _))) => {
                cut_off.push(user)
            }
            Err(other) => panic!("a timeout must read as unavailable, got {other:?}"),
        }
    }
    assert!(
        !cut_off.is_empty(),
        "a 1 ms attempt bound never cut a write off"
    );

    // Give requests DynamoDB Local still holds time to land, then retry as a client would.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut landed_anyway = 0;
    for user in &cut_off {
        if store.user(&t, &user.o365_id).await.unwrap().is_some() {
            landed_anyway += 1;
        }
    }
    eprintln!(
        "{} of {} writes cut off by the timeout; {landed_anyway} of those landed all the same",
        cut_off.len(),
        users.len()
    );
    for user in &users {
        match store.create_user(&t, user, &audit(&t, "user.create")).await {
            Ok(()) | Err(ProvisioningError::UserAlreadyExists) => {}
            Err(other) => panic!("retry failed: {other:?}"),
        }
        assert!(store.user(&t, &user.o365_id).await.unwrap().is_some());
    }
    assert_eq!(in_use(&store, &t).await, users.len() as u32);
}

/// The chunks of an upload expire (TTL) unless the transaction that makes its version visible
/// keeps them: a failed or out-raced upload leaves nothing that lives on.
#[tokio::test]
async fn an_uploads_chunks_live_on_only_if_its_version_is_committed() {
    use stratus_routing::stored::{ARTIFACT_BLOB, BLOB_CHUNK_BYTES, SOURCE_BLOB};
    let store = store().await;
    let (tenant, _) = tenant(&store, 0).await;
    let source = vec![7u8; BLOB_CHUNK_BYTES + 10];
    let artifact = vec![9u8; 100];
    let (source_sha, artifact_sha) = ("a".repeat(64), "b".repeat(64));
    let upload = |id: &'static str| {
        let store = store.clone();
        let (tenant, source, artifact) = (tenant.clone(), source.clone(), artifact.clone());
        let (source_sha, artifact_sha) = (source_sha.clone(), artifact_sha.clone());
        async move {
            for (kind, sha, bytes) in [
                (SOURCE_BLOB, &source_sha, &source),
                (ARTIFACT_BLOB, &artifact_sha, &artifact),
            ] {
                store
                    .put_plugin_blob(&tenant, "p", 1, Some(id), kind, sha, bytes)
                    .await
                    .unwrap();
            }
            stratus_routing::stored::PluginVersion {
                source_size: source.len() as u64,
                artifact_size: artifact.len() as u64,
                upload_id: Some(id.to_owned()),
                ..plugin_version("p", 1, &source_sha, &artifact_sha)
            }
        }
    };
    let winner = upload("upload-1").await;
    let loser = upload("upload-2").await;
    store
        .create_plugin_version(&tenant, &winner, None, &audit(&tenant, "plugin.upload"))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_plugin_version(&tenant, &loser, None, &audit(&tenant, "plugin.upload"))
            .await,
        Err(Error::ConcurrentChange)
    );

    // Three chunks each (two of the source, one of the artifact).
    let chunks = store
        .client()
        .query()
        .table_name(store.name())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("PLUGINBLOB#{tenant}#p#1")),
        )
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert_eq!(chunks.len(), 6);
    for chunk in &chunks {
        let sk = chunk["SK"].as_s().unwrap();
        let expires = chunk.contains_key("expiresAt");
        assert_eq!(
            expires,
            sk.contains("upload-2"),
            "{sk}: expiresAt {expires}"
        );
    }
    let read = store
        .plugin_blob(&tenant, "p", 1, Some("upload-1"), SOURCE_BLOB, &source_sha)
        .await
        .unwrap();
    assert_eq!(read, source);
}

// ---- services and their agents ----------------------------------------------------------

fn service(root: &OrganizationUnit) -> stratus_services::Service {
    floor::service(root, stratus_services::AssignmentType::SkillBased)
}

async fn item_exists(store: &Store, tenant: &Guid, sk: String) -> bool {
    store
        .client()
        .get_item()
        .table_name(store.name())
        .key("PK", AttributeValue::S(format!("TENANT#{tenant}")))
        .key("SK", AttributeValue::S(sk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

/// A tenant with a service and `n` agents of it; answers the service as read and the agents.
async fn service_with_agents(store: &Store, n: usize) -> (Guid, VersionedService, Vec<Guid>) {
    // A seat for the service, one per agent, and one to spare.
    let (t, root) = tenant(store, n as u32 + 2).await;
    let s = service(&root);
    store
        .create_service(&t, &s, &audit(&t, "service.create"))
        .await
        .unwrap();
    let mut agents = Vec::new();
    for _ in 0..n {
        let user = licensed_user(&root);
        store
            .create_user(&t, &user, &audit(&t, "user.create"))
            .await
            .unwrap();
        let read_user = store.user(&t, &user.o365_id).await.unwrap().unwrap();
        let read_service = store.service(&t, &s.id).await.unwrap().unwrap();
        let agent = stratus_services::Agent {
            service_id: s.id.clone(),
            o365_id: user.o365_id.clone(),
            active: false,
            added_at: String::new(),
            portal_role: None,
            active_since: None,
        };
        store
            .add_agent(&t, &read_service, &read_user, &agent, &audit(&t, "agent"))
            .await
            .unwrap();
        agents.push(user.o365_id);
    }
    let read = store.service(&t, &s.id).await.unwrap().unwrap();
    (t, read, agents)
}

#[tokio::test]
async fn deleting_a_service_ends_every_membership_on_both_sides() {
    use stratus_kernel::table::keys;
    let store = store().await;
    // More agents than one transaction holds.
    let (t, s, agents) = service_with_agents(&store, 60).await;
    let id = s.service.id.clone();
    store
        .delete_service(&t, &s, &audit(&t, "service.delete"))
        .await
        .unwrap();
    assert!(store.service(&t, &id).await.unwrap().is_none());
    for agent in &agents {
        assert!(!item_exists(&store, &t, keys::member_sk(&id, agent)).await);
        assert!(!item_exists(&store, &t, keys::user_membership_sk(agent, &id)).await);
    }
    // Its seat is free again; the agents' own seats stay taken.
    assert_eq!(in_use(&store, &t).await, 60);
}

#[tokio::test]
async fn an_agent_added_after_the_service_was_read_stops_its_delete() {
    let store = store().await;
    let (t, stale, _) = service_with_agents(&store, 1).await;
    // Another agent joins after `stale` was read: the service's version moved on.
    let (root_user, read_user) = {
        let root = stale.service.organization_unit_id.clone();
        let user = User {
            licenses: vec![LicenseType::ContactCenter],
            ..User::empty(Guid::new_random(), root)
        };
        store
            .create_user(&t, &user, &audit(&t, "user.create"))
            .await
            .unwrap();
        let read = store.user(&t, &user.o365_id).await.unwrap().unwrap();
        (user, read)
    };
    let agent = stratus_services::Agent {
        service_id: stale.service.id.clone(),
        o365_id: root_user.o365_id.clone(),
        active: false,
        added_at: String::new(),
        portal_role: None,
        active_since: None,
    };
    store
        .add_agent(&t, &stale, &read_user, &agent, &audit(&t, "agent"))
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_service(&t, &stale, &audit(&t, "service.delete"))
            .await,
        Err(stratus_services::ServiceError::Kernel(
            Error::ConcurrentChange
        ))
    );
    assert!(store
        .service(&t, &stale.service.id)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn deleting_a_user_ends_its_memberships_on_both_sides() {
    use stratus_kernel::table::keys;
    let store = store().await;
    let (t, s, agents) = service_with_agents(&store, 1).await;
    let (id, agent) = (s.service.id.clone(), agents[0].clone());
    let (found, dependents) = store
        .user_with_dependents(&t, &agent)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dependents, vec![keys::user_membership_sk(&agent, &id)]);
    store
        .delete_user(&t, &found, &dependents, &audit(&t, "user.delete"))
        .await
        .unwrap();
    assert!(!item_exists(&store, &t, keys::member_sk(&id, &agent)).await);
    assert!(!item_exists(&store, &t, keys::user_membership_sk(&agent, &id)).await);
    // Its live state goes too: presence news for it is now about an unknown user.
    assert!(store.agent_state(&t, &agent).await.unwrap().is_none());
    assert_eq!(
        store
            .record_presence(&t, &agent, AVAILABLE, "2026-11-30T10:00:00Z", "test")
            .await,
        Ok(PresenceWrite::UnknownUser)
    );
}

// ---- presence and the user-state history ------------------------------------------------

use stratus_kernel::presence::{Activity, Availability, Presence};
use stratus_kernel::table::PresenceWrite;

const AVAILABLE: Presence = Presence {
    availability: Availability::Available,
    activity: Activity::Available,
};
const IN_A_CALL: Presence = Presence {
    availability: Availability::Busy,
    activity: Activity::InACall,
};

#[tokio::test]
async fn a_presence_observed_earlier_never_overwrites_a_later_one() {
    let store = store().await;
    let (t, _, agents) = service_with_agents(&store, 1).await;
    let agent = &agents[0];
    let state = store.agent_state(&t, agent).await.unwrap().unwrap();
    assert_eq!(state.presence, None, "a new agent's presence is not known");
    let record = |p, at: &'static str| store.record_presence(&t, agent, p, at, "graph");
    assert_eq!(
        record(IN_A_CALL, "2026-11-30T10:00:05Z").await,
        Ok(PresenceWrite::Applied)
    );
    // Out of order: the older notification arrives second and is dropped.
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:01Z").await,
        Ok(PresenceWrite::Stale)
    );
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:05Z").await,
        Ok(PresenceWrite::Stale)
    );
    let state = store.agent_state(&t, agent).await.unwrap().unwrap();
    assert_eq!(state.presence, Some(IN_A_CALL));
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:09Z").await,
        Ok(PresenceWrite::Applied)
    );
    // The same presence again moves the observation on without a history entry.
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:12Z").await,
        Ok(PresenceWrite::Applied)
    );

    let history = store.state_history(&t, agent).await.unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.kind.as_str(),
                h.from.clone(),
                h.to.clone(),
                h.start.clone(),
                h.end.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "presence",
                None,
                Some("Busy/InACall".into()),
                None,
                "2026-11-30T10:00:05Z"
            ),
            (
                "presence",
                Some("Busy/InACall".into()),
                Some("Available/Available".into()),
                Some("2026-11-30T10:00:05Z".into()),
                "2026-11-30T10:00:09Z"
            ),
        ]
    );
}

#[tokio::test]
async fn graphs_sequence_orders_notifications_that_arrive_out_of_order() {
    let store = store().await;
    let (t, _, agents) = service_with_agents(&store, 1).await;
    let agent = &agents[0];
    let record = |p, at: &'static str, seq: &'static str| {
        store.record_presence_version(&t, agent, p, at, Some(seq), "graph")
    };
    assert_eq!(
        record(IN_A_CALL, "2026-11-30T10:00:01Z", "00000002").await,
        Ok(PresenceWrite::Applied)
    );
    // Graph's earlier version, delivered late: dropped although it arrived later.
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:02Z", "00000001").await,
        Ok(PresenceWrite::Stale)
    );
    let state = store.agent_state(&t, agent).await.unwrap().unwrap();
    assert_eq!(state.presence, Some(IN_A_CALL));
    assert_eq!(state.presence_sequence.as_deref(), Some("00000002"));
    assert_eq!(
        record(AVAILABLE, "2026-11-30T10:00:03Z", "00000003").await,
        Ok(PresenceWrite::Applied)
    );
}

#[tokio::test]
async fn concurrent_presence_news_leaves_the_latest() {
    let store = store().await;
    let (t, _, agents) = service_with_agents(&store, 1).await;
    let agent = &agents[0];
    let times: Vec<String> = (10..22)
        .map(|s| format!("2026-11-30T10:00:{s:02}Z"))
        .collect();
    let writes = times.iter().enumerate().map(|(i, at)| {
        let presence = if i % 2 == 0 { AVAILABLE } else { IN_A_CALL };
        store.record_presence(&t, agent, presence, at, "graph")
    });
    for result in futures::future::join_all(writes).await {
        let written = result.unwrap();
        assert!(matches!(
            written,
            PresenceWrite::Applied | PresenceWrite::Stale
        ));
    }
    let state = store.agent_state(&t, agent).await.unwrap().unwrap();
    // 10:00:21 is the last (odd index): in a call.
    assert_eq!(state.presence, Some(IN_A_CALL));
    assert_eq!(
        state.presence_at,
        stratus_kernel::table::micros_of("2026-11-30T10:00:21Z")
    );
    // Every history entry has a TTL.
    let raw = store
        .client()
        .query()
        .table_name(store.name())
        .key_condition_expression("PK = :pk AND begins_with(SK, :h)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("AGENT#{t}#{agent}")))
        .expression_attribute_values(":h", AttributeValue::S("HISTORY#".into()))
        .send()
        .await
        .unwrap();
    assert!(!raw.items().is_empty());
    assert!(raw.items().iter().all(|i| i.contains_key("expiresAt")));
}

#[tokio::test]
async fn settings_read_as_defaults_until_saved_and_saves_are_versioned() {
    use stratus_kernel::settings::{MinimumProvisioningRole, TenantSettings};
    let store = store().await;
    let (t, _) = tenant(&store, 0).await;
    assert_eq!(
        store.tenant_settings(&t).await.unwrap(),
        TenantSettings::default()
    );
    let read = store.settings_of_tenant(&t).await.unwrap().unwrap();
    assert_eq!(read.version, 0);
    let mut changed = read.settings.clone();
    changed.service_provisioning.minimum_role = MinimumProvisioningRole::Disabled;
    // Writers racing from the same read: exactly one wins, the rest are told to read again.
    let record = audit(&t, "tenant.settings.update");
    let results = join_all((0..4).map(|_| store.save_settings(&t, &read, &changed, &record))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| *e == SettingsError::Kernel(Error::ConcurrentChange)));
    let now = store.settings_of_tenant(&t).await.unwrap().unwrap();
    assert_eq!((now.version, &now.settings), (1, &changed));
    assert_eq!(store.tenant_settings(&t).await.unwrap(), changed);
    assert_eq!(
        store.save_settings(&t, &read, &changed, &record).await,
        Err(SettingsError::Kernel(Error::ConcurrentChange)),
        "a stale version"
    );
    // No tenant: nothing to read, nothing written.
    let nobody = Guid::new_random();
    assert_eq!(store.settings_of_tenant(&nobody).await.unwrap(), None);
    assert_eq!(
        store
            .save_settings(&nobody, &Default::default(), &changed, &audit(&nobody, "x"))
            .await,
        Err(SettingsError::Kernel(Error::InvalidTenantId))
    );
}

#[tokio::test]
async fn an_older_settings_item_reads_missing_fields_as_defaults() {
    use stratus_kernel::settings::{settings_key, Outbound, TenantSettings};
    let store = store().await;
    let (t, _) = tenant(&store, 0).await;
    let mut item = settings_key(&t);
    item.insert(
        "outbound".into(),
        AttributeValue::M(
            [(
                "maxScheduledTasksPerService".to_owned(),
                AttributeValue::N("7".into()),
            )]
            .into(),
        ),
    );
    item.insert("version".into(), AttributeValue::N("1".into()));
    store
        .client()
        .put_item()
        .table_name(store.name())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let read = store.tenant_settings(&t).await.unwrap();
    assert_eq!(
        read,
        TenantSettings {
            outbound: Outbound {
                max_scheduled_tasks_per_service: 7,
                ..Outbound::default()
            },
            ..TenantSettings::default()
        }
    );
}

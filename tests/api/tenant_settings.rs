//! Tenant settings (`/api/admin/tenant-settings`): every default, both edges of each range
//! and one past, secrets masked, folded features keeping their values, the widget key's
//! refresh, the operator-only toggles, other tenants kept out, malformed bodies named, and
//! an audit record for every change.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

const ACS: &str =
    "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0LWtleS0xMjM0NQ==";
const ACS_MASKED: &str = "endpoint=https://contoso.communication.azure.com/;accesskey=…NQ==";
/// A part of the access key that no answer may contain.
const ACS_SECRET: &str = "c2VjcmV0LWtleS0x";

async fn get(t: &TestTenant) -> Value {
    t.stack
        .request(Request::get_tenant_settings(&t.admin_token(), None))
        .await
        .ok()
}

async fn patch(t: &TestTenant, body: Value) -> Reply {
    t.stack
        .request(Request::patch_tenant_settings(&t.admin_token(), None, body))
        .await
}

/// Interact, Assistant's own instance and presence tracking switched on, nothing else set.
async fn all_features_on(t: &TestTenant) -> Value {
    patch(
        t,
        json!({
            "interact": { "enabled": true, "acsConnectionString": ACS },
            "assistant": { "ownAcsInstance": true, "acsConnectionString": ACS },
            "presenceTracking": { "enabled": true }
        }),
    )
    .await
    .ok()
}

fn is_guid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok() && text.len() == 36
}

#[tokio::test]
async fn every_setting_has_its_default_until_changed() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    assert_eq!(
        get(&t).await,
        json!({
            "outbound": { "maxScheduledTasksPerService": 20, "directlyInvitePstn": false,
                          "directlyInviteUpn": false },
            "interact": { "enabled": false },
            "assistant": { "ownAcsInstance": false },
            "attendantConsole": { "graphFilter": null, "teamVisibility": "AllMembers" },
            "presenceTracking": { "enabled": false },
            "serviceProvisioning": { "minimumRole": "TeamOwner" }
        })
    );
    // The folded features' defaults show once they are on.
    let on = all_features_on(&t).await;
    assert_eq!(
        on["interact"],
        json!({ "enabled": true, "acsConnectionString": ACS_MASKED, "o365UserId": null,
                "widgetKey": null, "sessionRecoveryTimeoutSeconds": 20,
                "authorization": "None" })
    );
    assert_eq!(
        on["assistant"],
        json!({ "ownAcsInstance": true, "acsConnectionString": ACS_MASKED })
    );
    assert_eq!(
        on["presenceTracking"],
        json!({ "enabled": true, "presenceAccount1": null, "presenceAccount2": null,
                "permissionsGranted": false })
    );
    assert_eq!(get(&t).await, on);
}

#[tokio::test]
async fn ranges_take_both_edges_and_refuse_one_past_naming_the_range() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    all_features_on(&t).await;
    for (section, field, min, max) in [
        ("outbound", "maxScheduledTasksPerService", 1, 50),
        ("interact", "sessionRecoveryTimeoutSeconds", 5, 60),
    ] {
        for edge in [min, max] {
            let answer = patch(&t, json!({ section: { field: edge } })).await.ok();
            assert_eq!(answer[section][field], edge, "{section}.{field}");
            assert_eq!(get(&t).await[section][field], edge);
        }
        for past in [min - 1, max + 1] {
            patch(&t, json!({ section: { field: past } }))
                .await
                .assert_problem(
                    400,
                    &format!("\"{section}.{field}\" must be a whole number from {min} to {max}"),
                );
        }
        assert_eq!(
            get(&t).await[section][field],
            max,
            "refusals change nothing"
        );
    }
}

#[tokio::test]
async fn the_other_settings_take_their_values() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    all_features_on(&t).await;
    let user = new_id();
    let answer = patch(
        &t,
        json!({
            "interact": { "o365UserId": user, "authorization": "VerifyTokenAndTenant" },
            "attendantConsole": { "graphFilter": "preferredLanguage eq 'en-GB'",
                                  "teamVisibility": "OwnMembers" },
            "presenceTracking": { "presenceAccount1": "guest1@contoso.com",
                                  "presenceAccount2": "guest2@contoso.com",
                                  "permissionsGranted": true },
            "serviceProvisioning": { "minimumRole": "TenantAdmin" }
        }),
    )
    .await
    .ok();
    assert_eq!(answer["interact"]["o365UserId"], user.as_str());
    assert_eq!(answer["interact"]["authorization"], "VerifyTokenAndTenant");
    assert_eq!(
        answer["attendantConsole"],
        json!({ "graphFilter": "preferredLanguage eq 'en-GB'", "teamVisibility": "OwnMembers" })
    );
    assert_eq!(
        answer["presenceTracking"],
        json!({ "enabled": true, "presenceAccount1": "guest1@contoso.com",
                "presenceAccount2": "guest2@contoso.com", "permissionsGranted": true })
    );
    assert_eq!(answer["serviceProvisioning"]["minimumRole"], "TenantAdmin");
    for (visibility, role) in [("None", "Disabled"), ("AllMembers", "TeamOwner")] {
        let answer = patch(
            &t,
            json!({ "attendantConsole": { "teamVisibility": visibility },
                    "serviceProvisioning": { "minimumRole": role } }),
        )
        .await
        .ok();
        assert_eq!(answer["attendantConsole"]["teamVisibility"], visibility);
        assert_eq!(answer["serviceProvisioning"]["minimumRole"], role);
    }
    assert_eq!(get(&t).await, answer_of(&t).await);
}

async fn answer_of(t: &TestTenant) -> Value {
    // An empty patch changes nothing and answers the settings as they are.
    patch(t, json!({})).await.ok()
}

#[tokio::test]
async fn connection_strings_are_masked_and_checked_for_shape() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let answer = patch(
        &t,
        json!({ "interact": { "enabled": true, "acsConnectionString": ACS } }),
    )
    .await;
    assert!(!answer.text.contains(ACS_SECRET), "{}", answer.text);
    assert_eq!(answer.ok()["interact"]["acsConnectionString"], ACS_MASKED);
    let read = stack
        .request(Request::get_tenant_settings(&t.admin_token(), None))
        .await;
    assert!(!read.text.contains(ACS_SECRET), "{}", read.text);
    // Sending a masked value back is not a connection string.
    patch(
        &t,
        json!({ "assistant": { "acsConnectionString": ACS_MASKED } }),
    )
    .await
    .assert_problem_status(400);
    patch(
        &t,
        json!({ "interact": { "acsConnectionString": "secret" } }),
    )
    .await
    .assert_problem(
        400,
        "\"interact.acsConnectionString\" must be an Azure Communication Services connection \
             string (endpoint=https://<resource>.communication.azure.com/;accesskey=<base64 key>)",
    );
    let audit = t_audit(&t).await;
    assert!(!audit.contains(ACS_SECRET), "audit holds a secret: {audit}");
}

async fn audit_records(t: &TestTenant) -> Vec<stratus_kernel::audit::AuditRecord> {
    let table = stratus_kernel::table::Table::from_env()
        .await
        .unwrap_or_else(|e| panic!("connecting to the table: {e}"));
    let tenant = stratus_kernel::Guid::parse(&t.id).expect("tenant id");
    table
        .audit_records(&tenant)
        .await
        .unwrap_or_else(|e| panic!("reading audit records: {e}"))
        .into_iter()
        .filter(|r| r.action.starts_with("tenant.settings."))
        .collect()
}

async fn t_audit(t: &TestTenant) -> String {
    serde_json::to_string(&audit_records(t).await).expect("audit as JSON")
}

#[tokio::test]
async fn a_feature_needs_its_connection_string_and_switching_off_keeps_its_values() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    patch(&t, json!({ "interact": { "enabled": true } }))
        .await
        .assert_problem(
            400,
            "\"interact.acsConnectionString\" is required while Interact is enabled",
        );
    patch(&t, json!({ "assistant": { "ownAcsInstance": true } }))
        .await
        .assert_problem(
            400,
            "\"assistant.acsConnectionString\" is required while Assistant's own ACS instance \
             is enabled",
        );
    let on = patch(
        &t,
        json!({
            "interact": { "enabled": true, "acsConnectionString": ACS,
                          "sessionRecoveryTimeoutSeconds": 45 },
            "presenceTracking": { "enabled": true, "presenceAccount1": "guest1@contoso.com" }
        }),
    )
    .await
    .ok();
    let off = patch(
        &t,
        json!({ "interact": { "enabled": false }, "presenceTracking": { "enabled": false } }),
    )
    .await
    .ok();
    assert_eq!(off["interact"], json!({ "enabled": false }));
    assert_eq!(off["presenceTracking"], json!({ "enabled": false }));
    // Changed while off, shown again when on, with what was kept.
    patch(
        &t,
        json!({ "interact": { "authorization": "VerifyToken" } }),
    )
    .await
    .ok();
    let again = patch(
        &t,
        json!({ "interact": { "enabled": true }, "presenceTracking": { "enabled": true } }),
    )
    .await
    .ok();
    let mut expected = on["interact"].clone();
    expected["authorization"] = json!("VerifyToken");
    assert_eq!(again["interact"], expected);
    assert_eq!(again["presenceTracking"], on["presenceTracking"]);
}

#[tokio::test]
async fn refreshing_the_widget_key_replaces_it_with_a_new_guid() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    all_features_on(&t).await;
    let refresh = || async {
        let key = stack
            .request(Request::refresh_widget_key(&t.admin_token(), None))
            .await
            .ok()["widgetKey"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(is_guid(&key), "widget key {key:?} is not a GUID");
        key
    };
    let mask = |key: &str| format!("{}…{}", &key[..4], &key[key.len() - 4..]);
    let first = refresh().await;
    let shown = get(&t).await["interact"]["widgetKey"].clone();
    assert_eq!(shown, mask(&first).as_str(), "a read shows the key masked");
    let second = refresh().await;
    assert_ne!(second, first);
    let shown = get(&t).await["interact"]["widgetKey"].clone();
    assert_eq!(shown, mask(&second).as_str());
    assert_ne!(
        shown,
        mask(&first).as_str(),
        "the old key is no longer the one answered"
    );
    // Set only by refreshing.
    patch(&t, json!({ "interact": { "widgetKey": first } }))
        .await
        .assert_problem_status(400);
}

#[tokio::test]
async fn the_direct_invite_toggles_are_for_operators_only() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    for field in ["directlyInvitePstn", "directlyInviteUpn"] {
        patch(&t, json!({ "outbound": { field: true } }))
            .await
            .assert_problem(
                403,
                &format!("\"outbound.{field}\" can be changed by operators only"),
            );
    }
    assert_eq!(get(&t).await["outbound"]["directlyInvitePstn"], false);
    let operator = stack.operator_token();
    let answer = stack
        .request(Request::patch_tenant_settings(
            &operator,
            Some(&t.id),
            json!({ "outbound": { "directlyInvitePstn": true, "directlyInviteUpn": true } }),
        ))
        .await
        .ok();
    assert_eq!(answer["outbound"]["directlyInvitePstn"], true);
    assert_eq!(answer["outbound"]["directlyInviteUpn"], true);
    assert_eq!(get(&t).await["outbound"], answer["outbound"]);
    // A tenant admin sending back what it read changes nothing and is no refusal.
    let outbound = answer["outbound"].clone();
    patch(&t, json!({ "outbound": outbound })).await.ok();
    let read = stack
        .request(Request::get_tenant_settings(&operator, Some(&t.id)))
        .await
        .ok();
    assert_eq!(read, get(&t).await);
}

#[tokio::test]
async fn another_tenant_can_neither_read_nor_change_the_settings() {
    let stack = Stack::from_env();
    let a = TestTenant::create(&stack).await;
    let b = TestTenant::create(&stack).await;
    patch(
        &a,
        json!({ "outbound": { "maxScheduledTasksPerService": 7 } }),
    )
    .await
    .ok();
    let before = get(&a).await;
    assert_eq!(
        get(&b).await["outbound"]["maxScheduledTasksPerService"],
        20,
        "B reads its own"
    );
    let b_admin = b.admin_token();
    let a_id = Some(a.id.as_str());
    let another = Detail::is(OPERATOR_MISSING);
    stack
        .assert_refusals(vec![
            (
                "read A's",
                Request::get_tenant_settings(&b_admin, a_id),
                403,
                another.clone(),
            ),
            (
                "change A's",
                Request::patch_tenant_settings(
                    &b_admin,
                    a_id,
                    json!({ "outbound": { "maxScheduledTasksPerService": 9 } }),
                ),
                403,
                another.clone(),
            ),
            (
                "refresh A's widget key",
                Request::refresh_widget_key(&b_admin, a_id),
                403,
                another,
            ),
        ])
        .await;
    assert_eq!(get(&a).await, before);
    assert!(
        audit_records(&b).await.is_empty(),
        "B's refused attempts wrote nothing"
    );
}

#[tokio::test]
async fn callers_and_bodies_are_refused_naming_the_problem() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let operator = stack.operator_token();
    let nobody = stack.token(&stack.spec().tenant(t.id.clone()));
    let with = |body: Value| Request::patch_tenant_settings(&admin, None, body);
    stack
        .assert_refusals(vec![
            (
                "no role",
                Request::get_tenant_settings(&nobody, None),
                403,
                Detail::is(ADMIN_MISSING),
            ),
            (
                "no token",
                Request::new(reqwest::Method::GET, TENANT_SETTINGS_PATH),
                401,
                Detail::Any,
            ),
            (
                "operator without a tenant",
                Request::get_tenant_settings(&operator, None),
                400,
                Detail::is("\"tenantId\" is required for operators"),
            ),
            (
                "operator naming no tenant of ours",
                Request::get_tenant_settings(&operator, Some(&new_id())),
                404,
                Detail::is("Tenant not found"),
            ),
            (
                "tenantId not a GUID",
                Request::get_tenant_settings(&operator, Some("nope")),
                400,
                Detail::is("\"tenantId\" must be a GUID"),
            ),
            (
                "no body",
                with(Value::Null).body(Body::None),
                400,
                Detail::is("A JSON request body is required"),
            ),
            (
                "not JSON",
                with(Value::Null).body(Body::Raw("{".into())),
                400,
                Detail::starts_with(NOT_JSON),
            ),
            (
                "unknown section",
                with(json!({ "inbound": {} })),
                400,
                Detail::is("\"inbound\" is not a field of the tenant settings"),
            ),
            (
                "unknown field",
                with(json!({ "interact": { "timeout": 5 } })),
                400,
                Detail::is("\"interact.timeout\" is not a field of the Interact settings"),
            ),
            (
                "section not an object",
                with(json!({ "outbound": 20 })),
                400,
                Detail::is("\"outbound\" must be a JSON object"),
            ),
            (
                "number as text",
                with(json!({ "outbound": { "maxScheduledTasksPerService": "20" } })),
                400,
                Detail::is(
                    "\"outbound.maxScheduledTasksPerService\" must be a whole number from 1 to 50",
                ),
            ),
            (
                "flag as text",
                with(json!({ "presenceTracking": { "enabled": "true" } })),
                400,
                Detail::is("\"presenceTracking.enabled\" must be true or false"),
            ),
            (
                "unknown choice",
                with(json!({ "interact": { "authorization": "Always" } })),
                400,
                Detail::is(
                    "\"interact.authorization\" must be one of None, VerifyToken, \
                     VerifyTokenAndTenant",
                ),
            ),
            (
                "unknown role",
                with(json!({ "serviceProvisioning": { "minimumRole": "Agent" } })),
                400,
                Detail::is(
                    "\"serviceProvisioning.minimumRole\" must be one of TeamOwner, TenantAdmin, \
                     Disabled",
                ),
            ),
            (
                "user id not a GUID",
                with(json!({ "interact": { "o365UserId": "bob" } })),
                400,
                Detail::is("\"interact.o365UserId\" must be a GUID"),
            ),
            (
                "filter not text",
                with(json!({ "attendantConsole": { "graphFilter": ["a"] } })),
                400,
                Detail::is("\"attendantConsole.graphFilter\" must be a string or null"),
            ),
            (
                "account not a UPN",
                with(json!({ "presenceTracking": { "presenceAccount2": "guest" } })),
                400,
                Detail::is(
                    "\"presenceTracking.presenceAccount2\" must be a user principal name \
                     (user@domain)",
                ),
            ),
        ])
        .await;
    assert!(audit_records(&t).await.is_empty(), "refusals wrote nothing");
}

#[tokio::test]
async fn every_change_writes_an_audit_record_naming_what_changed() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    patch(
        &t,
        json!({ "outbound": { "maxScheduledTasksPerService": 30 } }),
    )
    .await
    .ok();
    // The same value again is no change: nothing written.
    patch(
        &t,
        json!({ "outbound": { "maxScheduledTasksPerService": 30 } }),
    )
    .await
    .ok();
    stack
        .request(Request::patch_tenant_settings(
            &stack.operator_token(),
            Some(&t.id),
            json!({ "outbound": { "directlyInviteUpn": true } }),
        ))
        .await
        .ok();
    stack
        .request(Request::refresh_widget_key(&t.admin_token(), None))
        .await
        .ok();
    let records = audit_records(&t).await;
    let summary: Vec<(&str, &Value)> = records
        .iter()
        .map(|r| (r.action.as_str(), &r.detail))
        .collect();
    assert_eq!(records.len(), 3, "{summary:?}");
    // Records of the same second may sort either way; find each by what it says.
    let find = |field: &str| {
        records
            .iter()
            .find(|r| r.detail.get(field).is_some())
            .unwrap_or_else(|| panic!("no audit record of {field}: {summary:?}"))
    };
    let limit = find("outbound.maxScheduledTasksPerService");
    assert_eq!(limit.action, "tenant.settings.update");
    assert_eq!(
        limit.detail,
        json!({ "outbound.maxScheduledTasksPerService": { "from": 20, "to": 30 } })
    );
    assert!(limit.actor.starts_with("user:"), "{}", limit.actor);
    assert_eq!(limit.target, format!("tenant:{}/settings", t.id));
    assert_eq!(
        find("outbound.directlyInviteUpn").detail,
        json!({ "outbound.directlyInviteUpn": { "from": false, "to": true } })
    );
    let key = find("interact.widgetKey");
    assert_eq!(key.action, "tenant.settings.widgetKey.refresh");
    assert_eq!(key.detail["interact.widgetKey"]["from"], Value::Null);
}

//! The administration API (bootstrap subset): who may call what, tenants, OUs, app
//! permissions, skills, user patches.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

fn is_guid(v: &Value) -> bool {
    v.as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .is_some()
}

// ---- roles ------------------------------------------------------------------------------------

#[tokio::test]
async fn operator_operations_need_the_operator_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let new_tenant = new_id();
    stack
        .put_tenant(&admin, &new_tenant, json!({ "name": "Mine" }))
        .await
        .assert_problem(403, OPERATOR_MISSING);
    stack
        .put_tenant(&admin, &t.id, json!({ "name": "Renamed" }))
        .await
        .assert_problem(403, OPERATOR_MISSING);
    stack
        .put_licenses(&admin, &t.id, default_licenses())
        .await
        .assert_problem(403, OPERATOR_MISSING);
    stack
        .put_provisioning(&admin, &t.id, false)
        .await
        .assert_problem(403, OPERATOR_MISSING);
    // A provisioning app is no operator either.
    stack
        .put_provisioning(&t.app_token(), &t.id, false)
        .await
        .assert_problem(403, OPERATOR_MISSING);
    // Nothing changed: the tenant still serves the public API.
    t.license_usage().await.assert_status(200);
    // And the new tenant was not created: the operator's PUT creates it (201).
    stack
        .put_tenant(
            &stack.operator_token(),
            &new_tenant,
            json!({ "name": "Mine" }),
        )
        .await
        .assert_status(201);
}

#[tokio::test]
async fn the_operator_role_counts_only_in_the_operator_tenant() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    // A tenant can put any role into its own tokens: Stratus.Operator from tenant t is refused.
    let fake_operator = stack.token(&stack.spec().tenant(t.id.clone()).roles(&[ROLE_OPERATOR]));
    stack
        .put_tenant(&fake_operator, &new_id(), json!({ "name": "Forged" }))
        .await
        .assert_problem(403, OPERATOR_MISSING);
    stack
        .put_licenses(&fake_operator, &t.id, json!({ "ContactCenter": 1000 }))
        .await
        .assert_problem(403, OPERATOR_MISSING);
    stack
        .put_provisioning(&fake_operator, &t.id, false)
        .await
        .assert_problem(403, OPERATOR_MISSING);
    // Also from a tenant that does not exist.
    let stranger = stack.token(&stack.spec().tenant(new_id()).roles(&[ROLE_OPERATOR]));
    let reply = stack
        .put_tenant(&stranger, &new_id(), json!({ "name": "Forged" }))
        .await;
    assert!(
        reply.status == 403 || reply.status == 401,
        "an operator role from an unknown tenant is refused: {} {}",
        reply.status,
        reply.text
    );
    assert_eq!(t.usage_of("ContactCenter").await, (10, 0, 10));
}

#[tokio::test]
async fn tenant_admin_operations_need_the_tenant_admin_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let user = t.new_user(&t.sales_ou).await;
    // The tenant's own token without Tenant.Admin (a provisioning app, or no roles).
    for token in [
        t.app_token(),
        stack.token(&stack.spec().tenant(t.id.clone())),
    ] {
        stack
            .create_ou(&token, json!({ "name": "X", "parentId": t.root_ou }))
            .await
            .assert_problem(403, ADMIN_MISSING);
        stack
            .list_ous(&token)
            .await
            .assert_problem(403, ADMIN_MISSING);
        stack
            .put_app_permission(&token, &new_id(), &[&t.sales_ou])
            .await
            .assert_problem(403, ADMIN_MISSING);
        stack
            .delete_app_permission(&token, &t.app_id)
            .await
            .assert_problem(403, ADMIN_MISSING);
        stack
            .patch_user(&token, &user, json!({ "licenses": ["ContactCenter"] }))
            .await
            .assert_problem(403, ADMIN_MISSING);
        stack
            .create_skill(
                &token,
                json!({ "name": "X", "organizationUnitId": t.sales_ou }),
            )
            .await
            .assert_problem(403, ADMIN_MISSING);
    }
    // Nothing changed.
    t.license_usage().await.assert_status(200);
    assert_eq!(t.get_user(&user).await.ok()["licenses"], json!([]));
}

#[tokio::test]
async fn a_tenant_admin_of_an_unknown_tenant_is_401() {
    let stack = Stack::from_env();
    let token = stack.admin_token(&new_id());
    stack
        .list_ous(&token)
        .await
        .assert_problem(401, "Invalid tenant id");
    stack
        .create_ou(&token, json!({ "name": "X" }))
        .await
        .assert_problem(401, "Invalid tenant id");
}

#[tokio::test]
async fn admin_api_without_a_token_is_401() {
    let stack = Stack::from_env();
    for (method, path) in [
        (reqwest::Method::PUT, tenant_path(&new_id())),
        (reqwest::Method::GET, ORGANIZATION_UNITS_PATH.to_owned()),
        (reqwest::Method::PATCH, admin_user_path(&new_id())),
    ] {
        stack
            .send(method, &path, None, Body::None)
            .await
            .assert_bearer_challenge();
    }
}

// ---- tenants ----------------------------------------------------------------------------------

#[tokio::test]
async fn put_tenant_creates_then_updates() {
    let stack = Stack::from_env();
    let operator = stack.operator_token();
    let id = new_id();
    let created = stack
        .put_tenant(&operator, &id, json!({ "name": "Contoso" }))
        .await;
    created.assert_status(201);
    let body = &created.body;
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["name"], json!("Contoso"));
    assert!(
        body.get("region").is_some_and(Value::is_null),
        "region: {body}"
    );
    assert_eq!(body["publicApiEnabled"], json!(false));
    assert!(is_guid(&body["rootOrganizationUnitId"]), "root OU: {body}");
    let root = body["rootOrganizationUnitId"].clone();

    let updated = stack
        .put_tenant(&operator, &id, json!({ "name": "Contoso Ltd" }))
        .await
        .ok();
    assert_eq!(
        updated,
        json!({
            "id": id,
            "name": "Contoso Ltd",
            "region": null,
            "publicApiEnabled": false,
            "rootOrganizationUnitId": root,
        })
    );

    // The root OU is named after the tenant.
    let ous = stack.list_ous(&stack.admin_token(&id)).await.ok();
    let roots: Vec<&Value> = ous
        .as_array()
        .map(|a| a.iter().filter(|ou| ou["parentId"].is_null()).collect())
        .unwrap_or_default();
    assert_eq!(roots.len(), 1, "one root OU: {ous}");
    assert_eq!(roots[0]["id"], root);
    assert!(
        roots[0]["name"] == json!("Contoso") || roots[0]["name"] == json!("Contoso Ltd"),
        "root OU named after the tenant: {ous}"
    );
}

#[tokio::test]
async fn renaming_a_tenant_keeps_its_settings() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    t.patch_user(&id, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    let updated = stack
        .put_tenant(&stack.operator_token(), &t.id, json!({ "name": "Renamed" }))
        .await
        .ok();
    assert_eq!(updated["publicApiEnabled"], json!(true));
    assert_eq!(updated["rootOrganizationUnitId"], json!(t.root_ou));
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
    t.get_user(&id).await.assert_status(200);
}

#[tokio::test]
async fn put_tenant_validates() {
    let stack = Stack::from_env();
    let operator = stack.operator_token();
    let id = new_id();
    let cases = vec![
        (
            "tenant id not a GUID",
            Request::put_tenant(&operator, "contoso", json!({ "name": "Contoso" })),
            400,
            Detail::contains("must be a GUID"),
        ),
        (
            "no name",
            Request::put_tenant(&operator, &id, json!({})),
            400,
            Detail::contains("\"name\""),
        ),
    ];
    stack.assert_refusals(cases).await;
    // Not created by the failed request.
    stack
        .put_tenant(&operator, &id, json!({ "name": "Contoso" }))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn put_provisioning_switches_the_public_api() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let operator = stack.operator_token();
    let off = stack.put_provisioning(&operator, &t.id, false).await.ok();
    assert_eq!(off["id"], json!(t.id));
    assert_eq!(off["publicApiEnabled"], json!(false));
    assert_eq!(off["rootOrganizationUnitId"], json!(t.root_ou));
    t.license_usage()
        .await
        .assert_problem(401, PROVISIONING_DISABLED);
    let on = stack.put_provisioning(&operator, &t.id, true).await.ok();
    assert_eq!(on["publicApiEnabled"], json!(true));
    t.license_usage().await.assert_status(200);
    let detail = stack
        .put_tenant(&operator, &t.id, json!({ "name": t.name }))
        .await
        .ok();
    assert_eq!(detail["publicApiEnabled"], json!(true));
    let reply = stack
        .request(Request::put_provisioning(
            &operator,
            &t.id,
            json!({ "publicApiEnabled": "yes" }),
        ))
        .await;
    let detail = reply.assert_problem_status(400);
    assert!(
        detail.contains("\"publicApiEnabled\""),
        "detail: {detail:?}"
    );
}

// ---- organization units -----------------------------------------------------------------------

#[tokio::test]
async fn organization_units_are_created_and_listed() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let created = stack
        .create_ou(
            &admin,
            json!({ "name": "Night shift", "parentId": t.support_ou }),
        )
        .await;
    created.assert_status(201);
    let night = created.body.clone();
    assert!(is_guid(&night["id"]), "{night}");
    assert_eq!(night["name"], json!("Night shift"));
    assert_eq!(night["parentId"], json!(t.support_ou));

    // parentId omitted: under the root.
    let top = stack
        .create_ou(&admin, json!({ "name": "Top level" }))
        .await;
    top.assert_status(201);
    assert_eq!(top.body["parentId"], json!(t.root_ou));

    let listed = stack.list_ous(&admin).await.ok();
    let list = listed.as_array().cloned().unwrap_or_default();
    assert_eq!(
        list.len(),
        6,
        "root, sales, sales east, support, night, top: {listed}"
    );
    let find = |id: &Value| {
        list.iter()
            .find(|ou| &ou["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed: {listed}"))
    };
    assert_eq!(find(&json!(t.root_ou))["parentId"], Value::Null);
    assert_eq!(find(&json!(t.root_ou))["name"], json!(t.name));
    assert_eq!(
        find(&json!(t.sales_east_ou)),
        json!({ "id": t.sales_east_ou, "name": "Sales East", "parentId": t.sales_ou })
    );
    assert_eq!(find(&night["id"]), night);
    assert_eq!(find(&top.body["id"]), top.body);
}

#[tokio::test]
async fn organization_unit_with_an_unknown_parent_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let create = |body: Value| Request::create_ou(&admin, body);
    let cases = vec![
        (
            "parent that does not exist",
            create(json!({ "name": "Orphan", "parentId": new_id() })),
            400,
            Detail::is("\"parentId\" is not an organization unit of this tenant"),
        ),
        (
            "parent not a GUID",
            create(json!({ "name": "Orphan", "parentId": "x" })),
            400,
            Detail::is("\"parentId\" must be a GUID"),
        ),
        (
            "no name",
            create(json!({ "parentId": t.root_ou })),
            400,
            Detail::contains("\"name\""),
        ),
    ];
    stack.assert_refusals(cases).await;
}

#[tokio::test]
async fn a_new_ou_under_the_scope_is_in_the_scope() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let deep = t
        .create_ou("Sales East Night", Some(&t.sales_east_ou))
        .await;
    t.create_user(&new_id(), &deep).await.assert_status(200);
    let elsewhere = t.create_ou("Support Night", Some(&t.support_ou)).await;
    t.create_user(&new_id(), &elsewhere)
        .await
        .assert_problem(403, OU_NOT_ALLOWED);
}

// ---- app permissions --------------------------------------------------------------------------

#[tokio::test]
async fn app_permissions_are_put_and_deleted() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let app = new_id();
    let put = stack
        .put_app_permission(&admin, &app, &[&t.support_ou])
        .await
        .ok();
    assert_eq!(
        put,
        json!({ "appId": app, "organizationUnitIds": [t.support_ou] })
    );
    let token = t.token_for_app(&app);
    stack
        .create_user(
            &token,
            json!({ "o365Id": new_id(), "organizationUnitId": t.support_ou }),
        )
        .await
        .assert_status(200);
    stack
        .create_user(
            &token,
            json!({ "o365Id": new_id(), "organizationUnitId": t.sales_ou }),
        )
        .await
        .assert_problem(403, OU_NOT_ALLOWED);

    // PUT replaces the scope.
    let put = stack
        .put_app_permission(&admin, &app, &[&t.sales_ou, &t.support_ou])
        .await
        .ok();
    assert_eq!(put["appId"], json!(app));
    let mut scope: Vec<String> =
        serde_json::from_value(put["organizationUnitIds"].clone()).unwrap_or_default();
    scope.sort();
    let mut expected = vec![t.sales_ou.clone(), t.support_ou.clone()];
    expected.sort();
    assert_eq!(scope, expected);
    stack
        .create_user(
            &token,
            json!({ "o365Id": new_id(), "organizationUnitId": t.sales_ou }),
        )
        .await
        .assert_status(200);

    let deleted = stack.delete_app_permission(&admin, &app).await;
    deleted.assert_status(204);
    stack
        .license_usage(&token)
        .await
        .assert_problem(401, &no_app_permission(&app));
    stack
        .delete_app_permission(&admin, &app)
        .await
        .assert_problem(404, &no_app_permission(&app));
    // Other apps are untouched.
    t.license_usage().await.assert_status(200);
}

#[tokio::test]
async fn app_permission_with_an_unknown_ou_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let app = new_id();
    let unknown = new_id();
    let cases = vec![
        (
            "an OU that does not exist beside one that does",
            Request::put_app_permission(&admin, &app, &[&t.sales_ou, &unknown]),
            400,
            Detail::contains("organizationUnitIds"),
        ),
        (
            "app id not a GUID",
            Request::put_app_permission(&admin, "my-app", &[&t.sales_ou]),
            400,
            Detail::contains("must be a GUID"),
        ),
    ];
    stack.assert_refusals(cases).await;
    // Not registered.
    stack
        .license_usage(&t.token_for_app(&app))
        .await
        .assert_problem(401, &no_app_permission(&app));
}

#[tokio::test]
async fn deleting_an_unknown_app_permission_is_404() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let app = new_id();
    stack
        .delete_app_permission(&t.admin_token(), &app)
        .await
        .assert_problem(404, &no_app_permission(&app));
}

// ---- skills -----------------------------------------------------------------------------------

#[tokio::test]
async fn skills_are_created_once_per_name() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let created = stack
        .create_skill(
            &admin,
            json!({ "name": "Spanish", "organizationUnitId": t.sales_ou }),
        )
        .await;
    created.assert_status(201);
    assert!(is_guid(&created.body["id"]), "{}", created.text);
    assert_eq!(created.body["name"], json!("Spanish"));
    assert_eq!(created.body["organizationUnitId"], json!(t.sales_ou));

    for name in ["Spanish", "SPANISH", "spanish"] {
        stack
            .create_skill(
                &admin,
                json!({ "name": name, "organizationUnitId": t.sales_ou }),
            )
            .await
            .assert_problem(409, "Skill already exists");
    }
    // Names are unique in the tenant, not per OU.
    stack
        .create_skill(
            &admin,
            json!({ "name": "spanish", "organizationUnitId": t.support_ou }),
        )
        .await
        .assert_problem(409, "Skill already exists");
    // Another tenant may have its own "Spanish".
    let other = TestTenant::create(&stack).await;
    other.create_skill("Spanish", &other.sales_ou).await;
}

#[tokio::test]
async fn skill_validation() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let create = |body: Value| Request::create_skill(&admin, body);
    let cases = vec![
        (
            "no name",
            create(json!({ "organizationUnitId": t.sales_ou })),
            400,
            Detail::contains("\"name\""),
        ),
        (
            "OU not a GUID",
            create(json!({ "name": "German", "organizationUnitId": "x" })),
            400,
            Detail::contains("\"organizationUnitId\""),
        ),
        (
            "OU that does not exist",
            create(json!({ "name": "German", "organizationUnitId": new_id() })),
            400,
            Detail::Any,
        ),
    ];
    stack.assert_refusals(cases).await;
}

#[tokio::test]
async fn parallel_skill_creation_with_one_name_succeeds_once() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let replies = all_at_once(6, |i| {
        let (stack, admin, ou) = (stack.clone(), admin.clone(), t.sales_ou.clone());
        let name = if i % 2 == 0 { "Italian" } else { "ITALIAN" };
        async move {
            stack
                .create_skill(&admin, json!({ "name": name, "organizationUnitId": ou }))
                .await
        }
    })
    .await;
    let counts = status_counts(&replies);
    assert_eq!(counts.get(&201).copied().unwrap_or(0), 1, "{counts:?}");
    assert_eq!(counts.get(&409).copied().unwrap_or(0), 5, "{counts:?}");
}

// ---- patch user -------------------------------------------------------------------------------

#[tokio::test]
async fn patch_user_changes_only_what_is_given() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (id, before) = t.configured_source(&["ContactCenter"]).await;
    let after = t
        .patch_user(
            &id,
            json!({ "modalities": ["Email", "ExternalTask", "Video"] }),
        )
        .await
        .ok();
    assert_eq!(
        after["modalities"],
        json!(["Email", "ExternalTask", "Video"])
    );
    for field in CONFIGURATION_FIELDS.iter().filter(|f| **f != "modalities") {
        assert_eq!(after[*field], before[*field], "{field} unchanged");
    }
    // null clears Interact.
    let cleared = t.patch_user(&id, json!({ "interact": null })).await.ok();
    assert!(cleared["interact"].is_null(), "{cleared}");
    assert_eq!(cleared["assistant"], before["assistant"]);
    assert_eq!(t.get_user(&id).await.ok(), cleared);
}

#[tokio::test]
async fn patch_user_of_an_unknown_user_is_404() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    t.patch_user(&new_id(), json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_problem(404, USER_NOT_FOUND);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 0, 10));
}

#[tokio::test]
async fn patch_user_validation() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    let skill = t.create_skill("Portuguese", &t.sales_ou).await;
    let admin = t.admin_token();
    let patch = |body: Value| Request::patch_user(&admin, &id, body);
    let level_out_of_range = || Detail::is("\"skills[0].level\" must be an integer from 0 to 100");
    let unknown = new_id();
    let cases = vec![
        (
            "skill level above 100",
            patch(json!({ "skills": [{ "skillId": skill, "level": 101 }] })),
            400,
            level_out_of_range(),
        ),
        (
            "skill level below 0",
            patch(json!({ "skills": [{ "skillId": skill, "level": -1 }] })),
            400,
            level_out_of_range(),
        ),
        (
            "skill that does not exist, named",
            patch(json!({ "skills": [{ "skillId": unknown, "level": 50 }] })),
            400,
            Detail::contains(&unknown),
        ),
        (
            "unknown licence type, named",
            patch(json!({ "licenses": ["ContactCenter", "Gold"] })),
            400,
            Detail::contains("Gold"),
        ),
        (
            "unknown modality, named",
            patch(json!({ "modalities": ["Fax"] })),
            400,
            Detail::contains("Fax"),
        ),
        (
            "unknown field, named",
            patch(json!({ "nickname": "Bob" })),
            400,
            Detail::contains("nickname"),
        ),
        (
            "OU that does not exist",
            patch(json!({ "organizationUnitId": new_id() })),
            400,
            Detail::Any,
        ),
    ];
    stack.assert_refusals(cases).await;
    // The bounds themselves are fine.
    for level in [0, 100] {
        let ok = t
            .patch_user(
                &id,
                json!({ "skills": [{ "skillId": skill, "level": level }] }),
            )
            .await
            .ok();
        assert_eq!(ok["skills"], json!([{ "skillId": skill, "level": level }]));
    }

    // None of the refusals changed the user or took a licence.
    let now = t.get_user(&id).await.ok();
    assert_eq!(now["licenses"], json!([]));
    assert_eq!(now["modalities"], json!([]));
    assert_eq!(now["organizationUnitId"], json!(t.sales_ou));
    assert_eq!(now["skills"], json!([{ "skillId": skill, "level": 100 }]));
    assert_eq!(t.usage_of("ContactCenter").await, (10, 0, 10));
}

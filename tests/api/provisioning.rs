//! Public provisioning API: create user, user details, licence usage.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

// ---- create ---------------------------------------------------------------------------------

#[tokio::test]
async fn create_user_returns_an_empty_skill_based_user() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let reply = t.create_user(&id, &t.sales_ou).await;
    let details = reply.ok();
    assert!(
        reply
            .header("content-type")
            .unwrap_or("")
            .starts_with("application/json"),
        "content-type of a success: {:?}",
        reply.header("content-type")
    );
    assert_empty_user(&details, &id, &t.sales_ou);
    // An empty user holds no licence.
    assert_eq!(t.usage_of("ContactCenter").await, (10, 0, 10));
}

#[tokio::test]
async fn create_user_in_a_descendant_of_the_scope_is_allowed() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let details = t.create_user(&id, &t.sales_east_ou).await.ok();
    assert_empty_user(&details, &id, &t.sales_east_ou);
}

#[tokio::test]
async fn create_user_field_names_are_case_insensitive() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let details = stack
        .create_user(
            &t.app_token(),
            json!({ "O365ID": id, "OrganizationUnitID": t.sales_ou }),
        )
        .await
        .ok();
    assert_empty_user(&details, &id, &t.sales_ou);

    let id2 = new_id();
    let details = stack
        .create_user(
            &t.app_token(),
            json!({ "o365id": id2, "organizationunitid": t.sales_ou }),
        )
        .await
        .ok();
    assert_empty_user(&details, &id2, &t.sales_ou);
}

#[tokio::test]
async fn create_user_accepts_uppercase_guids_and_answers_lowercase() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let details = stack
        .create_user(
            &t.app_token(),
            json!({ "o365Id": id.to_uppercase(), "organizationUnitId": t.sales_ou.to_uppercase() }),
        )
        .await
        .ok();
    assert_eq!(details["o365Id"], json!(id));
    assert_eq!(details["organizationUnitId"], json!(t.sales_ou));
    // The same user in another spelling is the same user.
    t.create_user(&id, &t.sales_ou)
        .await
        .assert_problem(409, USER_EXISTS);
}

#[tokio::test]
async fn create_user_refuses_malformed_input_naming_the_field() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.app_token();
    let create = |body: Value| Request::create_user(&token, body);
    let cases = vec![
        (
            "malformed JSON",
            Request::create_user(&token, Body::Raw("{\"o365Id\": ".into())),
            400,
            Detail::starts_with(NOT_JSON),
        ),
        (
            "no body",
            Request::create_user(&token, Body::None),
            400,
            Detail::Any,
        ),
        (
            "no o365Id",
            create(json!({ "organizationUnitId": t.sales_ou })),
            400,
            Detail::is("\"o365Id\" is required"),
        ),
        (
            "no organizationUnitId",
            create(json!({ "o365Id": new_id() })),
            400,
            Detail::is("\"organizationUnitId\" is required"),
        ),
        (
            "empty o365Id",
            create(json!({ "o365Id": "", "organizationUnitId": t.sales_ou })),
            400,
            Detail::is("\"o365Id\" is required"),
        ),
        (
            "organizationUnitId not a GUID",
            create(json!({ "o365Id": new_id(), "organizationUnitId": "sales" })),
            400,
            Detail::is("\"organizationUnitId\" must be a GUID"),
        ),
        (
            "o365Id not a GUID",
            create(json!({ "o365Id": "not-a-guid", "organizationUnitId": t.sales_ou })),
            400,
            Detail::is("\"o365Id\" must be a GUID"),
        ),
        (
            "o365Id a number",
            create(json!({ "o365Id": 42, "organizationUnitId": t.sales_ou })),
            400,
            Detail::starts_with("\"o365Id\""),
        ),
    ];
    stack.assert_refusals(cases).await;
}

/// An OU the app may not use and one that does not exist are refused alike, so nothing
/// tells an app which OUs exist outside its scope.
#[tokio::test]
async fn create_user_in_an_ou_outside_the_scope_or_unknown_is_403() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.app_token();
    let create_in = |ou: &str| {
        Request::create_user(
            &token,
            json!({ "o365Id": new_id(), "organizationUnitId": ou }),
        )
    };
    let cases = vec![
        (
            "support, beside the scope",
            create_in(&t.support_ou),
            403,
            Detail::is(OU_NOT_ALLOWED),
        ),
        (
            "the root, above the scope",
            create_in(&t.root_ou),
            403,
            Detail::is(OU_NOT_ALLOWED),
        ),
        (
            "an OU that does not exist",
            create_in(&new_id()),
            403,
            Detail::is(OU_NOT_ALLOWED),
        ),
    ];
    stack.assert_refusals(cases).await;
}

#[tokio::test]
async fn create_user_that_exists_is_409() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    t.create_user(&id, &t.sales_ou)
        .await
        .assert_problem(409, USER_EXISTS);
    t.create_user(&id, &t.sales_east_ou)
        .await
        .assert_problem(409, USER_EXISTS);
    // Still the first one.
    assert_eq!(
        t.get_user(&id).await.ok()["organizationUnitId"],
        json!(t.sales_ou)
    );
}

#[tokio::test]
async fn create_user_that_exists_as_teams_synced_is_409() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.plant_teams_user(&t.sales_ou, &[]).await;
    t.create_user(&id, &t.sales_ou)
        .await
        .assert_problem(409, USER_EXISTS);
}

// ---- get ------------------------------------------------------------------------------------

#[tokio::test]
async fn get_user_returns_the_details() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let created = t.create_user(&id, &t.sales_east_ou).await.ok();
    let got = t.get_user(&id).await.ok();
    assert_eq!(got, created);
    assert_empty_user(&got, &id, &t.sales_east_ou);
}

#[tokio::test]
async fn get_user_shows_the_configuration() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (id, patched) = t.configured_source(&["ContactCenter", "Interact"]).await;
    let got = t.get_user(&id).await.ok();
    assert_eq!(got, patched);
    assert_eq!(got["licenses"], json!(["ContactCenter", "Interact"]));
    assert_eq!(got["modalities"], json!(["Audio", "Chat"]));
    assert_eq!(got["skills"].as_array().map(Vec::len), Some(2));
    assert_eq!(got["notAvailableReasons"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        got["interact"],
        json!({ "enabled": true, "greeting": "Hello" })
    );
    assert_eq!(got["assistant"], json!({ "enabled": true }));
}

#[tokio::test]
async fn get_user_of_a_teams_synced_user_says_so() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.plant_teams_user(&t.sales_ou, &["ContactCenter"]).await;
    let got = t.get_user(&id).await.ok();
    assert_eq!(got["o365Id"], json!(id));
    assert_eq!(got["assignmentType"], json!("TeamsSynced"));
    assert_eq!(got["organizationUnitId"], json!(t.sales_ou));
    assert_eq!(got["licenses"], json!(["ContactCenter"]));
}

#[tokio::test]
async fn get_unknown_user_is_404() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    t.get_user(&new_id())
        .await
        .assert_problem(404, USER_NOT_FOUND);
}

#[tokio::test]
async fn get_user_with_a_bad_guid_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let reply = t.get_user("not-a-guid").await;
    let detail = reply.assert_problem_status(400);
    assert!(
        detail.ends_with("must be a GUID") && detail.to_lowercase().contains("o365id"),
        "detail should name the path parameter: {detail:?}"
    );
}

#[tokio::test]
async fn get_user_outside_the_scope_is_403() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    // Created by a second app that may use support, then read with the main app (sales only).
    let support_app = t.register_app(&[&t.support_ou]).await;
    let id = new_id();
    stack
        .create_user(
            &t.token_for_app(&support_app),
            json!({ "o365Id": id, "organizationUnitId": t.support_ou }),
        )
        .await
        .assert_status(200);
    t.get_user(&id).await.assert_problem(403, OU_NOT_ALLOWED);
    // The app whose scope covers it can read it.
    stack
        .get_user(&t.token_for_app(&support_app), &id)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn get_user_moved_out_of_the_scope_is_403() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    t.patch_user(&id, json!({ "organizationUnitId": t.support_ou }))
        .await
        .assert_status(200);
    t.get_user(&id).await.assert_problem(403, OU_NOT_ALLOWED);
}

#[tokio::test]
async fn an_app_scoped_to_the_root_reaches_every_ou() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let root_app = t.register_app(&[&t.root_ou]).await;
    let token = t.token_for_app(&root_app);
    for ou in [&t.root_ou, &t.sales_ou, &t.sales_east_ou, &t.support_ou] {
        let id = new_id();
        stack
            .create_user(&token, json!({ "o365Id": id, "organizationUnitId": ou }))
            .await
            .assert_status(200);
        stack.get_user(&token, &id).await.assert_status(200);
    }
}

// ---- licence usage --------------------------------------------------------------------------

#[tokio::test]
async fn license_usage_lists_all_seven_types_in_order() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let reply = t.license_usage().await;
    let usage = reply.ok();
    assert_usage(
        &usage,
        &[
            ("AdvancedRouting", 2, 0),
            ("EnterpriseRouting", 3, 0),
            ("ContactCenter", 10, 0),
            ("AttendantConsole", 4, 0),
            ("Interact", 5, 0),
            ("Assistant", 6, 0),
            ("Transcription", 7, 0),
        ],
    );
}

#[tokio::test]
async fn license_usage_counts_licences_in_use() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let a = t.new_user(&t.sales_ou).await;
    let b = t.new_user(&t.sales_ou).await;
    let c = t.new_user(&t.sales_east_ou).await;
    for (user, licenses) in [
        (&a, json!(["ContactCenter", "Interact", "Transcription"])),
        (&b, json!(["ContactCenter", "AttendantConsole"])),
        (
            &c,
            json!(["ContactCenter", "Interact", "Assistant", "AdvancedRouting"]),
        ),
    ] {
        t.patch_user(user, json!({ "licenses": licenses }))
            .await
            .assert_status(200);
    }
    let usage = t.license_usage().await.ok();
    assert_usage(
        &usage,
        &[
            ("AdvancedRouting", 2, 1),
            ("EnterpriseRouting", 3, 0),
            ("ContactCenter", 10, 3),
            ("AttendantConsole", 4, 1),
            ("Interact", 5, 2),
            ("Assistant", 6, 1),
            ("Transcription", 7, 1),
        ],
    );

    // Taking a licence away frees it.
    t.patch_user(&a, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "Interact"), (5, 1, 4));
    assert_eq!(usage_entry(&usage, "Transcription"), (7, 0, 7));
    assert_eq!(usage_entry(&usage, "ContactCenter"), (10, 3, 7));
}

#[tokio::test]
async fn license_usage_is_the_same_as_the_operator_sees() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let a = t.new_user(&t.sales_ou).await;
    t.patch_user(&a, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    let public: Value = t.license_usage().await.ok();
    let operator: Value = t.put_licenses(default_licenses()).await.ok();
    assert_eq!(public, operator);
}

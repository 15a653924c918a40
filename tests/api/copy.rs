//! Public provisioning API: copy a user.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

const IDS_REQUIRED: &str = "\"SourceO365Id\" or \"NewO365Id\" are required";

#[tokio::test]
async fn copy_takes_the_configuration_and_allocates_licences() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, source_details) = t
        .configured_source(&["ContactCenter", "Interact", "Assistant"])
        .await;
    let before = t.license_usage().await.ok();
    assert_eq!(usage_entry(&before, "ContactCenter"), (10, 1, 9));
    assert_eq!(usage_entry(&before, "Interact"), (5, 1, 4));
    assert_eq!(usage_entry(&before, "Assistant"), (6, 1, 5));

    let new = new_id();
    let copy = t.copy_user(&new, &source).await.ok();
    assert_eq!(copy["o365Id"], json!(new));
    assert_eq!(copy["assignmentType"], json!("SkillBased"));
    for field in CONFIGURATION_FIELDS {
        assert_eq!(
            copy[field], source_details[field],
            "{field} is copied: copy {copy} source {source_details}"
        );
    }
    for field in ["upn", "displayName", "firstName", "lastName", "email"] {
        assert!(
            copy.get(field).is_some_and(|v| v.is_null()),
            "{field} is not copied: {copy}"
        );
    }
    // Sanity: the source really had a configuration worth copying.
    assert_eq!(copy["organizationUnitId"], json!(t.sales_ou));
    assert_eq!(
        copy["licenses"],
        json!(["ContactCenter", "Interact", "Assistant"])
    );
    assert_eq!(copy["skills"].as_array().map(Vec::len), Some(2));

    // The copy is stored as answered.
    assert_eq!(t.get_user(&new).await.ok(), copy);
    // The source is unchanged.
    assert_eq!(t.get_user(&source).await.ok(), source_details);

    let after = t.license_usage().await.ok();
    assert_usage(
        &after,
        &[
            ("AdvancedRouting", 2, 0),
            ("EnterpriseRouting", 3, 0),
            ("ContactCenter", 10, 2),
            ("AttendantConsole", 4, 0),
            ("Interact", 5, 2),
            ("Assistant", 6, 2),
            ("Transcription", 7, 0),
        ],
    );
}

#[tokio::test]
async fn copy_field_names_are_case_insensitive() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let new = new_id();
    let copy = stack
        .copy_user(
            &t.app_token(),
            json!({ "NewO365Id": new, "SourceO365Id": source }),
        )
        .await
        .ok();
    assert_eq!(copy["o365Id"], json!(new));
    let new2 = new_id();
    stack
        .copy_user(
            &t.app_token(),
            json!({ "NEWO365ID": new2, "sourceo365id": source }),
        )
        .await
        .assert_status(200);
}

#[tokio::test]
async fn copy_of_a_source_in_a_sub_ou_keeps_that_ou() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let source = t.new_user(&t.sales_east_ou).await;
    t.patch_user(&source, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    let copy = t.copy_user(&new_id(), &source).await.ok();
    assert_eq!(copy["organizationUnitId"], json!(t.sales_east_ou));
}

/// Ids missing, empty, equal (in any spelling) or not GUIDs, and a body that is no JSON: each
/// refused before any licence is taken.
#[tokio::test]
async fn copy_refuses_missing_equal_or_malformed_ids() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let token = t.app_token();
    let copy = |body: Value| Request::copy_user(&token, body);
    let ids = |new: Value, source: Value| copy(json!({ "newO365Id": new, "sourceO365Id": source }));
    let required = || Detail::is(IDS_REQUIRED);
    let cases = vec![
        (
            "no newO365Id",
            copy(json!({ "sourceO365Id": source })),
            400,
            required(),
        ),
        (
            "no sourceO365Id",
            copy(json!({ "newO365Id": new_id() })),
            400,
            required(),
        ),
        ("neither id", copy(json!({})), 400, required()),
        (
            "empty newO365Id",
            ids(json!(""), json!(source)),
            400,
            required(),
        ),
        (
            "empty sourceO365Id",
            ids(json!(new_id()), json!("")),
            400,
            required(),
        ),
        (
            "null newO365Id",
            ids(Value::Null, json!(source)),
            400,
            required(),
        ),
        (
            "onto itself",
            ids(json!(source), json!(source)),
            400,
            required(),
        ),
        (
            "onto itself, spelt in upper case",
            ids(json!(source.to_uppercase()), json!(source)),
            400,
            required(),
        ),
        (
            "newO365Id not a GUID",
            ids(json!("nope"), json!(source)),
            400,
            Detail::NotAGuid("\"newo365id\""),
        ),
        (
            "sourceO365Id not a GUID",
            ids(json!(new_id()), json!("nope")),
            400,
            Detail::NotAGuid("\"sourceo365id\""),
        ),
        (
            "malformed JSON",
            Request::copy_user(&token, Body::Raw("{\"newO365Id\" \"x\"}".into())),
            400,
            Detail::starts_with(NOT_JSON),
        ),
    ];
    stack.assert_refusals(cases).await;
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn copy_of_an_unknown_source_is_404() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    t.copy_user(&new_id(), &new_id()).await.assert_problem(
        404,
        "A source user with this \"SourceO365Id\" was not found",
    );
}

#[tokio::test]
async fn copy_of_a_teams_synced_source_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let source = t.plant_teams_user(&t.sales_ou, &["ContactCenter"]).await;
    let new = new_id();
    t.copy_user(&new, &source).await.assert_problem(
        400,
        "The source user is synchronised from MS Teams; only manually managed users can be copied",
    );
    t.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
}

#[tokio::test]
async fn copy_of_a_source_without_contact_center_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    // No licence at all.
    let bare = t.new_user(&t.sales_ou).await;
    t.copy_user(&new_id(), &bare)
        .await
        .assert_problem(400, "The source user has no Contact Center license");
    // Other licences, but not Contact Center.
    let (other, _) = t.configured_source(&["Interact", "Assistant"]).await;
    let new = new_id();
    t.copy_user(&new, &other)
        .await
        .assert_problem(400, "The source user has no Contact Center license");
    t.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "Interact"), (5, 1, 4));
}

#[tokio::test]
async fn copy_of_a_source_outside_the_scope_is_403() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    t.patch_user(&source, json!({ "organizationUnitId": t.support_ou }))
        .await
        .assert_status(200);
    let new = new_id();
    t.copy_user(&new, &source)
        .await
        .assert_problem(403, OU_NOT_ALLOWED);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn copy_onto_an_existing_user_is_409() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let existing = t.new_user(&t.sales_ou).await;
    t.copy_user(&existing, &source)
        .await
        .assert_problem(409, USER_EXISTS);
    // The existing user is untouched and no licence was taken.
    assert_empty_user(&t.get_user(&existing).await.ok(), &existing, &t.sales_ou);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
    // Copying twice onto the same new id: the second one conflicts.
    let new = new_id();
    t.copy_user(&new, &source).await.assert_status(200);
    t.copy_user(&new, &source)
        .await
        .assert_problem(409, USER_EXISTS);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 2, 8));
}

#[tokio::test]
async fn copy_without_a_contact_center_licence_left_is_403() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["ContactCenter"] = json!(1);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    assert_eq!(t.usage_of("ContactCenter").await, (1, 1, 0));
    let new = new_id();
    t.copy_user(&new, &source)
        .await
        .assert_problem(403, "No license available: Contact Center");
    t.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    assert_eq!(t.usage_of("ContactCenter").await, (1, 1, 0));
}

#[tokio::test]
async fn copy_names_the_exhausted_licence_and_allocates_nothing() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["Interact"] = json!(1);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let (source, _) = t
        .configured_source(&["ContactCenter", "Interact", "Assistant"])
        .await;
    let new = new_id();
    t.copy_user(&new, &source)
        .await
        .assert_problem(403, "No license available: Interact");
    t.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    // All or nothing: Contact Center and Assistant were not taken either.
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (10, 1, 9));
    assert_eq!(usage_entry(&usage, "Interact"), (1, 1, 0));
    assert_eq!(usage_entry(&usage, "Assistant"), (6, 1, 5));
}

#[tokio::test]
async fn copy_needs_the_create_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter"]).await;
    let token = t.app_token_with_roles(&[ROLE_READ, ROLE_DELETE, ROLE_TENANT_READ]);
    stack
        .copy_user(
            &token,
            json!({ "newO365Id": new_id(), "sourceO365Id": source }),
        )
        .await
        .assert_problem(401, ROLE_MISSING);
}

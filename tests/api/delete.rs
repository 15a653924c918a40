//! Public provisioning API: delete a user.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

#[tokio::test]
async fn delete_returns_the_user_as_it_was_and_frees_its_licences() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (id, details) = t
        .configured_source(&["ContactCenter", "Interact", "Transcription"])
        .await;
    let before = t.license_usage().await.ok();
    assert_eq!(usage_entry(&before, "ContactCenter"), (10, 1, 9));
    assert_eq!(usage_entry(&before, "Interact"), (5, 1, 4));
    assert_eq!(usage_entry(&before, "Transcription"), (7, 1, 6));

    let deleted = t.delete_user(&id, None).await.ok();
    assert_eq!(deleted, details);

    t.get_user(&id).await.assert_problem(404, USER_NOT_FOUND);
    let after = t.license_usage().await.ok();
    assert_usage(
        &after,
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
    // Deleting again: gone.
    t.delete_user(&id, None)
        .await
        .assert_problem(404, USER_NOT_FOUND);
}

#[tokio::test]
async fn delete_with_a_matching_body_is_200() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    let deleted = t.delete_user(&id, Some(json!({ "o365Id": id }))).await.ok();
    assert_empty_user(&deleted, &id, &t.sales_ou);

    // Field names are case-insensitive, GUIDs too.
    let id2 = t.new_user(&t.sales_ou).await;
    t.delete_user(&id2, Some(json!({ "O365ID": id2.to_uppercase() })))
        .await
        .assert_status(200);
    // An empty object is no body o365Id to compare.
    let id3 = t.new_user(&t.sales_ou).await;
    t.delete_user(&id3, Some(json!({})))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn delete_refuses_a_malformed_or_mismatching_request_and_deletes_nothing() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    let other = t.new_user(&t.sales_ou).await;
    let token = t.app_token();
    let delete = |body: Value| Request::delete_user(&token, &id, body);
    let mismatch = || Detail::is("\"o365Id\" in the body does not match the user in the path");
    let cases = vec![
        (
            "body names another user",
            delete(json!({ "o365Id": other })),
            400,
            mismatch(),
        ),
        (
            "body names a user that does not exist",
            delete(json!({ "o365Id": new_id() })),
            400,
            mismatch(),
        ),
        (
            "body o365Id not a GUID",
            delete(json!({ "o365Id": "nope" })),
            400,
            Detail::is("\"o365Id\" must be a GUID"),
        ),
        (
            "malformed JSON",
            Request::delete_user(&token, &id, Body::Raw("{".into())),
            400,
            Detail::starts_with(NOT_JSON),
        ),
        (
            "path o365Id not a GUID",
            Request::delete_user(&token, "nope", Body::None),
            400,
            Detail::NotAGuid("o365id"),
        ),
    ];
    stack.assert_refusals(cases).await;
    t.get_user(&id).await.assert_status(200);
    t.get_user(&other).await.assert_status(200);
}

#[tokio::test]
async fn delete_unknown_user_is_404() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    t.delete_user(&new_id(), None)
        .await
        .assert_problem(404, USER_NOT_FOUND);
}

#[tokio::test]
async fn delete_teams_synced_user_is_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.plant_teams_user(&t.sales_ou, &["ContactCenter"]).await;
    t.delete_user(&id, None).await.assert_problem(
        400,
        "The user is synchronised from MS Teams; only manually managed users can be deleted",
    );
    assert_eq!(
        t.get_user(&id).await.ok()["assignmentType"],
        json!("TeamsSynced")
    );
}

#[tokio::test]
async fn delete_user_outside_the_scope_is_403() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    t.patch_user(&id, json!({ "organizationUnitId": t.support_ou }))
        .await
        .assert_status(200);
    t.delete_user(&id, None)
        .await
        .assert_problem(403, OU_NOT_ALLOWED);
    // Still there (read by an app that may see support).
    let support_app = t.register_app(&[&t.support_ou]).await;
    stack
        .get_user(&t.token_for_app(&support_app), &id)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn recreated_user_comes_back_empty() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (id, details) = t
        .configured_source(&["ContactCenter", "Interact", "Assistant"])
        .await;
    assert_ne!(details["skills"], json!([]));
    t.delete_user(&id, Some(json!({ "o365Id": id })))
        .await
        .assert_status(200);

    let recreated = t.create_user(&id, &t.sales_ou).await.ok();
    assert_empty_user(&recreated, &id, &t.sales_ou);
    assert_empty_user(&t.get_user(&id).await.ok(), &id, &t.sales_ou);
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (10, 0, 10));
    assert_eq!(usage_entry(&usage, "Interact"), (5, 0, 5));
    assert_eq!(usage_entry(&usage, "Assistant"), (6, 0, 6));
}

#[tokio::test]
async fn a_deleted_user_can_be_recreated_by_copy() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, source_details) = t.configured_source(&["ContactCenter"]).await;
    let id = new_id();
    t.copy_user(&id, &source).await.assert_status(200);
    t.delete_user(&id, None).await.assert_status(200);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
    let copy = t.copy_user(&id, &source).await.ok();
    assert_eq!(copy["skills"], source_details["skills"]);
    assert_eq!(t.usage_of("ContactCenter").await, (10, 2, 8));
}

#[tokio::test]
async fn delete_needs_the_delete_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = t.new_user(&t.sales_ou).await;
    let token = t.app_token_with_roles(&[ROLE_CREATE, ROLE_READ, ROLE_TENANT_READ]);
    stack
        .delete_user(&token, &id, None)
        .await
        .assert_problem(401, ROLE_MISSING);
    t.get_user(&id).await.assert_status(200);
}

//! Licence contingents: the operator sets them, users consume them.

use serde_json::{json, Value};
use stratus_blackbox_tests::*;

#[tokio::test]
async fn operator_sets_licences_and_gets_the_usage_back() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let body = json!({
        "AdvancedRouting": 0,
        "EnterpriseRouting": 1,
        "ContactCenter": 20,
        "AttendantConsole": 0,
        "Interact": 3,
        "Assistant": 2,
        "Transcription": 100,
    });
    let usage = t.put_licenses(body).await.ok();
    let expected = [
        ("AdvancedRouting", 0, 0),
        ("EnterpriseRouting", 1, 0),
        ("ContactCenter", 20, 0),
        ("AttendantConsole", 0, 0),
        ("Interact", 3, 0),
        ("Assistant", 2, 0),
        ("Transcription", 100, 0),
    ];
    assert_usage(&usage, &expected);
    assert_usage(&t.license_usage().await.ok(), &expected);
}

#[tokio::test]
async fn licences_cannot_go_below_the_number_in_use() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    for _ in 0..3 {
        let id = t.new_user(&t.sales_ou).await;
        t.patch_user(&id, json!({ "licenses": ["ContactCenter"] }))
            .await
            .assert_status(200);
    }
    let mut body = default_licenses();
    body["ContactCenter"] = json!(1);
    t.put_licenses(body)
        .await
        .assert_problem(409, "ContactCenter cannot be set to 1: 3 in use");
    // Nothing changed.
    assert_eq!(t.usage_of("ContactCenter").await, (10, 3, 7));

    // Exactly the number in use is fine.
    let mut body = default_licenses();
    body["ContactCenter"] = json!(3);
    let usage = t.put_licenses(body).await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (3, 3, 0));
}

/// Each refusal names the licence type at fault, and none changes the contingents.
#[tokio::test]
async fn unknown_licence_types_and_counts_that_are_no_count_are_400() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let operator = stack.operator_token();
    let put = |body: Value| Request::put_licenses(&operator, &t.id, body);
    let with = |license: &str, count: Value| {
        let mut body = default_licenses();
        body[license] = count;
        put(body)
    };
    let cases = vec![
        (
            "unknown type",
            with("GoldSupport", json!(3)),
            400,
            Detail::contains("GoldSupport"),
        ),
        (
            "negative count",
            with("ContactCenter", json!(-1)),
            400,
            Detail::contains("ContactCenter"),
        ),
        (
            "fractional count",
            with("ContactCenter", json!(2.5)),
            400,
            Detail::contains("ContactCenter"),
        ),
        (
            "count as text",
            with("ContactCenter", json!("ten")),
            400,
            Detail::contains("ContactCenter"),
        ),
        (
            "count as an array",
            with("ContactCenter", json!([1])),
            400,
            Detail::contains("ContactCenter"),
        ),
        (
            "an array instead of an object",
            put(json!(["ContactCenter", 10])),
            400,
            Detail::NotEmpty,
        ),
    ];
    stack.assert_refusals(cases).await;
    assert_eq!(t.usage_of("ContactCenter").await, (10, 0, 10));
}

#[tokio::test]
async fn licences_of_an_unknown_tenant_is_404() {
    let stack = Stack::from_env();
    stack
        .put_licenses(&stack.operator_token(), &new_id(), default_licenses())
        .await
        .assert_problem(404, "Tenant not found");
}

#[tokio::test]
async fn patch_user_cannot_take_a_licence_that_is_not_left() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["Interact"] = json!(1);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let a = t.new_user(&t.sales_ou).await;
    let b = t.new_user(&t.sales_ou).await;
    t.patch_user(&a, json!({ "licenses": ["ContactCenter", "Interact"] }))
        .await
        .assert_status(200);
    t.patch_user(&b, json!({ "licenses": ["ContactCenter", "Interact"] }))
        .await
        .assert_problem(403, "No license available: Interact");
    // All or nothing: b got no Contact Center licence either.
    assert_eq!(t.get_user(&b).await.ok()["licenses"], json!([]));
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (10, 1, 9));
    assert_eq!(usage_entry(&usage, "Interact"), (1, 1, 0));
}

#[tokio::test]
async fn zero_licences_of_a_type_means_none_can_be_assigned() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["AttendantConsole"] = json!(0);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let a = t.new_user(&t.sales_ou).await;
    t.patch_user(&a, json!({ "licenses": ["AttendantConsole"] }))
        .await
        .assert_problem(403, "No license available: Attendant Console");
}

#[tokio::test]
async fn license_usage_needs_the_tenant_read_role() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let token = t.app_token_with_roles(&[ROLE_CREATE, ROLE_READ, ROLE_DELETE]);
    stack
        .license_usage(&token)
        .await
        .assert_problem(401, ROLE_MISSING);
    let token = t.app_token_with_roles(&[ROLE_TENANT_READ]);
    stack.license_usage(&token).await.assert_status(200);
}

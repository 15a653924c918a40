//! Tenant isolation: nothing of tenant A is visible or changeable with tenant B's tokens.

use serde_json::json;
use stratus_blackbox_tests::*;

/// Tenant A with a configured, licensed user in sales; tenant B (own admin and app).
async fn two_tenants() -> (Stack, TestTenant, TestTenant, String, serde_json::Value) {
    let stack = Stack::from_env();
    let a = TestTenant::create(&stack).await;
    let b = TestTenant::create(&stack).await;
    let (user, details) = a.configured_source(&["ContactCenter", "Interact"]).await;
    (stack, a, b, user, details)
}

#[tokio::test]
async fn another_tenant_cannot_read_a_user() {
    let (_stack, a, b, user, details) = two_tenants().await;
    b.get_user(&user).await.assert_problem(404, USER_NOT_FOUND);
    assert_eq!(a.get_user(&user).await.ok(), details);
}

#[tokio::test]
async fn another_tenant_cannot_delete_a_user() {
    let (_stack, a, b, user, details) = two_tenants().await;
    b.delete_user(&user, None)
        .await
        .assert_problem(404, USER_NOT_FOUND);
    b.delete_user(&user, Some(json!({ "o365Id": user })))
        .await
        .assert_problem(404, USER_NOT_FOUND);
    assert_eq!(a.get_user(&user).await.ok(), details);
    assert_eq!(a.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn another_tenant_cannot_copy_a_user() {
    let (_stack, a, b, user, _) = two_tenants().await;
    let new = new_id();
    b.copy_user(&new, &user).await.assert_problem(
        404,
        "A source user with this \"SourceO365Id\" was not found",
    );
    b.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    a.get_user(&new).await.assert_problem(404, USER_NOT_FOUND);
    assert_eq!(b.usage_of("ContactCenter").await, (10, 0, 10));
    assert_eq!(a.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn another_tenant_cannot_create_a_user_in_an_ou_of_mine() {
    let (_stack, a, b, _, _) = two_tenants().await;
    for ou in [&a.sales_ou, &a.root_ou, &a.sales_east_ou] {
        let id = new_id();
        b.create_user(&id, ou)
            .await
            .assert_problem(403, OU_NOT_ALLOWED);
        a.get_user(&id).await.assert_problem(404, USER_NOT_FOUND);
    }
}

#[tokio::test]
async fn another_tenant_cannot_scope_an_app_to_an_ou_of_mine() {
    let (stack, a, b, _, _) = two_tenants().await;
    let reply = stack
        .put_app_permission(&b.admin_token(), &new_id(), &[&a.sales_ou])
        .await;
    reply.assert_problem_status(400);
}

#[tokio::test]
async fn licence_usage_is_per_tenant() {
    let (_stack, a, b, _, _) = two_tenants().await;
    let usage_a = a.license_usage().await.ok();
    let usage_b = b.license_usage().await.ok();
    assert_eq!(usage_entry(&usage_a, "ContactCenter"), (10, 1, 9));
    assert_eq!(usage_entry(&usage_a, "Interact"), (5, 1, 4));
    assert_eq!(usage_entry(&usage_b, "ContactCenter"), (10, 0, 10));
    assert_eq!(usage_entry(&usage_b, "Interact"), (5, 0, 5));
}

#[tokio::test]
async fn a_tenant_admin_lists_only_own_ous() {
    let (stack, a, b, _, _) = two_tenants().await;
    let listed = stack.list_ous(&b.admin_token()).await.ok();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap_or_else(|| panic!("OU list is an array: {listed}"))
        .iter()
        .filter_map(|ou| ou["id"].as_str())
        .collect();
    let mut expected = vec![
        b.root_ou.as_str(),
        b.sales_ou.as_str(),
        b.sales_east_ou.as_str(),
        b.support_ou.as_str(),
    ];
    let mut got = ids.clone();
    expected.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected, "B sees exactly its own OUs: {listed}");
    for ou in [&a.root_ou, &a.sales_ou, &a.sales_east_ou, &a.support_ou] {
        assert!(!ids.contains(&ou.as_str()), "A's OU {ou} is listed for B");
    }
}

#[tokio::test]
async fn a_tenant_admin_cannot_patch_another_tenants_user() {
    let (stack, a, b, user, details) = two_tenants().await;
    let reply = stack
        .patch_user(&b.admin_token(), &user, json!({ "licenses": [] }))
        .await;
    reply.assert_problem_status(404);
    let reply = stack
        .patch_user(
            &b.admin_token(),
            &user,
            json!({ "organizationUnitId": b.sales_ou }),
        )
        .await;
    reply.assert_problem_status(404);
    assert_eq!(a.get_user(&user).await.ok(), details);
    assert_eq!(a.usage_of("ContactCenter").await, (10, 1, 9));
}

#[tokio::test]
async fn a_tenant_admin_cannot_move_a_user_into_another_tenants_ou() {
    let (stack, a, b, _, _) = two_tenants().await;
    let user_b = b.new_user(&b.sales_ou).await;
    let reply = stack
        .patch_user(
            &b.admin_token(),
            &user_b,
            json!({ "organizationUnitId": a.sales_ou }),
        )
        .await;
    let status = reply.status;
    assert!(
        status == 400 || status == 403 || status == 404,
        "moving a user into a foreign OU must fail, got {status}: {}",
        reply.text
    );
    assert_eq!(
        b.get_user(&user_b).await.ok()["organizationUnitId"],
        json!(b.sales_ou)
    );
}

#[tokio::test]
async fn a_tenant_admin_cannot_remove_another_tenants_app_permission() {
    let (stack, a, b, _, _) = two_tenants().await;
    stack
        .delete_app_permission(&b.admin_token(), &a.app_id)
        .await
        .assert_problem(404, &no_app_permission(&a.app_id));
    a.license_usage().await.assert_status(200);
}

#[tokio::test]
async fn an_app_of_one_tenant_used_with_another_tid_is_401() {
    let (stack, a, b, user, _) = two_tenants().await;
    // A's app id in a token for tenant B (which exists and has the API on).
    let token = stack.app_token(&b.id, &a.app_id, &ALL_PROVISIONING_ROLES);
    let expected = no_app_permission(&a.app_id);
    stack
        .license_usage(&token)
        .await
        .assert_problem(401, &expected);
    stack
        .get_user(&token, &user)
        .await
        .assert_problem(401, &expected);
    stack
        .create_user(
            &token,
            json!({ "o365Id": new_id(), "organizationUnitId": a.sales_ou }),
        )
        .await
        .assert_problem(401, &expected);
}

#[tokio::test]
async fn skills_of_another_tenant_cannot_be_assigned() {
    let (_stack, a, b, _, _) = two_tenants().await;
    let skill_a = a.create_skill("French", &a.sales_ou).await;
    let user_b = b.new_user(&b.sales_ou).await;
    let detail = b
        .patch_user(
            &user_b,
            json!({ "skills": [{ "skillId": skill_a, "level": 50 }] }),
        )
        .await
        .assert_problem_status(400);
    assert!(
        detail.contains(&skill_a),
        "detail names the skill: {detail:?}"
    );
}

#[tokio::test]
async fn a_tenant_admin_cannot_create_an_ou_under_another_tenants_ou() {
    let (stack, a, b, _, _) = two_tenants().await;
    stack
        .create_ou(
            &b.admin_token(),
            json!({ "name": "Intruder", "parentId": a.sales_ou }),
        )
        .await
        .assert_problem(
            400,
            "\"parentId\" is not an organization unit of this tenant",
        );
}

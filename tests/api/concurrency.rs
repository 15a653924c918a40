//! Concurrent requests: licences are allocated atomically, users are created once.

use serde_json::json;
use stratus_blackbox_tests::*;

#[tokio::test]
async fn parallel_copies_never_exceed_the_licence_contingent() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["ContactCenter"] = json!(8);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let source = t.new_user(&t.sales_ou).await;
    t.patch_user(&source, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    assert_eq!(t.usage_of("ContactCenter").await, (8, 1, 7));

    let new_ids: Vec<String> = (0..20).map(|_| new_id()).collect();
    let token = t.app_token();
    let replies = all_at_once(20, |i| {
        let (stack, token, new, source) = (
            stack.clone(),
            token.clone(),
            new_ids[i].clone(),
            source.clone(),
        );
        async move {
            stack
                .copy_user(&token, json!({ "newO365Id": new, "sourceO365Id": source }))
                .await
        }
    })
    .await;

    let counts = status_counts(&replies);
    assert_eq!(
        counts.get(&200).copied().unwrap_or(0),
        7,
        "exactly 7 copies succeed; statuses {counts:?}; replies {:#?}",
        replies
            .iter()
            .filter(|r| r.status != 200)
            .map(|r| &r.text)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        counts.get(&403).copied().unwrap_or(0),
        13,
        "statuses {counts:?}"
    );
    for reply in replies.iter().filter(|r| r.status == 403) {
        reply.assert_problem(403, "No license available: Contact Center");
    }

    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (8, 8, 0));

    // Exactly the successful copies exist, each with its licence.
    for (id, reply) in new_ids.iter().zip(&replies) {
        let got = t.get_user(id).await;
        if reply.status == 200 {
            assert_eq!(got.ok()["licenses"], json!(["ContactCenter"]));
        } else {
            got.assert_problem(404, USER_NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn parallel_creates_of_the_same_user_succeed_once() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let id = new_id();
    let token = t.app_token();
    let replies = all_at_once(10, |_| {
        let (stack, token, id, ou) = (stack.clone(), token.clone(), id.clone(), t.sales_ou.clone());
        async move {
            stack
                .create_user(&token, json!({ "o365Id": id, "organizationUnitId": ou }))
                .await
        }
    })
    .await;
    let counts = status_counts(&replies);
    assert_eq!(
        counts.get(&200).copied().unwrap_or(0),
        1,
        "statuses {counts:?}"
    );
    assert_eq!(
        counts.get(&409).copied().unwrap_or(0),
        9,
        "statuses {counts:?}"
    );
    for reply in replies.iter().filter(|r| r.status == 409) {
        reply.assert_problem(409, USER_EXISTS);
    }
    assert_empty_user(&t.get_user(&id).await.ok(), &id, &t.sales_ou);
}

#[tokio::test]
async fn parallel_copies_onto_the_same_new_user_succeed_once() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (source, _) = t.configured_source(&["ContactCenter", "Interact"]).await;
    let new = new_id();
    let token = t.app_token();
    let replies = all_at_once(10, |_| {
        let (stack, token, new, source) =
            (stack.clone(), token.clone(), new.clone(), source.clone());
        async move {
            stack
                .copy_user(&token, json!({ "newO365Id": new, "sourceO365Id": source }))
                .await
        }
    })
    .await;
    let counts = status_counts(&replies);
    assert_eq!(
        counts.get(&200).copied().unwrap_or(0),
        1,
        "statuses {counts:?}"
    );
    assert_eq!(
        counts.get(&409).copied().unwrap_or(0),
        9,
        "statuses {counts:?}"
    );
    // Licences were taken once, for the one copy.
    let usage = t.license_usage().await.ok();
    assert_eq!(usage_entry(&usage, "ContactCenter"), (10, 2, 8));
    assert_eq!(usage_entry(&usage, "Interact"), (5, 2, 3));
}

#[tokio::test]
async fn parallel_deletes_of_the_same_user_free_its_licences_once() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let (keep, _) = t.configured_source(&["ContactCenter"]).await;
    let (gone, _) = t.configured_source(&["ContactCenter"]).await;
    assert_eq!(t.usage_of("ContactCenter").await, (10, 2, 8));
    let token = t.app_token();
    let replies = all_at_once(8, |_| {
        let (stack, token, gone) = (stack.clone(), token.clone(), gone.clone());
        async move { stack.delete_user(&token, &gone, None).await }
    })
    .await;
    let counts = status_counts(&replies);
    assert_eq!(
        counts.get(&200).copied().unwrap_or(0),
        1,
        "statuses {counts:?}"
    );
    assert_eq!(
        counts.get(&404).copied().unwrap_or(0),
        7,
        "statuses {counts:?}"
    );
    assert_eq!(t.usage_of("ContactCenter").await, (10, 1, 9));
    t.get_user(&keep).await.assert_status(200);
}

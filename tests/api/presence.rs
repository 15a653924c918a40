//! Presence from Microsoft Graph: the scheduled `renew-presence-subscriptions` against the
//! local Graph stand-in. A tenant's service members get a subscription to their presence,
//! with a secret `clientState`; a second run inside the renewal window changes nothing.

use serde_json::json;
use stratus_blackbox_tests::*;

#[tokio::test]
async fn members_presence_is_subscribed_once_with_a_secret() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let people = [
        TeamPerson::owner("Owner"),
        TeamPerson::new("One"),
        TeamPerson::new("Two"),
    ];
    let team = new_id();
    graph.put_team(&t.id, &team, "Presence", &people).await;
    stack
        .request(Request::create_service_from_team(
            &t.admin_token(),
            json!({ "teamId": team, "organizationUnitId": t.sales_ou,
                    "upn": format!("p-{}@contoso.com", &new_id()[..8]), "region": "ch-01" }),
        ))
        .await
        .assert_status(201);

    // Only this test's tenant: other tests' tenants are theirs.
    let event = json!({ "tenantIds": [t.id] });
    let report = stack
        .invoke("renew-presence-subscriptions", event.clone())
        .await;
    assert_eq!(
        (&report["tenants"], &report["created"], &report["failed"]),
        (&json!(1), &json!(1), &json!(0)),
        "{report}"
    );
    let subscriptions = graph.subscriptions(&t.id).await;
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    let subscription = &subscriptions[0];
    let resource = subscription["resource"].as_str().unwrap_or_default();
    assert!(
        resource.starts_with("/communications/presences?$filter=id in ("),
        "{resource}"
    );
    for person in &people {
        assert!(resource.contains(&person.user_id), "{resource}");
    }
    assert_eq!(subscription["changeType"], "updated");
    assert!(subscription["notificationUrl"]
        .as_str()
        .is_some_and(|u| u.ends_with("/api/graph/presence-notifications")));
    assert!(
        subscription["clientState"]
            .as_str()
            .is_some_and(|s| s.len() >= 32),
        "a random secret: {subscription}"
    );

    let again = stack.invoke("renew-presence-subscriptions", event).await;
    assert_eq!(
        (&again["created"], &again["renewed"], &again["removed"]),
        (&json!(0), &json!(0), &json!(0)),
        "fresh subscriptions are left alone: {again}"
    );
    assert_eq!(graph.subscriptions(&t.id).await.len(), 1);
}

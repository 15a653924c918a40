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

const WEBHOOK: &str = "/api/graph/presence-notifications";

#[tokio::test]
async fn graphs_validation_handshake_is_echoed_as_plain_text() {
    let stack = Stack::from_env();
    let reply = stack
        .send(
            reqwest::Method::POST,
            &format!(
                "{WEBHOOK}?validationToken=Validation%3A%20Testing%20client%20application%20reachability"
            ),
            None,
            Body::None,
        )
        .await;
    reply.assert_status(200);
    assert_eq!(
        reply.text,
        "Validation: Testing client application reachability"
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        reply.header("content-type")
    );
    let long = "x".repeat(1025);
    stack
        .send(
            reqwest::Method::POST,
            &format!("{WEBHOOK}?validationToken={long}"),
            None,
            Body::None,
        )
        .await
        .assert_problem_status(400);
}

#[tokio::test]
async fn notifications_count_only_with_their_subscriptions_secret() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let (owner, member) = (TeamPerson::owner("Owner"), TeamPerson::new("Member"));
    let team = new_id();
    graph
        .put_team(&t.id, &team, "Webhook", &[owner.clone(), member.clone()])
        .await;
    stack
        .request(Request::create_service_from_team(
            &t.admin_token(),
            json!({ "teamId": team, "organizationUnitId": t.sales_ou,
                    "upn": format!("w-{}@contoso.com", &new_id()[..8]), "region": "ch-01" }),
        ))
        .await
        .assert_status(201);
    stack
        .invoke(
            "renew-presence-subscriptions",
            json!({ "tenantIds": [t.id] }),
        )
        .await;
    let subscription = graph.subscriptions(&t.id).await.remove(0);
    let id = subscription["id"].as_str().expect("id").to_owned();
    let secret = subscription["clientState"]
        .as_str()
        .expect("clientState")
        .to_owned();
    let notification = |secret: &str, user: &str, availability: &str, activity: &str| {
        json!({
            "subscriptionId": id, "clientState": secret, "changeType": "updated",
            "resource": format!("communications/presences('{user}')"),
            "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
            "resourceData": { "@odata.type": "#Microsoft.Graph.presence",
                              "@odata.id": format!("communications/presences('{user}')"),
                              "id": user, "availability": availability, "activity": activity },
            "tenantId": t.id
        })
    };
    let batch = json!({ "value": [
        notification(&secret, &owner.user_id, "Busy", "InACall"),
        notification("not-the-secret", &member.user_id, "Away", "Away"),
        notification(&secret, &new_id(), "Available", "Available"),
        // Later in the batch: observed later, so it wins.
        notification(&secret, &owner.user_id, "Available", "Available"),
    ]});
    let reply = stack
        .send(reqwest::Method::POST, WEBHOOK, None, batch)
        .await;
    reply.assert_status(202);
    assert_eq!(
        reply.body,
        json!({ "applied": 1, "stale": 1, "rejected": 1, "unknownUsers": 1,
                "withoutData": 0, "encrypted": 0 }),
        "the owner's first change is superseded by their second"
    );

    let table = stratus_kernel::table::Table::from_env()
        .await
        .expect("the table");
    let tenant = stratus_kernel::Guid::parse(&t.id).expect("tenant");
    let state_of = |user: &str| {
        let table = table.clone();
        let tenant = tenant.clone();
        let user = stratus_kernel::Guid::parse(user).expect("user");
        async move {
            table
                .agent_state(&tenant, &user)
                .await
                .expect("agent state")
                .and_then(|s| s.presence)
        }
    };
    let owner_presence = state_of(&owner.user_id).await.expect("owner's presence");
    assert_eq!(
        format!("{:?}", owner_presence.availability),
        "Available",
        "the later notification of the batch wins"
    );
    assert_eq!(
        state_of(&member.user_id).await,
        None,
        "a notification with the wrong secret changes nothing"
    );

    // Graph's sequenceNumber orders deliveries: a version Graph delivers late is stale.
    let versioned = |availability: &str, sequence: &str| {
        let mut n = notification(&secret, &member.user_id, availability, availability);
        n["resourceData"]["sequenceNumber"] = json!(sequence);
        json!({ "value": [n] })
    };
    for (batch, applied, stale) in [
        (versioned("Busy", "0000000000000020"), 1, 0),
        (versioned("Away", "0000000000000010"), 0, 1),
    ] {
        let reply = stack
            .send(reqwest::Method::POST, WEBHOOK, None, batch)
            .await;
        reply.assert_status(202);
        assert_eq!(
            (&reply.body["applied"], &reply.body["stale"]),
            (&json!(applied), &json!(stale)),
            "{}",
            reply.text
        );
    }
    let member_presence = state_of(&member.user_id).await.expect("member's presence");
    assert_eq!(format!("{:?}", member_presence.availability), "Busy");
}

//! Teams-based services (`POST /api/admin/services/from-team`, `POST …/{serviceId}/sync`, the
//! scheduled `sync-teams-services`) against the local Graph stand-in: the roster read across
//! pages (the stand-in pages by three), throttling waited out, people made users and active
//! members, joiners, leavers and renamed members synced, the Advanced Routing seat, unknown
//! teams named, and other tenants kept out. Memberships are read from the table: no HTTP
//! operation lists a service's members yet.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};
use stratus_blackbox_tests::*;
use stratus_kernel::Guid;
use stratus_services::store::ServiceStore;

fn upn() -> String {
    format!("team-{}@contoso.com", &new_id()[..8])
}

fn from_team_body(t: &TestTenant, team: &str) -> Value {
    json!({ "teamId": team, "organizationUnitId": t.sales_ou, "upn": upn(), "region": "ch-01" })
}

/// The service's members: O365 id → (active, portal role).
async fn members(t: &TestTenant, service: &str) -> BTreeMap<String, (bool, String)> {
    let table = stratus_kernel::table::Table::from_env()
        .await
        .unwrap_or_else(|e| panic!("connecting to the table: {e}"));
    let tenant = Guid::parse(&t.id).expect("tenant GUID");
    let service = Guid::parse(service).expect("service GUID");
    table
        .agents_of(&tenant, &service)
        .await
        .unwrap_or_else(|e| panic!("reading the members: {e}"))
        .into_iter()
        .map(|a| {
            let role = a.portal_role.map(|r| format!("{r:?}")).unwrap_or_default();
            (a.o365_id.to_string(), (a.active, role))
        })
        .collect()
}

fn expected(people: &[&TeamPerson]) -> BTreeMap<String, (bool, String)> {
    people
        .iter()
        .map(|p| {
            let role = if p.owner { "Owner" } else { "Member" };
            (p.user_id.clone(), (true, role.to_owned()))
        })
        .collect()
}

async fn provision(t: &TestTenant, team: &str) -> Value {
    let reply = t
        .stack
        .request(Request::create_service_from_team(
            &t.admin_token(),
            from_team_body(t, team),
        ))
        .await;
    reply.assert_status(201);
    reply.body.clone()
}

#[tokio::test]
async fn a_team_becomes_a_service_whose_people_are_active_members_and_users() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    // Seven people: three pages of the stand-in's roster.
    let mut people = vec![TeamPerson::owner("Megan Bowen")];
    people.extend((1..7).map(|i| TeamPerson::new(&format!("Agent {i}"))));
    // One of them is a user already (manually managed): the record stays theirs.
    let existing = &people[1];
    t.create_user(&existing.user_id, &t.sales_ou)
        .await
        .assert_status(200);
    let team = new_id();
    graph.put_team(&t.id, &team, "Customer Care", &people).await;

    let service = provision(&t, &team).await;
    assert_eq!(service["name"], "Customer Care", "named after the team");
    assert_eq!(service["assignmentType"], "TeamsBased");
    assert_eq!(service["licenseType"], "AdvancedRouting");
    assert_eq!(service["teamId"], team.as_str());
    assert_eq!(t.usage_of("AdvancedRouting").await.1, 1);
    let id = service["id"].as_str().expect("id");
    assert_eq!(
        members(&t, id).await,
        expected(&people.iter().collect::<Vec<_>>())
    );

    let synced = t.get_user(&people[3].user_id).await.ok();
    assert_eq!(synced["assignmentType"], "TeamsSynced");
    assert_eq!(synced["displayName"], "Agent 3");
    assert_eq!(synced["email"], "agent.3@contoso.com");
    assert_eq!(synced["organizationUnitId"], t.sales_ou.as_str());
    let kept = t.get_user(&existing.user_id).await.ok();
    assert_eq!(
        kept["assignmentType"], "SkillBased",
        "an existing record stays"
    );
    assert_eq!(kept["displayName"], existing.display_name.as_str());

    // A name given wins over the team's.
    let mut body = from_team_body(&t, &team);
    body["name"] = json!("Care Line");
    let named = stack
        .request(Request::create_service_from_team(&t.admin_token(), body))
        .await;
    named.assert_status(201);
    assert_eq!(named.body["name"], "Care Line");
}

#[tokio::test]
async fn graph_throttling_is_waited_out() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let people = [TeamPerson::owner("Owner"), TeamPerson::new("Member")];
    let team = new_id();
    graph.put_team(&t.id, &team, "Throttled", &people).await;
    graph.throttle(&t.id, 2).await;
    let started = Instant::now();
    let service = provision(&t, &team).await;
    assert!(
        started.elapsed().as_secs_f64() >= 2.0,
        "two answers of Retry-After: 1 are waited out: {:?}",
        started.elapsed()
    );
    let id = service["id"].as_str().expect("id");
    assert_eq!(members(&t, id).await.len(), 2);
}

#[tokio::test]
async fn a_sync_adds_joiners_removes_leavers_and_refreshes_the_renamed() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let (owner, stays, leaves) = (
        TeamPerson::owner("Owner"),
        TeamPerson::new("Stays"),
        TeamPerson::new("Leaves"),
    );
    let team = new_id();
    graph
        .put_team(
            &t.id,
            &team,
            "Sync",
            &[owner.clone(), stays.clone(), leaves.clone()],
        )
        .await;
    let service = provision(&t, &team).await;
    let id = service["id"].as_str().expect("id");

    let joins = TeamPerson::new("Joins");
    let renamed = TeamPerson {
        display_name: "Stays Renamed".into(),
        email: "renamed@contoso.com".into(),
        ..stays.clone()
    };
    graph
        .put_team(
            &t.id,
            &team,
            "Sync",
            &[owner.clone(), renamed.clone(), joins.clone()],
        )
        .await;
    let counts = stack.request(Request::sync_service(&admin, id)).await.ok();
    assert_eq!(counts, json!({ "added": 1, "removed": 1, "updated": 1 }));
    assert_eq!(members(&t, id).await, expected(&[&owner, &renamed, &joins]));
    let user = t.get_user(&stays.user_id).await.ok();
    assert_eq!(user["displayName"], "Stays Renamed");
    assert_eq!(user["email"], "renamed@contoso.com");
    // The leaver stays a user; only the membership ended.
    t.get_user(&leaves.user_id).await.assert_status(200);

    // A team role change is an update too; nothing else changed.
    let promoted = TeamPerson {
        owner: true,
        ..joins.clone()
    };
    graph
        .put_team(
            &t.id,
            &team,
            "Sync",
            &[owner.clone(), renamed.clone(), promoted.clone()],
        )
        .await;
    let counts = stack.request(Request::sync_service(&admin, id)).await.ok();
    assert_eq!(counts, json!({ "added": 0, "removed": 0, "updated": 1 }));
    assert_eq!(
        members(&t, id).await[&joins.user_id],
        (true, "Owner".into())
    );
    let again = stack.request(Request::sync_service(&admin, id)).await.ok();
    assert_eq!(again, json!({ "added": 0, "removed": 0, "updated": 0 }));

    let unknown_service = stack
        .request(Request::sync_service(&admin, &new_id()))
        .await;
    unknown_service.assert_problem_status(404);
}

#[tokio::test]
async fn the_scheduled_sync_applies_roster_changes() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let (owner, leaves) = (TeamPerson::owner("Owner"), TeamPerson::new("Leaves"));
    let team = new_id();
    graph
        .put_team(&t.id, &team, "Scheduled", &[owner.clone(), leaves.clone()])
        .await;
    let service = provision(&t, &team).await;
    let id = service["id"].as_str().expect("id");
    let joins = TeamPerson::new("Joins");
    graph
        .put_team(&t.id, &team, "Scheduled", &[owner.clone(), joins.clone()])
        .await;
    // Only this test's tenant: other tests' services are theirs to sync.
    let answer = stack
        .invoke("sync-teams-services", json!({ "tenantIds": [t.id] }))
        .await;
    assert_eq!(
        (
            &answer["services"],
            &answer["failed"],
            &answer["added"],
            &answer["removed"]
        ),
        (&json!(1), &json!(0), &json!(1), &json!(1)),
        "{answer}"
    );
    assert_eq!(members(&t, id).await, expected(&[&owner, &joins]));
}

#[tokio::test]
async fn from_team_takes_an_advanced_routing_seat_or_is_refused_like_create_service() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let mut licenses = default_licenses();
    licenses["AdvancedRouting"] = json!(0);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let team = new_id();
    graph
        .put_team(&t.id, &team, "No Seat", &[TeamPerson::owner("Owner")])
        .await;
    let refused = stack
        .request(Request::create_service_from_team(
            &t.admin_token(),
            from_team_body(&t, &team),
        ))
        .await;
    let manual = stack
        .request(Request::create_service(
            &t.admin_token(),
            json!({ "name": "Manual", "upn": upn(), "organizationUnitId": t.sales_ou,
                    "licenseType": "AdvancedRouting", "assignmentType": "SkillBased",
                    "region": "ch-01" }),
        ))
        .await;
    refused.assert_problem(403, "No license available: Advanced Routing");
    manual.assert_problem(403, "No license available: Advanced Routing");
    assert_eq!(t.usage_of("AdvancedRouting").await.1, 0);
}

#[tokio::test]
async fn an_unknown_team_is_named_and_other_tenants_are_kept_out() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let (a, b) = (
        TestTenant::create(&stack).await,
        TestTenant::create(&stack).await,
    );
    let unknown = new_id();
    stack
        .request(Request::create_service_from_team(
            &a.admin_token(),
            from_team_body(&a, &unknown),
        ))
        .await
        .assert_problem(
            400,
            &format!("\"teamId\" {unknown} is not a team of this tenant in Microsoft Teams"),
        );

    let team = new_id();
    graph
        .put_team(&a.id, &team, "Tenant A", &[TeamPerson::owner("Owner")])
        .await;
    let service = provision(&a, &team).await;
    let id = service["id"].as_str().expect("id");
    // B cannot provision A's team (Graph answers per tenant) nor sync A's service.
    let detail = stack
        .request(Request::create_service_from_team(
            &b.admin_token(),
            from_team_body(&b, &team),
        ))
        .await
        .assert_problem_status(400);
    assert!(detail.contains(&team), "{detail}");
    stack
        .request(Request::sync_service(&b.admin_token(), id))
        .await
        .assert_problem(404, &format!("Service {id} was not found"));
    // Neither route answers without a tenant admin's token.
    for request in [
        Request::create_service_from_team(&a.app_token(), from_team_body(&a, &team)),
        Request::sync_service(&a.app_token(), id),
    ] {
        stack.request(request).await.assert_problem_status(403);
    }
    for request in [
        Request::new(reqwest::Method::POST, FROM_TEAM_PATH).body(from_team_body(&a, &team)),
        Request::new(reqwest::Method::POST, sync_path(id)),
    ] {
        stack.request(request).await.assert_problem_status(401);
    }
}

#[tokio::test]
async fn only_teams_based_services_sync() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let reply = stack
        .request(Request::create_service(
            &t.admin_token(),
            json!({ "name": "Skills", "upn": upn(), "organizationUnitId": t.sales_ou,
                    "licenseType": "ContactCenter", "assignmentType": "SkillBased",
                    "region": "ch-01" }),
        ))
        .await;
    reply.assert_status(201);
    let id = reply.body["id"].as_str().expect("id");
    stack
        .request(Request::sync_service(&t.admin_token(), id))
        .await
        .assert_problem(
            400,
            "Only Teams-based services sync with a team; this service is SkillBased",
        );
}

#[tokio::test]
async fn the_tenant_setting_can_disable_provisioning_from_teams() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let team = new_id();
    graph
        .put_team(&t.id, &team, "Disabled", &[TeamPerson::owner("Owner")])
        .await;
    stack
        .request(Request::patch_tenant_settings(
            &t.admin_token(),
            None,
            json!({ "serviceProvisioning": { "minimumRole": "Disabled" } }),
        ))
        .await
        .assert_status(200);
    stack
        .request(Request::create_service_from_team(
            &t.admin_token(),
            from_team_body(&t, &team),
        ))
        .await
        .assert_problem(
            403,
            "Provisioning services from teams is disabled for this tenant (tenant setting \
             serviceProvisioning.minimumRole is Disabled)",
        );
    assert_eq!(t.usage_of("AdvancedRouting").await.1, 0);

    // TenantAdmin still admits a tenant admin.
    stack
        .request(Request::patch_tenant_settings(
            &t.admin_token(),
            None,
            json!({ "serviceProvisioning": { "minimumRole": "TenantAdmin" } }),
        ))
        .await
        .assert_status(200);
    provision(&t, &team).await;
}

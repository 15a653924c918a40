//! Services (`/api/admin/services`): the fields and their refusals, the user assignment type
//! fixed at creation, the region chosen once, the UPN unique per tenant, licence seats taken,
//! moved and freed atomically, pages, and other tenants kept out.

use futures::future::join_all;
use serde_json::{json, Value};
use stratus_blackbox_tests::*;

fn service_body(t: &TestTenant, upn: &str, license: &str, assignment: &str) -> Value {
    json!({
        "name": "Support", "upn": upn, "pstn": "+41445001122",
        "organizationUnitId": t.support_ou, "licenseType": license,
        "assignmentType": assignment, "region": "ch-01"
    })
}

fn upn() -> String {
    format!("queue-{}@contoso.com", &new_id()[..8])
}

async fn create(t: &TestTenant, body: Value) -> Value {
    let reply = t
        .stack
        .request(Request::create_service(&t.admin_token(), body))
        .await;
    reply.assert_status(201);
    reply.body.clone()
}

#[tokio::test]
async fn a_service_is_created_read_listed_changed_and_deleted_with_its_seat() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let address = upn();
    let created = create(
        &t,
        service_body(&t, &address, "ContactCenter", "SkillBased"),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["upn"], address.as_str());
    assert_eq!(created["assignmentType"], "SkillBased");
    assert_eq!(created["licenseType"], "ContactCenter");
    assert_eq!(created["region"], "ch-01");
    assert_eq!(t.usage_of("ContactCenter").await.1, 1);

    let read = stack.request(Request::get_service(&admin, &id)).await.ok();
    assert_eq!(read, created);
    let listed = stack.request(Request::list_services(&admin, "")).await.ok();
    assert_eq!(listed["items"], json!([created]));
    assert_eq!(listed["nextCursor"], Value::Null);

    let renamed = stack
        .request(Request::update_service(
            &admin,
            &id,
            json!({ "name": "Billing", "pstn": null }),
        ))
        .await
        .ok();
    assert_eq!(renamed["name"], "Billing");
    assert_eq!(renamed["pstn"], Value::Null);
    assert_eq!(renamed["upn"], address.as_str());

    stack
        .request(Request::delete_service(&admin, &id))
        .await
        .assert_status(204);
    let gone = stack.request(Request::get_service(&admin, &id)).await;
    gone.assert_problem(404, &format!("Service {id} was not found"));
    assert!(
        gone.body["requestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "a problem carries the request id: {}",
        gone.text
    );
    assert_eq!(t.usage_of("ContactCenter").await.1, 0);
    // The UPN is free again.
    create(
        &t,
        service_body(&t, &address, "ContactCenter", "SkillBased"),
    )
    .await;
}

#[tokio::test]
async fn bad_service_bodies_are_refused_naming_the_field() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let with = |key: &str, value: Value| {
        let mut body = service_body(&t, &upn(), "ContactCenter", "SkillBased");
        body[key] = value;
        Request::create_service(&admin, body)
    };
    let without = |key: &str| {
        let mut body = service_body(&t, &upn(), "ContactCenter", "SkillBased");
        body.as_object_mut().map(|o| o.remove(key));
        Request::create_service(&admin, body)
    };
    stack
        .assert_refusals(vec![
            ("no name", without("name"), 400, Detail::is("\"name\" is required")),
            ("no upn", without("upn"), 400, Detail::is("\"upn\" is required")),
            (
                "upn without a domain",
                with("upn", json!("support")),
                400,
                Detail::starts_with("\"upn\" must be a SIP address"),
            ),
            (
                "pstn not E.164",
                with("pstn", json!("0445001122")),
                400,
                Detail::contains("is not an E.164 number"),
            ),
            (
                "a licence no service takes",
                with("licenseType", json!("Interact")),
                400,
                Detail::contains("is not a service licence"),
            ),
            (
                "an unknown assignment type",
                with("assignmentType", json!("Teams")),
                400,
                Detail::contains("is not an assignment type"),
            ),
            (
                "Teams-based, which comes from its team",
                with("assignmentType", json!("TeamsBased")),
                400,
                Detail::is(
                    "A Teams-based service is provisioned from its team: POST /api/admin/services/from-team",
                ),
            ),
            (
                "another tenant's unit",
                with("organizationUnitId", json!(new_id())),
                400,
                Detail::is("\"organizationUnitId\" is not an organization unit of this tenant"),
            ),
            (
                "an unknown field",
                with("colour", json!("red")),
                400,
                Detail::is("\"colour\" is not a field of a service"),
            ),
            (
                "an unknown region",
                with("region", json!("mars-01")),
                400,
                Detail::starts_with("\"region\" \"mars-01\" is not a region (one of ch-01"),
            ),
            (
                "no region for the tenant's first service",
                without("region"),
                400,
                Detail::starts_with("\"region\" is required for the tenant's first service"),
            ),
        ])
        .await;
    // Nothing was stored, no seat taken, no region chosen.
    let listed = stack.request(Request::list_services(&admin, "")).await.ok();
    assert_eq!(listed["items"], json!([]));
    assert_eq!(t.usage_of("ContactCenter").await.1, 0);
}

#[tokio::test]
async fn the_assignment_type_and_the_region_never_change() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let first = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let id = first["id"].as_str().unwrap().to_owned();

    let mut elsewhere = service_body(&t, &upn(), "ContactCenter", "None");
    elsewhere["region"] = json!("use-01");
    stack
        .request(Request::create_service(&admin, elsewhere.clone()))
        .await
        .assert_problem(
            409,
            "The tenant's data region is ch-01 and can never change",
        );
    // Without a region a later service is in the tenant's.
    elsewhere.as_object_mut().map(|o| o.remove("region"));
    let second = create(&t, elsewhere).await;
    assert_eq!(second["region"], "ch-01");

    stack
        .assert_refusals(vec![
            (
                "another assignment type",
                Request::update_service(&admin, &id, json!({ "assignmentType": "None" })),
                409,
                Detail::is(
                    "The user assignment type is fixed when a service is created; this service stays SkillBased",
                ),
            ),
            (
                "another region",
                Request::update_service(&admin, &id, json!({ "region": "use-01" })),
                409,
                Detail::is("The tenant's data region is ch-01 and can never change"),
            ),
        ])
        .await;
    let unchanged = stack.request(Request::get_service(&admin, &id)).await.ok();
    assert_eq!(unchanged, first);
    // A none service's name is editable too (the seed's feature matrix).
    let second_id = second["id"].as_str().unwrap();
    let renamed = stack
        .request(Request::update_service(
            &admin,
            second_id,
            json!({ "name": "IVR" }),
        ))
        .await
        .ok();
    assert_eq!(renamed["name"], "IVR");
}

#[tokio::test]
async fn a_upn_belongs_to_one_service_of_the_tenant() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let address = upn();
    let first = create(
        &t,
        service_body(&t, &address, "ContactCenter", "SkillBased"),
    )
    .await;
    let shouting = address.to_uppercase();
    stack
        .request(Request::create_service(
            &admin,
            service_body(&t, &shouting, "ContactCenter", "SkillBased"),
        ))
        .await
        .assert_problem(
            409,
            &format!("Another service of this tenant has the UPN {shouting}"),
        );
    let other = create(&t, service_body(&t, &upn(), "ContactCenter", "None")).await;
    let other_id = other["id"].as_str().unwrap();
    stack
        .request(Request::update_service(
            &admin,
            other_id,
            json!({ "upn": address }),
        ))
        .await
        .assert_problem_status(409);
    // The refused create took no seat.
    assert_eq!(t.usage_of("ContactCenter").await.1, 2);
    // Another tenant may use the same address.
    let u = TestTenant::create(&stack).await;
    create(
        &u,
        service_body(&u, &address, "ContactCenter", "SkillBased"),
    )
    .await;
    assert_eq!(first["upn"], address.as_str());
}

#[tokio::test]
async fn a_licence_change_moves_the_seat_or_changes_nothing() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let service = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let id = service["id"].as_str().unwrap();
    let moved = stack
        .request(Request::update_service(
            &admin,
            id,
            json!({ "licenseType": "EnterpriseRouting" }),
        ))
        .await
        .ok();
    assert_eq!(moved["licenseType"], "EnterpriseRouting");
    assert_eq!(t.usage_of("ContactCenter").await.1, 0);
    assert_eq!(t.usage_of("EnterpriseRouting").await.1, 1);

    // AdvancedRouting: 2 seats, both taken by other services.
    for _ in 0..2 {
        create(&t, service_body(&t, &upn(), "AdvancedRouting", "None")).await;
    }
    stack
        .request(Request::update_service(
            &admin,
            id,
            json!({ "licenseType": "AdvancedRouting" }),
        ))
        .await
        .assert_problem(403, "No license available: Advanced Routing");
    let unchanged = stack.request(Request::get_service(&admin, id)).await.ok();
    assert_eq!(unchanged["licenseType"], "EnterpriseRouting");
    assert_eq!(t.usage_of("EnterpriseRouting").await.1, 1);
    assert_eq!(t.usage_of("AdvancedRouting").await.1, 2);
}

#[tokio::test]
async fn twenty_parallel_creations_against_seven_seats_make_seven_services() {
    let stack = Stack::from_env();
    let mut licenses = default_licenses();
    licenses["AdvancedRouting"] = json!(7);
    let t = TestTenant::create_with_licenses(&stack, licenses).await;
    let admin = t.admin_token();
    let replies = join_all((0..20).map(|_| {
        let request =
            Request::create_service(&admin, service_body(&t, &upn(), "AdvancedRouting", "None"));
        stack.request(request)
    }))
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        7,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for refused in replies.iter().filter(|r| r.status != 201) {
        refused.assert_problem(403, "No license available: Advanced Routing");
    }
    assert_eq!(t.usage_of("AdvancedRouting").await, (7, 7, 0));
    let listed = stack
        .request(Request::list_services(&admin, "limit=100"))
        .await
        .ok();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn services_are_listed_a_page_at_a_time() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let s = create(&t, service_body(&t, &upn(), "ContactCenter", "None")).await;
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let first = stack
        .request(Request::list_services(&admin, "limit=2"))
        .await
        .ok();
    let cursor = first["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = stack
        .request(Request::list_services(
            &admin,
            &format!("limit=2&cursor={cursor}"),
        ))
        .await
        .ok();
    let seen: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|page| page["items"].as_array().cloned().unwrap_or_default())
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, ids);
    assert_eq!(second["nextCursor"], Value::Null);
    stack
        .assert_refusals(vec![
            (
                "limit 0",
                Request::list_services(&admin, "limit=0"),
                400,
                Detail::is("\"limit\" \"0\" must be a whole number from 1 to 100"),
            ),
            (
                "limit 101",
                Request::list_services(&admin, "limit=101"),
                400,
                Detail::is("\"limit\" \"101\" must be a whole number from 1 to 100"),
            ),
            (
                "a cursor this list never answered",
                Request::list_services(&admin, "cursor=page-2"),
                400,
                Detail::is("\"cursor\" \"page-2\" is not a cursor this list answered"),
            ),
        ])
        .await;
}

#[tokio::test]
async fn another_tenants_admin_neither_sees_nor_touches_a_service() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let other = TestTenant::create(&stack).await;
    let service = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let id = service["id"].as_str().unwrap();
    let stranger = other.admin_token();
    let not_found = format!("Service {id} was not found");
    stack
        .assert_refusals(vec![
            (
                "get",
                Request::get_service(&stranger, id),
                404,
                Detail::is(not_found.clone()),
            ),
            (
                "update",
                Request::update_service(&stranger, id, json!({ "name": "Mine" })),
                404,
                Detail::is(not_found.clone()),
            ),
            (
                "delete",
                Request::delete_service(&stranger, id),
                404,
                Detail::is(not_found),
            ),
        ])
        .await;
    let listed = stack
        .request(Request::list_services(&stranger, ""))
        .await
        .ok();
    assert_eq!(listed["items"], json!([]));
    // A provisioning application is no tenant admin.
    stack
        .request(Request::list_services(&t.app_token(), ""))
        .await
        .assert_problem(403, &format!("Required role missing: {ROLE_TENANT_ADMIN}"));
    let still = stack
        .request(Request::get_service(&t.admin_token(), id))
        .await
        .ok();
    assert_eq!(still, service);
}

fn agent_path(service: &str, user: &str) -> String {
    format!("{}/agents/{user}", service_path(service))
}

#[tokio::test]
async fn agents_are_contact_center_users_of_skill_based_services() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let skills = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let skills = skills["id"].as_str().unwrap().to_owned();
    let gateway = create(&t, service_body(&t, &upn(), "ContactCenter", "None")).await;
    let gateway = gateway["id"].as_str().unwrap().to_owned();
    let agent = t.new_user(&t.sales_ou).await;
    t.patch_user(&agent, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    let unlicensed = t.new_user(&t.sales_ou).await;

    let put = |service: &str, user: &str| {
        Request::new(reqwest::Method::PUT, agent_path(service, user)).bearer(&admin)
    };
    let added = stack.request(put(&skills, &agent)).await.ok();
    assert_eq!(added["serviceId"], skills.as_str());
    assert_eq!(added["o365Id"], agent.as_str());
    assert_eq!(added["active"], false, "agents start inactive: {added}");
    // Adding again answers the membership as it is.
    assert_eq!(stack.request(put(&skills, &agent)).await.ok(), added);

    stack
        .assert_refusals(vec![
            (
                "a user without a Contact Center licence",
                put(&skills, &unlicensed),
                400,
                Detail::is(format!(
                    "User {unlicensed} has no Contact Center license; only licensed users can be agents"
                )),
            ),
            (
                "a none service",
                put(&gateway, &agent),
                400,
                Detail::is("Agents are assigned to skill-based services only; this service is None"),
            ),
            (
                "a user who does not exist",
                put(&skills, &new_id()),
                404,
                Detail::is(USER_NOT_FOUND),
            ),
            (
                "a service that does not exist",
                put(&new_id(), &agent),
                404,
                Detail::starts_with("Service "),
            ),
        ])
        .await;

    let remove =
        || Request::new(reqwest::Method::DELETE, agent_path(&skills, &agent)).bearer(&admin);
    stack.request(remove()).await.assert_status(204);
    stack.request(remove()).await.assert_problem(
        404,
        &format!("User {agent} is not an agent of service {skills}"),
    );
}

#[tokio::test]
async fn deleting_a_user_ends_its_memberships() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let service = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let service = service["id"].as_str().unwrap().to_owned();
    let agent = t.new_user(&t.sales_ou).await;
    t.patch_user(&agent, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    stack
        .request(Request::new(reqwest::Method::PUT, agent_path(&service, &agent)).bearer(&admin))
        .await
        .assert_status(200);
    stack
        .delete_user(&t.app_token(), &agent, None)
        .await
        .assert_status(200);
    stack
        .request(Request::new(reqwest::Method::DELETE, agent_path(&service, &agent)).bearer(&admin))
        .await
        .assert_problem(
            404,
            &format!("User {agent} is not an agent of service {service}"),
        );
    // The service itself stays, and can be deleted.
    stack
        .request(Request::delete_service(&admin, &service))
        .await
        .assert_status(204);
}

#[tokio::test]
async fn responsibility_profiles_and_not_available_reasons_are_the_tenants_own() {
    let stack = Stack::from_env();
    let t = TestTenant::create(&stack).await;
    let other = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let service = create(&t, service_body(&t, &upn(), "ContactCenter", "SkillBased")).await;
    let service = service["id"].as_str().unwrap().to_owned();
    let foreign = create(
        &other,
        service_body(&other, &upn(), "ContactCenter", "None"),
    )
    .await;
    let foreign = foreign["id"].as_str().unwrap().to_owned();

    let gateway = create(&t, service_body(&t, &upn(), "ContactCenter", "None")).await;
    let gateway = gateway["id"].as_str().unwrap().to_owned();
    let profiles = "/api/admin/responsibility-profiles";
    let reasons = "/api/admin/not-available-reasons";
    let post = |path: &str, body: Value| {
        Request::new(reqwest::Method::POST, path)
            .bearer(&admin)
            .body(body)
    };
    let created = stack
        .request(post(
            profiles,
            json!({ "name": "Day shift", "serviceIds": [service] }),
        ))
        .await;
    created.assert_status(201);
    assert_eq!(created.body["serviceIds"], json!([service]));
    let reason = stack
        .request(post(reasons, json!({ "name": "Lunch" })))
        .await;
    reason.assert_status(201);

    stack
        .assert_refusals(vec![
            (
                "another tenant's service",
                post(
                    profiles,
                    json!({ "name": "Night", "serviceIds": [foreign] }),
                ),
                400,
                Detail::is(format!(
                    "\"serviceIds\" contains a service that is not one of this tenant's: {foreign}"
                )),
            ),
            (
                "a profile covering a service of type None",
                post(
                    profiles,
                    json!({ "name": "Gateway", "serviceIds": [gateway] }),
                ),
                400,
                Detail::is(format!(
                    "Responsibility profiles cover skill-based services only; service {gateway} is None"
                )),
            ),
            (
                "a profile without services",
                post(profiles, json!({ "name": "Night" })),
                400,
                Detail::is("\"serviceIds\" is required"),
            ),
            (
                "a reason without a name",
                post(reasons, json!({})),
                400,
                Detail::is("\"name\" is required"),
            ),
        ])
        .await;

    let twice = stack
        .request(post(
            profiles,
            json!({ "name": "Late", "serviceIds": [service, service] }),
        ))
        .await;
    twice.assert_status(201);
    assert_eq!(
        twice.body["serviceIds"],
        json!([service]),
        "named twice, counted once"
    );

    let get = |path: &str, token: &str| Request::new(reqwest::Method::GET, path).bearer(token);
    let listed = stack.request(get(profiles, &admin)).await.ok();
    let mut expected = vec![created.body.clone(), twice.body.clone()];
    expected.sort_by_key(|p| p["id"].as_str().map(str::to_owned));
    assert_eq!(listed, json!(expected));
    let listed = stack.request(get(reasons, &admin)).await.ok();
    assert_eq!(listed, json!([reason.body]));
    // The other tenant sees none of them.
    let stranger = other.admin_token();
    assert_eq!(
        stack.request(get(profiles, &stranger)).await.ok(),
        json!([])
    );
    assert_eq!(stack.request(get(reasons, &stranger)).await.ok(), json!([]));
}

//! Agents' duty and presence, and services' distribution settings: an agent's own state
//! with their user token, an admin acting for them, the Active toggle's feature matrix, the
//! presence API (ordering, members only), distribution ranges and the policy assignment, and
//! other tenants kept out of all of it.

use reqwest::Method;
use serde_json::{json, Value};
use stratus_blackbox_tests::*;

/// A tenant with a skill-based service, a licensed agent of it, a profile covering it and a
/// not-available reason.
struct Desk {
    t: TestTenant,
    service: String,
    agent: String,
    profile: String,
    reason: String,
}

fn id_of(reply: &Reply) -> String {
    reply.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {}", reply.text))
        .to_owned()
}

async fn service(t: &TestTenant, assignment: &str) -> String {
    let reply = t
        .stack
        .request(Request::create_service(
            &t.admin_token(),
            json!({
                "name": "Support", "upn": format!("q-{}@contoso.com", &new_id()[..8]),
                "organizationUnitId": t.support_ou, "licenseType": "ContactCenter",
                "assignmentType": assignment, "region": "ch-01"
            }),
        ))
        .await;
    reply.assert_status(201);
    id_of(&reply)
}

async fn desk(stack: &Stack) -> Desk {
    let t = TestTenant::create(stack).await;
    let admin = t.admin_token();
    let service = service(&t, "SkillBased").await;
    let agent = t.new_user(&t.sales_ou).await;
    t.patch_user(&agent, json!({ "licenses": ["ContactCenter"] }))
        .await
        .assert_status(200);
    stack
        .request(Request::add_service_agent(&admin, &service, &agent))
        .await
        .assert_status(200);
    let profile = stack
        .request(
            Request::new(Method::POST, "/api/admin/responsibility-profiles")
                .bearer(&admin)
                .body(json!({ "name": "Day", "serviceIds": [service] })),
        )
        .await;
    profile.assert_status(201);
    let reason = stack
        .request(
            Request::new(Method::POST, "/api/admin/not-available-reasons")
                .bearer(&admin)
                .body(json!({ "name": "Lunch" })),
        )
        .await;
    reason.assert_status(201);
    Desk {
        service,
        agent,
        profile: id_of(&profile),
        reason: id_of(&reason),
        t,
    }
}

impl Desk {
    fn agent_token(&self) -> String {
        self.t.token(
            &self
                .t
                .stack
                .spec()
                .tenant(&self.t.id)
                .object_id(&self.agent),
        )
    }
}

#[tokio::test]
async fn an_agent_switches_profile_and_not_available_reason_with_their_own_token() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let me = d.agent_token();
    let state = stack
        .request(Request::put_my_state(
            &me,
            json!({ "activeProfileId": d.profile, "notAvailableReasonId": d.reason }),
        ))
        .await
        .ok();
    assert_eq!(state["o365Id"], d.agent.as_str());
    assert_eq!(state["activeProfileId"], d.profile.as_str());
    assert_eq!(state["notAvailableReasonId"], d.reason.as_str());
    assert_eq!(state["presence"], Value::Null, "no presence heard yet");

    // null clears; a field left out stays.
    let cleared = stack
        .request(Request::put_my_state(
            &me,
            json!({ "notAvailableReasonId": null }),
        ))
        .await
        .ok();
    assert_eq!(cleared["activeProfileId"], d.profile.as_str());
    assert_eq!(cleared["notAvailableReasonId"], Value::Null);

    // An admin sets it for them.
    let admin = d.t.admin_token();
    let set = stack
        .request(Request::put_user_state(
            &admin,
            &d.agent,
            json!({ "activeProfileId": null }),
        ))
        .await
        .ok();
    assert_eq!(set["activeProfileId"], Value::Null);

    let other = TestTenant::create(&stack).await;
    let stranger_profile = new_id();
    stack
        .assert_refusals(vec![
            (
                "a profile that is not the tenant's",
                Request::put_my_state(&me, json!({ "activeProfileId": stranger_profile })),
                400,
                Detail::is(format!(
                    "\"activeProfileId\" {stranger_profile} is not a responsibility profile of this tenant"
                )),
            ),
            (
                "an empty change",
                Request::put_my_state(&me, json!({})),
                400,
                Detail::starts_with("Give \"activeProfileId\""),
            ),
            (
                "an unknown field",
                Request::put_my_state(&me, json!({ "mood": "happy" })),
                400,
                Detail::is("\"mood\" is not a field of an agent's state"),
            ),
            (
                "a token naming no user of the tenant",
                Request::put_my_state(
                    &d.t.token(&stack.spec().tenant(&d.t.id).object_id(new_id())),
                    json!({ "notAvailableReasonId": null }),
                ),
                404,
                Detail::is(USER_NOT_FOUND),
            ),
            (
                "another tenant's admin for this agent",
                Request::put_user_state(
                    &other.admin_token(),
                    &d.agent,
                    json!({ "notAvailableReasonId": null }),
                ),
                404,
                Detail::is(USER_NOT_FOUND),
            ),
            (
                "an agent for someone else",
                Request::put_user_state(&me, &d.agent, json!({ "notAvailableReasonId": null })),
                403,
                Detail::is(ADMIN_MISSING),
            ),
        ])
        .await;
}

#[tokio::test]
async fn a_user_who_serves_no_service_has_no_duty() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let loner = d.t.new_user(&d.t.sales_ou).await;
    let token = d.t.token(&stack.spec().tenant(&d.t.id).object_id(&loner));
    stack
        .request(Request::put_my_state(
            &token,
            json!({ "notAvailableReasonId": d.reason }),
        ))
        .await
        .assert_problem(
            404,
            &format!(
                "User {loner} is not a member of any service; duty and presence are kept for members"
            ),
        );
}

#[tokio::test]
async fn presence_is_set_by_an_operator_or_tenant_admin_and_older_news_never_wins() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let admin = d.t.admin_token();
    let busy = json!({ "availability": "Busy", "activity": "InACall" });
    let set = stack
        .request(Request::put_presence(&admin, &d.agent, None, busy.clone()))
        .await
        .ok();
    assert_eq!(set["applied"], true);
    assert_eq!(set["presence"], busy);
    let operator = stack.operator_token();
    let available = json!({ "availability": "Available", "activity": "Available" });
    let set = stack
        .request(Request::put_presence(
            &operator,
            &d.agent,
            Some(&d.t.id),
            available.clone(),
        ))
        .await
        .ok();
    assert_eq!(set["applied"], true);
    let state = stack
        .request(Request::put_my_state(
            &d.agent_token(),
            json!({ "activeProfileId": d.profile }),
        ))
        .await
        .ok();
    assert_eq!(state["presence"], available);

    let other = TestTenant::create(&stack).await;
    stack
        .assert_refusals(vec![
            (
                "not one of Graph's availabilities",
                Request::put_presence(
                    &admin,
                    &d.agent,
                    None,
                    json!({ "availability": "Sleeping", "activity": "Away" }),
                ),
                400,
                Detail::starts_with("\"availability\" \"Sleeping\" is not one of Graph's"),
            ),
            (
                "an operator without a tenant",
                Request::put_presence(&operator, &d.agent, None, available.clone()),
                400,
                Detail::is("\"tenantId\" is required for operators"),
            ),
            (
                "another tenant's admin",
                Request::put_presence(&other.admin_token(), &d.agent, None, available.clone()),
                404,
                Detail::starts_with(format!("User {} is not a member of any service", d.agent)),
            ),
            (
                "an agent's own token",
                Request::put_presence(&d.agent_token(), &d.agent, None, available.clone()),
                403,
                Detail::is(ADMIN_MISSING),
            ),
        ])
        .await;
}

#[tokio::test]
async fn the_active_toggle_exists_on_teams_based_services_only() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    stack
        .request(Request::put_my_service_active(
            &d.agent_token(),
            &d.service,
            json!({ "active": true }),
        ))
        .await
        .assert_problem(
            400,
            "The Active toggle exists on Teams-based services only; this service is SkillBased",
        );
}

#[tokio::test]
async fn distribution_settings_have_defaults_ranges_and_the_feature_matrix() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let admin = d.t.admin_token();
    let created = stack
        .request(Request::get_service(&admin, &d.service))
        .await
        .ok();
    let defaults = json!({
        "ringTimeoutSeconds": 30, "queueTimeoutSeconds": 600, "maxQueueLength": 50,
        "overflow": { "type": "disconnect" }, "wrapUpSeconds": 0,
        "autoPauseAfterMissedOffers": 3, "deliverWhenBusy": false,
        "deliverWhenBusyInAMeeting": false, "deliverWhenAway": false,
        "concurrentChatsPerAgent": 1, "policy": null
    });
    assert_eq!(created["distribution"], defaults);

    let put = |body: Value| Request::put_distribution(&admin, &d.service, body);
    let ranges = [
        ("ringTimeoutSeconds", 5, 300),
        ("queueTimeoutSeconds", 10, 3600),
        ("maxQueueLength", 1, 1000),
        ("wrapUpSeconds", 0, 600),
        ("autoPauseAfterMissedOffers", 0, 20),
        ("concurrentChatsPerAgent", 1, 10),
    ];
    let mut refusals = Vec::new();
    for (field, min, max) in ranges {
        for edge in [min, max] {
            let set = stack.request(put(json!({ field: edge }))).await.ok();
            assert_eq!(set[field], edge, "{field}");
        }
        let message = format!("\"{field}\" must be a whole number from {min} to {max}");
        refusals.push((
            "one past the top",
            put(json!({ field: max + 1 })),
            400,
            Detail::is(message.clone()),
        ));
        if min > 0 {
            refusals.push((
                "one below the bottom",
                put(json!({ field: min - 1 })),
                400,
                Detail::is(message),
            ));
        }
    }
    let gateway = service(&d.t, "None").await;
    refusals.push((
        "a service of type None",
        Request::put_distribution(&admin, &gateway, json!({ "wrapUpSeconds": 5 })),
        400,
        Detail::is("Services with user assignment type None have no distribution settings"),
    ));
    refusals.push((
        "an overflow into a service of another tenant",
        put(json!({ "overflow": { "type": "service", "serviceId": new_id() } })),
        400,
        Detail::is("\"overflow.serviceId\" is not a service of this tenant"),
    ));
    let other = TestTenant::create(&stack).await;
    refusals.push((
        "another tenant's admin",
        Request::put_distribution(&other.admin_token(), &d.service, json!({})),
        404,
        Detail::starts_with("Service "),
    ));
    stack.assert_refusals(refusals).await;

    // Left-out fields keep their values.
    let set = stack
        .request(put(
            json!({ "deliverWhenBusy": true, "overflow": { "type": "voicemail" } }),
        ))
        .await
        .ok();
    assert_eq!(set["ringTimeoutSeconds"], 300);
    assert_eq!(set["deliverWhenBusy"], true);
    assert_eq!(set["overflow"], json!({ "type": "voicemail" }));
    let read = stack
        .request(Request::get_service(&admin, &d.service))
        .await
        .ok();
    assert_eq!(read["distribution"], set);
}

#[tokio::test]
async fn a_policy_is_checked_by_its_plugin_and_keeps_its_version_from_deletion() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let admin = d.t.admin_token();
    stack
        .upload_plugin(&admin, "skills", built_in_plugin("skill_based"))
        .await
        .assert_status(201);
    let policy = |version: u32, configuration: Value| json!({ "policy": { "plugin": "skills", "version": version, "configuration": configuration } });
    let put = |body: Value| Request::put_distribution(&admin, &d.service, body);
    let teams_free = service(&d.t, "None").await;
    stack
        .assert_refusals(vec![
            (
                "a configuration the plugin refuses",
                put(policy(1, json!({ "steps": [] }))),
                400,
                Detail::starts_with("Plugin skills version 1 refused the configuration: "),
            ),
            (
                "a version never uploaded",
                put(policy(2, skill_config())),
                400,
                Detail::is("Plugin skills has no version 2"),
            ),
            (
                "a policy on a service of type None",
                Request::put_distribution(&admin, &teams_free, policy(1, skill_config())),
                400,
                Detail::is("Services with user assignment type None have no distribution settings"),
            ),
        ])
        .await;

    let set = stack.request(put(policy(1, skill_config()))).await.ok();
    assert_eq!(set["policy"]["plugin"], "skills");
    assert_eq!(set["policy"]["configuration"], skill_config());
    let version = stack.get_plugin(&admin, "skills", 1).await.ok();
    assert_eq!(version["inUse"], true, "{version}");
    stack
        .delete_plugin(&admin, "skills", 1)
        .await
        .assert_problem(
            409,
            "Plugin skills version 1 is assigned to 1 service(s); unassign it first",
        );
    // Unassigned (or its service deleted), the version can go.
    stack
        .request(put(json!({ "policy": null })))
        .await
        .assert_status(200);
    stack
        .delete_plugin(&admin, "skills", 1)
        .await
        .assert_status(204);
}

/// The seed's presence table, written out here independently of the code under test:
/// the refusal code for a presence, or `None` when a task may reach the agent.
fn seed_table(
    availability: &str,
    activity: &str,
    extended: bool,
    deliver: bool,
) -> Option<&'static str> {
    let setting = |refusal| if deliver { None } else { Some(refusal) };
    match (availability, activity) {
        ("Available" | "AvailableIdle", _) => None,
        ("DoNotDisturb", _) => Some("doNotDisturb"),
        ("Offline", _) => Some("offline"),
        ("PresenceUnknown", _) => Some("presenceUnknown"),
        ("Away" | "BeRightBack", _) => setting("away"),
        ("Busy", "InACall" | "InAConferenceCall") if extended => Some("inACall"),
        ("Busy", "InAMeeting" | "Presenting") if extended => setting("busyInAMeeting"),
        ("Busy", _) => setting("busy"),
        other => panic!("no row for {other:?}"),
    }
}

#[tokio::test]
async fn eligibility_follows_the_seeds_presence_table_cell_by_cell() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let admin = d.t.admin_token();
    let eligibility = || async {
        let answer = stack
            .request(Request::eligibility(&admin, &d.service))
            .await
            .ok();
        let members = answer["members"].as_array().expect("members").clone();
        assert_eq!(members.len(), 1, "{answer}");
        assert_eq!(members[0]["o365Id"], d.agent.as_str());
        (answer.clone(), members[0].clone())
    };
    // Nothing heard and no profile chosen: not on duty, presence unknown.
    let (_, member) = eligibility().await;
    assert_eq!(member["eligible"], false);
    let codes: Vec<&str> = member["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["notOnDuty", "presenceNotAllowed"]);
    stack
        .request(Request::put_my_state(
            &d.agent_token(),
            json!({ "activeProfileId": d.profile }),
        ))
        .await
        .assert_status(200);

    let presences = [
        ("Available", "Available"),
        ("AvailableIdle", "Inactive"),
        ("Busy", "Busy"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Busy", "InAMeeting"),
        ("Busy", "Presenting"),
        ("Away", "Away"),
        ("BeRightBack", "BeRightBack"),
        ("DoNotDisturb", "Presenting"),
        ("Offline", "OffWork"),
        ("PresenceUnknown", "PresenceUnknown"),
    ];
    for extended in [false, true] {
        stack
            .request(Request::patch_tenant_settings(
                &admin,
                None,
                json!({ "presenceTracking": { "enabled": extended } }),
            ))
            .await
            .assert_status(200);
        for deliver in [false, true] {
            stack
                .request(Request::put_distribution(
                    &admin,
                    &d.service,
                    json!({ "deliverWhenBusy": deliver, "deliverWhenBusyInAMeeting": deliver,
                            "deliverWhenAway": deliver }),
                ))
                .await
                .assert_status(200);
            for (availability, activity) in presences {
                stack
                    .request(Request::put_presence(
                        &admin,
                        &d.agent,
                        None,
                        json!({ "availability": availability, "activity": activity }),
                    ))
                    .await
                    .assert_status(200);
                let (answer, member) = eligibility().await;
                assert_eq!(answer["extendedPresence"], extended);
                let cell =
                    format!("{availability}/{activity}, extended {extended}, deliver {deliver}");
                match seed_table(availability, activity, extended, deliver) {
                    None => {
                        assert_eq!(member["eligible"], true, "{cell}: {member}");
                        assert_eq!(member["reasons"], json!([]), "{cell}");
                    }
                    Some(refusal) => {
                        assert_eq!(member["eligible"], false, "{cell}: {member}");
                        assert_eq!(
                            member["reasons"],
                            json!([{ "code": "presenceNotAllowed",
                                     "presence": format!("{availability}/{activity}"),
                                     "refusal": refusal }]),
                            "{cell}"
                        );
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn eligibility_names_every_reason_and_stays_in_its_tenant() {
    let stack = Stack::from_env();
    let d = desk(&stack).await;
    let admin = d.t.admin_token();
    stack
        .request(Request::put_presence(
            &admin,
            &d.agent,
            None,
            json!({ "availability": "Available", "activity": "Available" }),
        ))
        .await
        .assert_status(200);
    stack
        .request(Request::put_user_state(
            &admin,
            &d.agent,
            json!({ "activeProfileId": d.profile, "notAvailableReasonId": d.reason }),
        ))
        .await
        .assert_status(200);
    let answer = stack
        .request(Request::eligibility(&admin, &d.service))
        .await
        .ok();
    assert_eq!(
        answer["members"],
        json!([{ "o365Id": d.agent, "eligible": false, "reasons": [
            { "code": "notAvailable", "reasonId": d.reason, "reason": "Lunch" } ] }])
    );
    // Back from lunch, but the licence is gone.
    stack
        .request(Request::put_my_state(
            &d.agent_token(),
            json!({ "notAvailableReasonId": null }),
        ))
        .await
        .assert_status(200);
    d.t.patch_user(&d.agent, json!({ "licenses": [] }))
        .await
        .assert_status(200);
    let answer = stack
        .request(Request::eligibility(&admin, &d.service))
        .await
        .ok();
    assert_eq!(
        answer["members"][0]["reasons"],
        json!([{ "code": "noContactCenterLicense" }])
    );
    // A person who restricted the processing of their data is never offered a task.
    d.t.patch_user(
        &d.agent,
        json!({ "licenses": ["ContactCenter"], "processingRestricted": true }),
    )
    .await
    .assert_status(200);
    let answer = stack
        .request(Request::eligibility(&admin, &d.service))
        .await
        .ok();
    assert_eq!(
        answer["members"][0]["reasons"],
        json!([{ "code": "restricted" }])
    );
    let other = TestTenant::create(&stack).await;
    stack
        .request(Request::eligibility(&other.admin_token(), &d.service))
        .await
        .assert_problem(404, &format!("Service {} was not found", d.service));
}

#[tokio::test]
async fn members_of_a_teams_based_service_toggle_active_and_eligibility_follows() {
    let stack = Stack::from_env();
    let graph = DevGraph::from_env();
    let t = TestTenant::create(&stack).await;
    let admin = t.admin_token();
    let (ana, ben) = (
        TeamPerson::owner("Ana Owner"),
        TeamPerson::new("Ben Member"),
    );
    let team = new_id();
    graph
        .put_team(&t.id, &team, "Front desk", &[ana.clone(), ben.clone()])
        .await;
    let reply = stack
        .request(Request::create_service_from_team(
            &admin,
            json!({ "teamId": team, "organizationUnitId": t.sales_ou,
                    "upn": format!("desk-{}@contoso.com", &new_id()[..8]), "region": "ch-01" }),
        ))
        .await;
    reply.assert_status(201);
    let service = id_of(&reply);
    for person in [&ana, &ben] {
        stack
            .request(Request::put_presence(
                &admin,
                &person.user_id,
                None,
                json!({ "availability": "Available", "activity": "Available" }),
            ))
            .await
            .assert_status(200);
    }
    let token = |p: &TeamPerson| t.token(&stack.spec().tenant(&t.id).object_id(&p.user_id));
    let eligible = || async {
        let answer = stack
            .request(Request::eligibility(&admin, &service))
            .await
            .ok();
        let mut members: Vec<(String, bool)> = answer["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                (
                    m["o365Id"].as_str().unwrap().to_owned(),
                    m["eligible"] == true,
                )
            })
            .collect();
        members.sort();
        (answer, members)
    };
    let mut both = vec![(ana.user_id.clone(), true), (ben.user_id.clone(), true)];
    both.sort();
    assert_eq!(eligible().await.1, both, "new members are active at once");

    let off = stack
        .request(Request::put_my_service_active(
            &token(&ben),
            &service,
            json!({ "active": false }),
        ))
        .await
        .ok();
    assert_eq!(off["active"], false);
    assert_eq!(off["o365Id"], ben.user_id.as_str());
    let (answer, _) = eligible().await;
    let ben_row = answer["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["o365Id"] == ben.user_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        ben_row,
        json!({ "o365Id": ben.user_id, "eligible": false, "reasons": [{ "code": "notActive" }] })
    );
    // Again: the same answer, nothing changes.
    let again = stack
        .request(Request::put_my_service_active(
            &token(&ben),
            &service,
            json!({ "active": false }),
        ))
        .await
        .ok();
    assert_eq!(again, off);
    stack
        .request(Request::put_my_service_active(
            &token(&ben),
            &service,
            json!({ "active": true }),
        ))
        .await
        .assert_status(200);
    assert_eq!(eligible().await.1, both);

    let stranger = t.new_user(&t.sales_ou).await;
    stack
        .assert_refusals(vec![
            (
                "someone who is not a member",
                Request::put_my_service_active(
                    &t.token(&stack.spec().tenant(&t.id).object_id(&stranger)),
                    &service,
                    json!({ "active": true }),
                ),
                404,
                Detail::is(format!(
                    "User {stranger} is not an agent of service {service}"
                )),
            ),
            (
                "a body without the toggle",
                Request::put_my_service_active(&token(&ana), &service, json!({})),
                400,
                Detail::is("\"active\" is required (true or false)"),
            ),
            (
                "a distribution policy on a Teams-based service",
                Request::put_distribution(
                    &admin,
                    &service,
                    json!({ "policy": { "plugin": "skills", "version": 1 } }),
                ),
                400,
                Detail::is(
                    "A distribution policy applies to skill-based services only; this service is TeamsBased",
                ),
            ),
        ])
        .await;
    // Distribution settings themselves exist on Teams-based services.
    stack
        .request(Request::put_distribution(
            &admin,
            &service,
            json!({ "deliverWhenAway": true }),
        ))
        .await
        .assert_status(200);
}

use super::*;

fn person(role: PortalRole, name: &str) -> RosterPerson {
    RosterPerson {
        o365_id: Guid::new_random(),
        display_name: Some(name.into()),
        email: Some(format!("{}@contoso.com", name.to_lowercase())),
        role,
    }
}

fn agent_of(p: &RosterPerson, service: &Guid) -> Agent {
    Agent {
        service_id: service.clone(),
        o365_id: p.o365_id.clone(),
        active: true,
        added_at: String::new(),
        active_since: None,
        portal_role: Some(p.role),
    }
}

fn user_of(p: &RosterPerson) -> VersionedUser {
    let mut user = User::teams_synced(p.o365_id.clone(), Guid::new_random());
    user.display_name = p.display_name.clone();
    user.email = p.email.clone();
    VersionedUser { user, version: 3 }
}

#[test]
fn the_minimum_role_decides_who_provisions() {
    use MinimumProvisioningRole as M;
    assert_eq!(
        may_provision(M::TeamOwner, Provisioner::TenantAdmin),
        Ok(())
    );
    assert_eq!(
        may_provision(M::TenantAdmin, Provisioner::TenantAdmin),
        Ok(())
    );
    assert_eq!(may_provision(M::TeamOwner, Provisioner::TeamOwner), Ok(()));
    assert_eq!(
        may_provision(M::TenantAdmin, Provisioner::TeamOwner),
        Err(ServiceError::ProvisioningNeedsTenantAdmin)
    );
    for who in [Provisioner::TenantAdmin, Provisioner::TeamOwner] {
        let refusal = may_provision(M::Disabled, who).unwrap_err();
        assert!(
            refusal.to_string().contains("serviceProvisioning"),
            "{refusal}"
        );
    }
}

#[test]
fn a_roster_counts_each_person_once_as_owner_if_any_entry_says_so() {
    let id = Guid::new_random().to_string();
    let member = |role| TeamMember {
        user_id: id.clone(),
        display_name: Some("Adele".into()),
        email: None,
        role,
    };
    let people = roster_people(&[
        member(TeamRole::Member),
        member(TeamRole::Owner),
        TeamMember {
            user_id: "not-a-guid".into(),
            display_name: None,
            email: None,
            role: TeamRole::Member,
        },
    ]);
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].role, PortalRole::Owner);
}

#[test]
fn a_new_team_adds_everyone_creating_only_the_missing_users() {
    let (a, b) = (
        person(PortalRole::Owner, "Ann"),
        person(PortalRole::Member, "Bob"),
    );
    let b_user = user_of(&b);
    let users = HashMap::from([(b.o365_id.clone(), b_user.clone())]);
    let plan = plan_sync(&[a.clone(), b.clone()], &[], &users);
    assert_eq!(
        SyncPlan::counts(&plan.steps),
        SyncCounts {
            added: 2,
            removed: 0,
            updated: 0
        }
    );
    assert!(plan.steps.contains(&Step::Add {
        person: a,
        user: None
    }));
    assert!(plan.steps.contains(&Step::Add {
        person: b,
        user: Some(b_user)
    }));
}

#[test]
fn a_sync_adds_joiners_removes_leavers_and_refreshes_the_renamed() {
    let service = Guid::new_random();
    let stays = person(PortalRole::Member, "Stays");
    let leaves = person(PortalRole::Member, "Leaves");
    let mut renamed = person(PortalRole::Member, "Old");
    let promoted = person(PortalRole::Member, "Promoted");
    let members: Vec<Agent> = [&stays, &leaves, &renamed, &promoted]
        .iter()
        .map(|p| agent_of(p, &service))
        .collect();
    let users: HashMap<Guid, VersionedUser> = [&stays, &leaves, &renamed, &promoted]
        .iter()
        .map(|p| (p.o365_id.clone(), user_of(p)))
        .collect();
    renamed.display_name = Some("New".into());
    let promoted = RosterPerson {
        role: PortalRole::Owner,
        ..promoted
    };
    let joiner = person(PortalRole::Member, "Joins");
    let roster = [stays, renamed.clone(), promoted.clone(), joiner];
    let plan = plan_sync(&roster, &members, &users);
    assert_eq!(
        SyncPlan::counts(&plan.steps),
        SyncCounts {
            added: 1,
            removed: 1,
            updated: 2
        }
    );
    assert!(plan.steps.contains(&Step::Remove {
        o365_id: leaves.o365_id
    }));
    let renamed_user = plan.steps.iter().find_map(|s| match s {
        Step::Update { user: Some(u), .. } if u.user.o365_id == renamed.o365_id => Some(u),
        _ => None,
    });
    let renamed_user = renamed_user.expect("the renamed member's record is refreshed");
    assert_eq!(renamed_user.user.display_name.as_deref(), Some("New"));
    assert_eq!(
        renamed_user.version, 3,
        "written on condition of the read version"
    );
    assert!(plan.steps.iter().any(|s| matches!(s,
        Step::Update { user: None, agent: Some(a) }
            if a.o365_id == promoted.o365_id && a.portal_role == Some(PortalRole::Owner))));
    // Applied, nothing is left to do.
    assert_eq!(
        plan_sync(&roster[..0], &[], &HashMap::new()),
        SyncPlan::default()
    );
}

#[test]
fn an_unchanged_roster_plans_nothing() {
    let service = Guid::new_random();
    let p = person(PortalRole::Owner, "Same");
    let users = HashMap::from([(p.o365_id.clone(), user_of(&p))]);
    let plan = plan_sync(&[p.clone()], &[agent_of(&p, &service)], &users);
    assert!(plan.steps.is_empty(), "{plan:?}");
    // A directory without an e-mail does not erase the stored one.
    let no_mail = RosterPerson {
        email: None,
        ..p.clone()
    };
    assert!(plan_sync(&[no_mail], &[agent_of(&p, &service)], &users)
        .steps
        .is_empty());
}

#[test]
fn the_from_team_body_names_each_bad_field() {
    let body = |v: Value| Fields::from_value(v, "").unwrap();
    let good = json!({ "teamId": Guid::new_random().as_str(), "upn": "team@contoso.com",
                       "organizationUnitId": Guid::new_random().as_str() });
    assert!(FromTeam::parse(&body(good.clone())).is_ok());
    let mut bad = good.clone();
    bad["teamId"] = json!("19:abc@thread.tacv2");
    assert!(FromTeam::parse(&body(bad))
        .unwrap_err()
        .to_string()
        .contains("teamId"));
    let mut bad = good;
    bad["licenseType"] = json!("ContactCenter");
    assert!(FromTeam::parse(&body(bad))
        .unwrap_err()
        .to_string()
        .contains("licenseType"));
}

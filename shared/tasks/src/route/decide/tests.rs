use super::*;
use crate::model::{Direction, Modality, Offer, OfferState};
use stratus_kernel::user::SkillLevel;

fn task() -> Task {
    let mut task = Task::arriving(
        Guid::new_random(),
        Direction::Inbound,
        Modality::Audio,
        "+41000".into(),
        0,
        String::new(),
    );
    task.required_skills = vec![stratus_routing::spec::RequiredSkill {
        skill: "German".into(),
        min_level: 50,
    }];
    task
}

#[test]
fn every_member_is_traced_with_each_reason_it_was_left_out() {
    let german = Guid::new_random();
    let names = BTreeMap::from([(german.clone(), "German".to_string())]);
    let ids: Vec<Guid> = (0..5).map(|_| Guid::new_random()).collect();
    let mut users: Vec<User> = ids
        .iter()
        .map(|id| User::empty(id.clone(), Guid::new_random()))
        .collect();
    for user in &mut users {
        user.skills = vec![SkillLevel {
            skill_id: german.clone(),
            level: 60,
        }];
    }
    users[3].skills[0].level = 40;
    let free = AgentLoad::default();
    let on_call = AgentLoad {
        call_task_id: Some(Guid::new_random()),
        ..AgentLoad::default()
    };
    let mut t = task();
    t.offers.push(Offer {
        agent_id: ids[2].clone(),
        state: OfferState::Declined,
        expires_at: String::new(),
        expires_at_ms: 0,
        offered_at: String::new(),
        resolved_at: None,
        resolved_at_ms: Some(9_000),
        decision: 1,
    });
    let views: Vec<MemberView> = ids
        .iter()
        .zip(&users)
        .enumerate()
        .map(|(i, (id, user))| MemberView {
            id,
            user: Some(user),
            state: None,
            ineligible: if i == 4 {
                vec![Ineligible::NotActive]
            } else {
                vec![]
            },
            load: if i == 1 { &on_call } else { &free },
        })
        .collect();
    let traces = consider(&t, &views, &names, 1, 30_000, true, 10_000);
    assert!(traces[0].candidate && traces[0].excluded.is_empty());
    assert!(matches!(
        traces[1].excluded[..],
        [Excluded::Capacity { .. }]
    ));
    assert_eq!(traces[2].excluded, vec![Excluded::DeclinedRecently]);
    assert_eq!(
        traces[3].excluded,
        vec![Excluded::Skills {
            skill: "German".into(),
            min_level: 50,
            level: 40
        }]
    );
    assert_eq!(
        traces[4].excluded,
        vec![Excluded::Eligibility {
            reason: Ineligible::NotActive
        }]
    );
    // With a policy, skills are the policy's business (its steps relax them).
    let traces = consider(&t, &views, &names, 1, 30_000, false, 10_000);
    assert!(traces[3].candidate);
    // A refusal is forgotten after the window.
    let traces = consider(&t, &views, &names, 1, 30_000, true, 40_000);
    assert!(traces[2].candidate);
}

#[test]
fn a_task_transferred_to_a_user_is_for_them_only() {
    let ids: Vec<Guid> = (0..2).map(|_| Guid::new_random()).collect();
    let free = AgentLoad::default();
    let views: Vec<MemberView> = ids
        .iter()
        .map(|id| MemberView {
            id,
            user: None,
            state: None,
            ineligible: vec![],
            load: &free,
        })
        .collect();
    let mut t = task();
    t.required_skills.clear();
    t.directed_to = Some(ids[1].clone());
    let traces = consider(&t, &views, &BTreeMap::new(), 1, 30_000, true, 0);
    assert!(!traces[0].candidate && traces[1].candidate);
}

#[test]
fn the_seed_of_a_decision_is_repeatable_and_differs_between_decisions() {
    let id = Guid::new_random();
    assert_eq!(seed_of(&id, 1), seed_of(&id, 1));
    assert_ne!(seed_of(&id, 1), seed_of(&id, 2));
}

#[test]
fn a_trace_of_a_large_service_stays_within_its_item_keeping_every_candidate() {
    let members: Vec<MemberTrace> = (0..5_000)
        .map(|i| MemberTrace {
            agent_id: Guid::new_random(),
            candidate: i % 10 == 0,
            excluded: if i % 10 == 0 {
                vec![]
            } else {
                vec![
                    Excluded::Eligibility {
                        reason: Ineligible::NotActive,
                    },
                    Excluded::DeclinedRecently,
                ]
            },
        })
        .collect();
    let (kept, omitted) = bounded_members(members, MAX_TRACE_MEMBER_BYTES);
    let bytes: usize = kept
        .iter()
        .map(|m| serde_json::to_vec(m).unwrap().len() + 1)
        .sum();
    assert!(bytes <= MAX_TRACE_MEMBER_BYTES, "{bytes}");
    assert_eq!(
        kept.iter().filter(|m| m.candidate).count(),
        500,
        "every candidate kept"
    );
    let omitted = omitted.expect("some left out");
    assert_eq!(kept.len() + omitted.count, 5_000);
    assert_eq!(omitted.by_reason["notActive"], omitted.count);
    // A small service keeps everyone, and says nothing is left out.
    let few: Vec<MemberTrace> = (0..10)
        .map(|_| MemberTrace {
            agent_id: Guid::new_random(),
            candidate: true,
            excluded: vec![],
        })
        .collect();
    let (kept, omitted) = bounded_members(few, MAX_TRACE_MEMBER_BYTES);
    assert_eq!((kept.len(), omitted), (10, None));
}

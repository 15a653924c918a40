//! Strategies written natively in Rust over the same input as the plugins: longest idle (the
//! fallback when a plugin fails) and skill-based (the baseline the plugin is benchmarked
//! against).

use crate::{Candidates, Decision, Offer, Outcome, SkillRequirement};

/// Offers everyone, one after another, longest idle first (ties: lower index first).
pub fn longest_idle(candidates: &Candidates) -> Outcome {
    let count = candidates.count as usize;
    let idle = |i: u32| {
        candidates
            .idle_seconds
            .get(i as usize)
            .copied()
            .unwrap_or(0)
    };
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.sort_by(|&a, &b| idle(b).cmp(&idle(a)).then(a.cmp(&b)));
    Outcome {
        decision: Decision::Offer(Offer {
            order,
            simultaneous: false,
        }),
        reason: "longest idle".into(),
    }
}

/// Keeps the candidates that have every required skill at its minimum level, ordered by
/// summed proficiency over the required skills (highest first), then idle time (longest
/// first), then index. `skill_count` is the number of columns of the skill table.
pub fn skill_based(
    required: &[SkillRequirement],
    skill_count: usize,
    candidates: &Candidates,
) -> Outcome {
    let count = candidates.count as usize;
    let mut ranked: Vec<(u32, u32, u32)> = Vec::with_capacity(count); // (score, idle, index)
    'candidates: for i in 0..count {
        let row = i * skill_count;
        let mut score = 0u32;
        for req in required {
            let level = candidates
                .skill_levels
                .get(row + req.skill as usize)
                .copied()
                .filter(|_| (req.skill as usize) < skill_count)
                .unwrap_or(0);
            if level == 0 || level < req.min_level {
                continue 'candidates;
            }
            score += u32::from(level);
        }
        let idle = candidates.idle_seconds.get(i).copied().unwrap_or(0);
        ranked.push((score, idle, i as u32));
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let order: Vec<u32> = ranked.into_iter().map(|(_, _, i)| i).collect();
    let reason = if order.is_empty() {
        "no candidate has the required skills".to_owned()
    } else {
        format!(
            "{} candidates with the required skills, by proficiency",
            order.len()
        )
    };
    Outcome {
        decision: Decision::Offer(Offer {
            order,
            simultaneous: false,
        }),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(levels: Vec<u8>, idle: Vec<u32>) -> Candidates {
        let n = idle.len();
        Candidates {
            count: n as u32,
            skill_levels: levels,
            idle_seconds: idle,
            handled_today: vec![0; n],
            talk_seconds_today: vec![0; n],
            last_offered_seconds_ago: vec![u32::MAX; n],
            last_answered_seconds_ago: vec![u32::MAX; n],
        }
    }

    fn order(outcome: &Outcome) -> &[u32] {
        match &outcome.decision {
            Decision::Offer(o) => &o.order,
            other => panic!("expected an offer, got {other:?}"),
        }
    }

    #[test]
    fn longest_idle_orders_by_idle_then_index() {
        let c = candidates(vec![], vec![5, 30, 5, 100]);
        assert_eq!(order(&longest_idle(&c)), &[3, 1, 0, 2]);
    }

    #[test]
    fn skill_based_filters_then_orders_by_proficiency_then_idle() {
        // Skills: 0 = english, 1 = billing. Need english >= 50 and billing >= 10.
        let levels = vec![
            80, 20, // 0: score 100
            40, 90, // 1: english too low
            60, 40, // 2: score 100, idle longer than 0
            90, 0, // 3: lacks billing
            100, 50, // 4: score 150
        ];
        let c = candidates(levels, vec![10, 10, 20, 10, 1]);
        let req = [
            SkillRequirement {
                skill: 0,
                min_level: 50,
            },
            SkillRequirement {
                skill: 1,
                min_level: 10,
            },
        ];
        assert_eq!(order(&skill_based(&req, 2, &c)), &[4, 2, 0]);
    }
}

//! The classic strategies, selected by configuration:
//!
//! ```json
//! { "strategy": "longest-idle" }       // idle desc
//! { "strategy": "round-robin" }        // least recently offered first (never offered first of all)
//! { "strategy": "serial", "order": ["agent-a", "agent-b"] }  // fixed order by agent id
//! { "strategy": "ring-all" }           // everyone at once
//! { "strategy": "fewest-calls" }       // handled today asc, then idle desc
//! { "strategy": "least-talk-time" }    // talk time today asc, then idle desc
//! { "strategy": "random" }             // a shuffle seeded by context.seed
//! { "strategy": "weighted-random", "weights": {"agent-a": 3}, "weightAttribute": "weight", "defaultWeight": 1 }
//! ```
//! Every form also takes `maxOffers` (offer at most that many) and `recheckSeconds` (the wait
//! hint when there is no candidate). Ties always fall to the lower index, so every order is
//! total and the same input gives the same decision.
//!
//! Serial: listed candidates in the configured order, then unlisted ones by index.
//! Weighted random: draws without replacement, each draw proportional to weight (integer
//! arithmetic, so every host agrees); a weight comes from `weights` by agent id, else from the
//! candidate attribute `weightAttribute` (a non-negative integer), else `defaultWeight`
//! (default 1). Weight-0 candidates follow the drawn ones, by index.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use crate::config::{self, array, err, uint, Obj, Path, Result};
use crate::rng::SplitMix64;
use crate::{
    desc, order_by, rank2, Candidates, ConfigError, Decision, Host, Input, Offer, Outcome,
    DEFAULT_RECHECK_SECONDS,
};

pub const NAMES: [&str; 8] = [
    "longest-idle",
    "round-robin",
    "serial",
    "ring-all",
    "fewest-calls",
    "least-talk-time",
    "random",
    "weighted-random",
];

/// Ids in `order` / `weights`: parsing a list costs about 2,000 instructions an entry, and a
/// decision has ~10 million; at this cap the costliest 1,000-candidate decision measured
/// (weighted random with 1,000 weights) used about 5.8 million.
pub const MAX_LISTED: usize = 1_000;
pub const MAX_WEIGHT: u32 = 1_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    LongestIdle,
    RoundRobin,
    /// Agent ids in offer order.
    Serial(Vec<String>),
    RingAll,
    FewestCalls,
    LeastTalkTime,
    Random,
    WeightedRandom(Weights),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weights {
    /// By agent id, sorted by id for lookup.
    pub by_id: Vec<(String, u32)>,
    pub attribute: Option<String>,
    pub default_weight: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassicConfig {
    pub strategy: Strategy,
    pub max_offers: Option<u32>,
    pub recheck_seconds: u32,
}

impl ClassicConfig {
    pub fn named(strategy: Strategy) -> Self {
        ClassicConfig {
            strategy,
            max_offers: None,
            recheck_seconds: DEFAULT_RECHECK_SECONDS,
        }
    }
}

pub fn parse_config(config: &str) -> core::result::Result<ClassicConfig, ConfigError> {
    parse_value(&config::parse(config)?, Path::Root)
}

/// A classic configuration object at `path` (also used inside time-of-day windows).
pub(crate) fn parse_value(value: &Value, path: Path) -> Result<ClassicConfig> {
    let name_path = path.key("strategy");
    let name = match value.get("strategy") {
        Some(Value::String(name)) => name.as_str(),
        Some(other) => {
            return err(
                &name_path,
                format_args!("expected a strategy name, got {other}"),
            )
        }
        None if value.is_object() => return err(&name_path, "is required"),
        None => {
            Obj::new(value, path, &[])?;
            return err(&path, "expected an object");
        }
    };
    let extra: &[&str] = match name {
        "serial" => &["order"],
        "weighted-random" => &["weights", "weightAttribute", "defaultWeight"],
        _ => &[],
    };
    let mut allowed = Vec::from(["strategy", "maxOffers", "recheckSeconds"]);
    allowed.extend_from_slice(extra);
    let obj = Obj::new(value, path, &allowed)?;
    let strategy = match name {
        "serial" => Strategy::Serial(parse_order(&obj)?),
        "weighted-random" => Strategy::WeightedRandom(parse_weights(&obj)?),
        other => simple(other, &name_path)?,
    };
    let max_offers = obj
        .get("maxOffers")
        .map(|v| uint(v, &obj.path_of("maxOffers"), 1, u32::MAX))
        .transpose()?;
    Ok(ClassicConfig {
        strategy,
        max_offers,
        recheck_seconds: config::recheck_seconds(&obj)?,
    })
}

/// A strategy named by a bare string (time-of-day windows); the two that need settings must
/// use the object form.
pub(crate) fn simple(name: &str, path: &Path) -> Result<Strategy> {
    Ok(match name {
        "longest-idle" => Strategy::LongestIdle,
        "round-robin" => Strategy::RoundRobin,
        "ring-all" => Strategy::RingAll,
        "fewest-calls" => Strategy::FewestCalls,
        "least-talk-time" => Strategy::LeastTalkTime,
        "random" => Strategy::Random,
        "serial" | "weighted-random" => {
            return err(
                path,
                format_args!("\"{name}\" needs settings: use {{\"strategy\": \"{name}\", ...}}"),
            );
        }
        other => {
            return err(
                path,
                format_args!(
                    "unknown strategy \"{other}\" (expected one of: {})",
                    NAMES.join(", ")
                ),
            )
        }
    })
}

fn parse_order(obj: &Obj) -> Result<Vec<String>> {
    let path = obj.path_of("order");
    let items = array(obj.required("order")?, &path, 1, MAX_LISTED)?;
    let mut order: Vec<String> = Vec::with_capacity(items.len());
    let mut seen: Vec<&str> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = config::string(item, &path.index(i))?;
        if let Some(s) = item.as_str() {
            seen.push(s);
        }
        order.push(id);
    }
    seen.sort_unstable();
    if let Some(pair) = seen.windows(2).find(|w| w[0] == w[1]) {
        return err(&path, format_args!("\"{}\" is listed twice", pair[0]));
    }
    Ok(order)
}

fn parse_weights(obj: &Obj) -> Result<Weights> {
    let mut by_id: Vec<(String, u32)> = Vec::new();
    if let Some(value) = obj.get("weights") {
        let path = obj.path_of("weights");
        let Value::Object(map) = value else {
            return err(&path, "expected an object of agent id → weight");
        };
        if map.len() > MAX_LISTED {
            return err(
                &path,
                format_args!("at most {MAX_LISTED} entries, got {}", map.len()),
            );
        }
        for (id, weight) in map {
            by_id.push((id.clone(), uint(weight, &path.key(id), 0, MAX_WEIGHT)?));
        }
        by_id.sort_unstable();
    }
    let attribute = obj.opt_string("weightAttribute")?;
    if by_id.is_empty() && attribute.is_none() {
        return err(
            &obj.path_of("weights"),
            "weighted-random needs \"weights\" or \"weightAttribute\"",
        );
    }
    let default_weight = obj.u32_or("defaultWeight", 1, 0, MAX_WEIGHT)?;
    Ok(Weights {
        by_id,
        attribute,
        default_weight,
    })
}

pub fn validate(config: &str) -> core::result::Result<(), String> {
    parse_config(config).map(|_| ()).map_err(|e| e.0)
}

/// The `decide` export: parse `context.config`, then decide.
pub fn decide(input: &Input, host: &dyn Host) -> Outcome {
    match parse_config(&input.context.config) {
        Ok(config) => decide_with(&config, input, host),
        Err(error) => crate::invalid_config_fallback(input, &error),
    }
}

pub fn decide_with(config: &ClassicConfig, input: &Input, host: &dyn Host) -> Outcome {
    let c = input.candidates;
    if c.count == 0 {
        return Outcome {
            decision: Decision::Wait(config.recheck_seconds),
            reason: "no eligible candidate".into(),
        };
    }
    let all = 0..c.count;
    let (mut order, simultaneous, label): (Vec<u32>, bool, String) = match &config.strategy {
        Strategy::LongestIdle => (
            order_by(all, |i| desc(c.idle(i)) as u64),
            false,
            "longest idle".into(),
        ),
        Strategy::RoundRobin => (
            order_by(all, |i| desc(c.last_offered(i)) as u64),
            false,
            "round robin".into(),
        ),
        Strategy::RingAll => (all.collect(), true, "ring all".into()),
        Strategy::FewestCalls => (
            order_by(all, |i| rank2(c.handled(i), desc(c.idle(i)))),
            false,
            "fewest calls".into(),
        ),
        Strategy::LeastTalkTime => (
            order_by(all, |i| rank2(c.talk(i), desc(c.idle(i)))),
            false,
            "least talk time".into(),
        ),
        Strategy::Random => (shuffle(c.count, input.context.seed), false, "random".into()),
        Strategy::Serial(listed) => serial(listed, c.count, host),
        Strategy::WeightedRandom(weights) => weighted(weights, c.count, input.context.seed, host),
    };
    if let Some(max) = config.max_offers {
        order.truncate(max as usize);
    }
    let reason = format!("{label}: offering {} of {}", order.len(), c.count);
    Outcome {
        decision: Decision::Offer(Offer {
            order,
            simultaneous,
        }),
        reason,
    }
}

/// Longest idle over all candidates: the strategy and the fallback for a bad configuration.
pub fn longest_idle(c: &Candidates, recheck_seconds: u32) -> Outcome {
    decide_with_no_host(
        &ClassicConfig {
            recheck_seconds,
            ..ClassicConfig::named(Strategy::LongestIdle)
        },
        c,
    )
}

fn decide_with_no_host(config: &ClassicConfig, c: &Candidates) -> Outcome {
    if c.count == 0 {
        return Outcome {
            decision: Decision::Wait(config.recheck_seconds),
            reason: "no eligible candidate".into(),
        };
    }
    let order = order_by(0..c.count, |i| desc(c.idle(i)) as u64);
    let reason = format!("longest idle: offering {} of {}", order.len(), c.count);
    Outcome {
        decision: Decision::Offer(Offer {
            order,
            simultaneous: false,
        }),
        reason,
    }
}

fn serial(listed: &[String], count: u32, host: &dyn Host) -> (Vec<u32>, bool, String) {
    let mut rank: Vec<(&str, u32)> = listed
        .iter()
        .enumerate()
        .map(|(r, id)| (id.as_str(), r as u32))
        .collect();
    rank.sort_unstable();
    let mut unlisted = 0;
    let order = order_by(0..count, |i| {
        let id = host.candidate_id(i);
        match rank.binary_search_by(|(listed, _)| (*listed).cmp(id.as_str())) {
            Ok(at) => rank[at].1 as u64,
            Err(_) => {
                unlisted += 1;
                u32::MAX as u64
            }
        }
    });
    (order, false, format!("serial ({unlisted} unlisted last)"))
}

/// Fisher–Yates over 0..count.
pub fn shuffle(count: u32, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<u32> = (0..count).collect();
    for i in (1..order.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

fn weight_of(weights: &Weights, i: u32, host: &dyn Host) -> u32 {
    if !weights.by_id.is_empty() {
        let id = host.candidate_id(i);
        if let Ok(at) = weights
            .by_id
            .binary_search_by(|(listed, _)| listed.as_str().cmp(id.as_str()))
        {
            return weights.by_id[at].1;
        }
    }
    if let Some(key) = &weights.attribute {
        if let Some(w) = host
            .candidate_attribute(i, key)
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            return w.min(MAX_WEIGHT);
        }
    }
    weights.default_weight
}

fn weighted(weights: &Weights, count: u32, seed: u64, host: &dyn Host) -> (Vec<u32>, bool, String) {
    let w: Vec<u64> = (0..count)
        .map(|i| weight_of(weights, i, host) as u64)
        .collect();
    let mut order = weighted_order(&w, seed);
    let drawn = order.len();
    order.extend((0..count).filter(|&i| w[i as usize] == 0));
    let label = format!("weighted random ({} at weight 0 last)", order.len() - drawn);
    (order, false, label)
}

/// Indices of positive weights, drawn without replacement, each draw proportional to weight.
/// A Fenwick tree keeps every draw O(log n).
pub fn weighted_order(weights: &[u64], seed: u64) -> Vec<u32> {
    let n = weights.len();
    let mut tree = alloc::vec![0u64; n + 1];
    for (i, &w) in weights.iter().enumerate() {
        let mut k = i + 1;
        while k <= n {
            tree[k] += w;
            k += k & k.wrapping_neg();
        }
    }
    let mut total: u64 = weights.iter().sum();
    let mut rng = SplitMix64::new(seed);
    let mut order = Vec::with_capacity(n);
    let top = if n == 0 {
        0
    } else {
        1usize << (usize::BITS - 1 - n.leading_zeros())
    };
    while total > 0 {
        // The first index whose prefix sum exceeds r.
        let mut rest = rng.below(total);
        let mut pos = 0usize;
        let mut step = top;
        while step > 0 {
            if pos + step <= n && tree[pos + step] <= rest {
                pos += step;
                rest -= tree[pos];
            }
            step >>= 1;
        }
        let w = weights[pos];
        order.push(pos as u32);
        total -= w;
        let mut k = pos + 1;
        while k <= n {
            tree[k] -= w;
            k += k & k.wrapping_neg();
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    use crate::NEVER;

    fn run(config: &str, c: &Candidates, host: &FakeHost) -> Outcome {
        let task = task(0);
        let context = context(config);
        decide(
            &Input {
                task: &task,
                skill_names: &[],
                candidates: c,
                context: &context,
            },
            host,
        )
    }

    fn order(config: &str, c: &Candidates) -> Vec<u32> {
        offered(&run(config, c, &FakeHost::default())).0
    }

    fn stats() -> Candidates {
        let mut c = idle(&[30, 90, 90, 10]);
        c.handled_today = vec![5, 2, 7, 2];
        c.talk_seconds_today = vec![600, 1200, 300, 300];
        c.last_offered_seconds_ago = vec![40, NEVER, 400, 400];
        c
    }

    #[test]
    fn longest_idle_breaks_ties_by_index() {
        assert_eq!(
            order(r#"{"strategy": "longest-idle"}"#, &stats()),
            vec![1, 2, 0, 3]
        );
    }

    #[test]
    fn round_robin_offers_the_least_recently_offered_first() {
        // 1 never offered, then 2 and 3 (400 s ago, index decides), then 0 (40 s ago).
        assert_eq!(
            order(r#"{"strategy": "round-robin"}"#, &stats()),
            vec![1, 2, 3, 0]
        );
    }

    #[test]
    fn fewest_calls_then_longest_idle() {
        // handled 2: 1 (idle 90) before 3 (idle 10); then 0 (5), then 2 (7).
        assert_eq!(
            order(r#"{"strategy": "fewest-calls"}"#, &stats()),
            vec![1, 3, 0, 2]
        );
    }

    #[test]
    fn least_talk_time_then_longest_idle() {
        // 300 s: 2 (idle 90) before 3 (idle 10); then 0 (600), then 1 (1200).
        assert_eq!(
            order(r#"{"strategy": "least-talk-time"}"#, &stats()),
            vec![2, 3, 0, 1]
        );
    }

    #[test]
    fn ring_all_offers_everyone_at_once() {
        assert_eq!(
            offered(&run(
                r#"{"strategy": "ring-all"}"#,
                &stats(),
                &FakeHost::default()
            )),
            (vec![0, 1, 2, 3], true)
        );
        let out = run(
            r#"{"strategy": "ring-all", "maxOffers": 2}"#,
            &stats(),
            &FakeHost::default(),
        );
        assert_eq!(offered(&out), (vec![0, 1], true));
    }

    #[test]
    fn serial_follows_the_configured_ids_then_unlisted_by_index() {
        let host = FakeHost {
            ids: vec!["dana", "ann", "carl", "bob"],
            ..Default::default()
        };
        let out = run(
            r#"{"strategy": "serial", "order": ["bob", "zoe", "ann"]}"#,
            &stats(),
            &host,
        );
        // bob (3), ann (1); zoe is not a candidate; dana (0) and carl (2) follow by index.
        assert_eq!(offered(&out), (vec![3, 1, 0, 2], false));
        assert_eq!(host.lookups.get(), 4, "one id lookup per candidate");
    }

    #[test]
    fn no_candidate_waits() {
        let out = run(
            r#"{"strategy": "random", "recheckSeconds": 7}"#,
            &idle(&[]),
            &FakeHost::default(),
        );
        assert_eq!(out.decision, Decision::Wait(7));
    }

    #[test]
    fn random_is_a_permutation_fixed_by_the_seed() {
        let c = idle(&[0; 50]);
        let host = FakeHost::default();
        let mut context = context(r#"{"strategy": "random"}"#);
        let task = task(0);
        let mut results = vec![];
        for seed in [1u64, 1, 2] {
            context.seed = seed;
            let out = decide(
                &Input {
                    task: &task,
                    skill_names: &[],
                    candidates: &c,
                    context: &context,
                },
                &host,
            );
            results.push(offered(&out).0);
        }
        let mut sorted = results[0].clone();
        sorted.sort();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(results[0], results[1], "same seed, same order");
        assert_ne!(results[0], results[2], "another seed, another order");
    }

    #[test]
    fn shuffle_by_hand() {
        // Seed 0: first output 0xE220A8397B1DCDAF. For 2 entries: j = below(2) = the top bit = 1,
        // so the swap(1, 1) keeps [0, 1].
        assert_eq!(shuffle(2, 0), vec![0, 1]);
    }

    #[test]
    fn weighted_draw_by_hand() {
        // Seed 0, weights [1, 3], total 4: r = below(4) = top two bits of 0xE220… = 3, which
        // falls in candidate 1's range [1, 4), so 1 first, then 0.
        assert_eq!(weighted_order(&[1, 3], 0), vec![1, 0]);
        // Weights [3, 1]: r = 3 falls in candidate 1's range [3, 4) too.
        assert_eq!(weighted_order(&[3, 1], 0), vec![1, 0]);
        // Zero weights are never drawn.
        assert_eq!(weighted_order(&[0, 5, 0], 9), vec![1]);
    }

    #[test]
    fn weighted_random_follows_the_weights_over_many_seeds() {
        // Weights 1, 3, 0, 6 → first choice 10 %, 30 %, 0 %, 60 %.
        let mut first = [0u32; 4];
        for seed in 0..10_000u64 {
            let order = weighted_order(&[1, 3, 0, 6], seed);
            assert_eq!(order.len(), 3);
            first[order[0] as usize] += 1;
        }
        assert!((800..1200).contains(&first[0]), "{first:?}");
        assert!((2700..3300).contains(&first[1]), "{first:?}");
        assert_eq!(first[2], 0);
        assert!((5700..6300).contains(&first[3]), "{first:?}");
    }

    #[test]
    fn weights_come_from_ids_then_attribute_then_default() {
        let host = FakeHost {
            ids: vec!["ann", "bob", "carl", "dana"],
            attributes: [
                ((1, "weight"), "0"),
                ((2, "weight"), "not a number"),
                ((3, "weight"), "0"),
            ]
            .into(),
            ..Default::default()
        };
        // ann: 0 by id (id wins over the attribute-less default); bob: 0 by attribute;
        // carl: default 4; dana: 5 by id, attribute ignored.
        let config = r#"{"strategy": "weighted-random", "weights": {"ann": 0, "dana": 5}, "weightAttribute": "weight", "defaultWeight": 4}"#;
        let out = run(config, &stats(), &host);
        let (order, _) = offered(&out);
        // Drawn: carl and dana (some order); then the weight-0 ones by index: ann, bob.
        assert_eq!(order.len(), 4);
        assert_eq!(&order[2..], &[0, 1]);
        let mut drawn = order[..2].to_vec();
        drawn.sort();
        assert_eq!(drawn, vec![2, 3]);
        // Same seed, same order.
        assert_eq!(offered(&run(config, &stats(), &host)).0, order);
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            ("{}", "strategy: is required"),
            (
                r#"{"strategy": 3}"#,
                "strategy: expected a strategy name, got 3",
            ),
            (
                r#"{"strategy": "fastest"}"#,
                "strategy: unknown strategy \"fastest\" (expected one of: longest-idle,",
            ),
            (r#"{"strategy": "serial"}"#, "order: is required"),
            (
                r#"{"strategy": "serial", "order": []}"#,
                "order: needs at least 1 entry",
            ),
            (
                r#"{"strategy": "serial", "order": ["a", 7]}"#,
                "order[1]: expected a string, got 7",
            ),
            (
                r#"{"strategy": "serial", "order": ["a", "b", "a"]}"#,
                "order: \"a\" is listed twice",
            ),
            (
                r#"{"strategy": "weighted-random"}"#,
                "weights: weighted-random needs \"weights\" or \"weightAttribute\"",
            ),
            (
                r#"{"strategy": "weighted-random", "weights": {"a": -1}}"#,
                "weights.a: expected an integer from 0 to 1000000, got -1",
            ),
            (
                r#"{"strategy": "weighted-random", "weights": []}"#,
                "weights: expected an object",
            ),
            (
                r#"{"strategy": "round-robin", "order": ["a"]}"#,
                "order: unknown field (expected one of: strategy, maxOffers, recheckSeconds)",
            ),
            (
                r#"{"strategy": "ring-all", "maxOffers": 0}"#,
                "maxOffers: expected an integer from 1 to",
            ),
            ("\"random\"", "configuration: expected an object"),
        ];
        for (config, expected) in cases {
            let error = validate(config).expect_err(config);
            assert!(
                error.starts_with(expected),
                "{config}\n  got: {error}\n  want: {expected}"
            );
        }
        for name in NAMES {
            let config = match name {
                "serial" => r#"{"strategy": "serial", "order": ["a"]}"#.to_string(),
                "weighted-random" => {
                    r#"{"strategy": "weighted-random", "weightAttribute": "w"}"#.to_string()
                }
                _ => format!(r#"{{"strategy": "{name}"}}"#),
            };
            assert_eq!(validate(&config), Ok(()), "{config}");
        }
    }
}

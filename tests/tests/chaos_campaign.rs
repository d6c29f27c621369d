//! Campaign plumbing (issue 6, item 4): seed ranges, shards that partition the seeds, a short
//! campaign with no new violations, the coverage matrix and the JSON summary.

use scenarios::chaos::campaign::{self, parse_seed_range, shard_seeds, Shard};
use scenarios::chaos::{run_campaign, CampaignConfig, GenConfig};

#[test]
fn seed_ranges_and_shards() {
    assert_eq!(parse_seed_range("0..10").unwrap(), 0..10);
    assert_eq!(parse_seed_range("5..=7").unwrap(), 5..8);
    assert!(parse_seed_range("7..5").is_err());
    assert!(parse_seed_range("x").is_err());
    assert!("3/3".parse::<Shard>().is_err());
    assert!("0/0".parse::<Shard>().is_err());
    let n = 7;
    let mut all: Vec<u64> = (0..n)
        .flat_map(|i| shard_seeds(100..1100, format!("{i}/{n}").parse().unwrap()))
        .collect();
    all.sort();
    assert_eq!(
        all,
        (100..1100).collect::<Vec<_>>(),
        "shards partition the range"
    );
}

#[test]
fn short_campaign_has_no_new_violations() {
    let s = run_campaign(&CampaignConfig {
        seeds: 1000..1150,
        jobs: 2,
        gen: GenConfig {
            max_policies: 12,
            ..GenConfig::default()
        },
        shrink_budget: 0,
        ..CampaignConfig::default()
    });
    assert_eq!(s.runs, 150);
    let new: Vec<_> = s
        .failing_seeds
        .iter()
        .filter(|f| f.known.is_empty())
        .collect();
    assert!(new.is_empty(), "{}", s.render());
    for id in scenarios::check::CHECKED {
        assert!(s.checked_invariants.contains(id), "{id} checked");
    }
    assert!(s.coverage.pairs_hit() >= 8, "{}", s.coverage.render());
    assert!(s.outcomes.len() >= 3, "varied outcomes: {:?}", s.outcomes);
    // Uncovered pairs are listed for every step seen.
    assert!(s
        .uncovered
        .iter()
        .all(|u| s.coverage.steps.contains(&u.step)));
    let json = serde_json::to_string(&s).unwrap();
    let back: campaign::Summary = serde_json::from_str(&json).unwrap();
    assert_eq!(back.runs, s.runs);
}

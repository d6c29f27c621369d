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
    for id in scenarios::judge::JUDGED_IN_A_RUN {
        assert!(s.checked_invariants.contains(id), "{id} judged in some run");
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

#[test]
fn seeds_are_spent_past_validation() {
    // Issue 10, item 4: at least 80 % of generated runs reach the cut-over (an `allow_write`
    // starts) or stop where a targeted fault aimed them (a gate held as intended); few never
    // start; and the cluster faults aimed at rollback instances hit them. A regression in the
    // generator's weighting (or a world that validation refuses) fails here.
    let s = run_campaign(&CampaignConfig {
        seeds: 0..300,
        jobs: 2,
        gen: GenConfig {
            max_policies: 12,
            ..GenConfig::default()
        },
        shrink_budget: 0,
        ..CampaignConfig::default()
    });
    let p = &s.phases;
    assert_eq!(p.runs, 300);
    let report = format!("{}{:?}", p.render(), s.outcomes);
    assert!(p.cut_over_or_held_pct >= 80.0, "{report}");
    assert!(p.share("cut_over") >= 60.0, "{report}");
    assert!(p.share("not_started") <= 3.0, "{report}");
    assert!(p.share("validated") >= 80.0, "{report}");
    assert!(p.held_as_intended > 0, "{report}");
    // Phases are nested: a later phase is never reached by more runs than an earlier one
    // (`synced` counts uncontrolled runs whose syncs were skipped, so it may pass
    // `validated` only by those).
    assert!(p.share("planned") >= p.share("validated"), "{report}");
    assert!(p.share("synced") >= p.share("resync_prepped"), "{report}");
    assert!(p.share("cut_over") >= p.share("resync_prepped"), "{report}");
    // The JSON summary carries the shares.
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["phases"]["share_pct"]["cut_over"].is_number());
    let hits = |step: &str, kind: &str| {
        s.coverage
            .hits
            .get(step)
            .and_then(|m| m.get(kind))
            .copied()
            .unwrap_or(0)
    };
    for step in ["rollback_lock", "rollback_protocols", "rollback_schedules"] {
        let n: u64 = ["http", "drop_connection", "delay"]
            .iter()
            .map(|k| hits(step, k))
            .sum();
        assert!(
            n > 0,
            "no cluster fault hit {step}\n{}",
            s.coverage.render()
        );
    }
    for kind in ["http", "drop_connection", "delay"] {
        assert!(
            hits("rollback_lock", kind) + hits("rollback_protocols", kind) > 0,
            "{kind} never hit rollback_lock/rollback_protocols\n{}",
            s.coverage.render()
        );
    }
}

//! Property: for any number of policies and any placement of SyncIQ failures and 503
//! bursts, the report's statuses follow the skip rules exactly (checked against a tiny
//! reference model here) and invariants I1–I3 hold.

use proptest::prelude::*;
use scenarios::Scenario;

const CHAIN: [&str; 5] = [
    "sync_data",
    "allow_write",
    "resync_prep",
    "restore_schedule",
    "run_mirror",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fail {
    None,
    Sync,
    AllowWrite,
    ResyncPrep,
    Mirror,
}

fn fail_strategy() -> impl Strategy<Value = Fail> {
    prop_oneof![
        3 => Just(Fail::None),
        1 => Just(Fail::Sync),
        1 => Just(Fail::AllowWrite),
        1 => Just(Fail::ResyncPrep),
        1 => Just(Fail::Mirror),
    ]
}

fn scenario(fails: &[Fail], bursts: &[bool], seed: u64, parallel: bool) -> String {
    let mut y = format!("name: prop\nseed: {seed}\nworld:\n  clusters:\n    - name: a\n      max_concurrent_jobs: 2\n      files:\n");
    for i in 0..fails.len() {
        y.push_str(&format!("        - {{root: /ifs/p{i}, count: 10, size_bytes: 1048576, unsynced_fraction: 0.5}}\n"));
    }
    y.push_str("    - name: b\n      max_concurrent_jobs: 2\n  policies:\n");
    for i in 0..fails.len() {
        y.push_str(&format!("    - {{name: p{i}, source: a, target: b, source_path: /ifs/p{i}, target_path: /ifs/p{i}, schedule: every 1 hours}}\n"));
    }
    y.push_str(&format!("run: {{mode: synciq-policy, from: a, to: b, options: {{parallel: {parallel}}}}}\nfaults:\n"));
    for (i, f) in fails.iter().enumerate() {
        let rule = match f {
            Fail::None => continue,
            Fail::Sync => format!("  - when: {{step: sync_data, policy: p{i}}}\n    effect: {{syncjob_fail: {{at_progress: 0.3}}}}\n"),
            Fail::AllowWrite => format!("  - when: {{step: allow_write, policy: p{i}}}\n    effect: allow_write_fail\n"),
            Fail::ResyncPrep => format!("  - when: {{step: resync_prep, policy: p{i}}}\n    effect: resync_prep_fail\n"),
            Fail::Mirror => format!("  - when: {{step: run_mirror, policy: p{i}}}\n    effect: {{syncjob_fail: {{at_progress: 0.9}}}}\n"),
        };
        y.push_str(&rule);
    }
    for (i, b) in bursts.iter().enumerate() {
        if *b {
            y.push_str(&format!("  - when: {{method: POST, route: sync/jobs, policy: p{i}}}\n    effect: {{http: {{status: 503, count: 2}}}}\n"));
        }
    }
    y.push_str("expect: {invariants: [I1, I2, I3]}\n");
    y
}

fn expected(f: Fail, step: &str) -> &'static str {
    let failed_at = match f {
        Fail::None => return "succeeded",
        Fail::Sync => 0,
        Fail::AllowWrite => 1,
        Fail::ResyncPrep => 2,
        Fail::Mirror => 4,
    };
    let pos = CHAIN.iter().position(|s| *s == step).unwrap();
    if pos == failed_at {
        "failed"
    } else if pos < failed_at || failed_at == 4 {
        "succeeded"
    } else {
        "skipped"
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn statuses_follow_skip_rules(
        fails in prop::collection::vec(fail_strategy(), 1..6),
        burst_seed in any::<u8>(),
        seed in 0u64..1000,
        parallel in any::<bool>(),
    ) {
        let bursts: Vec<bool> = (0..fails.len()).map(|i| (burst_seed >> (i % 8)) & 1 == 1).collect();
        let text = scenario(&fails, &bursts, seed, parallel);
        let scn = Scenario::parse(&text, "<prop>").unwrap();
        let r = tests::run(&scn);
        for inv in &r.invariants {
            prop_assert!(inv.is_ok(), "{} not ok: {:?}\n{}", inv.id, inv.verdict, text);
        }
        for (i, f) in fails.iter().enumerate() {
            let p = format!("p{i}");
            for step in CHAIN {
                let rec = r.report.steps.iter().find(|s| s.step.as_str() == step && s.policy.as_deref() == Some(p.as_str())).unwrap();
                prop_assert_eq!(rec.status.name(), expected(*f, step), "{}[{}] with {:?}\n{}", step, p, f, text);
            }
        }
        let any_fail = fails.iter().any(|f| *f != Fail::None);
        let any_cut = fails.iter().any(|f| matches!(f, Fail::None | Fail::ResyncPrep | Fail::Mirror));
        let outcome = r.report.outcome.as_str();
        let want = if !any_fail { "succeeded" } else if any_cut { "partial" } else { "failed" };
        prop_assert_eq!(outcome, want);
    }
}

//! The same seed gives the same trace, byte for byte (DESIGN.md §7).

use tests::{load, run};

#[test]
fn same_seed_same_trace() {
    for name in ["synciq-happy-3", "synciq-sync-fails", "synciq-503-burst"] {
        let scn = load(name);
        let a = run(&scn).trace();
        let b = run(&scn).trace();
        assert!(a.len() > 1000, "{name}: trace is substantial");
        assert_eq!(
            a, b,
            "{name}: traces differ between two runs of the same seed"
        );
    }
}

#[test]
fn generated_scenarios_replay_exactly() {
    for seed in 0..5 {
        let scn = scenarios::generate::synciq(&scenarios::generate::GenParams {
            policies: 12,
            seed,
            max_concurrent_jobs: 4,
            history: false,
        })
        .unwrap();
        let a = run(&scn);
        let b = run(&scn);
        tests::assert_passed(&a);
        assert_eq!(a.trace(), b.trace(), "seed {seed}");
    }
}

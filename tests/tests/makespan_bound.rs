//! The report's performance figures (DESIGN §8, `orchestrator/src/makespan.rs`) against
//! the executor's real schedules: the lower bounds are below every run's makespan, the
//! barrier baseline is above the bound, and a pipelined run beats the barrier on a
//! generated 100-policy world. Reports without the figures still load.

use orchestrator::{Performance, Report};
use scenarios::generate::{synciq, GenParams};
use tests::{library_files, run};

fn check(what: &str, report: &Report) -> Performance {
    let p = report
        .performance
        .clone()
        .unwrap_or_else(|| panic!("{what}: no performance figures"));
    let m = report.makespan_ms;
    assert!(p.lower_bound_ms >= p.critical_path_ms, "{what}: {p:?}");
    for (c, l) in &p.job_slots {
        assert!(p.lower_bound_ms >= l.bound_ms, "{what}: {c}: {p:?}");
        assert!(l.with_head_and_tail_ms >= l.bound_ms, "{what}: {c}: {p:?}");
        assert!(
            p.tight_lower_bound_ms >= l.with_head_and_tail_ms,
            "{what}: {c}: {p:?}"
        );
    }
    assert!(p.lower_bound_ms <= p.tight_lower_bound_ms, "{what}: {p:?}");
    assert!(
        p.tight_lower_bound_ms <= m,
        "{what}: bound {} above the makespan {m}: {p:?}",
        p.tight_lower_bound_ms
    );
    assert!(p.lower_bound_ms <= p.barrier_baseline_ms, "{what}: {p:?}");
    if p.lower_bound_ms > 0 {
        let r = p.makespan_over_lower_bound.expect("ratio");
        assert!(r >= 1.0, "{what}: {p:?}");
        assert!(
            (r - m as f64 / p.lower_bound_ms as f64).abs() < 0.001,
            "{what}: {p:?}"
        );
    }
    p
}

#[test]
fn bounds_hold_on_every_library_scenario() {
    for f in library_files() {
        let scn = scenarios::Scenario::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let r = run(&scn);
        check(&f.display().to_string(), &r.report);
    }
}

#[test]
fn pipelined_beats_the_barrier_on_a_generated_world() {
    for slots in [4, 16] {
        let scn = synciq(&GenParams {
            policies: 100,
            seed: 1,
            max_concurrent_jobs: slots,
            history: false,
        })
        .expect("generated scenario parses");
        let r = run(&scn);
        let p = check(&format!("generated, {slots} slots"), &r.report);
        assert!(p.lower_bound_term.starts_with("job_slots("), "{p:?}");
        assert!(
            r.report.makespan_ms <= p.barrier_baseline_ms,
            "{slots} slots: pipelined {} > barrier {}",
            r.report.makespan_ms,
            p.barrier_baseline_ms
        );
        assert!(p.pipelined_over_barrier.is_some_and(|x| x < 1.0), "{p:?}");
    }
}

#[test]
fn reports_without_the_figures_still_load() {
    let r = run(&tests::load("synciq-happy-3"));
    let mut v = serde_json::to_value(&r.report).unwrap();
    // A report from before the tight bound was added.
    let perf = v["performance"].as_object_mut().unwrap();
    perf.remove("tight_lower_bound_ms");
    perf.remove("makespan_over_tight_lower_bound");
    for l in perf["job_slots"].as_object_mut().unwrap().values_mut() {
        l.as_object_mut().unwrap().remove("with_head_and_tail_ms");
    }
    let back: Report = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back.performance.unwrap().tight_lower_bound_ms, 0);
    // A report from before the figures existed.
    v.as_object_mut().unwrap().remove("performance");
    let back: Report = serde_json::from_value(v).unwrap();
    assert_eq!(back.performance, None);
    // And the figures survive a round trip.
    let again: Report = serde_json::from_str(&serde_json::to_string(&r.report).unwrap()).unwrap();
    assert_eq!(again, r.report);
}

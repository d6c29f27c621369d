//! `dr plan --estimate` (orchestrator/src/estimate.rs): the prediction keeps the plan's
//! edges and the clusters' job slots, learns the cost model from the report history the
//! simulator serves, lands near the simulated makespan on a generated world with history,
//! and is served by `POST /api/v1/plans/estimate`.

mod rest_support;

use http::StatusCode;
use orchestrator::estimate::{estimate, CostDefaults, Estimate};
use orchestrator::{Inventory, Plan, StepId};
use rest_support::{app, call, OPERATOR};
use scenarios::generate::{synciq, GenParams};
use scenarios::runner::{in_process_clients, world_mappings};
use scenarios::world::World;
use scenarios::{run_scenario, DrillOptions, Scenario};

fn generated(policies: usize, slots: u32) -> Scenario {
    synciq(&GenParams {
        policies,
        seed: 7,
        max_concurrent_jobs: slots,
        history: true,
    })
    .expect("generated scenario parses")
}

/// Discover the world over in-process PAPI, plan its run and estimate it.
fn plan_and_estimate(scn: &Scenario) -> (Inventory, Plan, Estimate) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let world = World::build(&scn.world, scn.seed).unwrap();
        let clients = in_process_clients(&world.sim).unwrap();
        let inv = orchestrator::runner::discover(&clients).await.unwrap();
        let mut spec = scn.run.clone();
        if spec.pool_mappings.is_empty() {
            spec.pool_mappings = world_mappings(scn);
        }
        let plan = orchestrator::build_plan(&spec, &inv).unwrap();
        let c = &scn.world.costs;
        let defaults = CostDefaults {
            allow_write_ms: c.allow_write_ms,
            allow_write_revert_ms: c.allow_write_revert_ms,
            resync_prep_ms: c.resync_prep_ms,
            ..CostDefaults::default()
        };
        let est = estimate(&plan, &inv, &defaults);
        (inv, plan, est)
    })
}

#[test]
fn the_schedule_keeps_edges_and_job_slots() {
    let scn = generated(30, 4);
    let (_, plan, est) = plan_and_estimate(&scn);
    assert_eq!(est.steps.len(), plan.steps.len());
    for (s, e) in plan.steps.iter().zip(&est.steps) {
        assert_eq!((s.step, &s.policy), (e.step, &e.policy));
        for &d in &s.deps {
            assert!(
                e.start_ms >= est.steps[d].end_ms,
                "{} starts before {} ends",
                s.label(),
                plan.steps[d].label()
            );
        }
        assert!(est.total_ms >= e.end_ms);
    }
    // At no instant do more than 4 jobs hold a slot of the source.
    let jobs: Vec<_> = plan
        .steps
        .iter()
        .zip(&est.steps)
        .filter(|(s, _)| s.job_slot.as_deref() == Some("src"))
        .map(|(_, e)| (e.start_ms, e.end_ms))
        .collect();
    assert!(jobs.len() > 4);
    for &(t, _) in &jobs {
        let running = jobs.iter().filter(|&&(a, b)| a <= t && t < b).count();
        assert!(running <= 4, "{running} jobs at {t} ms");
    }
    // Job steps take time, rounded up to the orchestrator's poll of the job.
    let poll = plan.spec.options.job_poll_interval_ms;
    for e in est.steps.iter().filter(|e| e.job_ms.is_some()) {
        let d = e.end_ms - e.start_ms;
        assert!(d >= e.job_ms.unwrap() && d % poll == 0, "{e:?}");
    }
}

#[test]
fn the_cost_model_is_learned_from_the_report_history() {
    let scn = generated(30, 4);
    let (inv, _, est) = plan_and_estimate(&scn);
    let cal = &est.clusters["src"];
    assert_eq!(cal.basis["bandwidth_bytes_per_s"], "history", "{cal:?}");
    // The simulated link: 125 MB/s and a 5 s job start (report durations are whole
    // seconds, so the fit is close, not exact).
    let bw = cal.bandwidth_bytes_per_s as f64;
    assert!((bw / 125e6 - 1.0).abs() < 0.1, "{cal:?}");
    assert!(cal.job_start_latency_ms.abs_diff(5_000) <= 1_000, "{cal:?}");
    // Every policy has its history; none is estimated as "no change".
    assert!(inv.policies.values().all(|p| p.history.len() == 5));
    assert!(est.notes.iter().all(|n| !n.contains("without incremental")));
}

#[test]
fn the_estimate_lands_near_the_simulated_makespan() {
    for (policies, slots) in [(10, 4), (100, 16)] {
        let mut scn = generated(policies, slots);
        // Without the pre-sync: its delta syncs are nearly all start latency, which the
        // cost model learns from whole-second report durations (about 0.7 s high here), so
        // each rounds up to the next poll; `estimate_with_presync_expects_deltas` below.
        scn.run.options.presync = false;
        let (_, _, est) = plan_and_estimate(&scn);
        let r = run_scenario(&scn, &DrillOptions::default()).unwrap();
        let actual = r.report.makespan_ms as f64;
        let err = (est.total_ms as f64 - actual).abs() / actual;
        assert!(
            err <= 0.10,
            "{policies} policies: estimate {} ms, simulated {actual} ms",
            est.total_ms
        );
    }
}

#[test]
fn without_history_the_estimate_says_what_it_assumed() {
    let scn = tests::load("synciq-happy-3");
    let (_, plan, est) = plan_and_estimate(&scn);
    assert!(est.total_ms > 0);
    assert!(
        est.notes.iter().any(|n| n.contains("without incremental")),
        "{:?}",
        est.notes
    );
    let sync = plan
        .steps
        .iter()
        .position(|s| s.step == StepId::SyncData)
        .unwrap();
    assert_eq!(est.steps[sync].bytes, Some(0));
}

#[tokio::test(start_paused = true)]
async fn the_api_serves_the_estimate() {
    let scn = tests::load("synciq-happy-3");
    let (_sim, _state, router) = app(&scn, 2);
    let spec = r#"{"from": "boston", "to": "denver"}"#;
    let (st, est) = call(
        &router,
        "POST",
        "/api/v1/plans/estimate",
        Some(OPERATOR),
        Some(spec),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{est}");
    assert!(est["total_ms"].as_u64().unwrap() > 0, "{est}");
    let (_, plan) = call(&router, "POST", "/api/v1/plans", Some(OPERATOR), Some(spec)).await;
    assert_eq!(
        est["steps"].as_array().unwrap().len(),
        plan["steps"].as_array().unwrap().len()
    );
    let (st, _) = call(
        &router,
        "POST",
        "/api/v1/plans/estimate",
        Some(OPERATOR),
        Some(r#"{"from": "boston"}"#),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

/// The report's estimate is made once at plan time with the run's cost model
/// (`options.estimate`, which `dr` fills from the config's `estimate:`), stored in the plan
/// and carried into the report: the same figure `dr plan --estimate` prints for those costs.
#[test]
fn the_report_carries_the_plan_time_estimate_with_the_runs_costs() {
    let mut scn = generated(6, 2);
    let (_, _, default_est) = plan_and_estimate(&scn);
    let r = run_scenario(&scn, &DrillOptions::default()).unwrap();
    let carried = r.report.performance.as_ref().and_then(|p| p.estimated_ms);
    assert_eq!(carried, r.plan.estimated_ms);
    assert!(carried.is_some());
    // A slower cost model (allow-write and resync-prep, which the incremental history says
    // nothing about, ten minutes each) changes the estimate the run carries, to what
    // `estimate` says for the plan with those costs.
    let slow = CostDefaults {
        allow_write_ms: 600_000,
        resync_prep_ms: 600_000,
        ..CostDefaults::default()
    };
    scn.run.options.estimate = Some(slow.clone());
    let (inv, plan, _) = plan_and_estimate(&scn);
    let r2 = run_scenario(&scn, &DrillOptions::default()).unwrap();
    let expected = estimate(&plan, &inv, &slow).total_ms;
    assert_eq!(r2.plan.estimated_ms, Some(expected));
    assert_eq!(
        r2.report.performance.as_ref().and_then(|p| p.estimated_ms),
        Some(expected)
    );
    assert_ne!(Some(expected), carried, "{default_est:?}");
}

/// With the pre-sync (DESIGN §8) the estimate carries the full job on `presync[P]` and
/// only a delta on the final `sync_data[P]` after the lock: the bytes written while the
/// pre-sync ran, against the policy's sync interval from its history.
#[test]
fn estimate_with_presync_expects_deltas() {
    let scn = generated(10, 4);
    assert!(scn.run.options.presync, "on by default");
    let (_, _, est) = plan_and_estimate(&scn);
    let of = |step: StepId, p: &str| {
        est.steps
            .iter()
            .find(|e| e.step == step && e.policy.as_deref() == Some(p))
            .unwrap_or_else(|| panic!("{step}[{p}] estimated"))
    };
    let mut some_backlog = false;
    for i in 0..10 {
        let p = format!("p{i:04}");
        let (pre, fin) = (of(StepId::Presync, &p), of(StepId::SyncData, &p));
        let (pb, fb) = (pre.bytes.unwrap_or(0), fin.bytes.unwrap_or(0));
        assert!(fb <= pb, "{p}: final {fb} bytes after a pre-sync of {pb}");
        if pb > 1_000_000 {
            some_backlog = true;
            // A pre-sync of seconds against an hourly backlog: a few thousandths of it.
            assert!(
                fb * 100 < pb,
                "{p}: final {fb} bytes after a pre-sync of {pb}"
            );
        }
        assert!(
            fin.start_ms >= pre.end_ms,
            "{p}: the final sync after the pre-sync"
        );
    }
    assert!(some_backlog);
}

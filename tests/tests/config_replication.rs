//! Config replication as real jobs: `POST /api/v1/config-sync` (what `dr config-sync --once`
//! runs) copies every object type and records the job in the store; a journaled failover
//! keeps its config jobs in the journal's database; an uncontrolled failover applies the
//! cached configuration (or warns that there is none); and I10 is judged from the store, so
//! a store that disagrees with the documented rule (or with the report) is caught.

mod rest_support;

use http::StatusCode;
use orchestrator::config_repl::{JobState, Store};
use rest_support::{app, call, OPERATOR, VIEWER};
use scenarios::judge::{self, Evidence};
use serde_json::{json, Value};

fn names(cfg: &Value, key: &str, field: &str) -> Vec<String> {
    let mut v: Vec<String> = cfg[key]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|o| o[field].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[tokio::test(start_paused = true)]
async fn config_sync_over_rest_copies_every_object_type_and_records_the_job() {
    let scn = tests::load("synciq-config-replication");
    let (sim, state, router) = app(&scn, 1);
    let (st, jobs) = call(&router, "GET", "/api/v1/config-jobs", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK, "{jobs}");
    assert_eq!(jobs, json!([]));

    let (st, _) = call(
        &router,
        "POST",
        "/api/v1/config-sync",
        Some(VIEWER),
        Some("{}"),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "a config sync changes clusters: operator only"
    );
    let (st, e) = call(
        &router,
        "POST",
        "/api/v1/config-sync",
        Some(OPERATOR),
        Some(r#"{"policies": ["nope"]}"#),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("nope"));

    let (st, sum) = call(
        &router,
        "POST",
        "/api/v1/config-sync",
        Some(OPERATOR),
        Some("{}"),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{sum}");
    let job = &sum["jobs"][0];
    assert_eq!(job["policy"], "eng");
    assert_eq!(job["result"], "succeeded", "{sum}");
    assert_eq!(job["counts"]["smb_share"]["created"], 1, "{sum}");
    assert_eq!(job["counts"]["smb_share"]["deleted"], 1, "{sum}");
    assert_eq!(job["counts"]["nfs_export"]["created"], 1, "{sum}");
    assert_eq!(job["counts"]["quota"]["created"], 1, "{sum}");
    assert_eq!(job["counts"]["snapshot_schedule"]["updated"], 1, "{sum}");
    assert_eq!(job["counts"]["dedupe_path"]["created"], 1, "{sum}");

    let denver = sim.config_json("denver").unwrap();
    assert_eq!(names(&denver, "smb_shares", "name"), vec!["eng"]);
    let sched: Vec<&Value> = denver["snapshot_schedules"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(sched.len(), 1);
    assert_eq!(sched[0]["schedule"], "every 1 hours");
    assert_eq!(sched[0]["duration"], 86_400);
    assert_eq!(denver["dedupe"]["paths"], json!(["/ifs/data/eng/builds"]));
    assert_eq!(names(&denver, "quotas", "path"), vec!["/ifs/data/eng"]);
    let exports: Vec<&Value> = denver["nfs_exports"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(exports[0]["clients"], json!(["10.1.0.0/16"]));

    // A second pass finds nothing to do.
    let (_, sum) = call(
        &router,
        "POST",
        "/api/v1/config-sync",
        Some(OPERATOR),
        Some("{}"),
    )
    .await;
    assert_eq!(sum["jobs"][0]["result"], "succeeded");
    assert_eq!(sum["jobs"][0]["counts"], json!({}), "{sum}");

    let (st, jobs) = call(&router, "GET", "/api/v1/config-jobs", Some(VIEWER), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(jobs[0]["state"], "enabled");
    assert_eq!(jobs[0]["last_result"], "succeeded");
    let store = state_store(&state);
    assert_eq!(store.runs("boston", "eng", 10).unwrap().len(), 2);
    let (_, cached) = store.cache("boston", "eng").unwrap().unwrap();
    assert_eq!(cached.shares.len(), 1);
    assert_eq!(cached.quotas.len(), 1);

    // A user-disabled job is skipped, and says so.
    store
        .set_state("boston", "eng", "denver", JobState::UserDisabled, "test")
        .unwrap();
    let (_, sum) = call(
        &router,
        "POST",
        "/api/v1/config-sync",
        Some(OPERATOR),
        Some("{}"),
    )
    .await;
    assert_eq!(sum["jobs"][0]["result"], "skipped", "{sum}");
    assert_eq!(sum["jobs"][0]["state"], "user_disabled");

    let (_, doc) = call(&router, "GET", "/openapi.json", None, None).await;
    for p in ["/api/v1/config-sync", "/api/v1/config-jobs"] {
        assert!(doc["paths"][p].is_object(), "{p} in the OpenAPI document");
    }
}

fn state_store(state: &orchestrator::server::AppState) -> std::sync::Arc<Store> {
    state.journal().config_store().unwrap()
}

#[test]
fn a_journaled_failover_keeps_its_config_jobs_in_the_journal_database() {
    let scn = tests::load("synciq-config-replication");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dr-journal.sqlite");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let report = rt.block_on(async {
        let sim = sim_onefs::Sim::new(&scn.world, scn.seed).unwrap();
        let clients = scenarios::crash::clients(&sim, None).unwrap();
        let journal = orchestrator::journal::Journal::open(&path).unwrap();
        let spec = scn.run.clone();
        let (_, report) = orchestrator::runner::run_journaled(
            &journal,
            "r1",
            clients,
            None,
            &spec,
            std::sync::Arc::new(scenarios::runner::SimOperator::new(Default::default())),
            None,
        )
        .await
        .unwrap();
        report
    });
    assert_eq!(report.config_jobs["eng"], "enabled");
    // The published tables, read with plain SQLite from the journal's file.
    let db = rusqlite::Connection::open(&path).unwrap();
    let (state, reason): (String, String) = db
        .query_row(
            "SELECT state, reason FROM config_jobs WHERE source = 'boston' AND policy = 'eng'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, "enabled");
    assert!(reason.contains("r1"), "{reason}");
    let trigger: String = db
        .query_row(
            "SELECT trigger FROM config_job_runs WHERE policy = 'eng'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(trigger, "failover:r1");
    let cached: String = db
        .query_row(
            "SELECT config FROM config_cache WHERE policy = 'eng'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(cached.contains("eng-hourly"), "{cached}");
}

#[test]
fn uncontrolled_failover_applies_the_cache_and_states_its_age() {
    let r = tests::run(&tests::load("synciq-uncontrolled-cached-config"));
    tests::assert_passed(&r);
    for p in ["eng", "hr"] {
        let c = &r.report.config_cache[p];
        assert!(c.available && c.age_s.is_some(), "{p}: {c:?}");
        let s = r
            .report
            .find(orchestrator::StepId::SyncConfig, Some(p))
            .unwrap();
        assert!(
            s.detail.as_deref().unwrap_or("").contains("cached"),
            "{s:?}"
        );
    }
    let i8 = r.invariants.iter().find(|i| i.id == "I8").unwrap();
    assert!(i8.is_ok(), "{i8:?}");
}

#[test]
fn uncontrolled_failover_without_a_cache_warns_and_still_fails_over() {
    let mut scn = tests::load("synciq-uncontrolled-cached-config");
    scn.config_sync_before = false;
    let r = tests::run(&scn);
    assert!(
        r.invariants.iter().all(|i| !i.is_violated()),
        "{:?}",
        r.invariants
    );
    assert_eq!(r.report.outcome, orchestrator::Outcome::Succeeded);
    assert!(!r.report.config_cache["eng"].available);
    assert!(
        r.report
            .warnings
            .iter()
            .any(|w| w.contains("no cached configuration of eng")),
        "{:?}",
        r.report.warnings
    );
    let aw = r
        .report
        .find(orchestrator::StepId::AllowWrite, Some("eng"))
        .unwrap();
    assert_eq!(aw.status, orchestrator::StepStatus::Succeeded);
    // I8 does not count the missing copies as a silent loss: the report says why.
    let i8 = r.invariants.iter().find(|i| i.id == "I8").unwrap();
    assert!(
        i8.notes
            .iter()
            .any(|n| n.contains("no cached configuration")),
        "{i8:?}"
    );
}

#[test]
fn i10_is_judged_from_the_store_and_catches_a_store_that_disagrees() {
    let scn = tests::load("synciq-config-replication");
    let r = tests::run(&scn);
    tests::assert_passed(&r);
    let report = serde_json::to_vec(&r.report).unwrap();
    let judge_with = |store: Option<&str>| {
        let ev = Evidence {
            report: &report,
            audit: &r.audit,
            run_offset_ms: None,
            returned_at_ms: None,
            scenario: &scn,
            world: None,
            clients: &[],
            samples: None,
            config_store: store,
        };
        judge::judge(&ev, &["I10"]).remove(0)
    };
    assert!(judge_with(None).not_judged_reason().is_some());

    // The store agrees with the documented rule: resync_prep[eng] succeeded → enabled.
    let good = Store::memory("i10-catch-good").unwrap();
    good.set_state("boston", "eng", "denver", JobState::Enabled, "t")
        .unwrap();
    assert!(judge_with(Some(good.location())).is_ok());

    // The store says the job stayed disabled although resync_prep succeeded (and the report
    // claims it is enabled): both are caught.
    let bad = Store::memory("i10-catch-bad").unwrap();
    bad.set_state("boston", "eng", "denver", JobState::UserDisabled, "t")
        .unwrap();
    let v = judge_with(Some(bad.location()));
    assert!(v.is_violated(), "{v:?}");
    let text = v.violations().join("\n");
    assert!(
        text.contains("config job of eng is user_disabled, expected enabled"),
        "{text}"
    );
    assert!(text.contains("the store says user_disabled"), "{text}");

    // A store that cannot be read is a violation, not "nothing there".
    let v = judge_with(Some("/nonexistent/dir/store.sqlite"));
    assert!(v.is_violated(), "{v:?}");
}

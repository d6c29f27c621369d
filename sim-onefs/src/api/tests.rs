//! Router-level tests under tokio's paused clock: every scenario here is driven through the
//! PAPI routes exactly as the orchestrator would, with `oneshot`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{FaultEffect, FaultMatch, FaultRule, FsError, Sim, WorldSpec};

const ADMIN: (&str, &str) = ("admin", "pw");

fn spec(max_jobs: u32) -> WorldSpec {
    serde_json::from_value(json!({
        "clusters": [
            {"name": "boston", "max_concurrent_jobs": max_jobs,
             "users": [
                {"name": "admin", "password": "pw", "role": "admin"},
                {"name": "ro", "password": "pw", "role": "read-only"},
                {"name": "op", "password": "pw", "role": "synciq-operator"}],
             "files": [
                {"root": "/ifs/data/eng", "count": 100, "size_bytes": 65536, "unsynced_fraction": 0.1},
                {"root": "/ifs/data/hr", "count": 10, "size_bytes": 1000}]},
            {"name": "denver", "users": [{"name": "admin", "password": "pw", "role": "admin"}]}
        ],
        "policies": [
            {"name": "eng", "source": "boston", "target": "denver", "source_path": "/ifs/data/eng", "target_path": "/ifs/data/eng"},
            {"name": "hr", "source": "boston", "target": "denver", "source_path": "/ifs/data/hr", "target_path": "/ifs/data/hr"}
        ]
    }))
    .unwrap()
}

fn basic(u: &str, p: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
    )
}

async fn call_h(
    app: &Router,
    method: &str,
    uri: &str,
    user: Option<(&str, &str)>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value, http::HeaderMap) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some((u, p)) = user {
        b = b.header("authorization", basic(u, p));
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(body.map_or(Body::empty(), |s| Body::from(s.to_string())))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let h = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v, h)
}

async fn call(app: &Router, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let s = body.map(|b| b.to_string());
    let (st, v, _) = call_h(app, method, uri, Some(ADMIN), s.as_deref(), &[]).await;
    (st, v)
}

/// The Unix time a response's `Date` header states.
fn date_header_s(h: &http::HeaderMap) -> i64 {
    let t = httpdate::parse_http_date(h["date"].to_str().unwrap()).unwrap();
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn rule(when: FaultMatch, effect: FaultEffect) -> FaultRule {
    FaultRule { when, effect }
}

#[tokio::test(start_paused = true)]
async fn policy_crud_and_errors() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let (s, v) = call(&b, "GET", "/platform/11/sync/policies", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["total"], 2);
    assert_eq!(v["resume"], Value::Null);
    let (s, v) = call(&b, "GET", "/platform/3/sync/policies/eng", None).await;
    assert_eq!(s, StatusCode::OK);
    let p = &v["policies"][0];
    assert_eq!(p["id"].as_str().unwrap().len(), 32);
    assert_eq!(p["target_host"], "denver");
    assert_eq!(p["last_job_state"], "finished");

    let body = json!({"name": "ops", "source_root_path": "/ifs/data/ops", "target_host": "denver", "target_path": "/ifs/data/ops"});
    let (s, v) = call(
        &b,
        "POST",
        "/platform/latest/sync/policies",
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = call(&b, "GET", &format!("/platform/14/sync/policies/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["policies"][0]["name"], "ops");
    let (s, _) = call(&b, "POST", "/platform/14/sync/policies", Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/14/sync/policies/ops",
        Some(json!({"schedule": "every 1 days"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        sim.policy_state("boston", "ops").unwrap()["schedule"],
        "every 1 days"
    );
    // The judge's read of the schedule is the rendered JSON's.
    assert_eq!(
        sim.policy_schedule("boston", "ops").as_deref(),
        sim.policy_state("boston", "ops").unwrap()["schedule"].as_str()
    );
    assert_eq!(sim.policy_schedule("boston", "no-such-policy"), None);
    assert_eq!(sim.policy_schedule("no-such-cluster", "ops"), None);
    let (s, v) = call(
        &b,
        "PUT",
        "/platform/14/sync/policies/ops",
        Some(json!({"enabled": "yes"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["code"], "AEC_BAD_REQUEST");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("enabled"));
    let (s, v) = call(
        &b,
        "POST",
        "/platform/14/sync/policies",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("source_root_path"));
    let (s, _, _) = call_h(
        &b,
        "POST",
        "/platform/14/sync/policies",
        Some(ADMIN),
        Some("{not json"),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = call(&b, "POST", "/platform/14/sync/policies", Some(json!({"name": "y", "source_root_path": "/data", "target_host": "denver", "target_path": "/ifs/y"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = call(&b, "DELETE", "/platform/14/sync/policies/ops", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(&b, "GET", "/platform/14/sync/policies/ops", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errors"][0]["code"], "AEC_NOT_FOUND");
    let (s, v) = call(&b, "GET", "/platform/14/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["errors"][0]["code"], "AEC_NOT_FOUND");
    let (s, _) = call(&b, "GET", "/platform/99/sync/policies", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = call(&b, "GET", "/platform/latest", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["latest"].is_string());
    let (s, v) = call(&b, "GET", "/platform/1/cluster/config", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["onefs_version"]["release"], "9.10.0.0");
    assert_eq!(v["name"], "boston");
    let actions: Vec<String> = sim.audit_log().iter().map(|e| e.action.clone()).collect();
    assert_eq!(
        actions,
        [
            "sync.policy.create",
            "sync.policy.update",
            "sync.policy.delete"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn job_runs_for_the_modelled_time_and_updates_target() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    // 10 unsynced files of 64 KiB + one new 1 MB file.
    sim.client_write("boston", "/ifs/data/eng/new", 1_000_000, "ws1")
        .unwrap();
    assert!(sim.read_file("denver", "/ifs/data/eng/new").is_none());
    let before = sim.tree("denver", "/ifs/data/eng");
    assert_eq!(before.len(), 100);
    let (s, v, _) = call_h(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(ADMIN),
        Some(r#"{"id": "eng"}"#),
        &[
            ("x-dr-step", "sync_data"),
            ("x-dr-policy", "eng"),
            ("x-dr-run", "r1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let pid = sim.policy_state("boston", "eng").unwrap()["id"].clone();
    assert_eq!(v["id"], pid);
    let (s, v) = call(&b, "GET", "/platform/7/sync/jobs/eng", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["jobs"][0]["state"], "running");
    // work = 5000 + (655360 + 1000000) * 1000 / 125e6 = 5013 ms
    sleep_ms(5012).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/eng", None).await;
    assert_eq!(s, StatusCode::OK);
    sleep_ms(2).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/eng", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        sim.read_file("denver", "/ifs/data/eng/new")
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        sim.tree("denver", "/ifs/data/eng")
            .values()
            .map(|e| e.version)
            .collect::<Vec<_>>(),
        sim.tree("boston", "/ifs/data/eng")
            .values()
            .map(|e| e.version)
            .collect::<Vec<_>>()
    );
    let (_, v) = call(
        &b,
        "GET",
        "/platform/7/sync/reports?policy_name=eng&limit=1",
        None,
    )
    .await;
    let r = &v["reports"][0];
    assert_eq!(r["state"], "finished");
    assert_eq!(r["total_data_bytes"], 1_655_360);
    assert_eq!(r["duration"], 5);
    let (_, v) = call(&b, "GET", "/platform/7/sync/reports?policy_name=eng", None).await;
    assert_eq!(v["total"], 2, "initial sync report + this one");
    let log = sim.audit_log();
    let start = log.iter().find(|e| e.action == "sync.job.start").unwrap();
    assert_eq!(start.step.as_deref(), Some("sync_data"));
    assert_eq!(start.run.as_deref(), Some("r1"));
    assert_eq!(start.detail["job_state"], "running");
    let fin = log.iter().find(|e| e.action == "sync.job.finish").unwrap();
    assert_eq!(fin.t_ms, 5013);
    assert_eq!(fin.result, "ok");
    assert_eq!(fin.step.as_deref(), Some("sync_data"));
}

#[tokio::test(start_paused = true)]
async fn jobs_queue_beyond_max_concurrent_jobs() {
    let sim = Sim::new(&spec(1), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr", "action": "run"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "one job per policy");
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs", None).await;
    assert_eq!(v["total"], 2);
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(v["jobs"][0]["state"], "scheduled");
    // eng: 5000 + 655360*1000/125e6 = 5005 ms; hr then starts and needs 5000 ms (nothing changed).
    sleep_ms(5005).await;
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(v["jobs"][0]["state"], "running");
    sleep_ms(4999).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(s, StatusCode::OK);
    sleep_ms(1).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // pause / resume keeps the remaining work
    call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr"})),
    )
    .await;
    sleep_ms(1000).await;
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/7/sync/jobs/hr",
        Some(json!({"state": "paused"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    sleep_ms(60_000).await;
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(v["jobs"][0]["state"], "paused");
    call(
        &b,
        "PUT",
        "/platform/7/sync/jobs/hr",
        Some(json!({"state": "running"})),
    )
    .await;
    sleep_ms(3999).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(s, StatusCode::OK);
    sleep_ms(1).await;
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs/hr", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn failure_at_progress_leaves_target_at_last_good() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            step: Some("sync_data".into()),
            policy: Some("eng".into()),
            ..Default::default()
        },
        FaultEffect::SyncjobFail { at_progress: 0.5 },
    ));
    let b = sim.router("boston").unwrap();
    sim.client_write("boston", "/ifs/data/eng/new", 10, "ws1")
        .unwrap();
    let target_before = sim.tree("denver", "/ifs/data/eng");
    // A run without the step header does not match the rule.
    let (s, _, _) = call_h(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(ADMIN),
        Some(r#"{"id":"hr"}"#),
        &[("x-dr-step", "sync_data"), ("x-dr-policy", "hr")],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _, _) = call_h(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(ADMIN),
        Some(r#"{"id":"eng"}"#),
        &[("x-dr-step", "sync_data"), ("x-dr-policy", "eng")],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // eng work = 5000 + 655370*1000/125e6 = 5005 → fails at 2502
    sleep_ms(2501).await;
    assert_eq!(sim.job_state("boston", "eng").unwrap()["state"], "running");
    sleep_ms(1).await;
    assert!(sim.job_state("boston", "eng").is_none());
    assert_eq!(
        sim.policy_state("boston", "eng").unwrap()["last_job_state"],
        "failed"
    );
    assert_eq!(sim.tree("denver", "/ifs/data/eng"), target_before);
    let fin = sim
        .audit_log()
        .into_iter()
        .find(|e| e.action == "sync.job.finish")
        .unwrap();
    assert!(fin.result.starts_with("error:"), "{}", fin.result);
    assert_eq!(fin.t_ms, 2502);
    assert!(sim.audit_log().iter().any(|e| e.action == "fault.inject"));
    sleep_ms(10_000).await;
    assert_eq!(
        sim.policy_state("boston", "hr").unwrap()["last_job_state"],
        "finished"
    );
}

#[tokio::test(start_paused = true)]
async fn allow_write_resync_prep_and_read_only_domains() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let d = sim.router("denver").unwrap();
    assert!(!sim.is_writable("denver", "/ifs/data/eng/f000001"));
    assert!(sim.is_writable("denver", "/ifs/data/other"));
    assert!(matches!(
        sim.client_write("denver", "/ifs/data/eng/x", 1, "c"),
        Err(FsError::ReadOnly { .. })
    ));
    // allow_write must go to the target
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "allow_write"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "resync_prep"})),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "resync_prep needs a writable target"
    );
    let (s, _) = call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "allow_write"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = call(&d, "GET", "/platform/7/sync/target/policies/eng", None).await;
    assert_eq!(
        v["policies"][0]["failover_failback_state"],
        "enabling_writes"
    );
    assert!(!sim.is_writable("denver", "/ifs/data/eng/x"));
    sleep_ms(10_000).await;
    assert_eq!(
        sim.target_policy_state("denver", "eng").unwrap()["failover_failback_state"],
        "writes_enabled"
    );
    assert_eq!(sim.client_write("denver", "/ifs/data/eng/x", 1, "c"), Ok(1));
    // a source run would overwrite failed-over data
    let (s, v) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(v["errors"][0]["code"], "AEC_CONFLICT");
    // resync_prep on the source (DESIGN §3): denver's record for eng goes
    // writes_enabled → creating_resync_policy → resync_policy_created; boston gets a local
    // record for eng_mirror in writes_disabled (boston is now the mirror's target).
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "resync_prep"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let ffs = |c: &str, p: &str| {
        sim.target_policy_state(c, p)
            .map(|v| v["failover_failback_state"].as_str().unwrap().to_string())
    };
    assert_eq!(
        ffs("denver", "eng").as_deref(),
        Some("creating_resync_policy")
    );
    assert_eq!(
        ffs("boston", "eng_mirror"),
        None,
        "created when resync-prep ends"
    );
    assert!(sim.is_writable("denver", "/ifs/data/eng/x"));
    sleep_ms(20_000).await;
    assert_eq!(
        ffs("denver", "eng").as_deref(),
        Some("resync_policy_created")
    );
    assert_eq!(
        ffs("boston", "eng_mirror").as_deref(),
        Some("writes_disabled")
    );
    let (_, v) = call(
        &b,
        "GET",
        "/platform/7/sync/target/policies/eng_mirror",
        None,
    )
    .await;
    assert_eq!(
        v["policies"][0]["failover_failback_state"],
        "writes_disabled"
    );
    assert_eq!(v["policies"][0]["source_host"], "denver");
    assert_eq!(sim.policy_state("boston", "eng").unwrap()["enabled"], false);
    let m = sim.policy_state("denver", "eng_mirror").unwrap();
    assert_eq!(m["enabled"], true);
    assert_eq!(m["target_host"], "boston");
    assert_eq!(m["source_root_path"], "/ifs/data/eng");
    assert_eq!(m["schedule"], "");
    assert!(matches!(
        sim.client_write("boston", "/ifs/data/eng/y", 1, "c"),
        Err(FsError::ReadOnly { .. })
    ));
    assert!(
        sim.is_writable("denver", "/ifs/data/eng/x"),
        "denver is production"
    );
    // a revert is for rehearsals: after resync-prep the record is not writes_enabled
    let (s, _) = call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "allow_write_revert"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // run the mirror: denver's failover write reaches boston
    let (s, _) = call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng_mirror"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(6_000).await;
    assert_eq!(
        sim.read_file("boston", "/ifs/data/eng/x").unwrap().version,
        1
    );
    // failback: allow_write on boston for the mirror
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng_mirror", "action": "allow_write"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(10_000).await;
    assert_eq!(
        ffs("boston", "eng_mirror").as_deref(),
        Some("writes_enabled")
    );
    assert!(sim.is_writable("boston", "/ifs/data/eng/y"));
    // then resync_prep of the mirror on denver: boston's record for eng_mirror →
    // resync_policy_created, denver's record for eng back to writes_disabled, eng
    // re-enabled on boston
    let (s, _) = call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng_mirror", "action": "resync_prep"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(20_000).await;
    assert_eq!(
        ffs("boston", "eng_mirror").as_deref(),
        Some("resync_policy_created")
    );
    assert_eq!(ffs("denver", "eng").as_deref(), Some("writes_disabled"));
    assert_eq!(sim.policy_state("boston", "eng").unwrap()["enabled"], true);
    assert_eq!(
        sim.policy_state("denver", "eng_mirror").unwrap()["enabled"],
        false
    );
    assert!(sim.is_writable("boston", "/ifs/data/eng/y"));
    assert!(!sim.is_writable("denver", "/ifs/data/eng/x"));
    let states: Vec<(String, String, String)> = sim
        .audit_log()
        .iter()
        .filter(|e| e.action == "sync.target_policy.state")
        .map(|e| {
            (
                e.cluster.clone(),
                e.detail["from"].as_str().unwrap().into(),
                e.detail["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let st = |c: &str, f: &str, t: &str| (c.to_string(), f.to_string(), t.to_string());
    assert_eq!(
        states,
        vec![
            st("denver", "writes_disabled", "enabling_writes"),
            st("denver", "enabling_writes", "writes_enabled"),
            st("denver", "writes_enabled", "creating_resync_policy"),
            st("denver", "creating_resync_policy", "resync_policy_created"),
            st("boston", "none", "writes_disabled"),
            st("boston", "writes_disabled", "enabling_writes"),
            st("boston", "enabling_writes", "writes_enabled"),
            st("boston", "writes_enabled", "creating_resync_policy"),
            st("boston", "creating_resync_policy", "resync_policy_created"),
            st("denver", "resync_policy_created", "writes_disabled"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn allow_write_fail_fault_ends_job_failed() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            policy: Some("eng".into()),
            ..Default::default()
        },
        FaultEffect::AllowWriteFail,
    ));
    let d = sim.router("denver").unwrap();
    call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng", "action": "allow_write"})),
    )
    .await;
    sleep_ms(10_000).await;
    let tp = sim.target_policy_state("denver", "eng").unwrap();
    assert_eq!(tp["failover_failback_state"], "writes_disabled");
    assert_eq!(tp["last_job_state"], "failed");
}

#[tokio::test(start_paused = true)]
async fn fault_nth_and_count() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            cluster: Some("boston".into()),
            method: Some("get".into()),
            route: Some("sync/policies".into()),
            nth: Some(2),
            ..Default::default()
        },
        FaultEffect::Http {
            status: 503,
            count: Some(2),
        },
    ));
    let b = sim.router("boston").unwrap();
    let mut seen = vec![];
    for _ in 0..5 {
        let (s, _) = call(&b, "GET", "/platform/7/sync/policies/eng", None).await;
        seen.push(s.as_u16());
    }
    assert_eq!(seen, [200, 503, 503, 200, 200]);
    // other routes / clusters do not count
    let (s, _) = call(&b, "GET", "/platform/7/sync/jobs", None).await;
    assert_eq!(s, StatusCode::OK);
    let injected = sim
        .audit_log()
        .iter()
        .filter(|e| e.action == "fault.inject")
        .count();
    assert_eq!(injected, 2);
}

async fn probability_statuses(seed: u64) -> Vec<u16> {
    let sim = Sim::new(&spec(50), seed).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            probability: Some(0.5),
            ..Default::default()
        },
        FaultEffect::Http {
            status: 500,
            count: Some(1000),
        },
    ));
    let b = sim.router("boston").unwrap();
    let mut out = vec![];
    for _ in 0..40 {
        out.push(
            call(&b, "GET", "/platform/7/sync/settings", None)
                .await
                .0
                .as_u16(),
        );
    }
    out
}

#[tokio::test(start_paused = true)]
async fn fault_probability_is_deterministic() {
    let a = probability_statuses(9).await;
    let b = probability_statuses(9).await;
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

#[tokio::test(start_paused = true)]
async fn time_rules_take_clusters_down_and_fail_jobs() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            cluster: Some("denver".into()),
            at: Some(crate::DurationSpec(3000)),
            ..Default::default()
        },
        FaultEffect::ClusterDown { cluster: None },
    ));
    sim.add_fault(rule(
        FaultMatch {
            at: Some(crate::DurationSpec(60_000)),
            ..Default::default()
        },
        FaultEffect::ClusterUp {
            cluster: Some("denver".into()),
        },
    ));
    let b = sim.router("boston").unwrap();
    let svc = sim.service("denver").unwrap();
    let req = || {
        Request::get("/platform/7/sync/policies")
            .header("authorization", basic("admin", "pw"))
            .body(Body::empty())
            .unwrap()
    };
    assert!(svc.clone().oneshot(req()).await.is_ok());
    call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    sleep_ms(3000).await;
    let err = svc.clone().oneshot(req()).await.unwrap_err();
    assert!(err.to_string().contains("dropped"));
    assert!(sim.job_state("boston", "eng").is_none());
    assert_eq!(
        sim.policy_state("boston", "eng").unwrap()["last_job_state"],
        "failed"
    );
    let log = sim.audit_log();
    let down = log.iter().find(|e| e.action == "cluster.down").unwrap();
    assert_eq!((down.t_ms, down.cluster.as_str()), (3000, "denver"));
    assert!(sim.client_write("denver", "/ifs/x", 1, "c").is_err());
    // a run started while the target is down fails after the start latency
    call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr"})),
    )
    .await;
    sleep_ms(5000).await;
    assert_eq!(
        sim.policy_state("boston", "hr").unwrap()["last_job_state"],
        "failed"
    );
    sleep_ms(60_000).await;
    assert!(svc.clone().oneshot(req()).await.is_ok());
    assert!(sim
        .audit_log()
        .iter()
        .any(|e| e.action == "cluster.up" && e.t_ms == 60_000));
}

#[tokio::test(start_paused = true)]
async fn link_partition_fails_running_jobs() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            at: Some(crate::DurationSpec(1000)),
            ..Default::default()
        },
        FaultEffect::LinkPartition,
    ));
    let b = sim.router("boston").unwrap();
    call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    sleep_ms(1500).await;
    assert_eq!(
        sim.policy_state("boston", "eng").unwrap()["last_job_state"],
        "failed"
    );
    let e = sim
        .audit_log()
        .into_iter()
        .find(|e| e.action == "sync.job.finish")
        .unwrap();
    assert_eq!(e.t_ms, 1000);
}

#[tokio::test(start_paused = true)]
async fn auth_and_roles() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let (s, v, h) = call_h(&b, "GET", "/platform/7/sync/policies", None, None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["errors"][0]["code"], "AEC_UNAUTHORIZED");
    assert!(h.get("www-authenticate").is_some());
    let (s, _, _) = call_h(
        &b,
        "GET",
        "/platform/7/sync/policies",
        Some(("admin", "bad")),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_h(
        &b,
        "GET",
        "/platform/7/sync/policies",
        Some(("ro", "pw")),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = call_h(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(("ro", "pw")),
        Some(r#"{"id":"eng"}"#),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["errors"][0]["code"], "AEC_FORBIDDEN");
    let (s, _, _) = call_h(
        &b,
        "GET",
        "/platform/7/cluster/config",
        Some(("op", "pw")),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call_h(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(("op", "pw")),
        Some(r#"{"id":"eng"}"#),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // default admin with a seeded random password
    let d_spec: WorldSpec = serde_json::from_value(json!({"clusters": [{"name": "a"}]})).unwrap();
    let s1 = Sim::new(&d_spec, 5).unwrap();
    let (u, p) = s1.admin_credentials("a").unwrap();
    assert_eq!(u, "admin");
    assert_eq!(p.len(), 16);
    assert_eq!(
        Sim::new(&d_spec, 5)
            .unwrap()
            .admin_credentials("a")
            .unwrap()
            .1,
        p
    );
}

#[tokio::test(start_paused = true)]
async fn settings_service_off_refuses_runs() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let (_, v) = call(&b, "GET", "/platform/7/sync/settings", None).await;
    assert_eq!(v["settings"]["service"], "on");
    assert_eq!(v["settings"]["max_concurrent_jobs"], 50);
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/7/sync/settings",
        Some(json!({"service": "off"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/7/sync/settings",
        Some(json!({"service": "sideways"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/7/sync/settings",
        Some(json!({"service": "on", "max_concurrent_jobs": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/7/sync/policies/eng",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("disabled"));
}

async fn scripted(seed: u64) -> (Value, Vec<crate::AuditEntry>) {
    let sim = Sim::new(&spec(1), seed).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            probability: Some(0.3),
            ..Default::default()
        },
        FaultEffect::Http {
            status: 503,
            count: Some(100),
        },
    ));
    let b = sim.router("boston").unwrap();
    let d = sim.router("denver").unwrap();
    for i in 0..5 {
        sim.client_write("boston", &format!("/ifs/data/eng/w{i}"), 1000 * i, "ws")
            .ok();
        call(
            &b,
            "POST",
            "/platform/7/sync/jobs",
            Some(json!({"id": "eng"})),
        )
        .await;
        call(
            &b,
            "POST",
            "/platform/7/sync/jobs",
            Some(json!({"id": "hr"})),
        )
        .await;
        sleep_ms(3000).await;
    }
    call(
        &d,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr", "action": "allow_write"})),
    )
    .await;
    sleep_ms(30_000).await;
    (sim.state_json(), sim.audit_log())
}

#[tokio::test(start_paused = true)]
async fn same_seed_same_requests_same_world() {
    let (s1, a1) = scripted(77).await;
    let (s2, a2) = scripted(77).await;
    assert_eq!(
        serde_json::to_string(&s1).unwrap(),
        serde_json::to_string(&s2).unwrap()
    );
    assert_eq!(a1, a2);
    assert!(a1.len() > 10);
    let (s3, _) = scripted(78).await;
    assert_ne!(s1, s3);
}

// ------------------------------------------------------------------------- configuration routes

/// A world with zones, a pool, shares, quotas, open files and an AD domain.
fn cfg_spec() -> WorldSpec {
    serde_json::from_value(json!({
        "clusters": [
            {"name": "boston",
             "users": [
                {"name": "admin", "password": "pw", "role": "admin"},
                {"name": "ro", "password": "pw", "role": "read-only"}],
             "zones": [{"name": "finance", "base_path": "/ifs/finance"},
                       {"name": "hr", "base_path": "/ifs/hr"}],
             "pools": [{"id": "groupnet0.subnet0.finance", "zone": "finance",
                        "sc_dns_zone": "finance.corp.example", "ssip": "10.1.0.10"}],
             "smb_shares": [{"name": "ledger", "path": "/ifs/finance/ledger", "zone": "finance"},
                            {"name": "batch", "path": "/ifs/finance/batch", "zone": "finance"},
                            {"name": "people", "path": "/ifs/hr/people", "zone": "hr"}],
             "quotas": [{"path": "/ifs/finance/a", "hard_bytes": 10},
                        {"path": "/ifs/finance/a/b", "hard_bytes": 10},
                        {"path": "/ifs/finance/c"}],
             "open_files": [{"path": "/ifs/finance/ledger/f1", "user": "CORP\\alice"}],
             "files": [{"root": "/ifs/data/eng", "count": 10, "size_bytes": 1000}]},
            {"name": "denver", "users": [{"name": "admin", "password": "pw", "role": "admin"}]}
        ],
        "policies": [
            {"name": "eng", "source": "boston", "target": "denver", "source_path": "/ifs/data/eng", "target_path": "/ifs/data/eng"}
        ],
        "ad": {"domain": "corp.example"}
    }))
    .unwrap()
}

fn err_msg(v: &Value) -> String {
    v["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn audited(sim: &Sim, action: &str) -> usize {
    sim.audit_log()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

async fn as_ro(app: &Router, method: &str, uri: &str, body: Option<&str>) -> StatusCode {
    call_h(app, method, uri, Some(("ro", "pw")), body, &[])
        .await
        .0
}

#[tokio::test(start_paused = true)]
async fn cluster_identity_update() {
    let sim = Sim::new(&cfg_spec(), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/5/cluster/identity",
        Some(json!({"description": "primary site", "logon": {"motd": "authorised use only"}})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/5/cluster/identity", None).await;
    assert_eq!(v["description"], "primary site");
    assert_eq!(v["logon"]["motd"], "authorised use only");
    assert_eq!(v["logon"]["motd_header"], "");
    assert_eq!(v["name"], "boston");
    let (_, v) = call(&b, "GET", "/platform/17/cluster/config", None).await;
    assert_eq!(v["description"], "primary site");
    // Rename, then back; the config reports the new name.
    let (s, _) = call(
        &b,
        "PUT",
        "/platform/5/cluster/identity",
        Some(json!({"name": "boston-2"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/17/cluster/config", None).await;
    assert_eq!(v["name"], "boston-2");
    call(
        &b,
        "PUT",
        "/platform/5/cluster/identity",
        Some(json!({"name": "boston"})),
    )
    .await;
    for (body, field) in [
        (json!({"name": "9lives"}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": 3}), "name"),
        (json!({"description": "x".repeat(256)}), "description"),
        (json!({"logon": {"banner": "x"}}), "logon.banner"),
        (json!({"logon": "x"}), "logon"),
        (json!({"mttdl_level_msg": "warn"}), "mttdl_level_msg"),
    ] {
        let (s, v) = call(
            &b,
            "PUT",
            "/platform/5/cluster/identity",
            Some(body.clone()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(v["errors"][0]["code"], "AEC_BAD_REQUEST");
        assert!(
            err_msg(&v).contains(&format!("Field: {field}")),
            "{body}: {v}"
        );
    }
    let (s, _) = call(&b, "PUT", "/platform/5/cluster/identity", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let ro = as_ro(
        &b,
        "PUT",
        "/platform/5/cluster/identity",
        Some(r#"{"description":"x"}"#),
    )
    .await;
    assert_eq!(ro, StatusCode::FORBIDDEN);
    assert_eq!(audited(&sim, "cluster.identity.update"), 3);
    let (_, v) = call(&b, "GET", "/platform/5/cluster/identity", None).await;
    assert_eq!(v["description"], "primary site");
}

#[tokio::test(start_paused = true)]
async fn sync_bulk_deletes_and_target_break() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let d = sim.router("denver").unwrap();
    // Cancel all jobs.
    for p in ["eng", "hr"] {
        let (s, _) = call(&b, "POST", "/platform/7/sync/jobs", Some(json!({"id": p}))).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert_eq!(
        as_ro(&b, "DELETE", "/platform/7/sync/jobs", None).await,
        StatusCode::FORBIDDEN
    );
    let (s, v) = call(&b, "DELETE", "/platform/7/sync/jobs?x=1", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = call(&b, "DELETE", "/platform/7/sync/jobs", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs", None).await;
    assert_eq!(v["total"], 0);
    let (_, v) = call(&b, "GET", "/platform/7/sync/reports?policy_name=eng", None).await;
    assert!(v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["state"] == "canceled"));
    assert_eq!(audited(&sim, "sync.jobs.cancel_all"), 1);

    // Break the target association of `hr` on denver.
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = call(&d, "DELETE", "/platform/7/sync/target/policies/hr", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, v) = call(
        &d,
        "DELETE",
        "/platform/7/sync/target/policies/hr?force=maybe",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = call(
        &d,
        "DELETE",
        "/platform/7/sync/target/policies/hr?force=true",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&d, "GET", "/platform/7/sync/target/policies/hr", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&d, "DELETE", "/platform/7/sync/target/policies/hr", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = call(&b, "GET", "/platform/7/sync/policies/hr", None).await;
    assert_eq!(v["policies"][0]["last_job_state"], "failed");
    assert_eq!(audited(&sim, "sync.target.policy.delete"), 1);
    // The next run re-establishes it.
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "hr"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(60_000).await;
    let (s, _) = call(&d, "GET", "/platform/7/sync/target/policies/hr", None).await;
    assert_eq!(s, StatusCode::OK);

    // Delete all policies: a running job blocks unless force; the target side goes too.
    let (s, _) = call(
        &b,
        "POST",
        "/platform/7/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        as_ro(&b, "DELETE", "/platform/7/sync/policies", None).await,
        StatusCode::FORBIDDEN
    );
    let (s, v) = call(&b, "DELETE", "/platform/7/sync/policies", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (_, v) = call(&b, "GET", "/platform/7/sync/policies", None).await;
    assert_eq!(v["total"], 2, "nothing deleted on conflict");
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/7/sync/policies?force=true&local_only=true",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/7/sync/policies", None).await;
    assert_eq!(v["total"], 0);
    let (_, v) = call(&b, "GET", "/platform/7/sync/jobs", None).await;
    assert_eq!(v["total"], 0);
    let (_, v) = call(&d, "GET", "/platform/7/sync/target/policies", None).await;
    assert_eq!(v["total"], 2, "local_only keeps the target associations");
    assert_eq!(audited(&sim, "sync.policy.delete"), 2);
}

#[tokio::test(start_paused = true)]
async fn sync_policy_delete_removes_target_association() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let d = sim.router("denver").unwrap();
    let (s, _) = call(&b, "DELETE", "/platform/7/sync/policies/eng", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&d, "GET", "/platform/7/sync/target/policies/eng", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&d, "GET", "/platform/7/sync/target/policies/hr", None).await;
    assert_eq!(s, StatusCode::OK);
    // Unreachable target: refused unless local_only.
    sim.with_world(|w| w.cluster_mut("denver").unwrap().up = false);
    let (s, v) = call(&b, "DELETE", "/platform/7/sync/policies", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(err_msg(&v).contains("local_only"));
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/7/sync/policies?local_only=true",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test(start_paused = true)]
async fn smb_quota_snapshot_bulk_deletes() {
    let sim = Sim::new(&cfg_spec(), 1).unwrap();
    let b = sim.router("boston").unwrap();
    // SMB shares of one zone.
    assert_eq!(
        as_ro(
            &b,
            "DELETE",
            "/platform/12/protocols/smb/shares?zone=finance",
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/12/protocols/smb/shares?zone=nope",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/12/protocols/smb/shares?zone=finance&x=1",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/12/protocols/smb/shares?zone=finance",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(
        &b,
        "GET",
        "/platform/12/protocols/smb/shares?zone=finance",
        None,
    )
    .await;
    assert_eq!(v["total"], 0);
    let (_, v) = call(&b, "GET", "/platform/12/protocols/smb/shares?zone=hr", None).await;
    assert_eq!(v["total"], 1);
    assert_eq!(audited(&sim, "smb.shares.delete_all"), 1);

    // Quotas matching a path and its children.
    let (s, v) = call(&b, "DELETE", "/platform/19/quota/quotas?path=finance", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err_msg(&v).contains("path"));
    let (s, _) = call(&b, "DELETE", "/platform/19/quota/quotas?type=weird", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/19/quota/quotas?persona=USER:x",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/19/quota/quotas?path=/ifs/finance/a&type=directory",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/19/quota/quotas", None).await;
    assert_eq!(v["total"], 2, "exact path only: {v}");
    let (s, _) = call(
        &b,
        "DELETE",
        "/platform/19/quota/quotas?path=/ifs/finance&recurse_path_children=True&enforced=true",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/19/quota/quotas", None).await;
    let paths: Vec<&str> = v["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/ifs/finance/c"], "unenforced quota stays");
    let (s, _) = call(&b, "DELETE", "/platform/19/quota/quotas", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/19/quota/quotas", None).await;
    assert_eq!(v["total"], 0);
    assert_eq!(audited(&sim, "quota.delete_matching"), 3);

    // Snapshot schedules.
    for n in ["a", "b"] {
        let (s, _) = call(
            &b,
            "POST",
            "/platform/3/snapshot/schedules",
            Some(json!({"name": n, "path": "/ifs/finance", "pattern": "p", "schedule": "every 1 days"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert_eq!(
        as_ro(&b, "DELETE", "/platform/3/snapshot/schedules", None).await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(&b, "DELETE", "/platform/3/snapshot/schedules", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", "/platform/3/snapshot/schedules", None).await;
    assert_eq!(v["total"], 0);
    assert_eq!(audited(&sim, "snapshot.schedules.delete_all"), 1);

    // Seeded open file: listed, closed once.
    let (_, v) = call(&b, "GET", "/platform/1/protocols/smb/openfiles", None).await;
    assert_eq!(v["openfiles"][0]["user"], "CORP\\alice");
    let id = v["openfiles"][0]["id"].to_string();
    assert_eq!(
        as_ro(
            &b,
            "DELETE",
            &format!("/platform/1/protocols/smb/openfiles/{id}"),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(
        &b,
        "DELETE",
        &format!("/platform/1/protocols/smb/openfiles/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &b,
        "DELETE",
        &format!("/platform/1/protocols/smb/openfiles/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn network_crud_and_flat_subnets() {
    let sim = Sim::new(&cfg_spec(), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let gn = "/platform/10/network/groupnets";
    // Groupnets.
    let (s, v) = call(
        &b,
        "POST",
        gn,
        Some(json!({"name": "gn1", "dns_servers": ["10.0.0.53"], "description": "lab"})),
    )
    .await;
    assert_eq!((s, v["id"].clone()), (StatusCode::CREATED, json!("gn1")));
    let (s, _) = call(&b, "POST", gn, Some(json!({"name": "gn1"}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    for (body, field) in [
        (json!({"name": "bad name"}), "name"),
        (
            json!({"name": "gn2", "dns_servers": ["dns.example"]}),
            "dns_servers",
        ),
        (
            json!({"name": "gn2", "dns_options": ["sideways"]}),
            "dns_options",
        ),
        (json!({"description": "x"}), "name"),
    ] {
        let (s, v) = call(&b, "POST", gn, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            err_msg(&v).contains(&format!("Field: {field}")),
            "{body}: {v}"
        );
    }
    assert_eq!(
        as_ro(&b, "POST", gn, Some(r#"{"name":"gn3"}"#)).await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(
        &b,
        "PUT",
        &format!("{gn}/gn1"),
        Some(json!({"dns_servers": ["10.0.0.54"]})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = call(&b, "GET", &format!("{gn}/gn1"), None).await;
    assert_eq!(v["groupnets"][0]["dns_servers"], json!(["10.0.0.54"]));
    let (s, _) = call(
        &b,
        "PUT",
        &format!("{gn}/nope"),
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Subnets.
    let sn = format!("{gn}/gn1/subnets");
    let good = json!({"name": "sn1", "addr_family": "ipv4", "prefixlen": 24, "base_addr": "10.5.0.0",
                      "gateway": "10.5.0.1", "sc_service_addrs": [{"low": "10.5.0.10", "high": "10.5.0.10"}]});
    let (s, v) = call(&b, "POST", &sn, Some(good.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = call(&b, "POST", &sn, Some(good)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(
        &b,
        "POST",
        &format!("{gn}/nope/subnets"),
        Some(json!({"name": "x", "addr_family": "ipv4", "prefixlen": 24})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (body, field) in [
        (
            json!({"name": "s2", "addr_family": "ipv4", "prefixlen": 33}),
            "prefixlen",
        ),
        (json!({"name": "s2", "addr_family": "ipv4"}), "prefixlen"),
        (
            json!({"name": "s2", "addr_family": "ipv5", "prefixlen": 24}),
            "addr_family",
        ),
        (
            json!({"name": "s2", "addr_family": "ipv4", "prefixlen": 24, "mtu": 100}),
            "mtu",
        ),
        (
            json!({"name": "s2", "addr_family": "ipv4", "prefixlen": 24, "gateway": "fe80::1"}),
            "gateway",
        ),
        (
            json!({"name": "s2", "addr_family": "ipv4", "prefixlen": 24, "base_addr": "10.6.0.0", "gateway": "10.7.0.1"}),
            "gateway",
        ),
        (
            json!({"name": "s2", "addr_family": "ipv4", "prefixlen": 24, "base_addr": "10.6.0.0",
                "sc_service_addrs": [{"low": "10.8.0.1", "high": "10.8.0.1"}]}),
            "sc_service_addrs",
        ),
    ] {
        let (s, v) = call(&b, "POST", &sn, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            err_msg(&v).contains(&format!("Field: {field}")),
            "{body}: {v}"
        );
    }
    let (s, v) = call(
        &b,
        "PUT",
        &format!("{sn}/sn1"),
        Some(json!({"gateway": "10.9.0.1"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _) = call(
        &b,
        "PUT",
        &format!("{sn}/sn1"),
        Some(json!({"mtu": 9000, "description": "edge"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // Flat list: all subnets, filtered by groupnet, sorted.
    let (_, v) = call(&b, "GET", "/platform/21/network/subnets", None).await;
    assert_eq!(v["total"], 2);
    let (_, v) = call(&b, "GET", "/platform/21/network/subnets?groupnet=gn1", None).await;
    assert_eq!(v["subnets"][0]["id"], "gn1.sn1");
    assert_eq!(v["subnets"][0]["mtu"], 9000);
    let (_, v) = call(
        &b,
        "GET",
        "/platform/21/network/subnets?sort=id&dir=DESC",
        None,
    )
    .await;
    assert_eq!(v["subnets"][0]["id"], "groupnet0.subnet0");
    let (s, _) = call(&b, "GET", "/platform/21/network/subnets?dir=UP", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&b, "GET", "/platform/21/network/subnets?bogus=1", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, v) = call(&b, "GET", "/platform/21/network/subnets?limit=1", None).await;
    assert!(v["resume"].is_string());

    // Pools.
    let pl = format!("{sn}/sn1/pools");
    let (s, v) = call(&b, "POST", &pl, Some(json!({"name": "p1", "access_zone": "hr", "sc_dns_zone": "hr.corp.example",
                                                  "ranges": [{"low": "10.5.0.20", "high": "10.5.0.29"}]}))).await;
    assert_eq!(
        (s, v["id"].clone()),
        (StatusCode::CREATED, json!("gn1.sn1.p1"))
    );
    let (s, _) = call(&b, "POST", &pl, Some(json!({"name": "p1"}))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = call(
        &b,
        "POST",
        &pl,
        Some(json!({"name": "p2", "access_zone": "nope"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(err_msg(&v).contains("Field: access_zone"));
    let (_, v) = call(&b, "GET", "/platform/21/network/pools?access_zone=hr", None).await;
    assert_eq!(v["pools"][0]["id"], "gn1.sn1.p1");
    // Deletes: contents first.
    let (s, _) = call(&b, "DELETE", &format!("{sn}/sn1"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = call(&b, "DELETE", &format!("{gn}/gn1"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        as_ro(&b, "DELETE", &format!("{pl}/p1"), None).await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(&b, "DELETE", &format!("{pl}/p1"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&b, "DELETE", &format!("{pl}/p1"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&b, "DELETE", &format!("{sn}/sn1"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&b, "DELETE", &format!("{gn}/gn1"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&b, "DELETE", &format!("{gn}/gn1"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // groupnet0 still has subnet0 and the access zones.
    let (s, _) = call(&b, "DELETE", &format!("{gn}/groupnet0"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    for a in [
        "network.groupnet.create",
        "network.groupnet.update",
        "network.groupnet.delete",
        "network.subnet.create",
        "network.subnet.update",
        "network.subnet.delete",
        "network.pool.create",
        "network.pool.delete",
    ] {
        assert_eq!(audited(&sim, a), 1, "{a}");
    }
}

#[tokio::test(start_paused = true)]
async fn ad_provider_delete_and_create() {
    let sim = Sim::new(&cfg_spec(), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let ads = "/platform/14/auth/providers/ads";
    let (s, _) = call(
        &b,
        "POST",
        ads,
        Some(json!({"name": "corp.example", "user": "a", "password": "p"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "already joined");
    assert_eq!(
        as_ro(&b, "DELETE", &format!("{ads}/CORP.EXAMPLE"), None).await,
        StatusCode::FORBIDDEN
    );
    let (s, _) = call(&b, "DELETE", &format!("{ads}/other.example"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(&b, "DELETE", &format!("{ads}/corp.example"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(&b, "GET", &format!("{ads}/CORP.EXAMPLE"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = call(&b, "GET", ads, None).await;
    assert_eq!(v["total"], 0);
    for (body, field) in [
        (json!({"name": "corp.example", "user": "a"}), "password"),
        (
            json!({"name": "other.example", "user": "a", "password": "p"}),
            "name",
        ),
        (
            json!({"name": "corp.example", "user": "a", "password": "p", "bogus": 1}),
            "bogus",
        ),
    ] {
        let (s, v) = call(&b, "POST", ads, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            err_msg(&v).contains(&format!("Field: {field}")),
            "{body}: {v}"
        );
    }
    let (s, v) = call(
        &b,
        "POST",
        ads,
        Some(json!({"name": "corp.example", "user": "administrator", "password": "p"})),
    )
    .await;
    assert_eq!(
        (s, v["id"].clone()),
        (StatusCode::CREATED, json!("CORP.EXAMPLE"))
    );
    let (_, v) = call(&b, "GET", &format!("{ads}/CORP.EXAMPLE"), None).await;
    assert_eq!(v["ads"][0]["machine_account"], "BOSTON$");
    assert_eq!(audited(&sim, "ad.provider.delete"), 1);
    assert_eq!(audited(&sim, "ad.provider.create"), 1);
}

// ------------------------------------------------------------------------- sessions

/// `Set-Cookie` values of a response, in order.
fn set_cookies(h: &http::HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn login(app: &Router) -> (String, String) {
    let (s, v, h) = call_h(
        app,
        "POST",
        "/session/1/session",
        None,
        Some(r#"{"username":"admin","password":"pw","services":["platform","namespace"]}"#),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["username"], "admin");
    assert_eq!(v["services"], json!(["platform", "namespace"]));
    assert!(v["timeout_absolute"].as_u64().unwrap() > 0);
    assert!(v["timeout_inactive"].as_u64().unwrap() > 0);
    let c = set_cookies(&h);
    assert!(
        c[0].starts_with("isisessid="),
        "isisessid must be the first cookie: {c:?}"
    );
    assert!(c[1].starts_with("isicsrf="), "{c:?}");
    let sess = c[0].split(';').next().unwrap().to_string();
    let csrf = c[1]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("isicsrf=")
        .to_string();
    (sess, csrf)
}

#[tokio::test(start_paused = true)]
async fn papi_sessions_cookies_csrf_expiry_logout() {
    let sim = Sim::new(&cfg_spec(), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let zone = "/platform/3/zones/finance";
    let upd = r#"{"cache_entry_expiry":3600}"#;
    let (sess, csrf) = login(&b).await;
    // Reads need only the cookie.
    let (s, _, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = call_h(
        &b,
        "GET",
        "/session/1/session",
        None,
        None,
        &[("cookie", &sess)],
    )
    .await;
    assert_eq!((s, v["username"].clone()), (StatusCode::OK, json!("admin")));
    // Changes need the CSRF header too.
    let (s, v, _) = call_h(&b, "PUT", zone, None, Some(upd), &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(err_msg(&v).contains("CSRF"));
    let (s, _, _) = call_h(
        &b,
        "PUT",
        zone,
        None,
        Some(upd),
        &[("cookie", &sess), ("x-csrf-token", "wrong")],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_h(
        &b,
        "PUT",
        zone,
        None,
        Some(upd),
        &[("cookie", &sess), ("x-csrf-token", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A session of another cluster is not valid here.
    let d = sim.router("denver").unwrap();
    let (s, _, _) = call_h(
        &d,
        "GET",
        "/platform/3/zones",
        None,
        None,
        &[("cookie", &sess)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Logout ends the session.
    let (s, _, _) = call_h(
        &b,
        "DELETE",
        "/session/1/session/",
        None,
        None,
        &[("cookie", &sess)],
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, _) = call_h(
        &b,
        "DELETE",
        "/session/1/session",
        None,
        None,
        &[("cookie", &sess)],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Idle expiry: used within timeout_inactive it lives on; idle past it, refused.
    let (sess, _) = login(&b).await;
    sleep_ms((super::session::TIMEOUT_INACTIVE_S - 10) * 1000).await;
    let (s, _, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::OK);
    sleep_ms((super::session::TIMEOUT_INACTIVE_S + 1) * 1000).await;
    let (s, v, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["errors"][0]["code"], "AEC_UNAUTHORIZED");
    // Absolute expiry even when kept busy.
    let (sess, _) = login(&b).await;
    let step = super::session::TIMEOUT_INACTIVE_S / 2;
    let mut t = 0;
    while t + step <= super::session::TIMEOUT_ABSOLUTE_S {
        sleep_ms(step * 1000).await;
        t += step;
        let (s, _, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
        assert_eq!(s, StatusCode::OK, "at {t}s");
    }
    sleep_ms(step * 1000).await;
    let (s, _, _) = call_h(&b, "GET", zone, None, None, &[("cookie", &sess)]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Bad logins.
    for body in [
        r#"{"username":"admin","password":"no"}"#,
        r#"{"username":"ghost","password":"pw"}"#,
    ] {
        let (s, _, h) = call_h(&b, "POST", "/session/1/session", None, Some(body), &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(set_cookies(&h).is_empty());
    }
    for body in [
        "",
        "[]",
        r#"{"username":"admin"}"#,
        r#"{"username":"admin","password":"pw","services":"platform"}"#,
    ] {
        let (s, _, _) = call_h(&b, "POST", "/session/1/session", None, Some(body), &[]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    // A read-only user's session still may not change anything.
    let (s, _, h) = call_h(
        &b,
        "POST",
        "/session/1/session",
        None,
        Some(r#"{"username":"ro","password":"pw"}"#),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let c = set_cookies(&h);
    let sess = c[0].split(';').next().unwrap().to_string();
    let csrf = c[1]
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("isicsrf=")
        .to_string();
    let (s, _, _) = call_h(
        &b,
        "PUT",
        zone,
        None,
        Some(upd),
        &[("cookie", &sess), ("x-csrf-token", &csrf)],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// `target_host` as OneFS treats it (DESIGN §3): a local target works, an unknown host is
/// accepted at creation and fails the job with a connection error, a malformed one is a 400.
#[tokio::test(start_paused = true)]
async fn target_host_local_unknown_and_invalid() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let create = |name: &str, host: &str, tpath: &str| json!({"name": name, "source_root_path": "/ifs/data/hr", "target_host": host, "target_path": tpath});
    // local target: another directory on the same cluster
    let (s, v) = call(
        &b,
        "POST",
        "/platform/14/sync/policies",
        Some(create("hr-local", "localhost", "/ifs/backup/hr")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &b,
        "POST",
        "/platform/14/sync/policies",
        Some(create("hr-overlap", "127.0.0.1", "/ifs/data/hr/copy")),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a local copy into its own source"
    );
    assert!(err_msg(&v).contains("overlaps"), "{v}");
    let (s, _) = call(
        &b,
        "POST",
        "/platform/14/sync/jobs",
        Some(json!({"id": "hr-local"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(60_000).await;
    assert_eq!(
        sim.policy_state("boston", "hr-local").unwrap()["last_job_state"],
        "finished"
    );
    assert!(sim.read_file("boston", "/ifs/backup/hr/f000000").is_some());
    assert_eq!(
        sim.target_policy_state("boston", "hr-local").unwrap()["failover_failback_state"],
        "writes_disabled"
    );
    assert!(!sim.is_writable("boston", "/ifs/backup/hr/f000000"));
    // unknown host: accepted; the job fails when it cannot connect
    for (name, host) in [("hr-far", "dr-site.example.com"), ("hr-ip", "192.0.2.7")] {
        let (s, v) = call(
            &b,
            "POST",
            "/platform/14/sync/policies",
            Some(create(name, host, "/ifs/data/hr")),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{host}: {v}");
        let (_, v) = call(
            &b,
            "GET",
            &format!("/platform/14/sync/policies/{name}"),
            None,
        )
        .await;
        assert_eq!(v["policies"][0]["target_host"], host);
        let (s, _) = call(
            &b,
            "POST",
            "/platform/14/sync/jobs",
            Some(json!({"id": name})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
        sleep_ms(60_000).await;
        assert_eq!(
            sim.policy_state("boston", name).unwrap()["last_job_state"],
            "failed"
        );
        let (_, v) = call(
            &b,
            "GET",
            &format!("/platform/14/sync/reports?policy_name={name}"),
            None,
        )
        .await;
        let r = &v["reports"][0];
        assert_eq!(r["state"], "failed");
        assert_eq!(r["policy"]["target_host"], host);
        assert!(
            r["errors"][0].as_str().unwrap().contains(host),
            "the error names the host: {r}"
        );
    }
    // malformed hosts are refused at creation
    for host in ["", "bad host", "-x.example", "a..b", &"a".repeat(64)] {
        let (s, v) = call(
            &b,
            "POST",
            "/platform/14/sync/policies",
            Some(create("hr-bad", host, "/ifs/data/hr")),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{host:?}: {v}");
    }
}

/// `sync/target/reports`: the target keeps a report of each replication that reached it,
/// with the error text of a failed one.
#[tokio::test(start_paused = true)]
async fn target_reports_record_runs_that_reached_the_target() {
    // A slow link: the injected failure comes after the job has connected to the target.
    let mut w = spec(50);
    w.link.bandwidth_bytes_per_s = 50_000;
    let sim = Sim::new(&w, 1).unwrap();
    sim.add_fault(rule(
        FaultMatch {
            policy: Some("eng".into()),
            ..Default::default()
        },
        FaultEffect::SyncjobFail { at_progress: 0.5 },
    ));
    let b = sim.router("boston").unwrap();
    let d = sim.router("denver").unwrap();
    let (_, v) = call(&d, "GET", "/platform/14/sync/target/reports", None).await;
    assert_eq!(v["total"], 2, "the initial syncs: {v}");
    for p in ["eng", "hr"] {
        let (s, _) = call(&b, "POST", "/platform/14/sync/jobs", Some(json!({"id": p}))).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    sleep_ms(600_000).await;
    let (s, v) = call(
        &d,
        "GET",
        "/platform/14/sync/target/reports?policy_name=eng",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let r = &v["reports"][0];
    assert_eq!(r["state"], "failed", "{r}");
    assert_eq!(r["source_host"], "boston");
    assert!(r.get("policy").is_none());
    assert!(r["errors"][0].as_str().unwrap().contains("syncjob_fail"));
    let id = r["id"].as_str().unwrap();
    let (s, v) = call(
        &d,
        "GET",
        &format!("/platform/14/sync/target/reports/{id}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["reports"][0]["id"], id);
    let (_, v) = call(
        &d,
        "GET",
        "/platform/14/sync/target/reports?state=finished&policy_name=hr",
        None,
    )
    .await;
    assert_eq!(v["total"], 2);
    let (s, _) = call(&d, "GET", "/platform/14/sync/target/reports/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // boston is the target of nothing
    let (_, v) = call(&b, "GET", "/platform/14/sync/target/reports", None).await;
    assert_eq!(v["total"], 0);
}

/// One clock (DESIGN §3): PAPI times are Unix seconds consistent with the `Date` header,
/// counted from the world's `start_epoch_s`.
#[tokio::test(start_paused = true)]
async fn papi_times_and_date_header_share_one_clock() {
    let mut w = spec(50);
    w.start_epoch_s = Some(1_800_000_000);
    let sim = Sim::new(&w, 1).unwrap();
    let b = sim.router("boston").unwrap();
    sleep_ms(3_600_000).await;
    let (s, _) = call(
        &b,
        "POST",
        "/platform/14/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    sleep_ms(120_000).await;
    let (_, v, h) = call_h(
        &b,
        "GET",
        "/platform/14/sync/reports?policy_name=eng",
        Some(ADMIN),
        None,
        &[],
    )
    .await;
    let date_s = date_header_s(&h);
    assert_eq!(date_s, 1_800_000_000 + 3_600 + 120);
    let r = &v["reports"][0];
    let (start, end) = (
        r["start_time"].as_i64().unwrap(),
        r["end_time"].as_i64().unwrap(),
    );
    assert_eq!(start, 1_800_000_000 + 3_600, "{r}");
    assert!(start <= end && end <= date_s, "{r}");
    let p = sim.policy_state("boston", "eng").unwrap();
    let rpo = date_s - p["last_success"].as_i64().unwrap();
    assert_eq!(rpo, 120, "RPO from the Date header: {p}");
    assert_eq!(sim.now_unix_s(), date_s);
    // an epoch no HTTP date can state is refused
    let mut bad = spec(50);
    bad.start_epoch_s = Some(-1);
    assert!(Sim::new(&bad, 1).is_err());
}

/// NFS exports as OneFS treats them: several on one path for different clients; a conflict
/// only when paths and clients overlap (unless `force`); a missing path refused unless
/// `ignore_bad_paths`.
#[tokio::test(start_paused = true)]
async fn nfs_exports_conflict_on_clients_and_need_existing_paths() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    let b = sim.router("boston").unwrap();
    let post = |body: Value, q: &'static str| {
        let b = b.clone();
        async move {
            call(
                &b,
                "POST",
                &format!("/platform/4/protocols/nfs/exports{q}"),
                Some(body),
            )
            .await
        }
    };
    let (s, v) = post(
        json!({"paths": ["/ifs/data/eng"], "clients": ["10.0.0.1"]}),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = post(
        json!({"paths": ["/ifs/data/eng"], "root_clients": ["10.0.0.1"]}),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "same client: {v}");
    assert!(err_msg(&v).contains("conflict"), "{v}");
    let (s, _) = post(
        json!({"paths": ["/ifs/data/eng"], "clients": ["10.0.0.2"]}),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "other clients");
    let (s, _) = post(json!({"paths": ["/ifs/data/eng"]}), "").await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "all clients, besides client-specific rules"
    );
    let (s, _) = post(json!({"paths": ["/ifs/data/eng"]}), "").await;
    assert_eq!(s, StatusCode::CONFLICT, "a second all-clients rule");
    let (s, _) = post(json!({"paths": ["/ifs/data/eng"]}), "?force=true").await;
    assert_eq!(s, StatusCode::CREATED);
    // paths: a directory of files, the policy's path on its target, and a missing one
    let (s, _) = post(json!({"paths": ["/ifs/data"]}), "").await;
    assert_eq!(s, StatusCode::CREATED, "an ancestor of files exists");
    let (s, v) = post(json!({"paths": ["/ifs/nowhere"]}), "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(err_msg(&v).contains("does not exist"), "{v}");
    let (s, _) = post(json!({"paths": ["/ifs/nowhere"]}), "?ignore_bad_paths=true").await;
    assert_eq!(s, StatusCode::CREATED);
    let d = sim.router("denver").unwrap();
    let (s, v) = call(
        &d,
        "POST",
        "/platform/4/protocols/nfs/exports",
        Some(json!({"paths": ["/ifs/data/hr/sub/dir"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "under a SyncIQ target path: {v}");
}

/// `drill serve --speed N`: virtual time (jobs, PAPI times, `Date`) runs N× tokio's clock.
#[tokio::test(start_paused = true)]
async fn speed_runs_jobs_and_the_date_header_faster() {
    let sim = Sim::new(&spec(50), 1).unwrap();
    sim.set_speed(60).unwrap();
    let b = sim.router("boston").unwrap();
    let (_, _, h0) = call_h(
        &b,
        "GET",
        "/platform/14/sync/settings",
        Some(ADMIN),
        None,
        &[],
    )
    .await;
    let (s, _) = call(
        &b,
        "POST",
        "/platform/14/sync/jobs",
        Some(json!({"id": "eng"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // 10 s of real time is 10 min virtual: the sync (about 6 s virtual) is long done.
    sleep_ms(10_000).await;
    let (_, _, h1) = call_h(
        &b,
        "GET",
        "/platform/14/sync/settings",
        Some(ADMIN),
        None,
        &[],
    )
    .await;
    assert_eq!(date_header_s(&h1) - date_header_s(&h0), 600);
    assert_eq!(sim.now_ms(), 600_000);
    assert_eq!(
        sim.policy_state("boston", "eng").unwrap()["last_job_state"],
        "finished"
    );
    assert!(sim.set_speed(0).is_err());
}

//! Crash testing of the journal and `resume` (invariant I9: re-running or resuming a failover
//! after any crash ends in the same state as an uninterrupted run).
//!
//! # How a crash is made
//! * Every cluster's transport is wrapped in a [`CrashTransport`] that counts PAPI calls. At
//!   crash point *call N*, request N reaches the simulated cluster, and its answer never comes
//!   back: the switch is thrown and the harness drops the run future (that is the kill).
//! * Step boundaries are the executor's events: at crash point *event K*, the K-th event is
//!   handed to the journal and then the switch is thrown.
//! * Once the switch is thrown the "process" is dead: no later request reaches a cluster
//!   (it stays pending), no later event reaches the journal, no report is recorded.
//!
//! Then fresh clients are connected to the **same** `Sim`, the run is resumed from the same
//! journal ([`orchestrator::runner::resume`]; a crash before the run was journaled — during
//! discovery — re-runs it from scratch), and the final world ([`normalized_world`]) and report
//! ([`ReportSummary`]) are compared with an uninterrupted run of the same scenario.
//!
//! [`crash_points`] enumerates every crash point of a scenario (all events, all calls of the
//! uninterrupted run); [`check_scenario`] tries them all.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::future::BoxFuture;
use orchestrator::journal::Journal;
use orchestrator::papi::{ClientOptions, PapiClient, ServiceTransport, Transport, TransportError};
use orchestrator::runner::{self, RunError};
use orchestrator::secret::Secret;
use orchestrator::PlanError;
use orchestrator::{Observer, Report};
use orchestrator::{RunCtx, RunEvent};
use serde::{Deserialize, Serialize};
use sim_onefs::{FaultEffect, FaultMatch, Sim};

use crate::runner::SimOperator;
use crate::scenario::Scenario;

/// Where to crash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashPoint {
    /// After the K-th executor event (1-based) was handed to the journal.
    AfterEvent(u64),
    /// After the N-th PAPI request (1-based, over all clusters) reached its cluster, before
    /// its answer is seen.
    DuringCall(u64),
    /// During the first request that matches (step, policy, cluster, method, route, nth):
    /// the sim's `orchestrator_crash` fault.
    Matching(FaultMatch),
}

impl std::fmt::Display for CrashPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrashPoint::AfterEvent(k) => write!(f, "after event {k}"),
            CrashPoint::DuringCall(n) => write!(f, "during call {n}"),
            CrashPoint::Matching(m) => write!(f, "during a call matching {m:?}"),
        }
    }
}

/// The kill switch shared by the transports and the journal observer of one run.
#[derive(Debug, Default)]
pub struct CrashSwitch {
    point: Option<CrashPoint>,
    killed: AtomicBool,
    calls: AtomicU64,
    events: AtomicU64,
    matched: AtomicU64,
    notify: tokio::sync::Notify,
}

impl CrashSwitch {
    /// A switch that throws itself at `point` (`None` = only counts).
    pub fn new(point: Option<CrashPoint>) -> Arc<Self> {
        Arc::new(CrashSwitch {
            point,
            ..CrashSwitch::default()
        })
    }

    /// Whether the "process" is dead.
    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    fn kill(&self) {
        if !self.killed.swap(true, Ordering::SeqCst) {
            self.notify.notify_one();
        }
    }

    /// PAPI calls seen so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Events seen so far.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    /// Count one event (already journaled); throws the switch at the chosen event.
    fn on_event(&self) {
        let k = self.events.fetch_add(1, Ordering::SeqCst) + 1;
        if self.point == Some(CrashPoint::AfterEvent(k)) {
            self.kill();
        }
    }

    fn should_crash_on(&self, cluster: &str, req: &http::Request<Bytes>, n: u64) -> bool {
        match &self.point {
            Some(CrashPoint::DuringCall(c)) => *c == n,
            Some(CrashPoint::Matching(m)) => {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let route = req
                    .uri()
                    .path()
                    .trim_start_matches("/platform/")
                    .split_once('/')
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_default();
                let ok = m
                    .step
                    .as_ref()
                    .is_none_or(|s| header("x-dr-step").as_ref() == Some(s))
                    && m.policy
                        .as_ref()
                        .is_none_or(|p| header("x-dr-policy").as_ref() == Some(p))
                    && m.zone
                        .as_ref()
                        .is_none_or(|z| header("x-dr-zone").as_ref() == Some(z))
                    && m.cluster.as_ref().is_none_or(|c| c == cluster)
                    && m.method
                        .as_ref()
                        .is_none_or(|x| x.eq_ignore_ascii_case(req.method().as_str()))
                    && m.route.as_ref().is_none_or(|r| {
                        route == *r || route.starts_with(&format!("{}/", r.trim_end_matches('/')))
                    });
                if !ok {
                    return false;
                }
                let k = self.matched.fetch_add(1, Ordering::SeqCst) + 1;
                k == m.nth.unwrap_or(1)
            }
            _ => false,
        }
    }

    /// Resolves when the switch is thrown.
    pub async fn thrown(&self) {
        if self.killed() {
            return;
        }
        self.notify.notified().await
    }
}

/// A transport that dies with its [`CrashSwitch`].
#[derive(Debug)]
pub struct CrashTransport {
    cluster: String,
    inner: Arc<dyn Transport>,
    switch: Arc<CrashSwitch>,
}

impl CrashTransport {
    /// Wrap `inner` (the transport to `cluster`).
    pub fn new(cluster: &str, inner: Arc<dyn Transport>, switch: Arc<CrashSwitch>) -> Self {
        CrashTransport {
            cluster: cluster.to_string(),
            inner,
            switch,
        }
    }
}

impl Transport for CrashTransport {
    fn send(
        &self,
        req: http::Request<Bytes>,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>, TransportError>> {
        Box::pin(async move {
            if self.switch.killed() {
                return futures::future::pending().await;
            }
            let n = self.switch.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let crash = self.switch.should_crash_on(&self.cluster, &req, n);
            let result = self.inner.send(req).await;
            if crash {
                self.switch.kill();
            }
            if self.switch.killed() {
                // The process died while the request was in flight: nobody sees the answer.
                return futures::future::pending().await;
            }
            result
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// In-process clients to every cluster of `sim`, wrapped in crash transports when `switch`
/// is given.
pub fn clients(
    sim: &Sim,
    switch: Option<&Arc<CrashSwitch>>,
) -> Result<BTreeMap<String, PapiClient>, String> {
    let mut out = BTreeMap::new();
    for name in sim.cluster_names() {
        let service = sim
            .service(&name)
            .ok_or_else(|| format!("no service for {name}"))?;
        let (user, password) = sim
            .admin_credentials(&name)
            .ok_or_else(|| format!("cluster {name} has no admin user"))?;
        let mut transport: Arc<dyn Transport> =
            Arc::new(ServiceTransport::new(name.clone(), service));
        if let Some(sw) = switch {
            transport = Arc::new(CrashTransport::new(&name, transport, sw.clone()));
        }
        out.insert(
            name.clone(),
            PapiClient::new(
                &name,
                transport,
                user,
                Secret::new(password),
                ClientOptions::default(),
            ),
        );
    }
    Ok(out)
}

/// The statuses of a report, without times and details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSummary {
    pub outcome: String,
    /// `label: status` (with the skip reason or the manual confirmation) per instance.
    pub steps: Vec<String>,
    pub cached_schedules: BTreeMap<String, String>,
    pub warnings: Vec<String>,
}

impl ReportSummary {
    /// Summarize `r`.
    pub fn of(r: &Report) -> Self {
        ReportSummary {
            outcome: r.outcome.as_str().to_string(),
            steps: r
                .steps
                .iter()
                .map(|s| {
                    let scope = s
                        .policy
                        .as_deref()
                        .or(s.zone.as_deref())
                        .map(|p| format!("[{p}]"))
                        .unwrap_or_default();
                    let status = match &s.status {
                        orchestrator::StepStatus::Skipped { reason } => {
                            format!("skipped({})", reason.short())
                        }
                        orchestrator::StepStatus::Manual { confirmed, .. } => {
                            format!("manual(confirmed={confirmed})")
                        }
                        other => other.name().to_string(),
                    };
                    format!("#{} {}{scope}: {status}", s.idx, s.step)
                })
                .collect(),
            cached_schedules: r.cached_schedules.clone(),
            warnings: r.warnings.clone(),
        }
    }
}

/// Keys of `Sim::state_json` that are timing or bookkeeping, not world state: virtual times,
/// durations, the fault rules' match counters, the audit length, job progress, and the
/// sequence-numbered ids of jobs, reports and created (mirror) policies, which depend on the
/// order in which concurrent steps happened to run.
fn strip_keys(v: &mut serde_json::Value, key: &str) {
    match v {
        serde_json::Value::Object(m) => {
            m.remove(key);
            m.values_mut().for_each(|x| strip_keys(x, key));
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| strip_keys(x, key)),
        _ => {}
    }
}

fn is_timing_key(k: &str) -> bool {
    k.ends_with("_ms")
        || k.ends_with("_time")
        || matches!(
            k,
            "last_started"
                | "last_success"
                | "audit_len"
                | "faults"
                | "duration"
                | "time"
                | "running_since"
                | "progress"
                | "id"
                | "job_id"
                | "seq"
                | "next_job_id"
                | "next_seq"
                | "mirror_id"
                | "policy_id"
        )
}

/// `Sim::state_json` without timing (see [`is_timing_key`]), maps keyed by generated ids
/// re-keyed by name, and each SyncIQ report list (the source's and the target's) reduced to
/// its distinct `policy action state` entries. Returns the world and how many reports were repeats (a
/// job run again with the same result, e.g. a sync redone after a crash).
pub fn normalized_world(sim: &Sim) -> (serde_json::Value, usize) {
    fn strip(v: &mut serde_json::Value, repeats: &mut usize) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !is_timing_key(k));
                for (k, x) in m.iter_mut() {
                    // A target's reports mirror the source's: reduced alike, but a redone
                    // job is counted once (on the cluster that ran it).
                    if k == "reports" || k == "target_reports" {
                        if let serde_json::Value::Array(a) = x {
                            let all: Vec<String> = a
                                .iter()
                                .map(|r| {
                                    format!(
                                        "{} {} {}",
                                        r["policy_name"].as_str().unwrap_or("?"),
                                        r["action"].as_str().unwrap_or("?"),
                                        r["state"].as_str().unwrap_or("?")
                                    )
                                })
                                .collect();
                            let set: std::collections::BTreeSet<String> =
                                all.iter().cloned().collect();
                            if k == "reports" {
                                *repeats += all.len() - set.len();
                            }
                            *x = serde_json::json!(set);
                            continue;
                        }
                    }
                    strip(x, repeats);
                }
                // Re-key maps whose values all carry a name (policies keyed by id).
                let named = !m.is_empty()
                    && m.values()
                        .all(|x| x.get("name").and_then(|n| n.as_str()).is_some());
                if named {
                    let old = std::mem::take(m);
                    for (k, x) in old {
                        let name = x["name"].as_str().unwrap_or(&k).to_string();
                        let mut key = name.clone();
                        let mut n = 1;
                        while m.contains_key(&key) {
                            n += 1;
                            key = format!("{name}#{n}");
                        }
                        m.insert(key, x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| strip(x, repeats)),
            _ => {}
        }
    }
    let mut v = sim.state_json();
    let mut repeats = 0;
    strip(&mut v, &mut repeats);
    (v, repeats)
}

/// What one run (crashed and resumed, or not) ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub world: serde_json::Value,
    /// SyncIQ jobs run again with the same result (see [`normalized_world`]).
    pub repeated_jobs: usize,
    pub report: ReportSummary,
    /// Events and calls the first (possibly crashed) run made.
    pub events: u64,
    pub calls: u64,
    /// Whether the crash point was reached.
    pub crashed: bool,
}

/// A scenario the orchestrator cannot run yet (its plan build said "not implemented").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

fn paused_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| e.to_string())
}

/// Race `fut` against the switch; `None` when the switch was thrown first (or during it).
async fn until_crash<T>(switch: &CrashSwitch, fut: impl Future<Output = T>) -> Option<T> {
    let fut = std::pin::pin!(fut);
    tokio::select! {
        biased;
        _ = switch.thrown() => None,
        r = fut => if switch.killed() { None } else { Some(r) },
    }
}

/// Run `scn` once with a journal, crashing at `point` (if reached) and resuming on the same
/// world. `Err(Ok(Unsupported))` when the orchestrator cannot plan it.
pub async fn run_with_crash(
    scn: &Scenario,
    point: Option<CrashPoint>,
) -> Result<Ending, Result<Unsupported, String>> {
    run_with_crash_down(scn, point, 0).await
}

/// [`run_with_crash`], with the orchestrator down for `down_ms` (virtual time) between the
/// crash and the resume: SyncIQ jobs it started go on and may finish meanwhile.
pub async fn run_with_crash_down(
    scn: &Scenario,
    point: Option<CrashPoint>,
    down_ms: u64,
) -> Result<Ending, Result<Unsupported, String>> {
    let mut spec = scn.run.clone();
    if spec.pool_mappings.is_empty() {
        spec.pool_mappings = crate::runner::world_mappings(scn);
    }
    // The whole world (clusters, AD, site DNS), so the DNS steps run as in `drill run`.
    let w = crate::world::World::build(&scn.world, scn.seed).map_err(Err)?;
    // Preludes (e.g. the failover a failback scenario starts from) run uninterrupted.
    crate::runner::run_preludes(scn, &w).await.map_err(Err)?;
    crate::runner::return_clusters(scn, &w);
    let sim = w.sim.clone();
    let dns = Some(w.dns_client());
    // A fault's `at` counts from the run's start (after the preludes).
    let run_start_ms = sim.now_ms();
    for f in &scn.faults {
        if f.effect != FaultEffect::OrchestratorCrash {
            let mut f = f.clone();
            if let Some(at) = &mut f.when.at {
                at.0 += run_start_ms;
            }
            sim.add_fault(f);
        }
    }
    let journal = Journal::in_memory().map_err(|e| Err(e.to_string()))?;
    let run_id = format!("{}-{}", scn.name, scn.seed);
    // The operator really does the manual networking moves it confirms, as in `drill run`.
    let operator = Arc::new(SimOperator::acting(
        scn.operator.clone(),
        &w,
        &spec,
        &scn.world,
    ));
    let switch = CrashSwitch::new(point.clone());

    // The first run: journaled, through crash transports.
    let first = {
        let clients = clients(&sim, Some(&switch)).map_err(Err)?;
        let rec = journal.recorder(&run_id);
        let sw = switch.clone();
        let rec2 = rec.clone();
        let observer: Observer = Arc::new(move |ev: &RunEvent| {
            if sw.killed() {
                return;
            }
            rec2.record(ev);
            sw.on_event();
        });
        let journal2 = journal.clone();
        let sw = switch.clone();
        let op = operator.clone();
        let run_id2 = run_id.clone();
        let spec = spec.clone();
        let dns = dns.clone();
        let fut = async move {
            let (plan, inv) =
                runner::prepare_journaled(&journal2, &run_id2, &clients, &spec).await?;
            let ctx =
                Arc::new(RunCtx::new(run_id2.clone(), plan.clone(), inv, clients).with_dns(dns));
            let report = orchestrator::execute(ctx, op, Some(observer)).await;
            if !sw.killed() {
                rec.flush();
                journal2.finish_run(&run_id2, &report)?;
            }
            Ok::<_, RunError>((plan, report))
        };
        until_crash(&switch, fut).await
    };
    let events = switch.events();
    let calls = switch.calls();
    let report = match first {
        Some(Ok((_, report))) => report,
        Some(Err(RunError::Plan(PlanError::Unsupported(msg)))) => return Err(Ok(Unsupported(msg))),
        Some(Err(e)) => return Err(Err(format!("run failed to start: {e}"))),
        None => {
            // Crashed: a new "process" resumes from the journal on the same world.
            tokio::time::sleep(std::time::Duration::from_millis(down_ms)).await;
            let clients = clients(&sim, None).map_err(Err)?;
            let resumed = if journal.has_run(&run_id).map_err(|e| Err(e.to_string()))? {
                runner::resume(&journal, &run_id, clients, dns, operator, None).await
            } else {
                runner::run_journaled(&journal, &run_id, clients, dns, &spec, operator, None).await
            };
            resumed
                .map_err(|e| Err(format!("resume after crash {point:?} failed: {e}")))?
                .1
        }
    };
    let (mut world, repeated_jobs) = normalized_world(&sim);
    // The site DNS too (zone serials count updates, and a redone update is not a divergence).
    let mut site_dns =
        serde_json::to_value(&*w.dns.lock().unwrap_or_else(|p| p.into_inner())).unwrap_or_default();
    strip_keys(&mut site_dns, "serial");
    world["site_dns"] = site_dns;
    Ok(Ending {
        world,
        repeated_jobs,
        report: ReportSummary::of(&report),
        events,
        calls,
        crashed: switch.killed(),
    })
}

/// Every crash point of `scn`: each event and each PAPI call of its uninterrupted run.
pub fn crash_points(baseline: &Ending) -> Vec<CrashPoint> {
    (1..=baseline.events)
        .map(CrashPoint::AfterEvent)
        .chain((1..=baseline.calls).map(CrashPoint::DuringCall))
        .collect()
}

/// A crash point whose resumed run did not converge.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub point: CrashPoint,
    pub what: String,
}

/// Result of [`check_scenario`].
#[derive(Debug, Clone, Default)]
pub struct ScenarioCrashReport {
    pub tried: usize,
    /// Crash points after which some SyncIQ job ran a second time (same result).
    pub points_with_repeated_jobs: usize,
    pub divergences: Vec<Divergence>,
}

/// First difference between two JSON values, as a path and both sides.
pub fn first_diff(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value::*;
    match (a, b) {
        (Object(x), Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_diff(v, w, &format!("{path}.{k}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{path}.{k}: only in the uninterrupted run")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}: only in the resumed run"))
        }
        (Array(x), Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_diff(v, w, &format!("{path}[{i}]")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{path}: {} vs {} items", x.len(), y.len()))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

/// Compare a crashed-and-resumed ending with the uninterrupted one.
pub fn compare(baseline: &Ending, got: &Ending) -> Option<String> {
    if baseline.report != got.report {
        let diff: Vec<String> = baseline
            .report
            .steps
            .iter()
            .zip(&got.report.steps)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("{a} vs {b}"))
            .collect();
        return Some(format!(
            "report differs: outcome {} vs {}; {}{}",
            baseline.report.outcome,
            got.report.outcome,
            diff.join("; "),
            if baseline.report.steps.len() != got.report.steps.len()
                || baseline.report.cached_schedules != got.report.cached_schedules
                || baseline.report.warnings != got.report.warnings
            {
                format!(
                    "; {} vs {} steps; cached schedules {:?} vs {:?}; warnings {:?} vs {:?}",
                    baseline.report.steps.len(),
                    got.report.steps.len(),
                    baseline.report.cached_schedules,
                    got.report.cached_schedules,
                    baseline.report.warnings,
                    got.report.warnings
                )
            } else {
                String::new()
            }
        ));
    }
    first_diff(&baseline.world, &got.world, "world").map(|d| format!("world differs at {d}"))
}

/// Try every crash point of `scn` (each in a fresh paused runtime and world).
/// `Err(Ok(Unsupported))` when the orchestrator cannot plan the scenario yet.
pub fn check_scenario(
    scn: &Scenario,
    max_points: Option<usize>,
) -> Result<ScenarioCrashReport, Result<Unsupported, String>> {
    let rt = paused_runtime().map_err(Err)?;
    let baseline = rt.block_on(run_with_crash(scn, None))?;
    drop(rt);
    let mut points = crash_points(&baseline);
    if let Some(m) = max_points {
        points.truncate(m);
    }
    let out = Mutex::new(ScenarioCrashReport::default());
    for p in points {
        let rt = paused_runtime().map_err(Err)?;
        let got = rt.block_on(run_with_crash(scn, Some(p.clone())));
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        o.tried += 1;
        match got {
            Ok(end) => {
                if !end.crashed {
                    o.divergences.push(Divergence {
                        point: p,
                        what: "crash point not reached (the run is not deterministic?)".into(),
                    });
                } else if let Some(what) = compare(&baseline, &end) {
                    o.divergences.push(Divergence { point: p, what });
                } else if end.repeated_jobs > baseline.repeated_jobs {
                    o.points_with_repeated_jobs += 1;
                }
            }
            Err(e) => o.divergences.push(Divergence {
                point: p,
                what: match e {
                    Ok(Unsupported(m)) => m,
                    Err(m) => m,
                },
            }),
        }
    }
    Ok(out.into_inner().unwrap_or_else(|e| e.into_inner()))
}

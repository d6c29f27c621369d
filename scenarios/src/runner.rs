//! Run one scenario: build its simulated world, point the real orchestrator at it, check the
//! invariants and the scenario's `expect`.
//!
//! In-process runs use a current-thread tokio runtime with a paused clock: the simulated
//! clusters' jobs take virtual time, the orchestrator's polls and backoffs sleep in virtual
//! time, and the same seed gives the same bytes out. HTTP runs serve each simulated cluster
//! on 127.0.0.1 and use the orchestrator's real `HttpTransport`, in real time.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orchestrator::papi::{ClientOptions, HttpTransport, PapiClient, ServiceTransport, TlsOptions};
use orchestrator::secret::Secret;
use orchestrator::{Operator, RunEvent};
use orchestrator::{Plan, Report, StepInstance};
use serde::{Deserialize, Serialize};
use sim_onefs::{AuditTrail, Sim};

use std::sync::atomic::Ordering;

use crate::clients::{run_clients, ClientControl, ClientEvent, ClientLog, Outage};
use crate::judge::{self, Evidence, InvariantResult, Sampler, StepEnd};
use crate::operator::ManualNetworking;
use crate::scenario::{InvariantKeyword, InvariantSelection, OperatorSpec, Scenario};
use crate::world::World;

/// How the orchestrator reaches the simulated clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// `ServiceTransport` into the clusters' Routers, paused clock (the default).
    #[default]
    InProcess,
    /// `HttpTransport` to the Routers served on 127.0.0.1, real time.
    Http,
}

/// Test hook: change the evidence before the checker reads it (a planted fault in the
/// evidence proves the checker catches it).
pub type Tamper = Arc<dyn Fn(&World, &mut Vec<ClientEvent>) + Send + Sync>;

/// Test hook: change the report before the checker reads it (a report that lies about a
/// step proves the checker does not take its word where the world disagrees).
pub type ReportTamper = Arc<dyn Fn(&mut Report) + Send + Sync>;

/// Options of one drill run.
#[derive(Clone, Default)]
pub struct DrillOptions {
    pub transport: TransportKind,
    /// Test-only evidence tampering (see [`Tamper`]).
    pub tamper: Option<Tamper>,
    /// Test-only report tampering (see [`ReportTamper`]).
    pub tamper_report: Option<ReportTamper>,
    /// Also told every run event (progress on a terminal); never changes the run.
    pub observer: Option<orchestrator::Observer>,
    /// Test-only: judge from the whole audit log (every entry with its detail) instead of
    /// the part [`judge::audit_wanted`] selects. A test compares the verdicts both ways, so
    /// an invariant that starts reading an entry the selection leaves out is caught.
    pub judge_whole_audit: bool,
}

impl std::fmt::Debug for DrillOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillOptions")
            .field("transport", &self.transport)
            .field("tamper", &self.tamper.is_some())
            .field("tamper_report", &self.tamper_report.is_some())
            .field("observer", &self.observer.is_some())
            .field("judge_whole_audit", &self.judge_whole_audit)
            .finish()
    }
}

/// A drill could not run at all (as opposed to running and failing its checks).
#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("cannot build the simulated world: {0}")]
    World(String),
    #[error("the orchestrator could not start the run: {0}")]
    Run(String),
    #[error("runtime: {0}")]
    Runtime(String),
}

/// Everything a drill produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrillResult {
    pub scenario: String,
    pub seed: u64,
    pub run_id: String,
    pub transport: TransportKind,
    pub plan: Plan,
    pub report: Report,
    pub invariants: Vec<InvariantResult>,
    /// `expect` mismatches (empty = as expected).
    pub expect_failures: Vec<String>,
    /// Per-client outage windows and lost writes.
    #[serde(default)]
    pub outages: Vec<Outage>,
    /// Every client write attempt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientEvent>,
    /// The clusters' audit log (its entries are built when first read: a campaign reads
    /// only its fault injections, [`AuditTrail::entries_where`]).
    pub audit: AuditTrail,
}

impl DrillResult {
    /// No invariant was violated and the run ended as expected (an invariant `expect`
    /// named that was not judged is an expect failure).
    pub fn passed(&self) -> bool {
        self.expect_failures.is_empty() && !self.invariants.iter().any(|i| i.is_violated())
    }

    /// The deterministic trace: report and audit log, as canonical JSON lines.
    pub fn trace(&self) -> String {
        let mut s = serde_json::to_string(&self.report).unwrap_or_default();
        s.push('\n');
        for a in &self.audit {
            s.push_str(&serde_json::to_string(a).unwrap_or_default());
            s.push('\n');
        }
        for c in &self.clients {
            s.push_str(&serde_json::to_string(c).unwrap_or_default());
            s.push('\n');
        }
        s
    }
}

/// How long simulated clients keep writing after the run ends (virtual ms), so I7 sees
/// whether they reach their data on the target.
pub const CLIENT_TAIL_MS: u64 = 180_000;

/// How long simulated clients write before the run starts (virtual ms).
pub const CLIENT_WARMUP_MS: u64 = 60_000;

/// The scenario's `world.pool_mappings` as the orchestrator's run-spec mappings.
pub fn world_mappings(scn: &Scenario) -> Vec<orchestrator::run_spec::PoolMapping> {
    scn.world
        .pool_mappings
        .iter()
        .map(|m| {
            // The admin records the source pool's names with the mapping (read only when the
            // source cannot be reached): here, the world's definition of that pool.
            let src = m.source.split_once('/').and_then(|(c, id)| {
                scn.world
                    .clusters
                    .iter()
                    .find(|x| x.name == c)?
                    .pools
                    .iter()
                    .find(|p| p.id == id || p.id.rsplit('.').next() == Some(id))
            });
            let mut names = Vec::new();
            if let Some(p) = src {
                names.push(p.sc_dns_zone.clone());
                names.extend(p.aliases.iter().cloned());
            }
            orchestrator::run_spec::PoolMapping {
                source: m.source.clone(),
                target: m.target.clone(),
                policies: m.policies.clone(),
                names,
                zone: src.map(|p| p.zone.clone()),
            }
        })
        .collect()
}

/// The simulated operator of a drill.
pub struct SimOperator {
    spec: OperatorSpec,
    /// With manual networking: carries the checklist out at the simulated site's consoles
    /// before confirming (see [`crate::operator`]). Without: confirms without acting.
    hands: Option<ManualNetworking>,
}

impl SimOperator {
    /// The operator a scenario's `operator:` key describes; it confirms without acting.
    pub fn new(spec: OperatorSpec) -> Self {
        SimOperator { spec, hands: None }
    }

    /// An operator that carries out the manual networking checklist of `run` in `world`
    /// before confirming each item (when the run has one).
    pub fn acting(
        spec: OperatorSpec,
        world: &World,
        run: &orchestrator::RunSpec,
        world_spec: &sim_onefs::WorldSpec,
    ) -> Self {
        SimOperator {
            spec,
            hands: ManualNetworking::for_run(world, run, world_spec),
        }
    }
}

impl Operator for SimOperator {
    fn confirm<'a>(
        &'a self,
        inst: &'a StepInstance,
        _instructions: &'a str,
    ) -> futures::future::BoxFuture<'a, bool> {
        Box::pin(async move {
            match &self.spec {
                OperatorSpec::Immediate => {}
                OperatorSpec::ConfirmAfter(d) => {
                    tokio::time::sleep(Duration::from_millis(d.0)).await;
                }
                OperatorSpec::Absent => return false,
            }
            if let Some(hands) = &self.hands {
                if inst.step.is_networking() {
                    match hands.carry_out(inst.step) {
                        Ok(done) => {
                            tracing::info!(step = %inst.label(), %done, "simulated operator did the step");
                        }
                        Err(e) => {
                            // An operator confirms only what was done: the run waits.
                            tracing::warn!(step = %inst.label(), error = %e, "simulated operator could not do the step; not confirming");
                            return false;
                        }
                    }
                }
            }
            tracing::info!(step = %inst.label(), "simulated operator confirmed");
            true
        })
    }
}

/// Run `scn` on a fresh runtime and return the result.
pub fn run_scenario(scn: &Scenario, opts: &DrillOptions) -> Result<DrillResult, DrillError> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time();
    match opts.transport {
        TransportKind::InProcess => {
            builder.start_paused(true);
        }
        TransportKind::Http => {
            builder.enable_io();
        }
    }
    let rt = builder
        .build()
        .map_err(|e| DrillError::Runtime(e.to_string()))?;
    rt.block_on(run_scenario_async(scn, opts))
}

/// Run the scenario's `prelude:` runs (in-process, simulated operator that acts), which bring
/// the world to where the scenario starts (e.g. failed over). Each must succeed.
///
/// `prelude_faults` are added first (their `at` counting from now) and retired when the
/// preludes end; the clusters they took down stay down until [`return_clusters`] (the
/// start of `run`).
pub async fn run_preludes(scn: &Scenario, world: &World) -> Result<(), String> {
    let sim = &world.sim;
    let start = sim.now_ms();
    for f in &scn.prelude_faults {
        let mut f = f.clone();
        if let Some(at) = &mut f.when.at {
            at.0 += start;
        }
        sim.add_fault(f);
    }
    let result = run_prelude_runs(scn, world).await;
    if !scn.prelude_faults.is_empty() {
        sim.retire_faults();
    }
    result
}

/// The end of `prelude_faults`: every cluster they took down returns (and a partitioned
/// link heals) as `run` starts.
pub fn return_clusters(scn: &Scenario, world: &World) {
    if !scn.prelude_faults.is_empty() {
        for c in world.sim.restore_all() {
            tracing::info!(cluster = %c, "cluster returned after the prelude faults");
        }
    }
}

async fn run_prelude_runs(scn: &Scenario, world: &World) -> Result<(), String> {
    let sim = &world.sim;
    for (i, pre) in scn.prelude.iter().enumerate() {
        let mut pre = pre.clone();
        if pre.pool_mappings.is_empty() {
            pre.pool_mappings = world_mappings(scn);
        }
        let clients = in_process_clients(sim).map_err(|e| e.to_string())?;
        let (_, report) = Box::pin(orchestrator::runner::run_with_dns(
            &format!("{}-{}-prelude{i}", scn.name, scn.seed),
            clients,
            Some(world.dns_client()),
            &pre,
            Arc::new(SimOperator::acting(
                OperatorSpec::Immediate,
                world,
                &pre,
                &scn.world,
            )),
            None,
        ))
        .await
        .map_err(|e| format!("prelude run {i}: {e}"))?;
        if report.outcome != orchestrator::Outcome::Succeeded {
            return Err(format!(
                "prelude run {i} ended {}, not succeeded",
                report.outcome.as_str()
            ));
        }
    }
    Ok(())
}

/// Run `scn` on the current runtime (which must have a paused clock for in-process runs to
/// be deterministic).
pub async fn run_scenario_async(
    scn: &Scenario,
    opts: &DrillOptions,
) -> Result<DrillResult, DrillError> {
    let world = World::build(&scn.world, scn.seed).map_err(DrillError::World)?;
    crate::clients::validate(&scn.clients).map_err(DrillError::World)?;
    let sim = world.sim.clone();
    run_preludes(scn, &world).await.map_err(DrillError::Run)?;
    // The orchestrator's config replication store for this run: a named in-memory SQLite
    // database the judge reads (I10) through the store's published tables.
    let config_store = Arc::new(
        orchestrator::config_repl::Store::memory(&store_name(&scn.name, scn.seed))
            .map_err(|e| DrillError::Run(e.to_string()))?,
    );
    if scn.config_sync_before {
        config_sync_before(scn, &sim, &config_store).await?;
    }
    // Clients run in virtual time; over real HTTP (real time) they are not simulated.
    let has_clients = opts.transport == TransportKind::InProcess
        && scn.clients.iter().any(|c| c.writes_per_minute > 0);
    // A fault's `at` counts from the start of the run (DESIGN.md §9), which comes after any
    // prelude runs and the clients' warm-up; the simulator counts from the world's start.
    let run_start_ms = sim.now_ms() + if has_clients { CLIENT_WARMUP_MS } else { 0 };
    for f in &scn.faults {
        let mut f = f.clone();
        if let Some(at) = &mut f.when.at {
            at.0 += run_start_ms;
        }
        sim.add_fault(f);
    }
    let run_id = format!("{}-{}", scn.name, scn.seed);
    let mut servers = Vec::new();
    let clients = match opts.transport {
        TransportKind::InProcess => in_process_clients(&sim)?,
        TransportKind::Http => {
            let (clients, handles) = http_clients(&sim).await?;
            servers = handles;
            clients
        }
    };
    let mut spec = scn.run.clone();
    if spec.pool_mappings.is_empty() {
        spec.pool_mappings = world_mappings(scn);
    }

    // The judge's eyes on the world: before the run, at every step end, after it.
    let sampler = Sampler::new(&world, &scn.world, &spec.from, &spec.to);
    let ctl = ClientControl::default();
    // The report's time 0 in sim time, learnt from the first event.
    let offset: Arc<Mutex<Option<u64>>> = Arc::new(Mutex::new(None));
    let observer: orchestrator::Observer = {
        let sim = sim.clone();
        let offset = offset.clone();
        let ctl = ctl.clone();
        let sampler = sampler.clone();
        let also = opts.observer.clone();
        Arc::new(move |ev: &RunEvent| {
            if let Some(o) = &also {
                o(ev);
            }
            match ev {
                RunEvent::StepStarted(r) => {
                    let mut o = offset.lock().unwrap_or_else(|p| p.into_inner());
                    if o.is_none() {
                        *o = Some(sim.now_ms().saturating_sub(r.start_ms.unwrap_or(0)));
                    }
                }
                RunEvent::StepEnded(r) => {
                    if r.step == orchestrator::StepId::RefreshClients && r.status.is_ok() {
                        ctl.remount_generation.fetch_add(1, Ordering::SeqCst);
                    }
                    sampler.step_ended(StepEnd {
                        step: r.step.as_str().to_string(),
                        policy: r.policy.clone(),
                        zone: r.zone.clone(),
                        status: r.status.name().to_string(),
                        end_seq: r.end_seq,
                    });
                }
                _ => {}
            }
        })
    };
    let operator = Arc::new(SimOperator::acting(
        scn.operator.clone(),
        &world,
        &spec,
        &scn.world,
    ));
    let log: ClientLog = Arc::default();
    let returned_at: Arc<Mutex<Option<u64>>> = Arc::default();
    let orchestrate = async {
        if has_clients {
            // Clients work normally for a while before the failover starts.
            tokio::time::sleep(Duration::from_millis(CLIENT_WARMUP_MS)).await;
        }
        if !scn.prelude_faults.is_empty() {
            *returned_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(sim.now_ms());
        }
        return_clusters(scn, &world);
        sampler.before_run();
        let r = Box::pin(orchestrator::runner::run_with_store(
            &run_id,
            clients,
            Some(world.dns_client()),
            Some(config_store.clone()),
            &spec,
            operator,
            Some(observer),
        ))
        .await;
        sampler.after_run();
        if has_clients {
            // Let the clients show what they see after the run (I7), also those that
            // reached their write cap during a long run.
            ctl.tail.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(CLIENT_TAIL_MS)).await;
        }
        ctl.stop.store(true, Ordering::SeqCst);
        r
    };
    let (result, ()) = tokio::join!(
        orchestrate,
        run_clients(
            world.clone(),
            if has_clients {
                scn.clients.clone()
            } else {
                vec![]
            },
            ctl.clone(),
            log.clone()
        )
    );
    for h in servers {
        h.abort();
    }
    let (plan, mut report) = result.map_err(|e| DrillError::Run(e.to_string()))?;
    if let Some(t) = &opts.tamper_report {
        t(&mut report);
    }
    // The clients are done (joined above): the log is taken, not copied.
    let mut client_log = std::mem::take(&mut *log.lock().unwrap_or_else(|p| p.into_inner()));
    if let Some(t) = &opts.tamper {
        t(&world, &mut client_log);
    }
    // The run is over: the log is handed over, not copied. Only what the judge reads is
    // built for it (`judge::audit_wanted`); the result's trail builds the whole log when
    // someone reads it.
    let audit = sim.take_audit_log();
    let judged_audit = if opts.judge_whole_audit {
        audit.entries_where(|_| sim_onefs::Keep::Whole)
    } else {
        audit.entries_where(judge::audit_wanted)
    };

    let which: Vec<&str> = match &scn.expect.invariants {
        InvariantSelection::Keyword(InvariantKeyword::All) => judge::ALL_INVARIANTS.to_vec(),
        InvariantSelection::Keyword(InvariantKeyword::None) => vec![],
        InvariantSelection::List(ids) => ids.iter().map(String::as_str).collect(),
    };
    let run_offset_ms = match opts.transport {
        TransportKind::InProcess => *offset.lock().unwrap_or_else(|p| p.into_inner()),
        // Real time drifts between the two clocks; the window check would be noise.
        TransportKind::Http => None,
    };
    let samples = sampler.take_samples();
    // The judge reads the report's published JSON, never the orchestrator's types: the
    // bytes, which it reads straight into its own types (no `serde_json::Value` of the
    // whole report, ~10× the JSON's size).
    let report_json = serde_json::to_vec(&report).unwrap_or_default();
    let evidence = Evidence {
        report: &report_json,
        audit: &judged_audit,
        run_offset_ms,
        returned_at_ms: *returned_at.lock().unwrap_or_else(|p| p.into_inner()),
        scenario: scn,
        world: Some(&world),
        clients: &client_log,
        samples: Some(&samples),
        config_store: Some(config_store.location()),
    };
    let (invariants, outages) = judge::judge_run(&evidence, &which);
    drop((report_json, samples, judged_audit));
    let mut expect_failures = check_expect(scn, &report);
    if let InvariantSelection::List(_) = &scn.expect.invariants {
        expect_failures.extend(unjudged_expectations(&invariants));
    }
    Ok(DrillResult {
        scenario: scn.name.clone(),
        seed: scn.seed,
        run_id,
        transport: opts.transport,
        plan,
        report,
        invariants,
        expect_failures,
        outages,
        clients: client_log,
        audit,
    })
}

/// A store name unique in this process (chaos campaigns run many scenarios at once).
fn store_name(scenario: &str, seed: u64) -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let safe: String = scenario
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("drill-{safe}-{seed}-{}-{n}", std::process::id())
}

/// The scenario's `config_sync_before`: one `dr config-sync --once` pass over the world
/// (every policy, in-process), which must succeed for every job it runs.
async fn config_sync_before(
    scn: &Scenario,
    sim: &Sim,
    store: &orchestrator::config_repl::Store,
) -> Result<(), DrillError> {
    let clients = in_process_clients(sim)?;
    let dfs = scn.run.mode == orchestrator::run_spec::Mode::Dfs;
    let req = orchestrator::config_repl::SyncRequest {
        policies: vec![],
        dfs_policies: if dfs {
            scn.world.policies.iter().map(|p| p.name.clone()).collect()
        } else {
            vec![]
        },
        dfs_prefix: Some(scn.run.options.naming.dfs_prefix.clone()),
    };
    let summary = orchestrator::config_repl::sync_all(store, &clients, &req)
        .await
        .map_err(|e| DrillError::Run(format!("config sync before the run: {e}")))?;
    if let Some(j) = summary.jobs.iter().find(|j| j.result == "failed") {
        return Err(DrillError::Run(format!(
            "config sync before the run: job of {} failed: {}",
            j.policy, j.detail
        )));
    }
    Ok(())
}

fn credentials(sim: &Sim, cluster: &str) -> Result<(String, Secret), DrillError> {
    let (user, password) = sim
        .admin_credentials(cluster)
        .ok_or_else(|| DrillError::World(format!("cluster {cluster} has no admin user")))?;
    Ok((user, Secret::new(password)))
}

fn client_options() -> ClientOptions {
    ClientOptions::default()
}

/// One in-process PAPI client per simulated cluster.
pub fn in_process_clients(sim: &Sim) -> Result<BTreeMap<String, PapiClient>, DrillError> {
    let mut out = BTreeMap::new();
    for name in sim.cluster_names() {
        let service = sim
            .service(&name)
            .ok_or_else(|| DrillError::World(format!("no service for {name}")))?;
        let (user, password) = credentials(sim, &name)?;
        let transport = ServiceTransport::new(name.clone(), service);
        out.insert(
            name.clone(),
            PapiClient::new(&name, Arc::new(transport), user, password, client_options()),
        );
    }
    Ok(out)
}

/// Serve every cluster's Router on 127.0.0.1 and connect HTTP clients to them.
pub async fn http_clients(
    sim: &Sim,
) -> Result<
    (
        BTreeMap<String, PapiClient>,
        Vec<tokio::task::JoinHandle<()>>,
    ),
    DrillError,
> {
    let mut out = BTreeMap::new();
    let mut handles = Vec::new();
    for name in sim.cluster_names() {
        let router = sim
            .router(&name)
            .ok_or_else(|| DrillError::World(format!("no router for {name}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| DrillError::Runtime(format!("bind 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| DrillError::Runtime(e.to_string()))?;
        handles.push(tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        }));
        let (user, password) = credentials(sim, &name)?;
        let transport = HttpTransport::new(
            &format!("http://{addr}"),
            &TlsOptions::default(),
            client_options().timeout_ms,
        )
        .map_err(|e| DrillError::Runtime(e.to_string()))?;
        out.insert(
            name.clone(),
            PapiClient::new(&name, Arc::new(transport), user, password, client_options()),
        );
    }
    Ok((out, handles))
}

/// `expect.invariants` lists invariants by name: each must have been judged.
pub fn unjudged_expectations(results: &[InvariantResult]) -> Vec<String> {
    results
        .iter()
        .filter_map(|i| {
            i.not_judged_reason().map(|why| {
                format!(
                    "expect.invariants names {}, which was not judged: {why}",
                    i.id
                )
            })
        })
        .collect()
}

/// Compare the report with the scenario's `expect`.
pub fn check_expect(scn: &Scenario, report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(o) = &scn.expect.outcome {
        if report.outcome.as_str() != o {
            out.push(format!(
                "outcome is {} but the scenario expects {o}",
                report.outcome.as_str()
            ));
        }
    }
    for e in &scn.expect.steps {
        let matching: Vec<_> = report
            .steps
            .iter()
            .filter(|r| {
                r.step.as_str() == e.step
                    && (e.policy.is_none() || r.policy == e.policy)
                    && (e.zone.is_none() || r.zone == e.zone)
            })
            .collect();
        let what = format!(
            "{}{}{}",
            e.step,
            e.policy
                .as_deref()
                .map(|p| format!("[{p}]"))
                .unwrap_or_default(),
            e.zone
                .as_deref()
                .map(|z| format!("[zone {z}]"))
                .unwrap_or_default()
        );
        if matching.is_empty() {
            out.push(format!(
                "{what}: not in the run's plan (expected {})",
                e.status
            ));
            continue;
        }
        for r in matching {
            if r.status.name() != e.status {
                out.push(format!(
                    "{what} is {} but the scenario expects {}",
                    r.status.name(),
                    e.status
                ));
            }
        }
    }
    out
}

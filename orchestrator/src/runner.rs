//! One call from connected clients to a finished report: discover, plan, execute — plain
//! ([`run`]) or journaled ([`run_journaled`], [`resume`]).
//!
//! A journaled run is recorded in a [`Journal`] before it acts: its plan and inventory, then
//! every step's intent and result. [`resume`] picks an interrupted (or paused) run up from the
//! journal: finished steps are not redone, steps that were in flight run again (they read the
//! cluster state first and are idempotent), unconfirmed manual steps ask the operator again.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::exec::{self, Observer, Operator, RunCtx, RunEvent};
use crate::inventory::{self, Inventory};
use crate::journal::{Journal, JournalError, Recorder, RunOwner};
use crate::papi::{PapiClient, PapiError};
use crate::plan::{self, Plan, PlanError};
use crate::report::Report;
use crate::run_spec::RunSpec;

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("discovery failed: {0}")]
    Discover(#[from] PapiError),
    #[error("cannot plan the run: {0}")]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal could not be written during the run, so it stopped (outcome `aborted`)
    /// before any further step acted. `report` is what the run did up to there.
    #[error("run {run} stopped: the journal cannot be written ({why}); no step started after that. Make the journal writable, then continue with `dr resume {run}`")]
    JournalStopped {
        run: String,
        why: String,
        report: Box<Report>,
    },
}

/// Discover the clusters in `clients`.
pub async fn discover(clients: &BTreeMap<String, PapiClient>) -> Result<Inventory, PapiError> {
    inventory::discover(clients, &BTreeMap::new()).await
}

/// Plan `spec` on `inv` with its estimate (`dr plan --estimate`, with the run's cost model,
/// `options.estimate`, or the defaults): the one place a run is planned, so the estimate is
/// made once, before anything runs, and stored with the plan.
pub fn plan_run(spec: &RunSpec, inv: &Inventory) -> Result<Plan, PlanError> {
    let mut plan = plan::build(spec, inv)?;
    let costs = spec.options.estimate.clone().unwrap_or_default();
    plan.estimated_ms = Some(crate::estimate::estimate(&plan, inv, &costs).total_ms);
    Ok(plan)
}

/// Discover, plan and execute `spec`; return the plan and the report.
pub async fn run(
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    spec: &RunSpec,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    run_with_dns(run_id, clients, None, spec, operator, observer).await
}

/// [`run`] with a DNS client for the DNS steps (`repoint_dns`).
pub async fn run_with_dns(
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    spec: &RunSpec,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    run_with_store(run_id, clients, dns, None, spec, operator, observer).await
}

/// [`run_with_dns`] with the config replication store the run's config jobs live in
/// (`None`: a private in-memory one, gone with the run).
pub async fn run_with_store(
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    store: Option<Arc<crate::config_repl::Store>>,
    spec: &RunSpec,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    let inv = discover(&clients).await?;
    let plan = plan_run(spec, &inv)?;
    let mut ctx = RunCtx::new(run_id, plan.clone(), inv, clients).with_dns(dns);
    if let Some(s) = store {
        ctx = ctx.with_config_store(s);
    }
    let report = exec::execute(Arc::new(ctx), operator, observer).await;
    Ok((plan, report))
}

/// Discover and plan `spec`, then record the run in `journal` (taking its policy/zone locks,
/// or refusing with [`JournalError::Locked`]). Returns the plan and inventory to execute.
pub async fn prepare_journaled(
    journal: &Journal,
    run_id: &str,
    clients: &BTreeMap<String, PapiClient>,
    spec: &RunSpec,
) -> Result<(Plan, Inventory), RunError> {
    let inv = discover(clients).await?;
    let plan = plan_run(spec, &inv)?;
    journal.create_run(run_id, &plan, &inv)?;
    Ok((plan, inv))
}

/// Chain the journal's recorder before the caller's observer.
pub fn journal_observer(recorder: &Arc<Recorder>, extra: Option<Observer>) -> Observer {
    let j = recorder.observer();
    Arc::new(move |ev: &RunEvent| {
        j(ev);
        if let Some(o) = &extra {
            o(ev)
        }
    })
}

/// Execute a run already recorded by [`prepare_journaled`], journaling every event, and
/// record its report. Refused ([`JournalError::Owned`]) while another executor runs it.
pub async fn execute_journaled(
    journal: &Journal,
    run_id: &str,
    prepared: (Plan, Inventory),
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<Report, RunError> {
    let owner = journal.own(run_id)?;
    execute_owned(
        owner, journal, run_id, prepared, clients, dns, operator, observer,
    )
    .await
}

/// [`execute_journaled`] for a caller that already owns the run ([`Journal::own`]: the REST
/// API takes it before it answers, so a refusal is the request's answer).
#[allow(clippy::too_many_arguments)]
pub async fn execute_owned(
    _owner: RunOwner,
    journal: &Journal,
    run_id: &str,
    (plan, inv): (Plan, Inventory),
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<Report, RunError> {
    drive(
        journal,
        run_id,
        (plan, inv, None),
        clients,
        dns,
        operator,
        observer,
    )
    .await
}

/// Execute (or continue, from `resume`) a journaled run: every event journaled, the run
/// halted when the journal cannot take one, and the report recorded.
async fn drive(
    journal: &Journal,
    run_id: &str,
    (plan, inv, resume): (Plan, Inventory, Option<exec::Resume>),
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<Report, RunError> {
    let rec = journal.recorder(run_id);
    let ctx = Arc::new(
        RunCtx::new(run_id, plan, inv, clients)
            .with_dns(dns)
            .with_halt(rec.halt())
            .with_config_store(journal.config_store()?),
    );
    let obs = journal_observer(&rec, observer);
    let report = exec::execute_resumable(ctx, operator, Some(obs), resume).await;
    finish(journal, &rec, run_id, &report)?;
    Ok(report)
}

/// [`prepare_journaled`] then [`execute_journaled`].
pub async fn run_journaled(
    journal: &Journal,
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    spec: &RunSpec,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    let (plan, inv) = prepare_journaled(journal, run_id, &clients, spec).await?;
    let report = execute_journaled(
        journal,
        run_id,
        (plan.clone(), inv),
        clients,
        dns,
        operator,
        observer,
    )
    .await?;
    Ok((plan, report))
}

/// Continue an interrupted or paused run from the journal. `operator` confirms manual steps
/// (`dr` passes a [`crate::journal::JournalOperator`] with the recorded confirmations).
/// Refused ([`JournalError::Owned`]) while another executor runs it.
pub async fn resume(
    journal: &Journal,
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    // One executor per run: refuse while another live process (or task) executes it.
    let owner = journal.own(run_id)?;
    resume_owned(owner, journal, run_id, clients, dns, operator, observer).await
}

/// [`resume`] for a caller that already owns the run.
pub async fn resume_owned(
    _owner: RunOwner,
    journal: &Journal,
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    let (plan, inv, mut point) = journal.resume_point(run_id)?;
    repair_in_flight(&inv, &mut point);
    journal.mark_running(run_id)?;
    let report = drive(
        journal,
        run_id,
        (plan.clone(), inv, Some(point)),
        clients,
        dns,
        operator,
        observer,
    )
    .await?;
    Ok((plan, report))
}

/// Write the held event and the report. A run the journal stopped (or whose report cannot
/// be written) is an error: the caller must not say the run ended when the journal does
/// not know it (the run is resumable from what the journal has).
#[allow(clippy::result_large_err)] // the public functions it serves return `RunError` too
fn finish(
    journal: &Journal,
    rec: &Recorder,
    run_id: &str,
    report: &Report,
) -> Result<(), RunError> {
    rec.flush();
    if let Some(why) = rec.halt().reason() {
        // The run stays `running` in the journal (resumable), whatever it managed to write.
        return Err(RunError::JournalStopped {
            run: run_id.to_string(),
            why: why.to_string(),
            report: Box::new(report.clone()),
        });
    }
    journal.finish_run(run_id, report)?;
    Ok(())
}

/// Repairs for steps that were in flight when the run stopped.
///
/// Step 1b (`cache_schedules`) clears the policy's schedule on the cluster before its result
/// (and the cached schedule) reach the journal. If the run died in between, the redone step
/// finds the schedule already empty and could not tell what it was. The journal's inventory
/// was read before the run changed anything, so it holds the schedule 1b was about to cache.
fn repair_in_flight(inv: &Inventory, point: &mut exec::Resume) {
    use crate::plan::StepId;
    use crate::report::StepStatus;
    for r in &point.records {
        if r.step != StepId::CacheSchedules || r.status != StepStatus::Running {
            continue;
        }
        let Some(p) = &r.policy else { continue };
        if point.state.cached_schedules.contains_key(p) {
            continue;
        }
        if let Some(info) = inv.policies.get(p) {
            point
                .state
                .cached_schedules
                .insert(p.clone(), info.schedule.clone());
        }
    }
}

/// Run the readiness checks (step 3) of `plan` alone, changing nothing, and return the
/// readiness tree (`dns` reads the delegation of the names a run would move; without it
/// that check is a warning).
pub async fn readiness(
    plan: Plan,
    inv: Inventory,
    clients: BTreeMap<String, PapiClient>,
    dns: Option<crate::dns::DnsClient>,
) -> Result<crate::readiness::Readiness, RunError> {
    let Some(inst) = plan
        .steps
        .iter()
        .find(|s| s.step == crate::StepId::Validate)
        .cloned()
    else {
        return Err(RunError::Plan(PlanError::Invalid(
            "the plan has no validate step".into(),
        )));
    };
    let ctx = RunCtx::new("readiness", plan, inv, clients).with_dns(dns);
    Ok(crate::readiness::checks::assess(&ctx, &inst).await)
}

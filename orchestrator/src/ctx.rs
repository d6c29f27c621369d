//! The run's shared core, below both the executor (`exec`) and the steps (`steps`): what a
//! step gets ([`RunCtx`], the journaled [`RunState`]), what it returns ([`StepDone`],
//! [`StepError`]) and the progress events the run emits ([`RunEvent`], [`Observer`]).
//!
//! Neither `exec` nor `steps` is imported here, so the executor can call the step catalogue
//! while the steps depend only on this module.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::inventory::{Inventory, PolicyInfo};
use crate::papi::{CallCtx, PapiClient, PapiError};
use crate::plan::{Plan, StepInstance, ZonePlan};
use crate::report::StepRecord;

/// Mutable state shared by the steps of one run (journaled, so a resumed run has it too).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    /// Schedules cached by step 1b, by policy.
    pub cached_schedules: BTreeMap<String, String>,
    /// Validation warnings.
    pub warnings: Vec<String>,
    /// Original permissions of the shares the data-integrity lock changed, by `zone/share`.
    /// Shared (written once by the lock, read by every policy's `sync_config` and
    /// readiness check: a copy per policy made a run quadratic in its shares); edit it
    /// with `Arc::make_mut`.
    #[serde(default)]
    pub saved_share_permissions: Arc<BTreeMap<String, Vec<crate::papi::SmbPermission>>>,
    /// The orchestrator's config replication jobs, by policy: `enabled`, `user_disabled`.
    #[serde(default)]
    pub config_jobs: BTreeMap<String, String>,
    /// Protocols step 1 turned off on the source (`smb`, `nfs`).
    #[serde(default)]
    pub protocols_disabled: Vec<String>,
    /// NS records of a SmartConnect name before `repoint_dns` replaced them (single
    /// delegation), journaled before the update, so an S3 undo puts back exactly these.
    #[serde(default)]
    pub saved_ns: BTreeMap<String, Vec<String>>,
    /// Config objects the run removed (S1), journaled before each removal.
    #[serde(default)]
    pub removed_config: Vec<crate::report::RemovedConfig>,
    /// The SyncIQ report ids of a policy before the run started a job for it, by
    /// `cluster/policy/action`, journaled before the job starts: a resumed step finds its
    /// job's report among the new ones instead of starting the job again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_reports_before: BTreeMap<String, Vec<String>>,
    /// Beside `job_reports_before`, when that read was limited to the newest reports and
    /// came back full: the end time (Unix s) of the oldest of them. A report that ended
    /// before it is history the read did not reach, never the job's (a journal without the
    /// key read every report).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub job_reports_floor: BTreeMap<String, i64>,
    /// The readiness tree step 3 built (DESIGN §5), for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<crate::readiness::Readiness>,
    /// Policies whose step 5 applied cached configuration (uncontrolled run), or found no
    /// cache, by policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_cache: BTreeMap<String, crate::report::CachedConfig>,
    /// Policies whose `presync` failed in this run: their `failed` last job state is the
    /// run's own, which validation does not count as a warning (a failed pre-sync must not
    /// block the run with `block_on_warning`: the final sync carries its changes).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub presync_failed: std::collections::BTreeSet<String>,
}

impl RunState {
    /// Add a report warning unless the run already has it: a step that is retried or
    /// resumed, or that several instances share, states each fact once.
    pub fn warn_once(&mut self, warning: String) {
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }
}

/// Progress events.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// Emitted before the step acts (a journal records the intent here).
    StepStarted(StepRecord),
    /// Emitted after the step's result is known, before anything downstream starts.
    StepEnded(StepRecord),
    /// Instances added during the run (the gate rollback).
    StepsAdded(Vec<StepInstance>),
    /// The shared run state after a step ended (cached schedules, warnings).
    State(RunState),
}

/// Observer of progress events (progress bars, the harness, the REST API).
pub type Observer = Arc<dyn Fn(&RunEvent) + Send + Sync>;

/// Set once, when the run's journal could not be written. The journal is write-ahead: a step
/// acts only after its intent (and the originals it saves, [`RunCtx::checkpoint`]) are on
/// disk. So from then on the executor starts no step, lets the ones in flight end, and the
/// run stops `aborted` ("journal unwritable"); `dr resume` continues it once the journal is
/// writable again.
#[derive(Clone, Debug, Default)]
pub struct Halt(Arc<std::sync::OnceLock<String>>);

impl Halt {
    /// Record why the run must stop (the first reason wins).
    pub fn set(&self, why: impl Into<String>) {
        let _ = self.0.set(why.into());
    }

    /// Why the run must stop, once it must.
    pub fn reason(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// Lock a mutex that guards shared run state. A poisoned lock means a panic interrupted a
/// change of that state half-way; acting on it could change a cluster from a half-updated
/// view, so the process ends with a clear error instead (the journal has every intent: the
/// run can be resumed).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|_| {
        tracing::error!("a panic interrupted a change of shared run state; stopping");
        eprintln!(
            "error: a panic interrupted a change of shared run state; stopping rather than acting on a half-updated state (resume the run from the journal)"
        );
        std::process::exit(70)
    })
}

/// Everything a step may use.
#[derive(Debug)]
pub struct RunCtx {
    pub run_id: String,
    pub plan: Plan,
    pub inventory: Inventory,
    pub clusters: BTreeMap<String, PapiClient>,
    /// DNS client for `repoint_dns` (None: DNS steps fail with a clear message).
    pub dns: Option<crate::dns::DnsClient>,
    state: Mutex<RunState>,
    /// Serialises read-modify-write edits of machine-account SPN lists. PAPI's PUT replaces
    /// the whole list, so two zones' SPN steps editing the same account concurrently would
    /// lose one zone's edit (each puts back what it read).
    pub(crate) spn_edit: tokio::sync::Mutex<()>,
    /// Where [`RunCtx::checkpoint`] sends the run state (the run's observer, e.g. a journal).
    checkpoint_to: CheckpointTo,
    /// Set when the journal cannot be written: nothing may act any more.
    pub(crate) halt: Halt,
    /// The config replication store (jobs, history, cache). A run given none gets a
    /// private in-memory one on first use.
    config_store: std::sync::OnceLock<Arc<crate::config_repl::Store>>,
    /// The run's shared reads of the clusters' configuration: `sync_config` of every
    /// policy takes its tree from one listing of each zone.
    pub(crate) config_reads: crate::config_repl::ConfigReads,
    /// Set once the run state's `config_jobs` shows every run policy's job: entries are only
    /// ever added after the run starts, so the per-policy config job steps need no longer
    /// look for run policies it does not show (a scan of every policy per step).
    pub(crate) config_jobs_complete: std::sync::atomic::AtomicBool,
    /// The run's policies by name (their index in the plan, the first of a name), built on
    /// first use: a per-policy step looks its policy up instead of scanning the plan.
    policy_index: std::sync::OnceLock<BTreeMap<String, usize>>,
}

/// The run's observer, for [`RunCtx::checkpoint`] (not `Debug` itself).
#[derive(Default)]
struct CheckpointTo(Mutex<Option<Observer>>);

impl std::fmt::Debug for CheckpointTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointTo")
    }
}

impl RunCtx {
    /// New context for a run.
    pub fn new(
        run_id: impl Into<String>,
        plan: Plan,
        inventory: Inventory,
        clusters: BTreeMap<String, PapiClient>,
    ) -> Self {
        let config_reads =
            crate::config_repl::ConfigReads::new(plan.spec.options.config_read_max_age_ms);
        RunCtx {
            run_id: run_id.into(),
            plan,
            inventory,
            clusters,
            dns: None,
            state: Mutex::new(RunState::default()),
            spn_edit: tokio::sync::Mutex::new(()),
            checkpoint_to: CheckpointTo::default(),
            halt: Halt::default(),
            config_store: std::sync::OnceLock::new(),
            config_reads,
            config_jobs_complete: std::sync::atomic::AtomicBool::new(false),
            policy_index: std::sync::OnceLock::new(),
        }
    }

    /// The plan's policy named `name` (the first of that name), looked up in an index.
    pub(crate) fn plan_policy(&self, name: &str) -> Option<&crate::inventory::PolicyInfo> {
        let index = self
            .policy_index
            .get_or_init(|| first_by_name(self.plan.policies.iter().map(|p| p.name.as_str())));
        index.get(name).map(|&i| &self.plan.policies[i])
    }

    /// Use `store` for the run's config jobs (`dr`: the journal's database; `drill`: the
    /// run's named in-memory store the judge reads).
    pub fn with_config_store(self, store: Arc<crate::config_repl::Store>) -> Self {
        let _ = self.config_store.set(store);
        self
    }

    /// The run's config replication store.
    pub(crate) fn config_store(&self) -> Result<Arc<crate::config_repl::Store>, StepError> {
        if let Some(s) = self.config_store.get() {
            return Ok(s.clone());
        }
        let s =
            crate::config_repl::Store::private().map_err(|e| StepError::Failed(e.to_string()))?;
        Ok(self.config_store.get_or_init(|| Arc::new(s)).clone())
    }

    /// Stop the run when `halt` is set (a journal's [`crate::journal::Recorder::halt`]).
    pub fn with_halt(mut self, halt: Halt) -> Self {
        self.halt = halt;
        self
    }

    /// Why the run must stop (the journal could not be written), if it must.
    pub fn halted(&self) -> Option<String> {
        self.halt.reason().map(str::to_string)
    }

    /// Use `dns` for the DNS steps.
    pub fn with_dns(mut self, dns: Option<crate::dns::DnsClient>) -> Self {
        self.dns = dns;
        self
    }

    /// Send [`RunCtx::checkpoint`]s to `observer` (the executor sets the run's observer).
    pub(crate) fn checkpoint_to(&self, observer: Option<Observer>) {
        *lock(&self.checkpoint_to.0) = observer;
    }

    /// Hand the run state to the observer now. A step that saves what it is about to change
    /// (original share permissions, a schedule, which protocols it turns off) calls this
    /// before it changes it: a crash between the change and the step's end would otherwise
    /// lose the saved originals, and a resumed run could not put them back (write-ahead).
    /// Fails, and the step must not act, when the journal could not take the state.
    pub fn checkpoint(&self) -> Result<(), StepError> {
        let to = lock(&self.checkpoint_to.0).clone();
        if let Some(o) = to {
            self.emit_state(&o);
        }
        match self.halted() {
            Some(why) => Err(StepError::Failed(format!(
                "the journal cannot be written ({why}): stopped before changing anything"
            ))),
            None => Ok(()),
        }
    }

    /// Show `observer` the run state as a [`RunEvent::State`] without copying it (a run's
    /// state grows with its policies and jobs, and it is handed over at every checkpoint):
    /// the state is lent to the event for the call, under its lock, so no one sees it
    /// missing. An observer never reaches back into the run's context.
    pub(crate) fn emit_state(&self, observer: &Observer) {
        let mut state = lock(&self.state);
        let ev = RunEvent::State(std::mem::take(&mut *state));
        observer(&ev);
        if let RunEvent::State(s) = ev {
            *state = s;
        }
    }

    /// Read or change the shared run state (never held across an await).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut RunState) -> R) -> R {
        f(&mut lock(&self.state))
    }

    /// The DNS client for a step that must `purpose`; an error when none is configured.
    pub(crate) fn dns_client(&self, purpose: &str) -> Result<&crate::dns::DnsClient, StepError> {
        self.dns.as_ref().ok_or_else(|| {
            StepError::Failed(format!(
                "no DNS server configured (dns.server in the config); cannot {purpose}"
            ))
        })
    }

    /// The source paths of the run's policies, in plan order.
    pub(crate) fn source_paths(&self) -> Vec<&str> {
        self.plan
            .policies
            .iter()
            .map(|p| p.source_path.as_str())
            .collect()
    }

    /// The client for `cluster`, tagged with this run and step.
    pub(crate) fn client_for(
        &self,
        cluster: &str,
        inst: &StepInstance,
    ) -> Result<PapiClient, StepError> {
        let c = self.clusters.get(cluster).ok_or_else(|| {
            StepError::Failed(format!("no connection configured for cluster {cluster:?}"))
        })?;
        Ok(c.with_ctx(CallCtx {
            run: Some(self.run_id.clone()),
            step: Some(inst.step.as_str().to_string()),
            policy: inst.policy.clone(),
            zone: inst.zone.clone(),
        }))
    }

    /// Source cluster client for `inst`.
    pub(crate) fn source(&self, inst: &StepInstance) -> Result<PapiClient, StepError> {
        self.client_for(&self.plan.spec.from, inst)
    }

    /// Target cluster client for `inst`.
    pub(crate) fn target(&self, inst: &StepInstance) -> Result<PapiClient, StepError> {
        self.client_for(&self.plan.spec.to, inst)
    }

    /// The plan's record of the policy a per-policy step acts on (the first of its name,
    /// from the index: every per-policy step asks, and scanning the plan made a
    /// 1000-policy run compare 1.5 million names).
    pub(crate) fn policy_info(&self, inst: &StepInstance) -> Result<&PolicyInfo, StepError> {
        let name = self.policy_of(inst)?;
        self.plan_policy(name)
            .ok_or_else(|| StepError::Failed(format!("policy {name} is not in the plan")))
    }

    /// The zone part of the plan a zone-level step acts on.
    pub(crate) fn zone_plan(&self, inst: &StepInstance) -> Result<&ZonePlan, StepError> {
        let zone = inst
            .zone
            .as_deref()
            .ok_or_else(|| StepError::Failed(format!("{} needs a zone", inst.step)))?;
        self.plan
            .zones
            .iter()
            .find(|z| z.name == zone)
            .ok_or_else(|| StepError::Failed(format!("zone {zone} is not in the plan")))
    }

    /// The policy name a per-policy step acts on.
    pub(crate) fn policy_of<'a>(&self, inst: &'a StepInstance) -> Result<&'a str, StepError> {
        inst.policy
            .as_deref()
            .ok_or_else(|| StepError::Failed(format!("{} needs a policy", inst.step)))
    }
}

/// A step finished without error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepDone {
    /// Whether the step changed anything on a cluster.
    pub acted: bool,
    /// One line for the report.
    pub detail: Option<String>,
    /// Set for manual steps: what the operator must do and confirm.
    pub manual: Option<String>,
}

impl StepDone {
    /// A step that did (`acted`) or did not change something, with one line of detail.
    pub fn new(acted: bool, detail: impl Into<String>) -> Self {
        StepDone {
            acted,
            detail: Some(detail.into()),
            manual: None,
        }
    }

    /// The step changed something.
    pub fn acted(detail: impl Into<String>) -> Self {
        StepDone::new(true, detail)
    }

    /// The work was already done (or the step only reads).
    pub fn unchanged(detail: impl Into<String>) -> Self {
        StepDone::new(false, detail)
    }

    /// From the list of changes a step made: `unchanged(nothing)` when it is empty, else
    /// `acted(done(list joined with sep))`.
    pub fn from_changes(
        changes: &[String],
        sep: &str,
        nothing: &str,
        done: impl FnOnce(String) -> String,
    ) -> Self {
        if changes.is_empty() {
            StepDone::unchanged(nothing)
        } else {
            StepDone::acted(done(changes.join(sep)))
        }
    }
}

/// A step failed; the message is shown in the report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The step failed.
    #[error("{0}")]
    Failed(String),
    /// The step failed after it may have taken effect: it lost contact with the cluster
    /// after it had acted (Jepsen's "info" outcome). The report flags such steps so neither
    /// an operator nor the checker reads "failed" as "did not happen".
    #[error("outcome unknown: {0}")]
    Indeterminate(String),
}

impl StepError {
    /// A failure after the step may have taken effect.
    pub fn indeterminate(msg: impl std::fmt::Display) -> Self {
        StepError::Indeterminate(msg.to_string())
    }

    /// Whether the failure left the step's effect unknown.
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, StepError::Indeterminate(_))
    }
}

impl From<PapiError> for StepError {
    fn from(e: PapiError) -> Self {
        StepError::Failed(e.to_string())
    }
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Failed(s)
    }
}

impl From<&str> for StepError {
    fn from(s: &str) -> Self {
        StepError::Failed(s.to_string())
    }
}

/// Each name's first position in `names` (what a scan for the first of a name finds).
fn first_by_name<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (i, n) in names.enumerate() {
        m.entry(n.to_string()).or_insert(i);
    }
    m
}

#[cfg(test)]
mod policy_index_tests {
    use super::first_by_name;
    use proptest::prelude::*;

    proptest! {
        /// The index finds what the scan it replaces (`iter().find` by name) found.
        #[test]
        fn agrees_with_the_scan(
            names in proptest::collection::vec("[a-d]{0,2}", 0..12),
            probe in "[a-d]{0,2}",
        ) {
            let index = first_by_name(names.iter().map(String::as_str));
            for q in names.iter().chain(std::iter::once(&probe)) {
                prop_assert_eq!(
                    index.get(q.as_str()).copied(),
                    names.iter().position(|n| n == q)
                );
            }
        }
    }
}

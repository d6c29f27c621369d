//! What the judge knows about a run before judging it, all from the scenario, the world and
//! the report's published JSON — never from the orchestrator's plan:
//!
//! * [`RunView`] — the scenario's `run:` section read through its JSON form (the scenario
//!   format), so the judge needs none of the orchestrator's types.
//! * the run's policies (the report names them) with their paths from the scenario's world
//!   ([`crate::lab::policy_paths`]) and their **zone**: "the source access zone with the
//!   longest base path containing the policy's source path (`System`, base `/ifs`, when no
//!   other does)" (docs/safety-rules.md, Instances), from the source's zones before the run;
//! * the pool mappings between the run's clusters (explicit, else configured the other way
//!   round for a failback, plus target-pool alias hints `igls-<source pool>`; DESIGN §2) and
//!   the zones whose networking the run has;
//! * where each client's data lives, from its path and the source's shares before the run;
//! * the run's audit entries indexed by step and policy.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;
use sim_onefs::AuditEntry;

use super::report::ReportView;
use super::sample::Snapshot;
use super::Evidence;
use crate::lab::{path_under, strip_prefix};
use crate::scenario::{Protocol, Scenario};

/// The scenario's `run:` section, as the judge reads it (its JSON form).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunView {
    #[serde(default = "failover")]
    pub kind: String,
    #[serde(default = "synciq")]
    pub mode: String,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub zone: Option<String>,
    #[serde(default)]
    pub pool: Option<String>,
    #[serde(default)]
    pub pool_mappings: Vec<MappingSpec>,
    #[serde(default = "yes")]
    pub controlled: bool,
    #[serde(default)]
    pub options: OptionsView,
}

fn failover() -> String {
    "failover".into()
}
fn synciq() -> String {
    "synciq-policy".into()
}
fn yes() -> bool {
    true
}

/// A pool mapping as the scenario writes it (`cluster/pool`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MappingSpec {
    pub source: String,
    pub target: String,
    #[serde(default)]
    pub policies: Vec<String>,
}

/// Run options (DESIGN §2; defaults as documented).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct OptionsView {
    pub data_integrity: bool,
    pub disable_protocols: bool,
    pub block_on_warning: bool,
    pub quotas: bool,
    /// DESIGN §8 pre-sync before the lock: on by default.
    pub presync: bool,
    pub networking: String,
    pub job_timeout_ms: u64,
    pub naming: NamingView,
    pub on_policy_failure: String,
    pub remove_source_quotas: bool,
}

impl Default for OptionsView {
    fn default() -> Self {
        OptionsView {
            data_integrity: false,
            disable_protocols: false,
            block_on_warning: false,
            quotas: true,
            presync: true,
            networking: "auto".into(),
            job_timeout_ms: 24 * 3_600_000,
            naming: NamingView::default(),
            on_policy_failure: "rollback".into(),
            remove_source_quotas: false,
        }
    }
}

/// Name prefixes (DESIGN §2: settings with the `igls-` defaults).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct NamingView {
    pub original_prefix: String,
    pub ignore_prefix: String,
    pub dfs_prefix: String,
    pub hint_prefix: String,
    /// Prefix of a rehearsal's test alias (before the target pool's own zone name).
    pub test_prefix: String,
}

impl Default for NamingView {
    fn default() -> Self {
        NamingView {
            original_prefix: "igls-original-".into(),
            ignore_prefix: "igls-ignore-".into(),
            dfs_prefix: "igls-dfs-".into(),
            hint_prefix: "igls-".into(),
            test_prefix: "igls-test.".into(),
        }
    }
}

impl RunView {
    /// The run section of a scenario.
    pub fn of(scn: &Scenario) -> Result<RunView, String> {
        let v = serde_json::to_value(&scn.run).map_err(|e| e.to_string())?;
        serde_json::from_value(v).map_err(|e| format!("the scenario's run section: {e}"))
    }

    pub fn zone_mode(&self) -> bool {
        self.mode == "access-zone" || self.mode == "ip-pool"
    }

    pub fn dfs(&self) -> bool {
        self.mode == "dfs"
    }

    pub fn synciq(&self) -> bool {
        self.mode == "synciq-policy"
    }

    pub fn rehearsal(&self) -> bool {
        self.kind == "rehearsal"
    }

    pub fn manual_networking(&self) -> bool {
        self.synciq() && self.options.networking == "manual"
    }

    pub fn hold(&self) -> bool {
        self.options.on_policy_failure == "hold"
    }
}

/// A policy of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFacts {
    pub name: String,
    /// Path on the run's source and target (empty when the world does not name it).
    pub source_path: String,
    pub target_path: String,
    /// Its source access zone.
    pub zone: String,
    /// Whether the scenario's world names it (paths known).
    pub known: bool,
}

/// A resolved pool mapping between the run's clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Pool key on the run's source.
    pub source_pool: String,
    /// Pool key on the run's target.
    pub target_pool: String,
    /// The source pool's access zone.
    pub zone: String,
    /// Policies assigned to it (IP Pool mode), empty = the zone's.
    pub policies: Vec<String>,
}

/// A SmartConnect pool of a cluster before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFacts {
    pub name: String,
    pub zone: String,
    /// The names it serves (zone name and aliases, lower-case).
    pub names: Vec<String>,
}

/// Pools by key (`groupnet.subnet.pool`).
pub type Pools = BTreeMap<String, PoolFacts>;

/// Where a client's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    pub client: String,
    pub protocol: Protocol,
    /// Path on the run's source (for SMB/DFS: through its share).
    pub path: Option<String>,
    /// The run policy holding it, if any.
    pub policy: Option<String>,
}

/// The run's audit entries by (step, policy), built once (a scan per instance is quadratic
/// on 1000-policy runs).
pub struct AuditIndex<'a> {
    by_step: BTreeMap<(&'a str, Option<&'a str>), Vec<&'a AuditEntry>>,
}

impl<'a> AuditIndex<'a> {
    pub fn new(audit: &'a [AuditEntry], run_id: &str) -> Self {
        let mut by_step: BTreeMap<(&'a str, Option<&'a str>), Vec<&'a AuditEntry>> =
            BTreeMap::new();
        for e in audit {
            if e.run.as_deref() != Some(run_id) || e.action == "fault.inject" {
                continue;
            }
            if let Some(step) = e.step.as_deref() {
                by_step
                    .entry((step, e.policy.as_deref()))
                    .or_default()
                    .push(e);
            }
        }
        AuditIndex { by_step }
    }

    /// Entries made on behalf of an instance (zone-level instances of one step are told
    /// apart by zone).
    pub fn of<'b>(
        &'b self,
        step: &'b str,
        policy: Option<&'b str>,
        zone: Option<&'b str>,
    ) -> impl Iterator<Item = &'a AuditEntry> + 'b {
        self.by_step
            .get(&(step, policy))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |e| zone.is_none() || e.zone.is_none() || e.zone.as_deref() == zone)
    }
}

/// A policy's target record on the run's target, from the audit log's transitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetRecord {
    pub first_enabled: Option<u64>,
    pub enabled_at_end: bool,
}

/// Every policy's target record transitions in this run on `to` (one pass over the log).
fn target_records(audit: &[AuditEntry], run_id: &str, to: &str) -> BTreeMap<String, TargetRecord> {
    let mut out: BTreeMap<String, TargetRecord> = BTreeMap::new();
    for a in audit.iter().filter(|a| {
        a.run.as_deref() == Some(run_id)
            && a.action == "sync.target_policy.state"
            && a.cluster == to
    }) {
        let (Some(p), Some(state)) = (
            a.policy.as_deref(),
            a.detail.get("to").and_then(Value::as_str),
        ) else {
            continue;
        };
        let r = out.entry(p.to_string()).or_default();
        // After resync-prep the target's record moves on to `creating_resync_policy` and
        // `resync_policy_created` (DESIGN §3); the copy stays writable.
        let enabled = matches!(
            state,
            "writes_enabled" | "creating_resync_policy" | "resync_policy_created"
        );
        if enabled && r.first_enabled.is_none() {
            r.first_enabled = Some(a.t_ms);
        }
        r.enabled_at_end = enabled;
    }
    out
}

/// Everything the judge derives before judging.
pub struct Facts<'a> {
    pub ev: &'a Evidence<'a>,
    pub report: ReportView,
    pub run: RunView,
    /// The run's policies by name.
    pub policies: BTreeMap<String, PolicyFacts>,
    /// Zones with zone-level instances (zone modes; SyncIQ mode with automatic networking:
    /// each mapped source zone).
    pub zones: Vec<String>,
    pub mappings: Vec<Mapping>,
    pub audit: AuditIndex<'a>,
    /// The source's access zones before the run: name → base path.
    pub source_zones: BTreeMap<String, String>,
    /// Source pools before the run.
    pub source_pools: Pools,
    /// Target records of the run's policies (and any other the run touched), by policy.
    pub targets: BTreeMap<String, TargetRecord>,
    /// A failback after an uncontrolled failover (the scenario's last prelude between the
    /// run's clusters failed the run's target over to its source uncontrolled): the run
    /// policies that start with resync-prep on the returned source (DESIGN §2 "Other
    /// runs"), i.e. the mirrors of the policies that failed over; empty otherwise.
    pub returned: BTreeSet<String>,
    /// [`Facts::lost_writes`], worked out when first asked.
    lost: std::cell::OnceCell<Vec<Option<(bool, u64)>>>,
    /// The known run policies by source path (trailing `/` trimmed), names in name order:
    /// [`Facts::policy_of_path`] looks up a path's ancestors here. A scan of every policy
    /// per path was quadratic (the judge asks it per client write and per locked share).
    by_source: BTreeMap<String, Vec<String>>,
}

fn obj_str<'v>(o: &'v Value, k: &str) -> Option<&'v str> {
    o.get(k).and_then(Value::as_str)
}

/// A pool's client-facing names (zone name and aliases), lower-case, without a trailing dot.
pub fn pool_names(p: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(z) = obj_str(p, "sc_dns_zone") {
        if !z.is_empty() {
            out.push(z.trim_end_matches('.').to_ascii_lowercase());
        }
    }
    for a in p
        .get("sc_dns_zone_aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        out.push(a.trim_end_matches('.').to_ascii_lowercase());
    }
    out
}

impl<'a> Facts<'a> {
    /// Derive the facts; `Err` when the report or the run section cannot be read.
    pub fn new(ev: &'a Evidence<'a>) -> Result<Facts<'a>, String> {
        let report = ReportView::parse_slice(ev.report).map_err(|e| e.to_string())?;
        let run = RunView::of(ev.scenario)?;
        let before = ev.samples.and_then(|s| s.before.as_ref());
        let source_zones = zones_of(ev.scenario, before, &report.from);
        let source_pools = pools_of(ev.scenario, before, &report.from);
        let target_pools = pools_of(ev.scenario, before, &report.to);
        let zone_of = |path: &str| -> String {
            source_zones
                .iter()
                .filter(|(_, base)| path_under(path, base))
                .max_by_key(|(_, base)| base.trim_end_matches('/').len())
                .map(|(z, _)| z.clone())
                .unwrap_or_else(|| "System".into())
        };
        let mut policies = BTreeMap::new();
        // One index for every run policy's question (a scan of the world's policies each
        // made this quadratic).
        let index = crate::lab::PolicyIndex::new(&ev.scenario.world);
        for name in &report.policies {
            let paths = index.paths(&ev.scenario.world, name, &report.from, &report.to);
            let (source_path, target_path, known) = match paths {
                Some((s, t)) => (s, t, true),
                None => (String::new(), String::new(), false),
            };
            let zone = if known {
                zone_of(&source_path)
            } else {
                String::new()
            };
            policies.insert(
                name.clone(),
                PolicyFacts {
                    name: name.clone(),
                    source_path,
                    target_path,
                    zone,
                    known,
                },
            );
        }
        let mappings = resolve_mappings(
            ev.scenario,
            &run,
            &report.from,
            &report.to,
            &source_pools,
            &target_pools,
        );
        let zones: Vec<String> = match run.mode.as_str() {
            "access-zone" => run.zone.iter().cloned().collect(),
            "ip-pool" => run
                .pool
                .as_deref()
                .and_then(|p| find_pool(&source_pools, p))
                .map(|(_, p)| p.zone.clone())
                .into_iter()
                .collect(),
            "synciq-policy" if run.options.networking == "auto" && !run.rehearsal() => mappings
                .iter()
                .map(|m| m.zone.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            // A rehearsal puts a test alias on the mapped target pools of the zones that
            // hold its policies (safety-rules.md, Rehearsal), whatever the networking.
            "synciq-policy" | "dfs" if run.rehearsal() => mappings
                .iter()
                .map(|m| m.zone.clone())
                .filter(|z| policies.values().any(|p: &PolicyFacts| &p.zone == z))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            _ => vec![],
        };
        let audit = AuditIndex::new(ev.audit, &report.run_id);
        let targets = target_records(ev.audit, &report.run_id, &report.to);
        // The run policies a returned source gets back: mirrors (`Q_mirror`) of world
        // policies from the run's target to its source.
        let returned: BTreeSet<String> = if run.kind == "failback"
            && run.controlled
            && ev
                .scenario
                .prelude
                .iter()
                .rev()
                .find(|p| {
                    (p.from == report.to && p.to == report.from)
                        || (p.from == report.from && p.to == report.to)
                })
                .is_some_and(|p| !p.controlled && p.from == report.to)
        {
            report
                .policies
                .iter()
                .filter(|m| {
                    m.strip_suffix("_mirror").is_some_and(|q| {
                        ev.scenario.world.policies.iter().any(|w| {
                            w.name == q && w.source == report.to && w.target == report.from
                        })
                    })
                })
                .cloned()
                .collect()
        } else {
            BTreeSet::new()
        };
        let by_source = by_source(&policies);
        Ok(Facts {
            ev,
            report,
            run,
            policies,
            zones,
            mappings,
            audit,
            source_zones,
            source_pools,
            targets,
            returned,
            lost: std::cell::OnceCell::new(),
            by_source,
        })
    }

    /// For each client event (by its index in the clients' log): whether it is an
    /// acknowledged source write under a policy the run failed over that is missing on the
    /// target after the run, with the snapshot time of that policy's last successful sync
    /// (`None`: not such a write). Worked out once, on first use, for I4 and the outage
    /// table. Reads the world: not to be first asked while the world is being read.
    pub fn lost_writes(&self) -> &[Option<(bool, u64)>] {
        self.lost.get_or_init(|| super::data::lost_all(self))
    }

    /// The run's policies whose zone is `zone`, by name.
    pub fn zone_policies(&self, zone: &str) -> Vec<String> {
        self.policies
            .values()
            .filter(|p| p.zone == zone)
            .map(|p| p.name.clone())
            .collect()
    }

    /// The zone of a run policy.
    pub fn zone_of_policy(&self, policy: &str) -> Option<&str> {
        self.policies.get(policy).map(|p| p.zone.as_str())
    }

    /// The run policy whose source path holds `path` (the deepest): see [`deepest_policy`].
    pub fn policy_of_path(&self, path: &str) -> Option<&PolicyFacts> {
        // A handful of policies (a campaign's worlds): scanning them costs less than a
        // lookup per component of the path. Both give the same policy (proptest below).
        if self.policies.len() <= SCAN_MAX_POLICIES {
            return deepest_policy_scan(&self.policies, path);
        }
        deepest_policy(&self.policies, &self.by_source, path)
    }

    /// Sim ms of a report time (ms since the run started), when the offset is known.
    pub fn sim_ms(&self, run_ms: u64) -> Option<u64> {
        self.ev.run_offset_ms.map(|o| o + run_ms)
    }

    /// When `policy`'s target copy became writable in this run (sim ms): the first
    /// `writes_enabled` transition of its target record on the run's target.
    pub fn writes_enabled_at(&self, policy: &str) -> Option<u64> {
        self.targets.get(policy).and_then(|t| t.first_enabled)
    }

    /// Whether `policy` was failed over by this run: its target record reached
    /// `writes_enabled` and was not put back (a rehearsal's revert) — from the audit log.
    pub fn failed_over(&self, policy: &str) -> bool {
        !self.run.rehearsal() && self.targets.get(policy).is_some_and(|t| t.enabled_at_end)
    }

    /// The source's configuration before the run (`None` without a pre-run snapshot).
    pub fn config_before(&self, cluster: &str) -> Option<&Value> {
        self.ev.samples?.before.as_ref()?.config.get(cluster)
    }

    /// The configuration at the end of the run.
    pub fn config_after(&self, cluster: &str) -> Option<&Value> {
        self.ev.samples?.after.as_ref()?.config.get(cluster)
    }

    /// Where a client's data lives (its path on the run's source, and the run policy).
    pub fn client_data(&self, c: &crate::scenario::ClientSpec) -> ClientData {
        let path = match c.protocol {
            Protocol::Nfs => c.path.split_once(':').map(|(_, p)| p.to_string()),
            Protocol::Smb => sim_ad_dns::dfs::parse_unc(&c.path)
                .and_then(|(_, share, rest)| self.share_path(&share, &rest)),
            Protocol::Dfs => self.dfs_path(&c.path),
        };
        let policy = path
            .as_deref()
            .and_then(|p| self.policy_of_path(p))
            .map(|p| p.name.clone());
        ClientData {
            client: c.name.clone(),
            protocol: c.protocol,
            path,
            policy,
        }
    }

    /// `share` (by name, DFS prefix ignored) on the source before the run, plus `rest`.
    fn share_path(&self, share: &str, rest: &str) -> Option<String> {
        let dfs = &self.run.options.naming.dfs_prefix;
        let want = strip_prefix(share, dfs).to_ascii_lowercase();
        let base = match self.config_before(&self.report.from) {
            Some(cfg) => cfg
                .get("smb_shares")
                .and_then(Value::as_object)?
                .values()
                .find(|s| {
                    obj_str(s, "name")
                        .is_some_and(|n| strip_prefix(n, dfs).eq_ignore_ascii_case(&want))
                })
                .and_then(|s| obj_str(s, "path"))
                .map(str::to_string),
            None => self
                .ev
                .scenario
                .world
                .clusters
                .iter()
                .find(|c| c.name == self.report.from)?
                .smb_shares
                .iter()
                .find(|s| strip_prefix(&s.name, dfs).eq_ignore_ascii_case(&want))
                .map(|s| s.path.clone()),
        }?;
        let mut p = base.trim_end_matches('/').to_string();
        for part in rest.split(['\\', '/']).filter(|x| !x.is_empty()) {
            p.push('/');
            p.push_str(part);
        }
        Some(p)
    }

    /// A DFS client's data: the namespace's first referral target served by a share of the
    /// source before the run.
    fn dfs_path(&self, unc: &str) -> Option<String> {
        let lower = unc.to_ascii_lowercase().replace('/', "\\");
        let spec = self.ev.scenario.world.dfs.iter().find(|d| {
            let ns = d.namespace.to_ascii_lowercase().replace('/', "\\");
            lower == ns || lower.starts_with(&format!("{ns}\\"))
        })?;
        let ns_len = spec.namespace.len();
        let rest = unc.get(ns_len..).unwrap_or_default();
        spec.targets.iter().find_map(|t| {
            let (_, share, trest) = sim_ad_dns::dfs::parse_unc(t)?;
            let joined = format!("{trest}\\{rest}");
            self.share_path(&share, &joined)
        })
    }
}

/// The known policies by source path (trailing `/` trimmed), names in name order.
fn by_source(policies: &BTreeMap<String, PolicyFacts>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in policies.values().filter(|p| p.known) {
        out.entry(p.source_path.trim_end_matches('/').to_string())
            .or_default()
            .push(p.name.clone());
    }
    out
}

/// The known policy whose source path holds `path`, the deepest: of those with
/// `path_under(path, source)`, the longest source path as written, of equal ones the last
/// in name order (what a scan of every policy with `max_by_key` chose).
///
/// Those policies are the ones whose trimmed source path is `path` itself or a prefix of
/// it that ends just before a `/` (the empty prefix, the source `/`, holds every absolute
/// path): a lookup in `by_source` ([`by_source`] of `policies`) per `/` of the path
/// instead of a scan of every policy per path, which was quadratic (the judge asks per
/// client write and per locked share).
fn deepest_policy<'p>(
    policies: &'p BTreeMap<String, PolicyFacts>,
    by_source: &BTreeMap<String, Vec<String>>,
    path: &str,
) -> Option<&'p PolicyFacts> {
    // The greatest (source path length, name): the scan's `max_by_key` over name order
    // keeps the last of equal lengths.
    let mut best: Option<&PolicyFacts> = None;
    for p in crate::lab::holding(by_source, path).filter_map(|name| policies.get(name)) {
        if best.is_none_or(|b| (p.source_path.len(), &p.name) > (b.source_path.len(), &b.name)) {
            best = Some(p);
        }
    }
    best
}

/// Up to this many run policies [`Facts::policy_of_path`] scans them all instead of looking
/// up the path's ancestors: the index pays from a few dozen policies on.
const SCAN_MAX_POLICIES: usize = 32;

/// The scan [`deepest_policy`] stands for: of the known policies whose source path holds
/// `path`, the longest source path, of equal ones the last in name order.
fn deepest_policy_scan<'p>(
    policies: &'p BTreeMap<String, PolicyFacts>,
    path: &str,
) -> Option<&'p PolicyFacts> {
    policies
        .values()
        .filter(|p| p.known && path_under(path, &p.source_path))
        .max_by_key(|p| p.source_path.len())
}

fn find_pool<'p>(pools: &'p Pools, id: &str) -> Option<(&'p String, &'p PoolFacts)> {
    pools
        .get_key_value(id)
        .or_else(|| pools.iter().find(|(_, p)| p.name == id))
}

/// A cluster's access zones before the run (name → base path); every cluster has `System`.
fn zones_of(scn: &Scenario, before: Option<&Snapshot>, cluster: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("System".to_string(), "/ifs".to_string());
    match before.and_then(|b| b.config.get(cluster)) {
        Some(cfg) => {
            for (name, z) in cfg
                .get("zones")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(p) = obj_str(z, "path") {
                    out.insert(name.clone(), p.to_string());
                }
            }
        }
        None => {
            for c in scn.world.clusters.iter().filter(|c| c.name == cluster) {
                for z in &c.zones {
                    out.insert(z.name.clone(), z.base_path.clone());
                }
            }
        }
    }
    out
}

/// A cluster's SmartConnect pools before the run.
fn pools_of(scn: &Scenario, before: Option<&Snapshot>, cluster: &str) -> Pools {
    let mut out = BTreeMap::new();
    match before.and_then(|b| b.config.get(cluster)) {
        Some(cfg) => {
            for (key, p) in cfg
                .get("pools")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                out.insert(
                    key.clone(),
                    PoolFacts {
                        name: obj_str(p, "name").unwrap_or_default().to_string(),
                        zone: obj_str(p, "access_zone").unwrap_or("System").to_string(),
                        names: pool_names(p),
                    },
                );
            }
        }
        None => {
            for c in scn.world.clusters.iter().filter(|c| c.name == cluster) {
                for p in &c.pools {
                    let (g, s, name) = sim_onefs::config::split_pool_id(&p.id);
                    let mut names = vec![p.sc_dns_zone.to_ascii_lowercase()];
                    names.extend(p.aliases.iter().map(|a| a.to_ascii_lowercase()));
                    out.insert(
                        format!("{g}.{s}.{name}"),
                        PoolFacts {
                            name,
                            zone: p.zone.clone(),
                            names,
                        },
                    );
                }
            }
        }
    }
    out
}

/// The pool mappings between `from` and `to` (DESIGN §2): the run's (else the world's)
/// mappings in the run's direction; for a failback, those configured the other way round;
/// plus target pools carrying the alias hint `<hint_prefix><source pool name>`.
fn resolve_mappings(
    scn: &Scenario,
    run: &RunView,
    from: &str,
    to: &str,
    source_pools: &Pools,
    target_pools: &Pools,
) -> Vec<Mapping> {
    let specs: Vec<MappingSpec> = if run.pool_mappings.is_empty() {
        scn.world
            .pool_mappings
            .iter()
            .map(|m| MappingSpec {
                source: m.source.clone(),
                target: m.target.clone(),
                policies: m.policies.clone(),
            })
            .collect()
    } else {
        run.pool_mappings.clone()
    };
    let side = |s: &str| {
        s.split_once('/')
            .map(|(c, p)| (c.to_string(), p.to_string()))
    };
    let mut out: Vec<Mapping> = Vec::new();
    let push = |out: &mut Vec<Mapping>, sp: &str, tp: &str, policies: &[String]| {
        if let (Some((skey, pool)), Some((tkey, _))) =
            (find_pool(source_pools, sp), find_pool(target_pools, tp))
        {
            if !out.iter().any(|m| &m.source_pool == skey) {
                out.push(Mapping {
                    source_pool: skey.clone(),
                    target_pool: tkey.clone(),
                    zone: pool.zone.clone(),
                    policies: policies.to_vec(),
                });
            }
        }
    };
    for m in &specs {
        if let (Some((sc, sp)), Some((tc, tp))) = (side(&m.source), side(&m.target)) {
            if sc == from && tc == to {
                push(&mut out, &sp, &tp, &m.policies);
            }
        }
    }
    if out.is_empty() {
        for m in &specs {
            if let (Some((sc, sp)), Some((tc, tp))) = (side(&m.source), side(&m.target)) {
                if sc == to && tc == from {
                    push(&mut out, &tp, &sp, &m.policies);
                }
            }
        }
    }
    let n = &run.options.naming;
    for (tkey, tpool) in target_pools {
        for alias in &tpool.names {
            let Some(src) = alias.strip_prefix(&n.hint_prefix.to_ascii_lowercase()) else {
                continue;
            };
            let lower = |p: &str| p.to_ascii_lowercase();
            if alias.starts_with(&lower(&n.original_prefix))
                || alias.starts_with(&lower(&n.dfs_prefix))
                || alias.starts_with(&lower(&n.ignore_prefix))
            {
                continue;
            }
            let found = source_pools
                .iter()
                .find(|(k, p)| k.eq_ignore_ascii_case(src) || p.name.eq_ignore_ascii_case(src))
                .map(|(k, _)| k.clone());
            if let Some(skey) = found {
                push(&mut out, &skey, tkey, &[]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::lab::tests::path;

    proptest! {
        /// The index picks the policy the scan picked (same name, equal-length ties
        /// included), for paths inside, beside and above the policies.
        #[test]
        fn deepest_policy_is_the_scan(
            sources in prop::collection::vec((path(), any::<bool>()), 0..10),
            paths in prop::collection::vec(path(), 1..10),
        ) {
            let policies: BTreeMap<String, PolicyFacts> = sources
                .into_iter()
                .enumerate()
                .map(|(i, (source_path, known))| {
                    let name = format!("p{i}");
                    (name.clone(), PolicyFacts {
                        name,
                        source_path,
                        target_path: String::new(),
                        zone: String::new(),
                        known,
                    })
                })
                .collect();
            let index = by_source(&policies);
            for q in &paths {
                prop_assert_eq!(
                    deepest_policy(&policies, &index, q).map(|p| &p.name),
                    deepest_policy_scan(&policies, q).map(|p| &p.name),
                    "path {:?}", q
                );
            }
        }
    }
}

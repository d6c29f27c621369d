//! The world-level invariants (DESIGN.md §6) that need more than the report and the audit
//! log: the clients' write log, the files on each cluster after the run, the AD domain and
//! the clusters' configuration. `check.rs` dispatches to these.
//!
//! Each returns `None` when it cannot apply (no world, no clients) — reported as "not
//! checked" rather than as a pass.

use std::collections::{BTreeMap, BTreeSet};

use orchestrator::steps::{map_path, path_under};
use orchestrator::{Outcome, StepId, StepStatus};
use serde_json::Value;

use crate::check::{Evidence, Findings};
use crate::clients::{ClientEvent, Outage};
use crate::scenario::Protocol;

fn succeeded(ev: &Evidence<'_>, step: StepId, policy: &str) -> bool {
    ev.report.steps.iter().any(|r| {
        r.step == step && r.policy.as_deref() == Some(policy) && r.status == StepStatus::Succeeded
    })
}

/// The policy of the plan whose source path holds `path` (the deepest).
fn policy_of<'a>(
    ev: &'a Evidence<'_>,
    path: &str,
) -> Option<&'a orchestrator::inventory::PolicyInfo> {
    ev.plan
        .policies
        .iter()
        .filter(|p| path_under(path, &p.source_path))
        .max_by_key(|p| p.source_path.len())
}

/// When the target of `policy` became writable (sim ms), if it did in this run.
fn writes_enabled_at(ev: &Evidence<'_>, policy: &str) -> Option<u64> {
    ev.audit
        .iter()
        .find(|a| {
            a.run.as_deref() == Some(ev.run_id)
                && a.action == "sync.target_policy.state"
                && a.cluster == ev.report.to
                && a.policy.as_deref() == Some(policy)
                && a.detail.get("to").and_then(Value::as_str) == Some("writes_enabled")
        })
        .map(|a| a.t_ms)
}

/// When the snapshot of `policy`'s last successful sync in this run was taken (sim ms).
fn last_sync_snapshot_at(ev: &Evidence<'_>, policy: &str) -> Option<u64> {
    let mine = |a: &&sim_onefs::AuditEntry| {
        a.run.as_deref() == Some(ev.run_id)
            && a.cluster == ev.report.from
            && a.step.as_deref() == Some("sync_data")
            && a.policy.as_deref() == Some(policy)
    };
    let finish = ev
        .audit
        .iter()
        .filter(mine)
        .filter(|a| a.action == "sync.job.finish" && a.result == "ok")
        .map(|a| a.t_ms)
        .max()?;
    ev.audit
        .iter()
        .filter(mine)
        .filter(|a| a.t_ms <= finish)
        .filter(|a| {
            (a.action == "sync.job.start"
                && a.detail.get("job_state").and_then(Value::as_str) == Some("running"))
                || (a.action == "sync.job.state"
                    && a.detail.get("to").and_then(Value::as_str) == Some("running"))
        })
        .map(|a| a.t_ms)
        .max()
}

fn protocol_of(ev: &Evidence<'_>, client: &str) -> Option<Protocol> {
    ev.scenario?
        .clients
        .iter()
        .find(|c| c.name == client)
        .map(|c| c.protocol)
}

/// Whether an acknowledged source write is missing on the target after the run (only for
/// policies that failed over).
fn lost(ev: &Evidence<'_>, e: &ClientEvent) -> Option<(bool, u64)> {
    let world = ev.world?;
    if ev.report.kind == orchestrator::RunKind::Rehearsal {
        return None; // production stays on the source: nothing is expected on the target
    }
    if !e.ok || e.cluster.as_deref() != Some(ev.report.from.as_str()) {
        return None;
    }
    let path = e.path.as_deref()?;
    let p = policy_of(ev, path)?;
    if !succeeded(ev, StepId::AllowWrite, &p.name) {
        return None;
    }
    let mapped = map_path(path, &p.source_path, &p.target_path)?;
    let snap = last_sync_snapshot_at(ev, &p.name).unwrap_or(0);
    Some((world.sim.read_file(&ev.report.to, &mapped).is_none(), snap))
}

/// When `rollback_lock` (after a failed gate) lifted the data-integrity lock from the
/// source's SMB shares, from the audit log: the lock is in force on a share from the end of
/// `data_integrity_lock` until its own lift, not until the rollback step ends.
struct LockLifts {
    /// Source shares: (lower-case name, path).
    shares: Vec<(String, String)>,
    /// Lower-case share name → sim ms of its first successful lift in this run.
    lifted: BTreeMap<String, u64>,
}

impl LockLifts {
    fn new(ev: &Evidence<'_>) -> LockLifts {
        let from = &ev.report.from;
        let shares = ev
            .world
            .and_then(|w| w.sim.config_json(from))
            .and_then(|c| c.get("smb_shares").and_then(Value::as_object).cloned())
            .into_iter()
            .flat_map(|m| m.into_values())
            .filter_map(|s| {
                Some((
                    s.get("name")?.as_str()?.to_ascii_lowercase(),
                    s.get("path")?.as_str()?.to_string(),
                ))
            })
            .collect();
        let mut lifted: BTreeMap<String, u64> = BTreeMap::new();
        for a in ev.audit.iter().filter(|a| {
            a.run.as_deref() == Some(ev.run_id)
                && a.step.as_deref() == Some(StepId::RollbackLock.as_str())
                && &a.cluster == from
                && a.action == "smb.share.update"
                && a.result == "ok"
        }) {
            lifted
                .entry(a.object.to_ascii_lowercase())
                .or_insert(a.t_ms);
        }
        LockLifts { shares, lifted }
    }

    /// When the lock came off the share through which a write of `path` went (the earliest
    /// lift among the source shares holding `path`), if it did.
    fn lifted_at(&self, path: &str) -> Option<u64> {
        self.shares
            .iter()
            .filter(|(_, p)| path_under(path, p))
            .filter_map(|(n, _)| self.lifted.get(n).copied())
            .min()
    }
}

/// I4: every acknowledged write made before its policy's last successful sync is on the
/// target; later ones are the RPO loss (counted in the outages). With the data-integrity
/// lock in a controlled run, no SMB write is acknowledged on the source after the lock.
pub fn i4_no_data_loss(ev: &Evidence<'_>) -> Option<Vec<String>> {
    ev.world?;
    let scn = ev.scenario?;
    let mut v = Vec::new();
    for e in ev.clients {
        if let Some((missing, snap)) = lost(ev, e) {
            if missing && e.t_ms < snap {
                v.push(format!(
                    "{} wrote {} on {} at {} ms, before the last sync's snapshot ({snap} ms), and it is not on {}",
                    e.client,
                    e.path.as_deref().unwrap_or("?"),
                    ev.report.from,
                    e.t_ms,
                    ev.report.to
                ));
            }
        }
    }
    if scn.run.controlled && scn.run.options.data_integrity {
        if let (Some(lock), Some(offset)) = (
            ev.report
                .steps
                .iter()
                .find(|r| r.step == StepId::DataIntegrityLock && r.status == StepStatus::Succeeded),
            ev.run_offset_ms,
        ) {
            let locked_at = offset + lock.end_ms.unwrap_or(0);
            // A gate rollback lifts the lock share by share: a write after the lock came off
            // the share it went through is legitimate.
            let lifts = LockLifts::new(ev);
            for e in ev.clients {
                let smb = matches!(
                    protocol_of(ev, &e.client),
                    Some(Protocol::Smb | Protocol::Dfs)
                );
                let under = e.path.as_deref().and_then(|p| policy_of(ev, p)).is_some();
                if smb
                    && under
                    && e.ok
                    && e.cluster.as_deref() == Some(ev.report.from.as_str())
                    && e.t_ms > locked_at
                    && e.path
                        .as_deref()
                        .and_then(|p| lifts.lifted_at(p))
                        .is_none_or(|lifted| e.t_ms < lifted)
                {
                    v.push(format!(
                        "{} had a write acknowledged on {} at {} ms, after the data-integrity lock ({locked_at} ms)",
                        e.client, ev.report.from, e.t_ms
                    ));
                }
            }
        }
    }
    Some(v)
}

/// I5: once a policy's target is writable, no client write under its path is acknowledged
/// on the source (both copies writable and reachable = split brain). An uncontrolled
/// failover is exempt (its report says both sides may be writable).
pub fn i5_no_split_brain(ev: &Evidence<'_>) -> Option<Vec<String>> {
    let scn = ev.scenario?;
    // Uncontrolled failover: the report states both sides may be writable. Rehearsal: the
    // target is writable only for test clients; no production name points at it.
    if !scn.run.controlled || scn.run.kind == orchestrator::RunKind::Rehearsal {
        return Some(vec![]);
    }
    // What protects a client from writing to the source once the target is writable: the
    // data-integrity lock (SMB only, per the seed) or turning the protocols off. A client
    // the run did not protect is exposed by the operator's choice; its writes are counted
    // in the outage table (`split_brain_writes`), not judged here.
    let protected = |client: &str| {
        scn.run.options.disable_protocols
            || (scn.run.options.data_integrity
                && matches!(protocol_of(ev, client), Some(Protocol::Smb | Protocol::Dfs)))
    };
    let mut v = Vec::new();
    for p in &ev.plan.policies {
        let Some(t) = writes_enabled_at(ev, &p.name) else {
            continue;
        };
        for e in ev.clients {
            if protected(&e.client)
                && e.ok
                && e.t_ms > t
                && e.cluster.as_deref() == Some(ev.report.from.as_str())
                && e.path
                    .as_deref()
                    .is_some_and(|x| path_under(x, &p.source_path))
            {
                v.push(format!(
                    "{} wrote {} on {} at {} ms while {}'s target on {} was already writable (since {t} ms)",
                    e.client,
                    e.path.as_deref().unwrap_or("?"),
                    ev.report.from,
                    e.t_ms,
                    p.name,
                    ev.report.to
                ));
            }
        }
    }
    Some(v)
}

/// SPNs an `spn_collision` fault planted (lower-case) → the accounts it planted them on
/// (lower-case). Not the run's doing: I6 ignores their collisions, I7 the Kerberos failures
/// they cause.
fn planted_spns(ev: &Evidence<'_>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in ev
        .audit
        .iter()
        .filter(|a| a.action == "ad.spn_plant" && a.result == "ok")
    {
        if let Some(spn) = a.detail.get("spn").and_then(Value::as_str) {
            out.entry(spn.to_ascii_lowercase())
                .or_default()
                .insert(a.object.to_ascii_lowercase());
        }
    }
    out
}

/// I6: no SPN on two machine accounts at the end — nor, in zone modes, after any step —
/// other than collisions that existed before the run (those are validation's to report).
pub fn i6_spn_unique(ev: &Evidence<'_>) -> Option<Vec<String>> {
    let world = ev.world?;
    let domain = world.sim.ad_domain()?;
    // Collisions the world itself planted (`spn_collision` faults) are not the run's doing.
    let planted = planted_spns(ev);
    let ours = |spn: &str| {
        !ev.spn_collisions_at_start.contains_key(spn)
            && !planted.contains_key(&spn.to_ascii_lowercase())
    };
    let mut v = Vec::new();
    for (spn, owners) in domain.collisions() {
        if ours(&spn) {
            v.push(format!("at the end, {spn} is on {}", owners.join(" and ")));
        }
    }
    let zone_mode = matches!(
        ev.report.mode,
        orchestrator::Mode::AccessZone | orchestrator::Mode::IpPool
    );
    if zone_mode {
        for (spn, owners) in ev.spn_collisions_during {
            if ours(spn) {
                v.push(format!(
                    "during the run, {spn} was on {}",
                    owners.join(" and ")
                ));
            }
        }
    }
    Some(v)
}

/// Why a client's failure to reach its data is not the run's doing, if it is not: the target
/// cluster is down at the end because of an injected `cluster_down`, or the
/// world's AD cannot issue it a Kerberos ticket because of an injected fault still in force
/// at the end — `ad_unreachable` (nothing healed AD), or an `spn_collision` that planted its
/// SPN on another account (the collision would not exist but for the plant).
fn not_judged_reason(
    ev: &Evidence<'_>,
    client: &crate::scenario::ClientSpec,
    last: &ClientEvent,
) -> Option<String> {
    // The target cluster itself was taken down by an injected fault after the run and is
    // still down: nobody can reach data there, whatever the run did.
    let to = &ev.report.to;
    if !ev.world?.sim.is_up(to) {
        let injected = ev
            .audit
            .iter()
            .rev()
            .find(|a| a.cluster == *to && (a.action == "cluster.down" || a.action == "cluster.up"))
            .is_some_and(|a| a.action == "cluster.down" && a.actor == "fault");
        if injected {
            return Some(format!(
                "{to} is down at the end (an injected cluster_down fault is still in force)"
            ));
        }
    }
    if client.protocol != Protocol::Smb {
        return None; // only SMB sessions by name use Kerberos (NFS: AUTH_SYS; DFS: the referral)
    }
    // A failure in an open session (its last error is not a ticket request) is judged.
    if !last
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("Kerberos:"))
    {
        return None;
    }
    let domain = ev.world?.sim.ad_domain()?;
    if !domain.reachable {
        let injected = ev
            .audit
            .iter()
            .any(|a| a.action == "ad.unreachable" && a.actor == "fault");
        return Some(format!(
            "AD domain {} is unreachable at the end{}, so no SMB client gets a Kerberos ticket",
            domain.name,
            if injected {
                " (an injected ad_unreachable fault is still in force)"
            } else {
                ""
            }
        ));
    }
    let (host, _, _) = sim_ad_dns::dfs::parse_unc(&client.path)?;
    let spn = format!("HOST/{host}");
    let planted = planted_spns(ev);
    let on = planted.get(&spn.to_ascii_lowercase())?;
    let owners: BTreeSet<String> = domain
        .owners(&spn)
        .iter()
        .map(|o| o.to_ascii_lowercase())
        .collect();
    if owners.len() < 2 || owners.is_disjoint(on) {
        return None;
    }
    // Without the plant the SPN would be on the target's account alone (or nowhere): the
    // collision is the fault's. An SPN left on the source's account is the run's.
    let target_account = ev
        .world?
        .machine_account(&ev.report.to)
        .to_ascii_lowercase();
    let rest: Vec<&String> = owners.difference(on).collect();
    if rest.iter().all(|o| **o == target_account) {
        Some(format!(
            "{spn} is also on {} because an spn_collision fault planted it there, so Kerberos fails for it",
            on.iter().cloned().collect::<Vec<_>>().join(" and ")
        ))
    } else {
        None
    }
}

/// I7: after a successful failover every client reaches its data on the target by its old
/// name (after the refresh): its last write went to the target and was acknowledged.
/// A client whose failure an injected fault still in force explains (AD unreachable, a
/// planted SPN collision) is not judged; the result says so.
pub fn i7_access(ev: &Evidence<'_>) -> Option<Findings> {
    let scn = ev.scenario?;
    // No client ran (none in the scenario, or a real-time HTTP drill): nothing to judge.
    if scn.clients.iter().all(|c| c.writes_per_minute == 0) || ev.clients.is_empty() {
        return None;
    }
    let mut f = Findings::default();
    if ev.report.kind == orchestrator::RunKind::Rehearsal {
        // A rehearsal must not interrupt production: every client write succeeds on the
        // source, before, during and after.
        for e in ev
            .clients
            .iter()
            .filter(|e| !e.ok || e.cluster.as_deref() != Some(ev.report.from.as_str()))
        {
            f.violations.push(format!(
                "{} was disturbed by the rehearsal at {} ms: {}",
                e.client,
                e.t_ms,
                e.error.as_deref().unwrap_or("write went to the target")
            ));
        }
        return Some(f);
    }
    if ev.report.outcome != Outcome::Succeeded {
        return Some(f);
    }
    for c in scn.clients.iter().filter(|c| c.writes_per_minute > 0) {
        match ev.clients.iter().rev().find(|e| e.client == c.name) {
            Some(e) if e.ok && e.cluster.as_deref() == Some(ev.report.to.as_str()) => {}
            Some(e) => {
                if let Some(why) = not_judged_reason(ev, c, e) {
                    f.notes.push(format!("{} not judged: {why}", c.name));
                    continue;
                }
                f.violations.push(format!(
                    "{} ({:?} {}) cannot reach its data on {} after the failover: last write {}",
                    c.name,
                    c.protocol,
                    c.path,
                    ev.report.to,
                    match (&e.ok, &e.error) {
                        (true, _) => format!("went to {}", e.cluster.as_deref().unwrap_or("?")),
                        (false, Some(err)) => format!("failed: {err}"),
                        (false, None) => "failed".into(),
                    }
                ))
            }
            None => f.violations.push(format!("{} never wrote", c.name)),
        }
    }
    Some(f)
}

fn strip_dfs<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

fn perms_without_lock(v: &Value) -> Vec<Value> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            !(p.get("permission_type").and_then(Value::as_str) == Some("deny")
                && p.get("trustee")
                    .and_then(|t| t.get("id"))
                    .and_then(Value::as_str)
                    == Some("SID:S-1-1-0"))
        })
        .map(|p| {
            // Compare what the permission means, not how a cluster spells optional fields.
            serde_json::json!({
                "permission": p.get("permission"),
                "permission_type": p.get("permission_type"),
                "trustee": p.get("trustee").and_then(|t| t.get("id")),
            })
        })
        .collect()
}

fn str_set(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// I8: for every failed-over policy, the target has the source's shares (same permissions,
/// mapped paths), NFS exports (same clients) and — with the quota option — quotas.
pub fn i8_config_parity(ev: &Evidence<'_>) -> Option<Findings> {
    let world = ev.world?;
    let scn = ev.scenario?;
    if scn.run.kind == orchestrator::RunKind::Rehearsal {
        return None; // a rehearsal moves no configuration
    }
    let from = &ev.report.from;
    let to = &ev.report.to;
    let src = world.sim.config_json(from)?;
    let tgt = world.sim.config_json(to)?;
    let dfs_prefix = &scn.run.options.naming.dfs_prefix;
    let mut v = Vec::new();
    let empty = serde_json::Map::new();
    let src_shares = src
        .get("smb_shares")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let tgt_shares = tgt
        .get("smb_shares")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let src_exports = src
        .get("nfs_exports")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let tgt_exports = tgt
        .get("nfs_exports")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let tgt_quotas = tgt
        .get("quotas")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut notes = Vec::new();
    for p in &ev.plan.policies {
        if !succeeded(ev, StepId::AllowWrite, &p.name) {
            continue;
        }
        // Shares, exports and aliases are step 5's to copy. When the report says it failed
        // or was skipped for this policy, the missing parity is reported already — by the
        // run's own `partial` / `failed` outcome (and I3 holds the report to the audit log).
        let sync_config = ev
            .report
            .steps
            .iter()
            .find(|r| r.step == StepId::SyncConfig && r.policy.as_deref() == Some(&p.name))
            .filter(|r| {
                matches!(
                    r.status,
                    StepStatus::Failed { .. } | StepStatus::Skipped { .. }
                )
            });
        if let Some(r) = sync_config {
            notes.push(format!(
                "shares and exports of {} not judged: its sync_config {} ({})",
                p.name,
                r.status.name(),
                match &r.status {
                    StepStatus::Failed { error } => error.clone(),
                    StepStatus::Skipped { reason } => reason.short(),
                    _ => String::new(),
                }
            ));
        }
        let judge_shares = sync_config.is_none();
        for s in src_shares.values().filter(|_| judge_shares) {
            let (Some(name), Some(path)) = (
                s.get("name").and_then(Value::as_str),
                s.get("path").and_then(Value::as_str),
            ) else {
                continue;
            };
            let Some(mapped) = map_path(path, &p.source_path, &p.target_path) else {
                continue;
            };
            let want = strip_dfs(name, dfs_prefix);
            let found = tgt_shares.values().find(|t| {
                t.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| strip_dfs(n, dfs_prefix).eq_ignore_ascii_case(want))
            });
            match found {
                None => v.push(format!(
                    "share {want} ({path}) of {} is missing on {to}",
                    p.name
                )),
                Some(t) => {
                    if t.get("path").and_then(Value::as_str) != Some(mapped.as_str()) {
                        v.push(format!(
                            "share {want} on {to} has path {:?}, expected {mapped}",
                            t.get("path")
                        ));
                    }
                    let sp = perms_without_lock(s.get("permissions").unwrap_or(&Value::Null));
                    let tp = perms_without_lock(t.get("permissions").unwrap_or(&Value::Null));
                    if sp != tp {
                        v.push(format!(
                            "share {want}: permissions on {to} differ from {from}'s"
                        ));
                    }
                }
            }
        }
        for e in src_exports.values().filter(|_| judge_shares) {
            let paths = str_set(e.get("paths"));
            if paths.is_empty() || !paths.iter().all(|x| path_under(x, &p.source_path)) {
                continue;
            }
            let mut mapped: Vec<String> = paths
                .iter()
                .filter_map(|x| map_path(x, &p.source_path, &p.target_path))
                .collect();
            mapped.sort();
            let found = tgt_exports
                .values()
                .find(|t| str_set(t.get("paths")) == mapped);
            match found {
                None => v.push(format!(
                    "NFS export {} of {} is missing on {to}",
                    mapped.join(","),
                    p.name
                )),
                Some(t) => {
                    if str_set(t.get("clients")) != str_set(e.get("clients")) {
                        v.push(format!(
                            "NFS export {}: clients differ on {to}",
                            mapped.join(",")
                        ));
                    }
                }
            }
        }
        if scn.run.options.quotas && succeeded(ev, StepId::FailoverQuotas, &p.name) {
            let spec = scn.world.clusters.iter().find(|c| &c.name == from)?;
            for q in &spec.quotas {
                let Some(mapped) = map_path(&q.path, &p.source_path, &p.target_path) else {
                    continue;
                };
                let ok = tgt_quotas.values().any(|t| {
                    t.get("path").and_then(Value::as_str) == Some(mapped.as_str())
                        && t.get("type").and_then(Value::as_str) == Some(q.quota_type.as_str())
                        && t.get("thresholds")
                            .and_then(|th| th.get("hard"))
                            .and_then(Value::as_u64)
                            == q.hard_bytes
                });
                if !ok {
                    v.push(format!(
                        "quota on {mapped} ({}) is missing or differs on {to}",
                        q.quota_type
                    ));
                }
            }
        }
    }
    Some(Findings {
        violations: v,
        notes,
    })
}

/// I10: a policy's config job is enabled after the run iff its resync_prep succeeded — or,
/// when the run stopped before any cut-over and rolled back, enabled as before the run.
pub fn i10_config_jobs(ev: &Evidence<'_>) -> Vec<String> {
    let rolled_back = ev
        .report
        .steps
        .iter()
        .any(|r| r.step == StepId::RollbackConfigJobs && r.status == StepStatus::Succeeded);
    let mut v = Vec::new();
    for p in &ev.plan.policies {
        let actual = ev
            .report
            .config_jobs
            .get(&p.name)
            .map(String::as_str)
            .unwrap_or("enabled");
        let resynced = succeeded(ev, StepId::ResyncPrep, &p.name);
        let disabled = ev.report.config_jobs.contains_key(&p.name);
        let expected = if rolled_back || resynced || !disabled {
            "enabled"
        } else {
            "user_disabled"
        };
        if actual != expected {
            v.push(format!(
                "config job of {} is {actual}, expected {expected} (resync_prep {})",
                p.name,
                if resynced {
                    "succeeded"
                } else {
                    "did not succeed"
                }
            ));
        }
    }
    v
}

/// Per-client outage windows and lost writes.
pub fn client_outages(ev: &Evidence<'_>) -> Vec<Outage> {
    let is_lost = |e: &ClientEvent| lost(ev, e).is_some_and(|(missing, _)| missing);
    crate::clients::outages(ev.clients, &ev.report.from, &ev.report.to, &is_lost)
}

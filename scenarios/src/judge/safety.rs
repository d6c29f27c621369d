//! I12: the safety rules S2–S5 hold at every step end, judged from the world samples
//! ([`super::sample`]), not from the report's word.
//!
//! At every step end:
//! * **S2, one name, one cluster** — no SmartConnect name is served by the pools of two
//!   clusters that are up (unless it already was before the run).
//! * **S2, names follow writable data** — a name the target serves now but did not before
//!   the run (a name moved from the source) serves only data whose target copy is writable.
//!   The data a name serves: the policies assigned to its pool's mapping, else every policy
//!   between the clusters in its pool's access zone. Allowed meanwhile, as documented: in
//!   zone modes names move *before* `allow_write`, so a policy whose `allow_write` has not
//!   ended yet "will be writable in the same cut-over"; a zone whose networking is being
//!   rolled back (S3) has names on their way home; data the report names unavailable is
//!   the report's to explain (I7 judges that list).
//! * **S4** — every DFS namespace that had a reachable referral target before the run still
//!   has one, and never two (clients could write to both copies).
//!
//! At the end:
//! * **S3** — a zone (zone modes) whose networking failed — and so none of whose policies'
//!   `allow_write` ran — has its names, SPNs and DNS delegation back as they were before
//!   the run.
//! * **S5** — no source share of a policy that did not fail over is left under a
//!   Deny-Everyone lock it did not have before the run, and such a policy's source
//!   schedule is back — unless `on_policy_failure: hold` kept them for the admin (not for a
//!   blocked run or a zone rolled back as a whole, which always roll back).
//!
//! A restoration the run attempted and reports as failed (its rollback step failed, e.g. AD
//! unreachable) is a note, not a violation: the report tells the admin what is left.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::facts::Facts;
use super::model::{Model, NETWORKING};
use super::report::{Skip, Status};
use super::Finding;
use crate::lab::{mirror_name, path_under, spns_for_name, PolicyIndex};

fn denies_everyone(v: &Value) -> bool {
    v.get("permissions")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter().any(|p| {
                p.get("permission_type").and_then(Value::as_str) == Some("deny")
                    && p.get("trustee")
                        .and_then(|t| t.get("id"))
                        .and_then(Value::as_str)
                        == Some("SID:S-1-1-0")
            })
        })
}

/// Served names of up clusters: name → clusters (borrowed from the sample).
fn servers<'s>(
    names: &'s BTreeMap<String, BTreeSet<String>>,
    up: &BTreeMap<String, bool>,
) -> BTreeMap<&'s str, BTreeSet<&'s str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (c, ns) in names {
        if up.get(c).copied().unwrap_or(true) {
            for n in ns {
                out.entry(n.as_str()).or_default().insert(c.as_str());
            }
        }
    }
    out
}

/// The data a moved name serves: target paths of the policies (run policies first).
struct NameData {
    /// name → [(policy, target path)]
    by_name: BTreeMap<String, Vec<(String, String)>>,
}

impl NameData {
    fn new(f: &Facts<'_>) -> NameData {
        let (from, to) = (&f.report.from, &f.report.to);
        let world = &f.ev.scenario.world;
        // Every policy between the clusters in this direction (world policies and mirrors).
        let index = PolicyIndex::new(world);
        let mut between: Vec<(String, String, String)> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for p in &world.policies {
            for name in [p.name.clone(), mirror_name(&p.name)] {
                if let Some((s, t)) = index.paths(world, &name, from, to) {
                    if seen.insert(name.clone()) {
                        between.push((name, s, t));
                    }
                }
            }
        }
        let mut by_name: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (key, pool) in &f.source_pools {
            let (zone, names) = (&pool.zone, &pool.names);
            let assigned = f
                .mappings
                .iter()
                .find(|m| &m.source_pool == key)
                .map(|m| m.policies.clone())
                .unwrap_or_default();
            let base = f
                .source_zones
                .get(zone)
                .cloned()
                .unwrap_or_else(|| "/ifs".into());
            let data: Vec<(String, String)> = between
                .iter()
                .filter(|(n, s, _)| {
                    if assigned.is_empty() {
                        path_under(s, &base) && f.policies.get(n).is_none_or(|p| &p.zone == zone)
                    } else {
                        assigned.contains(n)
                    }
                })
                .map(|(n, _, t)| (n.clone(), t.clone()))
                .collect();
            for n in names {
                by_name
                    .entry(n.clone())
                    .or_default()
                    .extend(data.iter().cloned());
            }
        }
        NameData { by_name }
    }
}

/// I12.
pub fn i12_safety(f: &Facts<'_>) -> Finding {
    i12_safety_in(&Model::new(f))
}

/// [`i12_safety`] with the run's model already built (`judge_run` builds it once for I1,
/// I2, I3 and I12: it indexes every instance of the report).
pub fn i12_safety_in(m: &Model<'_, '_>) -> Finding {
    let f = m.f;
    let Some(samples) = f.ev.samples else {
        return Finding::not_judged("the run was not observed (no world samples)");
    };
    let (Some(before), Some(after)) = (samples.before.as_ref(), samples.after.as_ref()) else {
        return Finding::not_judged("no world snapshot before and after the run");
    };
    let mut out = Finding::default();
    let (from, to) = (f.report.from.as_str(), f.report.to.as_str());
    let served_before = servers(&before.names, &before.up);
    let names_data = NameData::new(f);
    // Target writability by target path, from the snapshot before and each step's sample.
    let mut writable: BTreeMap<String, bool> = BTreeMap::new();
    let world = &f.ev.scenario.world;
    let index = PolicyIndex::new(world);
    // Asked at every step end: each policy's answer worked out once.
    let mut target_paths: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut target_path = |p: &str| -> Option<String> {
        if let Some(t) = target_paths.get(p) {
            return t.clone();
        }
        let t = index.paths(world, p, from, to).map(|x| x.1);
        target_paths.insert(p.to_string(), t.clone());
        t
    };
    for (p, (_, t)) in &before.writable {
        if let Some(tp) = target_path(p) {
            writable.insert(tp, *t);
        }
    }
    let zone_rollback_pending = |zone: &str, seq: Option<u64>| {
        f.report.steps.iter().any(|s| {
            s.zone.as_deref() == Some(zone)
                && NETWORKING.iter().any(|n| s.step == format!("rollback_{n}"))
                && s.end_seq.is_none_or(|e| seq.is_none_or(|q| e > q))
        })
    };
    let mut seen_two: BTreeSet<String> = BTreeSet::new();
    let mut seen_moved: BTreeSet<(String, String)> = BTreeSet::new();
    let mut seen_dfs: BTreeSet<String> = BTreeSet::new();
    let end = super::sample::StepSample {
        t_ms: after.t_ms,
        step: "the end of the run".into(),
        up: std::sync::Arc::new(after.up.clone()),
        names: std::sync::Arc::new(after.names.clone()),
        dfs_unreachable: std::sync::Arc::new(after.dfs_unreachable.clone()),
        dfs_dual: std::sync::Arc::new(after.dfs_dual.clone()),
        ..Default::default()
    };
    // The DFS renames (and their undos) that started: (start, end) sequence numbers.
    let rename_spans: Vec<(u64, Option<u64>)> = f
        .report
        .steps
        .iter()
        .filter(|x| x.step == "dfs_rename_shares" || x.step == "rollback_dfs_rename_shares")
        .filter_map(|x| x.start_seq.map(|a| (a, x.end_seq)))
        .collect();
    let mut served: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    // The maps `served` was worked out from.
    type Maps<'s> = (
        &'s Arc<super::sample::Names>,
        &'s Arc<BTreeMap<String, bool>>,
    );
    let mut served_of: Option<Maps<'_>> = None;
    for s in samples.steps.iter().chain(std::iter::once(&end)) {
        // Spelled out only for a violation (most samples have none).
        let at = || {
            if s.step == "the end of the run" {
                s.step.clone()
            } else {
                format!(
                    "after {}{}",
                    s.step,
                    s.policy
                        .as_deref()
                        .map(|p| format!("[{p}]"))
                        .or_else(|| s.zone.as_deref().map(|z| format!("[zone {z}]")))
                        .unwrap_or_default()
                )
            }
        };
        if let (Some(p), Some((_, t))) = (&s.policy, s.writable) {
            if let Some(tp) = target_path(p) {
                writable.insert(tp, t);
            }
        }
        // Consecutive samples mostly share their maps (`sample::share`): the served names
        // are worked out again only when a map changed.
        if !served_of.is_some_and(|(n, u)| Arc::ptr_eq(n, &s.names) && Arc::ptr_eq(u, &s.up)) {
            served = servers(&s.names, &s.up);
            served_of = Some((&s.names, &s.up));
        }
        // S2: one name, one cluster.
        for (name, cs) in &served {
            out.judged += 1;
            if cs.len() > 1
                && served_before.get(name).is_none_or(|b| b.len() < 2)
                && seen_two.insert(name.to_string())
            {
                out.violations.push(format!(
                    "{}, {name} was served by {} (S2: two clusters answering one name)",
                    at(),
                    cs.iter().cloned().collect::<Vec<_>>().join(" and ")
                ));
            }
        }
        // S2: names follow writable data.
        for (name, cs) in &served {
            if !cs.contains(to) || served_before.get(name).is_some_and(|b| b.contains(to)) {
                continue;
            }
            if !served_before.get(name).is_some_and(|b| b.contains(from)) {
                continue;
            }
            for (policy, tpath) in names_data.by_name.get(*name).into_iter().flatten() {
                out.judged += 1;
                if writable.get(tpath).copied().unwrap_or(false) {
                    continue;
                }
                if f.report.names_unavailable(policy) {
                    continue;
                }
                let zone = f.zone_of_policy(policy).map(str::to_string);
                if f.run.zone_mode() {
                    let aw_pending =
                        f.report.of_policy("allow_write", policy).is_some_and(|a| {
                            a.end_seq.is_none_or(|e| s.end_seq.is_none_or(|q| e > q))
                        }) && s.step != "the end of the run";
                    if aw_pending {
                        continue;
                    }
                    if zone
                        .as_deref()
                        .is_some_and(|z| zone_rollback_pending(z, s.end_seq))
                        && s.step != "the end of the run"
                    {
                        continue;
                    }
                }
                if seen_moved.insert((name.to_string(), policy.clone())) {
                    out.violations.push(format!(
                        "{}, {to} served {name} while {policy}'s copy there was read-only{} (S2: names follow writable data)",
                        at(),
                        if f.policies.contains_key(policy) {
                            ""
                        } else {
                            " (the run does not cover it, yet its data is behind that name)"
                        }
                    ));
                }
            }
        }
        // S4: DFS namespaces keep a reachable target. A rename (or its undo) still in
        // flight at another step's end is judged at its own end.
        // Asked only for a sample that shows a namespace to judge, of the renames' spans
        // gathered once (a scan of every report step per sample was quadratic).
        let renaming = || {
            s.end_seq.is_some_and(|q| {
                rename_spans
                    .iter()
                    .any(|&(a, e)| a < q && e.is_none_or(|e| e > q))
            })
        };
        let judge_dfs = || {
            // A cluster down (an injected fault) takes its shares away whatever the run did.
            let all_up = s.up.values().all(|u| *u);
            all_up && !renaming()
        };
        let judge_dfs = (!s.dfs_unreachable.is_empty() || !s.dfs_dual.is_empty()) && judge_dfs();
        for ns in s.dfs_unreachable.iter().filter(|_| judge_dfs) {
            if !before.dfs_unreachable.contains(ns) && seen_dfs.insert(ns.clone()) {
                out.violations.push(format!(
                    "{}, DFS namespace {ns} had no reachable target share (S4)",
                    at()
                ));
            }
        }
        // S4: and never two: a namespace whose referral reaches both copies lets clients
        // write to both (`dfs_rename_shares` hides the source before it activates the target,
        // its undo hides the target before it activates the source).
        for ns in s.dfs_dual.iter().filter(|_| judge_dfs) {
            if !before.dfs_dual.contains(ns) && seen_dfs.insert(format!("two:{ns}")) {
                out.violations.push(format!(
                    "{}, DFS namespace {ns} had two reachable target shares: clients could write to both copies (S4)",
                    at()
                ));
            }
        }
        out.judged += f.ev.scenario.world.dfs.len();
    }
    s3_zone_home(f, m, before, after, &mut out);
    s5_source_usable(f, m, before, after, &mut out);
    if out.judged == 0 {
        out.not_judged = Some(
            "the world has no SmartConnect names, DFS namespaces, locked shares or schedules to judge"
                .into(),
        );
    }
    out
}

/// Whether the rollback `step` (of a zone or policy) was attempted and failed.
fn rollback_failed(f: &Facts<'_>, step: &str, policy: Option<&str>, zone: Option<&str>) -> bool {
    f.report.steps.iter().any(|s| {
        s.step == step
            && (policy.is_none() || s.policy.as_deref() == policy)
            && (zone.is_none() || s.zone.as_deref() == zone)
            && s.status.failed()
    })
}

/// S3 at the end: a zone with no successful allow_write has its names, SPNs and DNS home.
fn s3_zone_home(
    f: &Facts<'_>,
    m: &Model<'_, '_>,
    before: &super::sample::Snapshot,
    after: &super::sample::Snapshot,
    out: &mut Finding,
) {
    if !f.run.zone_mode() {
        return;
    }
    let (from, to) = (f.report.from.as_str(), f.report.to.as_str());
    let planted: BTreeSet<String> =
        f.ev.audit
            .iter()
            .filter(|a| a.action == "ad.spn_plant")
            .filter_map(|a| a.detail.get("spn").and_then(Value::as_str))
            .map(str::to_ascii_lowercase)
            .collect();
    let owners = |snap: &super::sample::Snapshot, spn: &str| -> BTreeSet<String> {
        snap.spns
            .iter()
            .filter(|(_, set)| set.contains(spn))
            .map(|(a, _)| a.clone())
            .collect()
    };
    for z in &f.zones {
        // S3's trigger is a failed networking step of the zone (DESIGN §2, safety-rules.md).
        // A zone whose networking succeeded and whose allow_writes all failed keeps its
        // names on the target; S2 above then needs the report to name its data unavailable.
        let cut_over = f
            .zone_policies(z)
            .iter()
            .any(|p| f.report.succeeded("allow_write", p));
        if cut_over || !m.zone_rolled_back(z) {
            continue;
        }
        let names: BTreeSet<&String> = f
            .source_pools
            .values()
            .filter(|p| &p.zone == z)
            .flat_map(|p| p.names.iter())
            .collect();
        // The undo of a step did not complete: it failed, or it was skipped because its
        // partner undo failed (safety-rules.md: a failed S3 undo stops its partner).
        let failed_undo = |step: &str| {
            let undo = format!("rollback_{step}");
            rollback_failed(f, &undo, None, Some(z))
                || f.report.steps.iter().any(|s| {
                    s.step == undo
                        && s.zone.as_deref() == Some(z.as_str())
                        && matches!(s.status, Status::Skipped(Skip::NetworkingFailed { .. }))
                })
        };
        for n in names {
            out.judged += 1;
            let src_before = before.names.get(from).is_some_and(|s| s.contains(n));
            // A returned source (failback after an uncontrolled failover) answered its old
            // names before the run only until the run's fence took them (DESIGN §2 "Other
            // runs"): undone, the zone stays where its data is writable, not split.
            let tgt_before =
                f.returned.is_empty() && before.names.get(to).is_some_and(|s| s.contains(n));
            let src_after = after.names.get(from).is_some_and(|s| s.contains(n));
            let tgt_after = after.names.get(to).is_some_and(|s| s.contains(n));
            if src_before != src_after || tgt_before != tgt_after {
                let why = format!(
                    "at the end zone {z} was not cut over, yet {n} is served by {} (before: {}) (S3)",
                    served_by(src_after, tgt_after, from, to),
                    served_by(src_before, tgt_before, from, to)
                );
                if failed_undo("rename_source_smartconnect")
                    || failed_undo("move_smartconnect_to_target")
                {
                    out.notes
                        .push(format!("{why}; its rollback failed or was stopped by its partner's, as the report says"));
                } else {
                    out.violations.push(why);
                }
            }
            for spn in spns_for_name(n) {
                let spn = spn.to_ascii_lowercase();
                if planted.contains(&spn) {
                    continue;
                }
                let (mut b, a) = (owners(before, &spn), owners(after, &spn));
                if !f.returned.is_empty() {
                    // The fence takes them off the returned source's account too.
                    if let Some(acct) = f.ev.world.map(|w| w.machine_account(to)) {
                        b.retain(|x| !x.eq_ignore_ascii_case(&acct));
                    }
                }
                if a != b {
                    let why = format!(
                        "at the end zone {z} was not cut over, yet {spn} is on [{}] (before: [{}]) (S3)",
                        a.into_iter().collect::<Vec<_>>().join(", "),
                        b.into_iter().collect::<Vec<_>>().join(", ")
                    );
                    if failed_undo("add_target_spns") || failed_undo("remove_source_spns") {
                        out.notes
                            .push(format!("{why}; its rollback failed or was stopped by its partner's, as the report says"));
                    } else {
                        out.violations.push(why);
                    }
                }
            }
            if before.ns.get(n) != after.ns.get(n) && after.ns.contains_key(n) {
                let why = format!(
                    "at the end zone {z} was not cut over, yet the DNS delegation of {n} is {:?} (before: {:?}) (S3)",
                    after.ns.get(n),
                    before.ns.get(n)
                );
                if failed_undo("repoint_dns") {
                    out.notes
                        .push(format!("{why}; its rollback failed or was stopped by its partner's, as the report says"));
                } else {
                    out.violations.push(why);
                }
            }
        }
    }
}

fn served_by(src: bool, tgt: bool, from: &str, to: &str) -> String {
    match (src, tgt) {
        (true, true) => format!("{from} and {to}"),
        (true, false) => from.to_string(),
        (false, true) => to.to_string(),
        (false, false) => "nobody".into(),
    }
}

/// S5 at the end: the source still serves the data of a policy that did not fail over, so
/// no new lock on its shares and its schedule back.
fn s5_source_usable(
    f: &Facts<'_>,
    m: &Model<'_, '_>,
    before: &super::sample::Snapshot,
    after: &super::sample::Snapshot,
    out: &mut Finding,
) {
    if f.run.rehearsal() {
        return;
    }
    let from = f.report.from.as_str();
    let blocked = m.failed_validation_gate().is_some();
    let whole_zone = |p: &str| {
        f.zone_of_policy(p).is_some_and(|z| {
            f.run.zone_mode() && (!m.zone_gate_failures(z).is_empty() || m.zone_rolled_back(z))
        })
    };
    let held = |p: &str| f.run.hold() && !blocked && !whole_zone(p);
    let shares = |snap: &super::sample::Snapshot| -> BTreeMap<String, Value> {
        snap.config
            .get(from)
            .and_then(|c| c.get("smb_shares"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    let (sb, sa) = (shares(before), shares(after));
    for (key, share) in &sa {
        out.judged += 1;
        if !denies_everyone(share) || sb.get(key).is_some_and(denies_everyone) {
            continue;
        }
        let path = share
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = share.get("name").and_then(Value::as_str).unwrap_or(key);
        match f.policy_of_path(path) {
            Some(p) if f.failed_over(&p.name) => {}
            Some(p) if held(&p.name) => {}
            Some(p)
                if f.report.steps.iter().any(|s| {
                    s.step == "rollback_lock"
                        && s.status.failed()
                        && s.policy.as_deref().is_none_or(|x| x == p.name)
                }) =>
            {
                out.notes.push(format!(
                    "share {name} on {from} is still locked ({} did not fail over); its rollback_lock failed, as the report says",
                    p.name
                ));
            }
            // A paused run may still lift it.
            Some(_) if f.report.outcome == "paused" => {}
            Some(p) => out.violations.push(format!(
                "at the end share {name} on {from} is under a Deny-Everyone lock although {} did not fail over: the copy that serves its users is unusable (S5)",
                p.name
            )),
            None => out.violations.push(format!(
                "at the end share {name} on {from} is under a Deny-Everyone lock, but it is under none of the run's policies (S5)"
            )),
        }
    }
    for p in f.policies.values() {
        if f.failed_over(&p.name) || held(&p.name) {
            continue;
        }
        let sched = |snap: &super::sample::Snapshot| {
            snap.policies
                .get(from)
                .and_then(|m| m.get(&p.name))
                .and_then(|v| v.schedule.clone())
        };
        let (Some(b), Some(a)) = (sched(before), sched(after)) else {
            continue;
        };
        out.judged += 1;
        if a != b {
            if rollback_failed(f, "rollback_schedules", Some(&p.name), None) {
                out.notes.push(format!(
                    "{}'s schedule on {from} is {a:?}, not {b:?} as before; its rollback_schedules failed, as the report says",
                    p.name
                ));
            } else if f.report.outcome == "paused" {
                // The run may still put it back.
            } else {
                out.violations.push(format!(
                    "at the end {}'s schedule on {from} is {a:?}, not {b:?} as before, although it did not fail over (S5)",
                    p.name
                ));
            }
        }
    }
}

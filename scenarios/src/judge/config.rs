//! I8 (config parity), I10 (config jobs) and I11 (conservation), from the clusters'
//! configuration before and after the run ([`super::sample::Snapshot`]) and the report.
//!
//! Config objects, as far as the simulator models them (DESIGN §2 `sync_config`, config
//! replication): SMB shares (identity: name without the DFS prefix, and path), NFS exports
//! (their paths), NFS aliases (name, path), quotas (path, type), snapshot schedules (name,
//! path) and dedupe paths. An object is "under" a policy when its path (every path, for an
//! export) lies under the policy's source path.
//!
//! **I8.** For every policy the run failed over, each object defined under its source path
//! before the run has its copy on the target (the side serving the data) at the mapped
//! path with the same meaning: share permissions (without the lock's Deny-Everyone), export
//! clients, quota thresholds, schedule. Quotas only with the `quotas` option (DESIGN §2 step
//! 12 is optional). A `remove_source_quotas[P]` the report says succeeded left no quota
//! under P's source path on the source (step 13). An object whose copy step (`sync_config`, `failover_quotas`) the report
//! says failed or was skipped is noted, not judged: that is the run's reported `partial`
//! (I3 holds the report to the audit log, I11 holds the removal to S1).
//!
//! **I10.** A policy's config job — read from the orchestrator's config store itself (its
//! `config_jobs` table, a published SQLite format: `state` of the row keyed by the run's
//! source cluster and the policy; no row = a job never created, which starts `enabled`) —
//! is enabled after the run iff its `resync_prep` succeeded — or the documented rollback
//! that re-enables it succeeded (`rollback_config_jobs` after a failed gate or a
//! rolled-back zone, `rollback_config_jobs[P]` for S5); the report's `config_jobs` states
//! what the store holds; and `enable_config_jobs[P]` succeeds iff `resync_prep[P]` did.
//! Without a store to read, I10 is not judged.
//!
//! **I11.** Conservation, read as S1 ("nothing exists nowhere"): every object defined under
//! a run policy's path before the run still exists after it — on the source, or (for a
//! policy the run failed over) as its copy on the target. An object gone from the source
//! is a violation when its policy did not fail over (the source still serves the data), and
//! when it has no copy on the target — unless the admin asked for exactly that
//! (`quotas: false` with `remove_source_quotas: true`) and the report's `removed_config`
//! has its definition. Whether the copy is *on the serving side* is I8's question: a copy
//! that failed (reported) with the object kept on the source is a `partial` run, not a
//! loss. Every `removed_config` entry must name an object that existed before the run.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::facts::{Facts, PolicyFacts};
use super::model::ZONE_QUOTAS;
use super::Finding;
use crate::lab::{map_path, path_under, strip_prefix, values_under};

/// One config object of a cluster.
#[derive(Debug, Clone)]
struct Obj {
    kind: &'static str,
    /// Name (shares, aliases, schedules) or type (quotas), lower-case.
    name: String,
    /// Its paths (one, except for exports), sorted.
    paths: Vec<String>,
    value: Value,
}

impl Obj {
    fn label(&self) -> String {
        match self.kind {
            "nfs_export" => format!("NFS export {}", self.paths.join(",")),
            "dedupe_path" => format!("dedupe path {}", self.paths.join(",")),
            k => format!(
                "{} {} ({})",
                k.replace('_', " "),
                self.name,
                self.paths.join(",")
            ),
        }
    }

    fn under(&self, base: &str) -> bool {
        !self.paths.is_empty() && self.paths.iter().all(|p| path_under(p, base))
    }

    /// The same object on the other side, at `paths` (what [`Objects::same_as`] looks up).
    #[cfg(test)]
    fn same(&self, other: &Obj, paths: &[String]) -> bool {
        self.kind == other.kind && self.name == other.name && other.paths == paths
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
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

fn s<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The config objects of one cluster's configuration JSON.
fn objects(cfg: &Value, dfs_prefix: &str) -> Vec<Obj> {
    let mut out = Vec::new();
    let values = |k: &str| -> Vec<Value> {
        cfg.get(k)
            .and_then(Value::as_object)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    };
    for v in values("smb_shares") {
        out.push(Obj {
            kind: "smb_share",
            name: strip_prefix(s(&v, "name"), dfs_prefix).to_ascii_lowercase(),
            paths: vec![s(&v, "path").to_string()],
            value: v,
        });
    }
    for v in values("nfs_exports") {
        out.push(Obj {
            kind: "nfs_export",
            name: String::new(),
            paths: str_list(v.get("paths")),
            value: v,
        });
    }
    for v in values("nfs_aliases") {
        out.push(Obj {
            kind: "nfs_alias",
            name: s(&v, "name").to_ascii_lowercase(),
            paths: vec![s(&v, "path").to_string()],
            value: v,
        });
    }
    for v in values("quotas") {
        out.push(Obj {
            kind: "quota",
            name: s(&v, "type").to_ascii_lowercase(),
            paths: vec![s(&v, "path").to_string()],
            value: v,
        });
    }
    for v in values("snapshot_schedules") {
        out.push(Obj {
            kind: "snapshot_schedule",
            name: s(&v, "name").to_ascii_lowercase(),
            paths: vec![s(&v, "path").to_string()],
            value: v,
        });
    }
    for p in str_list(cfg.get("dedupe").and_then(|d| d.get("paths"))) {
        out.push(Obj {
            kind: "dedupe_path",
            name: String::new(),
            paths: vec![p.clone()],
            value: json!({ "path": p }),
        });
    }
    out
}

/// A cluster's config objects, indexed for the two questions I8 and I11 ask per policy
/// and per object: "which objects lie under this path" and "is there this object (kind,
/// name, paths)". A scan of every object for each made both invariants quadratic on
/// 1000-policy runs (a policy's few objects, looked for among all the cluster's).
struct Objects<'o> {
    objs: &'o [Obj],
    /// First (smallest) path → indices of the objects with it. An object is under a base
    /// only if its first path is.
    by_first: BTreeMap<&'o str, Vec<usize>>,
    /// (kind, name, paths) → index of the first object with them.
    by_identity: BTreeMap<(&'static str, &'o str, &'o [String]), usize>,
}

impl<'o> Objects<'o> {
    fn new(objs: &'o [Obj]) -> Objects<'o> {
        let mut by_first: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut by_identity = BTreeMap::new();
        for (i, o) in objs.iter().enumerate() {
            if let Some(first) = o.paths.first() {
                by_first.entry(first.as_str()).or_default().push(i);
            }
            by_identity
                .entry((o.kind, o.name.as_str(), o.paths.as_slice()))
                .or_insert(i);
        }
        Objects {
            objs,
            by_first,
            by_identity,
        }
    }

    /// The objects `o` with `o.under(base)`, in their order (that of a scan): those whose
    /// first path lies under `base` ([`values_under`], a range of the sorted first paths),
    /// each then checked whole.
    fn under<'a>(&'a self, base: &'a str) -> impl Iterator<Item = &'o Obj> + 'a {
        let mut ids: Vec<usize> = values_under(&self.by_first, base)
            .flatten()
            .copied()
            .collect();
        ids.sort_unstable();
        let objs = self.objs;
        ids.into_iter()
            .map(move |i| &objs[i])
            .filter(move |o| o.under(base))
    }

    /// The first object `t` with `o.same(t, paths)`.
    fn same_as(&self, o: &Obj, paths: &[String]) -> Option<&'o Obj> {
        self.by_identity
            .get(&(o.kind, o.name.as_str(), paths))
            .map(|&i| &self.objs[i])
    }
}

fn mapped(o: &Obj, p: &PolicyFacts) -> Option<Vec<String>> {
    let mut v = o
        .paths
        .iter()
        .map(|x| map_path(x, &p.source_path, &p.target_path))
        .collect::<Option<Vec<_>>>()?;
    v.sort();
    Some(v)
}

/// Share permissions without the data-integrity lock's Deny-Everyone, by meaning.
fn perms_without_lock(v: &Value) -> Vec<Value> {
    v.get("permissions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| {
            !(s(p, "permission_type") == "deny"
                && p.get("trustee").map(|t| s(t, "id")) == Some("SID:S-1-1-0"))
        })
        .map(|p| {
            json!({
                "permission": p.get("permission"),
                "permission_type": p.get("permission_type"),
                "trustee": p.get("trustee").and_then(|t| t.get("id")),
            })
        })
        .collect()
}

/// What must agree between an object and its copy (I8).
fn meaning(o: &Obj) -> Value {
    match o.kind {
        "smb_share" => json!(perms_without_lock(&o.value)),
        "nfs_export" => json!(str_list(o.value.get("clients"))),
        "quota" => {
            let th = o.value.get("thresholds");
            json!([
                th.and_then(|t| t.get("hard")),
                th.and_then(|t| t.get("soft")),
                th.and_then(|t| t.get("advisory"))
            ])
        }
        "snapshot_schedule" => json!(o.value.get("schedule")),
        _ => Value::Null,
    }
}

/// The step that copies objects of a kind to the target (zone modes: quotas are copied by
/// the zone's `failover_zone_quotas` instead, see [`i8_config_parity`]).
fn copy_step(kind: &str) -> &'static str {
    if kind == "quota" {
        "failover_quotas"
    } else {
        "sync_config"
    }
}

fn what_differs(kind: &str) -> &'static str {
    match kind {
        "smb_share" => "permissions",
        "nfs_export" => "clients",
        "quota" => "thresholds",
        "snapshot_schedule" => "schedule",
        _ => "definition",
    }
}

/// I8.
pub fn i8_config_parity(f: &Facts<'_>) -> Finding {
    if f.run.rehearsal() {
        return Finding::not_judged("a rehearsal moves no configuration");
    }
    let (from, to) = (&f.report.from, &f.report.to);
    let (Some(src), Some(tgt)) = (f.config_before(from), f.config_after(to)) else {
        return Finding::not_judged("no configuration snapshot before and after the run");
    };
    let dfs = &f.run.options.naming.dfs_prefix;
    let src_objs = objects(src, dfs);
    let tgt_objs = objects(tgt, dfs);
    let (src_index, tgt_index) = (Objects::new(&src_objs), Objects::new(&tgt_objs));
    let mut out = Finding::default();
    let failed_over: Vec<&PolicyFacts> = f
        .policies
        .values()
        .filter(|p| p.known && f.failed_over(&p.name))
        .collect();
    if !f.run.options.quotas {
        out.notes
            .push("quotas not judged: the run's quotas option is off".into());
    }
    for p in &failed_over {
        for o in src_index.under(&p.source_path) {
            if o.kind == "quota" && !f.run.options.quotas {
                continue;
            }
            let Some(want) = mapped(o, p) else { continue };
            let copy = tgt_index.same_as(o, &want);
            let copied_well = copy.is_some_and(|t| meaning(o) == meaning(t));
            // A copy that failed, as the report says, is the run's reported `partial`,
            // not a silent loss (I3 holds the report to the audit log; I11 to S1).
            let step = copy_step(o.kind);
            if step == "sync_config" && f.report.config_cache.get(&p.name) == Some(&false) {
                out.notes.push(format!(
                    "{} of {} not judged: the source was unreachable and the report says no cached configuration existed",
                    o.label(),
                    p.name
                ));
                continue;
            }
            // Zone modes: quotas move with the zone's quota step, and only for the zone
            // policies whose resync_prep succeeded (the others' data stays served by the
            // source, and so do their quotas).
            if o.kind == "quota"
                && f.run.zone_mode()
                && !copied_well
                && !f.report.succeeded("resync_prep", &p.name)
            {
                out.notes.push(format!(
                    "{} of {} not judged: its resync_prep did not succeed, so {ZONE_QUOTAS} keeps its quotas on {from}",
                    o.label(),
                    p.name
                ));
                continue;
            }
            let copy_status = if o.kind == "quota" && f.run.zone_mode() {
                f.zone_of_policy(&p.name)
                    .and_then(|z| f.report.find(ZONE_QUOTAS, None, Some(z)))
            } else {
                f.report.of_policy(step, &p.name)
            };
            if let Some(st) = copy_status
                .filter(|st| !copied_well && (st.status.failed() || st.status.skip().is_some()))
            {
                out.notes.push(format!(
                    "{} of {} not judged: its {} {} as the report says",
                    o.label(),
                    p.name,
                    st.label(),
                    st.status.name()
                ));
                continue;
            }
            out.judged += 1;
            match copy {
                None => out.violations.push(format!(
                    "{} of {} is missing on {to} (at {})",
                    o.label(),
                    p.name,
                    want.join(",")
                )),
                Some(t) if meaning(o) != meaning(t) => out.violations.push(format!(
                    "{}: {} on {to} differ from {from}'s",
                    o.label(),
                    what_differs(o.kind)
                )),
                Some(_) => {}
            }
        }
    }
    // DESIGN §2 step 13: a `remove_source_quotas[P]` that succeeded left no quota under P's
    // source path on the source (now a SyncIQ target: no quotas on target directories).
    if let Some(src_after) = f.config_after(from) {
        let left = objects(src_after, dfs);
        let left_index = Objects::new(&left);
        for p in f.policies.values().filter(|p| p.known) {
            // Zone modes: the zone's quota step removed the quotas of every zone policy
            // whose resync_prep succeeded.
            let removed_all = if f.run.zone_mode() {
                f.report.succeeded("resync_prep", &p.name)
                    && f.zone_of_policy(&p.name).is_some_and(|z| {
                        f.report
                            .find(ZONE_QUOTAS, None, Some(z))
                            .is_some_and(|st| st.status.succeeded())
                    })
            } else {
                f.report.succeeded("remove_source_quotas", &p.name)
            };
            if !removed_all {
                continue;
            }
            out.judged += 1;
            for o in left_index
                .under(&p.source_path)
                .filter(|o| o.kind == "quota")
            {
                out.violations.push(format!(
                    "the quota removal of {} succeeded but {} is still on {from}",
                    p.name,
                    o.label()
                ));
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some(if failed_over.is_empty() {
            "nothing was failed over".into()
        } else {
            "no config object under a failed-over path".into()
        });
    }
    out
}

/// The job states in the config store at `location`, by policy, for jobs whose source
/// is `source`.
pub fn store_job_states(
    location: &str,
    source: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        location,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| format!("cannot open the config store: {e}"))?;
    let mut st = conn
        .prepare("SELECT policy, state FROM config_jobs WHERE source = ?1")
        .map_err(|e| format!("config store has no readable config_jobs table: {e}"))?;
    let rows = st
        .query_map([source], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .and_then(|rows| rows.collect::<Result<std::collections::BTreeMap<_, _>, _>>())
        .map_err(|e| format!("cannot read config_jobs: {e}"))?;
    Ok(rows)
}

/// I10.
pub fn i10_config_jobs(f: &Facts<'_>) -> Finding {
    let Some(location) = f.ev.config_store else {
        return Finding::not_judged("no config store to read");
    };
    let stored = match store_job_states(location, &f.report.from) {
        Ok(s) => s,
        Err(e) => {
            return Finding {
                judged: 1,
                violations: vec![e],
                ..Finding::default()
            }
        }
    };
    let mut out = Finding::default();
    let paused = f.report.outcome == "paused";
    let disabled = f
        .report
        .find("disable_config_jobs", None, None)
        .is_some_and(|s| s.status.succeeded());
    let gate_rollback = f
        .report
        .find("rollback_config_jobs", None, None)
        .is_some_and(|s| s.status.succeeded());
    for p in f.policies.keys() {
        let enable = f.report.of_policy("enable_config_jobs", p);
        if paused && enable.is_some_and(|s| !s.status.terminal()) {
            out.notes.push(format!(
                "{p} not judged: its enable_config_jobs waits for the paused run"
            ));
            continue;
        }
        out.judged += 1;
        let resynced = f.report.succeeded("resync_prep", p);
        let rolled_back = gate_rollback || f.report.succeeded("rollback_config_jobs", p);
        let expected = if !disabled || resynced || rolled_back {
            "enabled"
        } else {
            "user_disabled"
        };
        let actual = stored.get(p).map(String::as_str).unwrap_or("enabled");
        if let Some(said) = f.report.config_jobs.get(p) {
            if said != actual {
                out.violations.push(format!(
                    "the report says the config job of {p} is {said}, the store says {actual}"
                ));
            }
        }
        if actual != expected {
            out.violations.push(format!(
                "config job of {p} is {actual}, expected {expected} (resync_prep {}{})",
                if resynced {
                    "succeeded"
                } else {
                    "did not succeed"
                },
                if rolled_back { ", rolled back" } else { "" }
            ));
        }
        if let Some(e) = enable {
            if e.status.succeeded() && !resynced {
                out.violations.push(format!(
                    "{} succeeded although resync_prep[{p}] did not",
                    e.label()
                ));
            }
            if resynced && !e.status.succeeded() && !e.status.failed() && !paused {
                out.violations.push(format!(
                    "{} is {} although resync_prep[{p}] succeeded",
                    e.label(),
                    e.status.name()
                ));
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some("no policy to judge".into());
    }
    out
}

fn removed_kind(kind: &str) -> &'static str {
    match kind {
        k if k.starts_with("quota") => "quota",
        k if k.starts_with("smb") || k.starts_with("share") => "smb_share",
        k if k.starts_with("nfs_alias") || k.starts_with("alias") => "nfs_alias",
        k if k.starts_with("nfs") || k.starts_with("export") => "nfs_export",
        k if k.starts_with("snapshot") => "snapshot_schedule",
        k if k.starts_with("dedupe") => "dedupe_path",
        _ => "unknown",
    }
}

/// I11.
pub fn i11_conservation(f: &Facts<'_>) -> Finding {
    let (from, to) = (&f.report.from, &f.report.to);
    let (Some(src), Some(src_after), Some(tgt_after)) = (
        f.config_before(from),
        f.config_after(from),
        f.config_after(to),
    ) else {
        return Finding::not_judged("no configuration snapshot before and after the run");
    };
    let dfs = &f.run.options.naming.dfs_prefix;
    let before = objects(src, dfs);
    let on_src = objects(src_after, dfs);
    let on_tgt = objects(tgt_after, dfs);
    let (before_index, src_index, tgt_index) = (
        Objects::new(&before),
        Objects::new(&on_src),
        Objects::new(&on_tgt),
    );
    let removed: BTreeSet<(String, &'static str, String)> = f
        .report
        .removed_config
        .iter()
        .map(|r| (r.cluster.clone(), removed_kind(&r.kind), r.path.clone()))
        .collect();
    let was_removed = |cluster: &str, o: &Obj| {
        o.paths
            .iter()
            .any(|p| removed.contains(&(cluster.to_string(), o.kind, p.clone())))
    };
    let admin_removal = !f.run.options.quotas && f.run.options.remove_source_quotas;
    let mut out = Finding::default();
    for p in f.policies.values().filter(|p| p.known) {
        let moved = f.failed_over(&p.name);
        for o in before_index.under(&p.source_path) {
            out.judged += 1;
            if src_index.same_as(o, &o.paths).is_some() {
                continue; // still on the source
            }
            let copied = mapped(o, p).is_some_and(|want| tgt_index.same_as(o, &want).is_some());
            let listed = was_removed(from, o);
            let why = if !moved {
                Some(format!(
                    "it is gone from {from}, which still serves {}'s data (the policy did not fail over)",
                    p.name
                ))
            } else if copied || (listed && o.kind == "quota" && admin_removal) {
                // Its copy serves the data; or the admin asked for the removal without a
                // copy and the report has its definition.
                None
            } else if listed {
                Some(format!(
                    "it was removed from {from} without a copy on {to}; the report lists its definition, but S1 removes an object only after its copy was read back"
                ))
            } else {
                Some(format!(
                    "it exists on neither {from} nor {to}, and the report does not list it as removed"
                ))
            };
            if let Some(why) = why {
                out.violations.push(format!(
                    "{} of {} existed on {from} before the run: {why} (S1: nothing exists nowhere)",
                    o.label(),
                    p.name
                ));
            }
        }
    }
    // Every removal the report lists was of an object that existed.
    let all_before = |cluster: &str| f.config_before(cluster).map(|c| objects(c, dfs));
    for r in &f.report.removed_config {
        out.judged += 1;
        let kind = removed_kind(&r.kind);
        let existed = all_before(&r.cluster).is_some_and(|objs| {
            objs.iter()
                .any(|o| o.kind == kind && o.paths.iter().any(|x| x == &r.path))
        });
        if !existed {
            out.violations.push(format!(
                "removed_config lists a {} at {} on {} that did not exist before the run",
                r.kind, r.path, r.cluster
            ));
        }
    }
    if out.judged == 0 {
        out.not_judged =
            Some("no config object was defined under the run's policies before the run".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::lab::tests::path;

    /// Objects of two kinds and two names, with zero to three sorted paths (exports).
    fn obj() -> impl Strategy<Value = Obj> {
        (
            prop::sample::select(vec!["smb_share", "nfs_export"]),
            prop::sample::select(vec!["x", "y"]),
            prop::collection::vec(path(), 0..3),
        )
            .prop_map(|(kind, name, mut paths)| {
                paths.sort();
                Obj {
                    kind,
                    name: name.to_string(),
                    paths,
                    value: Value::Null,
                }
            })
    }

    fn ptr(o: Option<&Obj>) -> Option<*const Obj> {
        o.map(|o| o as *const Obj)
    }

    proptest! {
        /// The index answers both questions as the scans it replaced: the same objects
        /// under a base, in the same order, and the same first equal object.
        #[test]
        fn objects_index_is_the_scan(
            objs in prop::collection::vec(obj(), 0..12),
            bases in prop::collection::vec(path(), 1..6),
            probes in prop::collection::vec(obj(), 1..6),
        ) {
            let index = Objects::new(&objs);
            for base in &bases {
                let got: Vec<*const Obj> = index.under(base).map(|o| o as *const Obj).collect();
                let want: Vec<*const Obj> = objs
                    .iter()
                    .filter(|o| o.under(base))
                    .map(|o| o as *const Obj)
                    .collect();
                prop_assert_eq!(got, want, "base {:?}", base);
            }
            for o in probes.iter().chain(objs.iter()) {
                for paths in [&o.paths, &objs.first().map_or(vec![], |x| x.paths.clone())] {
                    prop_assert_eq!(
                        ptr(index.same_as(o, paths)),
                        ptr(objs.iter().find(|t| o.same(t, paths)))
                    );
                }
            }
        }
    }
}

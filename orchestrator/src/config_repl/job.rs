//! One run of a config job: read the source's configuration under the policy's source path
//! (or take the cached copy when the source cannot be read in an uncontrolled failover),
//! cache it, compute the changes that make the target match ([`super::diff`]), apply them,
//! read the target back (a cluster may acknowledge a write it did not keep) and record the
//! run in the store.
//!
//! Both clusters are read through the run's shared [`ConfigReads`] (one listing of a zone
//! for all its policies). The read-back is not a listing: each object the job wrote is read
//! by its id or name (the id the cluster gave a new export, quota or schedule is taken from
//! its create answer), so a job's cost follows its own changes, not the zone's size.

use std::collections::BTreeMap;

use serde_json::json;

use super::diff::{self, Change, Counts, Mapping, Op};
use super::model::{self, ConfigSet, Kinds};
use super::reads::ConfigReads;
use super::store::{JobRun, Store, StoreError};
use crate::papi::{ConfigCollection, PapiClient, PapiError, SmbPermission};

/// What one job run works on.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub policy: String,
    /// Source and target cluster names.
    pub source: String,
    pub target: String,
    pub source_path: String,
    pub target_path: String,
    /// Access zones of the source (shares, exports and aliases are read zone by zone).
    pub zones: Vec<String>,
    /// The target's access zones.
    pub target_zones: Vec<String>,
    /// DFS mode: target copies are named `<prefix>X`.
    pub dfs_prefix: Option<String>,
    /// The prefix of inactive DFS copies: a target share `<prefix>X` is the copy of `X`
    /// in any mode ([`diff::Mapping::inactive_prefix`]).
    pub inactive_prefix: Option<String>,
    /// Object types to copy.
    pub kinds: Kinds,
    /// Original share permissions saved by the data-integrity lock, by `zone/share`: the
    /// target gets these, never the lock's Deny-Everyone.
    pub saved_permissions: std::sync::Arc<BTreeMap<String, Vec<SmbPermission>>>,
    /// `config-sync` or `failover:<run id>`, for the run history.
    pub trigger: String,
}

/// Where the source configuration came from.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// Read now from the source cluster.
    Live(&'a PapiClient),
    /// The source cannot be read (uncontrolled failover): use the last cached copy.
    Cache,
}

/// A job run that ended without error.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub changes: Vec<Change>,
    pub counts: BTreeMap<String, Counts>,
    /// When the configuration applied was read from the source (Unix ms).
    pub read_ms: i64,
    /// Set when it came from the cache: its age in milliseconds.
    pub cache_age_ms: Option<i64>,
    /// Objects of each type under the policy's source path.
    pub source_counts: BTreeMap<&'static str, usize>,
}

impl JobOutcome {
    /// One line for a report.
    pub fn summary(&self) -> String {
        if self.changes.is_empty() {
            "target configuration already matches".into()
        } else {
            self.changes
                .iter()
                .map(Change::label)
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

/// A job run failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read the configuration of {cluster}: {error}")]
    Read { cluster: String, error: PapiError },
    #[error("no cached configuration of {policy} (no config sync ran while {cluster} was reachable); nothing copied")]
    NoCache { policy: String, cluster: String },
    #[error("{what} is in zone {zone}, which does not exist on {target}")]
    NoZone {
        what: String,
        zone: String,
        target: String,
    },
    #[error("{change} on {target} failed: {error} (done before it: {done})")]
    Apply {
        change: String,
        target: String,
        error: PapiError,
        done: String,
        /// Whether a change may have taken effect (one was applied, or the failed call
        /// lost contact).
        acted: bool,
    },
    #[error("a change was refused before it acted: {0}")]
    Refused(String),
    #[error("configuration copies not as written on {target} after writing them: {missing}")]
    ReadBack { target: String, missing: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keep only the object types in `kinds` (the rest is not this run's to change).
fn only(mut set: ConfigSet, kinds: Kinds) -> ConfigSet {
    if !kinds.shares {
        set.shares.clear();
    }
    if !kinds.exports {
        set.exports.clear();
    }
    if !kinds.aliases {
        set.aliases.clear();
    }
    if !kinds.quotas {
        set.quotas.clear();
    }
    if !kinds.snapshot_schedules {
        set.schedules.clear();
    }
    if !kinds.dedupe_paths {
        set.dedupe_paths.clear();
    }
    set
}

/// The cache keeps every type: types this run did not read keep their cached copy.
fn merge_for_cache(read: &ConfigSet, old: Option<ConfigSet>, kinds: Kinds) -> ConfigSet {
    let mut out = read.clone();
    if let Some(old) = old {
        if !kinds.shares {
            out.shares = old.shares;
        }
        if !kinds.exports {
            out.exports = old.exports;
        }
        if !kinds.aliases {
            out.aliases = old.aliases;
        }
        if !kinds.quotas {
            out.quotas = old.quotas;
        }
        if !kinds.snapshot_schedules {
            out.schedules = old.schedules;
        }
        if !kinds.dedupe_paths {
            out.dedupe_paths = old.dedupe_paths;
        }
    }
    out.dedupe_all.clear();
    out
}

/// Run one job: `before_delete` is called with each delete before it acts (the caller
/// journals the definition, S1) and may refuse it. `reads` is the run's shared reads of
/// the clusters (a new [`ConfigReads`] for a job on its own).
pub async fn run(
    store: &Store,
    source: Source<'_>,
    target: &PapiClient,
    spec: &JobSpec,
    reads: &ConfigReads,
    before_delete: &(dyn Fn(&Change) -> Result<(), String> + Send + Sync),
) -> Result<JobOutcome, JobError> {
    let started = super::now_ms();
    let (src, read_ms, cache_age_ms) = match source {
        Source::Live(client) => {
            let read = reads
                .read(
                    &spec.source,
                    client,
                    &spec.zones,
                    &spec.source_path,
                    spec.kinds,
                )
                .await
                .map_err(|error| JobError::Read {
                    cluster: spec.source.clone(),
                    error,
                })?;
            let (mut set, read_ms) = (read.set, read.read_ms);
            // The target gets the shares' original permissions, never the lock.
            for sh in &mut set.shares {
                match spec
                    .saved_permissions
                    .get(&format!("{}/{}", sh.zone, sh.name))
                {
                    Some(orig) => sh.permissions = orig.clone(),
                    None => sh.permissions.retain(|p| !p.is_deny_everyone()),
                }
            }
            let old = store.cache(&spec.source, &spec.policy)?.map(|(_, c)| c);
            // Stamped with when the source was read, which a shared read may precede
            // the job's start by.
            store.put_cache(
                &spec.source,
                &spec.policy,
                read_ms,
                &merge_for_cache(&set, old, spec.kinds),
            )?;
            (set, read_ms, None)
        }
        Source::Cache => match store.cache(&spec.source, &spec.policy)? {
            Some((t, set)) => (set, t, Some(started.saturating_sub(t).max(0))),
            None => {
                return Err(JobError::NoCache {
                    policy: spec.policy.clone(),
                    cluster: spec.source.clone(),
                })
            }
        },
    };
    let src = only(src, spec.kinds);
    // The zones to read on the target: the source's (from the cache when the source is
    // down and its zones are unknown) that exist there.
    let mut zones: Vec<String> = spec.zones.clone();
    for z in src
        .shares
        .iter()
        .map(|x| &x.zone)
        .chain(src.exports.iter().map(|x| &x.zone))
        .chain(src.aliases.iter().map(|x| &x.zone))
    {
        if !zones.contains(z) {
            zones.push(z.clone());
        }
    }
    let target_zones: Vec<String> = zones
        .into_iter()
        .filter(|z| spec.target_zones.contains(z))
        .collect();
    for sh in &src.shares {
        if !target_zones.contains(&sh.zone) {
            return Err(JobError::NoZone {
                what: format!("share {}", sh.name),
                zone: sh.zone.clone(),
                target: spec.target.clone(),
            });
        }
    }
    let read_error = |error| JobError::Read {
        cluster: spec.target.clone(),
        error,
    };
    let tgt = reads
        .read(
            &spec.target,
            target,
            &target_zones,
            &spec.target_path,
            spec.kinds,
        )
        .await
        .map_err(read_error)?
        .set;
    let mapping = Mapping {
        from: &spec.source_path,
        to: &spec.target_path,
        dfs_prefix: spec.dfs_prefix.as_deref(),
        inactive_prefix: spec.inactive_prefix.as_deref(),
    };
    let changes = diff::plan(&src, &tgt, &mapping);
    // The job records each path it writes under in the shared reads itself (before the
    // write: a read in flight may or may not see it), so its own writes do not stale the
    // reads of other policies' trees.
    let writer = target.tracking_config_writes();
    let mut done: Vec<&Change> = Vec::new();
    // The ids the cluster gave the objects created, by index in `changes`.
    let mut created: BTreeMap<usize, String> = BTreeMap::new();
    for (i, c) in changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind != "dedupe_path")
    {
        if c.op == Op::Delete {
            before_delete(c).map_err(JobError::Refused)?;
        }
        for p in change_paths(c) {
            reads.wrote(&spec.target, p).await;
        }
        let applied = apply(&writer, c).await;
        if let Ok(Some(id)) = &applied {
            created.insert(i, id.clone());
        }
        if let Err(error) = applied {
            let acted = !done.is_empty() || error.is_unreachable();
            return Err(JobError::Apply {
                change: c.intent(),
                target: spec.target.clone(),
                error,
                done: if done.is_empty() {
                    "nothing".into()
                } else {
                    done.iter()
                        .map(|c| c.label())
                        .collect::<Vec<_>>()
                        .join("; ")
                },
                acted,
            });
        }
        done.push(c);
    }
    if let Some(list) = diff::dedupe_list_after(&tgt, &changes) {
        for c in changes
            .iter()
            .filter(|c| c.kind == "dedupe_path" && c.op == Op::Delete)
        {
            before_delete(c).map_err(JobError::Refused)?;
        }
        for c in changes.iter().filter(|c| c.kind == "dedupe_path") {
            reads.wrote(&spec.target, &c.path).await;
        }
        writer
            .set_dedupe_paths(&list)
            .await
            .map_err(|error| JobError::Apply {
                change: "write the dedupe paths".into(),
                target: spec.target.clone(),
                acted: true,
                error,
                done: format!("{} other change(s)", done.len()),
            })?;
    }
    // Read back what this run wrote (only when it wrote something: an unchanged target was
    // just read).
    if !changes.is_empty() {
        let after = read_back(target, &tgt, &changes, &created, &target_zones, spec)
            .await
            .map_err(read_error)?;
        let left = diff::plan(&src, &after, &mapping);
        if !left.is_empty() {
            return Err(JobError::ReadBack {
                target: spec.target.clone(),
                missing: left
                    .iter()
                    .map(|c| {
                        format!(
                            "{} still to be {:?}",
                            c.kind.replace('_', " ") + " " + &c.key,
                            c.op
                        )
                        .to_lowercase()
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let counts = diff::count(&changes);
    let outcome = JobOutcome {
        source_counts: src.counts(),
        changes,
        counts,
        read_ms,
        cache_age_ms,
    };
    store.record_run(&JobRun {
        source: spec.source.clone(),
        policy: spec.policy.clone(),
        trigger: spec.trigger.clone(),
        started_ms: started,
        ended_ms: super::now_ms(),
        result: if cache_age_ms.is_some() {
            "from_cache".into()
        } else {
            "succeeded".into()
        },
        counts: outcome.counts.clone(),
        changes: outcome.changes.clone(),
        detail: outcome.summary(),
    })?;
    Ok(outcome)
}

/// Record a failed run in the job's history (best effort: the failure itself is what the
/// caller reports).
pub fn record_failure(store: &Store, spec: &JobSpec, result: &str, err: &JobError) {
    let now = super::now_ms();
    let _ = store.record_run(&JobRun {
        source: spec.source.clone(),
        policy: spec.policy.clone(),
        trigger: spec.trigger.clone(),
        started_ms: now,
        ended_ms: now,
        result: result.into(),
        counts: BTreeMap::new(),
        changes: vec![],
        detail: err.to_string(),
    });
}

/// The collection a change's object type lives in (`None`: dedupe paths, one list).
fn collection(kind: &str) -> Option<ConfigCollection> {
    Some(match kind {
        "smb_share" => ConfigCollection::SmbShares,
        "nfs_export" => ConfigCollection::NfsExports,
        "nfs_alias" => ConfigCollection::NfsAliases,
        "quota" => ConfigCollection::Quotas,
        "snapshot_schedule" => ConfigCollection::SnapshotSchedules,
        _ => return None,
    })
}

/// Apply one change; a create answers the id the cluster gave the object.
async fn apply(t: &PapiClient, c: &Change) -> Result<Option<String>, PapiError> {
    // Dedupe paths are one list, written once by the caller.
    let Some(coll) = collection(&c.kind) else {
        return Ok(None);
    };
    let zone = Some(c.zone.as_deref().unwrap_or("System"));
    match c.op {
        Op::Create => t.create_config_id(coll, zone, &c.body).await,
        Op::Update => t
            .update_config(coll, zone, &c.key, &c.body)
            .await
            .map(|_| None),
        Op::Delete => t.delete_config(coll, zone, &c.key).await.map(|_| None),
    }
}

/// The target paths a change writes under: where the object goes and, for an update or
/// delete, where it was.
fn change_paths(c: &Change) -> Vec<&str> {
    let mut out = vec![c.path.as_str()];
    if let Some(p) = c.before.get("path").and_then(serde_json::Value::as_str) {
        out.push(p);
    }
    if let Some(ps) = c.before.get("paths").and_then(serde_json::Value::as_array) {
        out.extend(ps.iter().filter_map(serde_json::Value::as_str));
    }
    out
}

/// The target's configuration under the job's target path after `changes` were applied to
/// `before`: every object a change touched is read again by its id or name (a create's id
/// from `created`), the others are as `before` read them. When a new object's id is not
/// known (the cluster's create answer had none) the target is listed whole instead.
async fn read_back(
    target: &PapiClient,
    before: &ConfigSet,
    changes: &[Change],
    created: &BTreeMap<usize, String>,
    zones: &[String],
    spec: &JobSpec,
) -> Result<ConfigSet, PapiError> {
    let unknown_id = changes.iter().enumerate().any(|(i, c)| {
        c.op == Op::Create
            && matches!(
                c.kind.as_str(),
                "nfs_export" | "quota" | "snapshot_schedule"
            )
            && !created.contains_key(&i)
    });
    if unknown_id {
        return model::read(target, zones, &spec.target_path, spec.kinds).await;
    }
    let mut after = before.clone();
    for (i, c) in changes.iter().enumerate() {
        let Some(coll) = collection(&c.kind) else {
            continue;
        };
        let zone = c.zone.as_deref().unwrap_or("System");
        // How the cluster addresses the object now.
        let id = created.get(&i).unwrap_or(&c.key);
        let fresh = target.config_object(coll, Some(zone), id).await?;
        match coll {
            ConfigCollection::SmbShares => {
                after
                    .shares
                    .retain(|s| !(s.zone == zone && s.name == c.key));
                if let Some(raw) = &fresh {
                    after.shares.extend(model::share_def(zone, raw));
                }
            }
            ConfigCollection::NfsExports => {
                after.exports.retain(|e| !(e.zone == zone && e.id == *id));
                if let Some(e) = fresh.and_then(|v| serde_json::from_value(v).ok()) {
                    after.exports.push(model::export_def(zone, e));
                }
            }
            ConfigCollection::NfsAliases => {
                after
                    .aliases
                    .retain(|a| !(a.zone == zone && a.name == c.key));
                if let Some(a) = fresh.and_then(|v| serde_json::from_value(v).ok()) {
                    after.aliases.push(model::alias_def(zone, a));
                }
            }
            ConfigCollection::Quotas => {
                after.quotas.retain(|q| q.id != *id);
                if let Some(q) = fresh.and_then(|v| serde_json::from_value(v).ok()) {
                    after.quotas.push(model::quota_def(q));
                }
            }
            ConfigCollection::SnapshotSchedules => {
                after
                    .schedules
                    .retain(|s| s.id != *id && !(s.id.is_empty() && s.name == *id));
                if let Some(s) = fresh.and_then(|v| serde_json::from_value(v).ok()) {
                    after.schedules.push(model::schedule_def(s));
                }
            }
        }
    }
    if changes.iter().any(|c| c.kind == "dedupe_path") {
        after.dedupe_all = target.dedupe_settings().await?.paths;
    }
    // An object read back may have moved out of the tree (or into it): keep what is under.
    Ok(after.under(&spec.target_path))
}

/// `json!` of a change's definition for a removal record.
pub fn definition(c: &Change) -> serde_json::Value {
    if c.before.is_null() {
        json!({"path": c.path})
    } else {
        c.before.clone()
    }
}

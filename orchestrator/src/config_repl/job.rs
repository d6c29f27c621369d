//! One run of a config job: read the source's configuration under the policy's source path
//! (or take the cached copy when the source cannot be read in an uncontrolled failover),
//! cache it, compute the changes that make the target match ([`super::diff`]), apply them,
//! read the target back (a cluster may acknowledge a write it did not keep) and record the
//! run in the store.

use std::collections::BTreeMap;

use serde_json::json;

use super::diff::{self, Change, Counts, Mapping, Op};
use super::model::{self, ConfigSet, Kinds};
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
    pub saved_permissions: BTreeMap<String, Vec<SmbPermission>>,
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
/// journals the definition, S1) and may refuse it.
pub async fn run(
    store: &Store,
    source: Source<'_>,
    target: &PapiClient,
    spec: &JobSpec,
    before_delete: &(dyn Fn(&Change) -> Result<(), String> + Send + Sync),
) -> Result<JobOutcome, JobError> {
    let started = super::now_ms();
    let (src, read_ms, cache_age_ms) = match source {
        Source::Live(client) => {
            let mut set = model::read(client, &spec.zones, &spec.source_path, spec.kinds)
                .await
                .map_err(|error| JobError::Read {
                    cluster: spec.source.clone(),
                    error,
                })?;
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
            store.put_cache(
                &spec.source,
                &spec.policy,
                started,
                &merge_for_cache(&set, old, spec.kinds),
            )?;
            (set, started, None)
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
    let read_target = || async {
        model::read(target, &target_zones, &spec.target_path, spec.kinds)
            .await
            .map_err(|error| JobError::Read {
                cluster: spec.target.clone(),
                error,
            })
    };
    let tgt = read_target().await?;
    let mapping = Mapping {
        from: &spec.source_path,
        to: &spec.target_path,
        dfs_prefix: spec.dfs_prefix.as_deref(),
        inactive_prefix: spec.inactive_prefix.as_deref(),
    };
    let changes = diff::plan(&src, &tgt, &mapping);
    let mut done: Vec<&Change> = Vec::new();
    for c in changes.iter().filter(|c| c.kind != "dedupe_path") {
        if c.op == Op::Delete {
            before_delete(c).map_err(JobError::Refused)?;
        }
        if let Err(error) = apply(target, c).await {
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
        target
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
        let after = read_target().await?;
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

async fn apply(t: &PapiClient, c: &Change) -> Result<(), PapiError> {
    let coll = match c.kind.as_str() {
        "smb_share" => ConfigCollection::SmbShares,
        "nfs_export" => ConfigCollection::NfsExports,
        "nfs_alias" => ConfigCollection::NfsAliases,
        "quota" => ConfigCollection::Quotas,
        "snapshot_schedule" => ConfigCollection::SnapshotSchedules,
        // Dedupe paths are one list, written once by the caller.
        _ => return Ok(()),
    };
    let zone = Some(c.zone.as_deref().unwrap_or("System"));
    match c.op {
        Op::Create => t.create_config(coll, zone, &c.body).await,
        Op::Update => t.update_config(coll, zone, &c.key, &c.body).await,
        Op::Delete => t.delete_config(coll, zone, &c.key).await,
    }
}

/// `json!` of a change's definition for a removal record.
pub fn definition(c: &Change) -> serde_json::Value {
    if c.before.is_null() {
        json!({"path": c.path})
    } else {
        c.before.clone()
    }
}

//! One read of a cluster's configuration shared by the config jobs of a failover or of a
//! `config-sync` pass.
//!
//! PAPI lists a zone's SMB shares, NFS exports and aliases (and a cluster's quotas and
//! snapshot schedules) whole: it has no path filter. A job reads only the objects under its
//! policy's path, so with one read per job a zone of N policies with a share each was
//! listed N times at N shares a listing, and a 1000-policy failover spent nearly all its
//! time there. Here each cluster is read once and every job takes its policy's part
//! ([`ConfigSet::under`]), as a phased tool reads a cluster once per replication cycle.
//!
//! A shared read is used only while it is still what the cluster would answer for the
//! asking job's tree; it is read again when
//! * it is older than [`ConfigReads::max_age_ms`] (changes made by others, outside the
//!   orchestrator, show up within that bound; a failover's option
//!   `config_read_max_age_ms`, five minutes by default);
//! * the orchestrator wrote configuration of a type it holds on the cluster by any other
//!   means since it was read (a step renaming a share, the lock editing permissions:
//!   counted by the client, [`PapiClient::untracked_config_writes`]);
//! * a config job wrote under a path overlapping the asking job's tree (jobs record each
//!   path before they write it, [`ConfigReads::wrote`]; the record is kept for the rest of
//!   the run, so a retried job, or a policy nested in another, always reads afresh);
//! * it does not hold the zones or object types asked for.
//!
//! One read per cluster is in flight at a time: jobs that ask meanwhile wait for it and
//! share it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Included};
use std::sync::{Arc, Mutex};

use super::model::{self, ConfigSet, Kinds, PathIndex};
use crate::naming::{under_ranges, Trees};
use crate::papi::{PapiClient, PapiError};

/// How old a shared read may be before a job reads the cluster again, by default (virtual
/// time under `drill`; a failover's option `config_read_max_age_ms`). Five minutes is the
/// usual interval of scheduled config replication: a change made by someone else reaches
/// the target no later than the admins' own replication would bring it.
pub const DEFAULT_MAX_AGE_MS: u64 = 300_000;

/// The shared reads of one failover or `config-sync` pass (see the module doc).
#[derive(Debug)]
pub struct ConfigReads {
    max_age_ms: u64,
    clusters: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl Default for ConfigReads {
    fn default() -> Self {
        ConfigReads::new(DEFAULT_MAX_AGE_MS)
    }
}

/// What is known of one cluster.
#[derive(Debug, Default)]
struct Slot {
    read: Option<Snapshot>,
    /// Paths config jobs wrote under on this cluster (kept for the whole run).
    dirty: Dirty,
}

/// The paths config jobs wrote under, kept so that "does any of them overlap this tree?"
/// is a few ordered-set lookups instead of a scan: a 1000-policy failover records a path
/// per policy and asks once per job, and the scan was a million
/// [`path_under`](crate::naming::path_under) calls.
///
/// `d` overlaps `base` when `path_under(d, base)` or `path_under(base, d)`. The first is a
/// range query on the paths as written (`raw`, see [`under_ranges`]). The second holds
/// only when `d` without its trailing slashes (`trimmed`) is `base` itself or `base` cut
/// just before one of its `/`: a handful of lookups, one per component of `base`
/// ([`Trees`]). Both are exactly `path_under`'s rule (the proptest below compares them
/// with the scan).
#[derive(Debug, Default)]
struct Dirty {
    /// The paths as recorded.
    raw: BTreeSet<String>,
    /// The same paths as the bases of trees.
    trimmed: Trees,
}

impl Dirty {
    fn insert(&mut self, path: &str) {
        self.raw.insert(path.to_string());
        self.trimmed.insert(path);
    }

    /// Whether some recorded `d` has `path_under(d, base)`: a range query
    /// ([`under_ranges`]).
    fn any_under(&self, base: &str) -> bool {
        under_ranges(base).iter().any(|(lo, hi)| {
            self.raw
                .range::<str, _>((Included(lo.as_str()), Excluded(hi.as_str())))
                .next()
                .is_some()
        })
    }

    /// Whether some recorded `d` has `path_under(base, d)` (see [`Trees`]).
    fn any_above(&self, base: &str) -> bool {
        self.trimmed.covers(base)
    }

    /// Whether some recorded path and `base` overlap (one lies under the other).
    fn overlaps(&self, base: &str) -> bool {
        self.any_under(base) || self.any_above(base)
    }
}

#[derive(Debug)]
struct Snapshot {
    set: Arc<ConfigSet>,
    /// `set`'s objects by path: each job's part is a range query (see [`PathIndex`]).
    index: PathIndex,
    zones: Vec<String>,
    kinds: Kinds,
    at: tokio::time::Instant,
    /// When it was read, Unix ms ([`super::now_ms`]).
    read_ms: i64,
    /// The client's untracked configuration writes when the read began (per collection).
    writes: [u64; 6],
}

/// A job's part of a shared read.
#[derive(Debug, Clone)]
pub struct Read {
    pub set: ConfigSet,
    /// When the cluster was read (Unix ms).
    pub read_ms: i64,
}

/// `kinds` as flags in the order of [`crate::papi::CONFIG_PATHS`].
fn flags(k: Kinds) -> [bool; 6] {
    [
        k.shares,
        k.exports,
        k.aliases,
        k.quotas,
        k.snapshot_schedules,
        k.dedupe_paths,
    ]
}

fn covers(have: Kinds, want: Kinds) -> bool {
    flags(have).iter().zip(flags(want)).all(|(h, w)| *h || !w)
}

/// Whether the writes counted since a read (`then` → `now`) touched a collection the read
/// holds (`kinds`): a quota written on the target does not stale a read of its shares.
fn untouched(kinds: Kinds, then: [u64; 6], now: [u64; 6]) -> bool {
    flags(kinds)
        .iter()
        .zip(then.iter().zip(now))
        .all(|(held, (t, n))| !held || *t == n)
}

impl ConfigReads {
    /// Reads that are taken again once older than `max_age_ms` (0: every job reads afresh).
    pub fn new(max_age_ms: u64) -> Self {
        ConfigReads {
            max_age_ms,
            clusters: Mutex::default(),
        }
    }

    /// The age bound in force.
    pub fn max_age_ms(&self) -> u64 {
        self.max_age_ms
    }

    fn slot(&self, cluster: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut m = self.clusters.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(cluster.to_string()).or_default().clone()
    }

    /// The configuration of `cluster` under `base` (the object types in `kinds`, in
    /// `zones`), from the shared read when it is still good for `base`, else read now.
    pub async fn read(
        &self,
        cluster: &str,
        client: &PapiClient,
        zones: &[String],
        base: &str,
        kinds: Kinds,
    ) -> Result<Read, PapiError> {
        let slot = self.slot(cluster);
        let mut g = slot.lock().await;
        let writes = client.untracked_config_writes();
        let good = g.read.as_ref().is_some_and(|s| {
            untouched(s.kinds, s.writes, writes)
                && covers(s.kinds, kinds)
                && zones.iter().all(|z| s.zones.contains(z))
                && s.at.elapsed().as_millis() <= u128::from(self.max_age_ms)
        }) && !g.dirty.overlaps(base);
        if !good {
            // Forget the old read first: if this one fails, nothing stale is left.
            g.read = None;
            let at = tokio::time::Instant::now();
            let read_ms = super::now_ms();
            let set = model::read_all(client, zones, kinds).await?;
            g.read = Some(Snapshot {
                index: PathIndex::new(&set),
                set: Arc::new(set),
                zones: zones.to_vec(),
                kinds,
                at,
                read_ms,
                writes,
            });
        }
        let s = g.read.as_ref().expect("set above");
        Ok(Read {
            set: s.index.under(&s.set, base),
            read_ms: s.read_ms,
        })
    }

    /// A config job is about to write under `path` on `cluster`: reads of trees
    /// overlapping it go to the cluster from now on. Waits for a read in flight (which
    /// may or may not see the write, so it must not serve that tree either).
    pub async fn wrote(&self, cluster: &str, path: &str) {
        let slot = self.slot(cluster);
        let mut g = slot.lock().await;
        if !g.dirty.any_above(path) {
            g.dirty.insert(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::path_under;

    /// Whether two trees share a directory (one lies under the other): the scan's rule.
    fn overlaps(a: &str, b: &str) -> bool {
        path_under(a, b) || path_under(b, a)
    }

    #[test]
    fn overlap_is_either_way_and_by_component() {
        assert!(overlaps("/ifs/data", "/ifs/data/a"));
        assert!(overlaps("/ifs/data/a", "/ifs/data"));
        assert!(overlaps("/ifs/data", "/ifs/data"));
        assert!(!overlaps("/ifs/data/a", "/ifs/data/ab"));
        assert!(!overlaps("/ifs/data/a", "/ifs/data/b"));
    }

    use crate::naming::tests::apath as path;

    proptest::proptest! {
        /// The ordered sets answer what the scans over the recorded paths answered, and
        /// `wrote`'s "already covered" test keeps the same paths out.
        #[test]
        fn dirty_sets_agree_with_the_scan(
            writes in proptest::collection::vec(path(), 0..12),
            asks in proptest::collection::vec(path(), 1..12),
        ) {
            let mut scan: Vec<String> = Vec::new();
            let mut set = Dirty::default();
            for w in &writes {
                let covered = scan.iter().any(|d| path_under(w, d));
                proptest::prop_assert_eq!(set.any_above(w), covered, "write {:?} after {:?}", w, scan);
                if !covered {
                    scan.push(w.clone());
                    set.insert(w);
                }
                for b in &asks {
                    proptest::prop_assert_eq!(
                        set.overlaps(b),
                        scan.iter().any(|d| overlaps(d, b)),
                        "ask {:?} with {:?}", b, scan
                    );
                }
            }
        }
    }

    #[test]
    fn dirty_set_edge_cases() {
        let mut d = Dirty::default();
        d.insert("/ifs/data/a/");
        assert!(d.overlaps("/ifs/data/a"));
        assert!(d.overlaps("/ifs/data"));
        assert!(d.overlaps("/ifs/data/a/b"));
        assert!(!d.overlaps("/ifs/data/ab"));
        assert!(!d.overlaps("/ifs/data/a-b"));
        assert!(d.overlaps("/"));
        let mut root = Dirty::default();
        root.insert("/");
        assert!(root.overlaps("/ifs/x"));
        // `path_under("/", "")`: the empty base is the root.
        assert!(root.overlaps(""));
    }

    #[test]
    fn only_writes_to_held_collections_stale_a_read() {
        let k = Kinds::WITHOUT_QUOTAS;
        assert!(untouched(k, [1, 2, 3, 4, 5, 6], [1, 2, 3, 9, 5, 6]));
        assert!(!untouched(k, [1, 2, 3, 4, 5, 6], [2, 2, 3, 4, 5, 6]));
        assert!(!untouched(
            Kinds::ALL,
            [1, 2, 3, 4, 5, 6],
            [1, 2, 3, 9, 5, 6]
        ));
    }

    #[test]
    fn kinds_cover_only_what_they_hold() {
        assert!(covers(Kinds::ALL, Kinds::WITHOUT_QUOTAS));
        assert!(!covers(Kinds::WITHOUT_QUOTAS, Kinds::ALL));
        assert!(covers(Kinds::WITHOUT_QUOTAS, Kinds::WITHOUT_QUOTAS));
    }
}

//! A snapshot of the files under some root: what a SyncIQ job copies, a policy's `synced`
//! baseline and a target's `last_good`.
//!
//! Why not a `BTreeMap<String, FileEntry>`: a large run keeps one or more snapshots per
//! policy alive for the whole run (every run job takes one), and as a map each file cost a
//! tree slot plus its own key allocation, several times over. A snapshot is built once and
//! never changed, so here it is a sorted `Vec` (looked up by binary search) whose keys are
//! shared: a snapshot taken of a tree a policy copied before reuses the keys of the
//! previous snapshot ([`Snapshot::from_sorted_sharing`]) instead of allocating them again.
//! Serialised as the plain map, so the state dump is unchanged.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::model::FileEntry;

/// Files keyed by path relative to the snapshot's root (with a leading `/`), in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Strictly ascending by key.
    entries: Vec<(Arc<str>, FileEntry)>,
}

impl Snapshot {
    /// From `(key, entry)` pairs in strictly ascending key order (as a range of a sorted map
    /// gives them); a key equal to one of `prev`'s shares `prev`'s allocation.
    pub(crate) fn from_sorted_sharing<'a>(
        items: impl Iterator<Item = (&'a str, &'a FileEntry)> + Clone,
        prev: &Snapshot,
    ) -> Snapshot {
        let mut old = prev.entries.iter().peekable();
        // Counted first: the snapshot lives on, and a vector grown by doubling would keep
        // up to twice its size (a filtered range cannot say how long it is).
        let mut entries = Vec::with_capacity(items.clone().count());
        for (k, e) in items {
            debug_assert!(entries.last().is_none_or(|(l, _): &(Arc<str>, _)| &**l < k));
            // Both are ascending: skip the previous keys below this one.
            while old.next_if(|(o, _)| &**o < k).is_some() {}
            let key = match old.next_if(|(o, _)| &**o == k) {
                Some((o, _)) => o.clone(),
                None => Arc::from(k),
            };
            entries.push((key, e.clone()));
        }
        Snapshot { entries }
    }

    /// This snapshot's entries whose key `prev` lacks or holds at another version (what a
    /// run copies), in key order. One walk over both: the keys a snapshot shares with
    /// `prev` are mostly the same allocation, so most comparisons are a pointer compare
    /// (a lookup in `prev` per file was most of a job start's time).
    pub fn changed_from<'a>(&'a self, prev: &'a Snapshot) -> impl Iterator<Item = &'a FileEntry> {
        let mut old = prev.entries.iter().peekable();
        self.entries.iter().filter_map(move |(k, e)| {
            while old
                .next_if(|(o, _)| !Arc::ptr_eq(o, k) && **o < **k)
                .is_some()
            {}
            match old.next_if(|(o, _)| Arc::ptr_eq(o, k) || **o == **k) {
                Some((_, p)) if p.version == e.version => None,
                _ => Some(e),
            }
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&FileEntry> {
        self.entries
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &FileEntry)> + Clone + '_ {
        self.entries.iter().map(|(k, e)| (&**k, e))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|(k, _)| &**k)
    }

    pub fn values(&self) -> impl Iterator<Item = &FileEntry> + '_ {
        self.entries.iter().map(|(_, e)| e)
    }
}

/// As a map would be built: for equal keys the later entry wins.
impl FromIterator<(String, FileEntry)> for Snapshot {
    fn from_iter<I: IntoIterator<Item = (String, FileEntry)>>(iter: I) -> Snapshot {
        let m: BTreeMap<String, FileEntry> = iter.into_iter().collect();
        Snapshot {
            entries: m.into_iter().map(|(k, e)| (Arc::from(k), e)).collect(),
        }
    }
}

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, e) in &self.entries {
            m.serialize_entry(&**k, e)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry() -> impl Strategy<Value = FileEntry> {
        (0u64..3, 0u64..3, 0u64..2).prop_map(|(version, size_bytes, mtime_ms)| FileEntry {
            version,
            size_bytes,
            mtime_ms,
        })
    }

    fn map() -> impl Strategy<Value = BTreeMap<String, FileEntry>> {
        let key = prop::sample::select(vec!["", "/a", "/a/b", "/ab", "/b", "x", "/é"]);
        prop::collection::btree_map(key.prop_map(String::from), entry(), 0..8)
    }

    proptest! {
        /// A snapshot answers as the map it was made from: length, lookups, order, and the
        /// serialisation (the state dump); sharing a previous snapshot's keys changes none
        /// of it, and equal keys do share their allocation.
        #[test]
        fn snapshot_agrees_with_a_map(
            m in map(),
            prev in map(),
            probes in prop::collection::vec(".{0,3}", 0..6),
        ) {
            let prev: Snapshot = prev.into_iter().collect();
            let shared = Snapshot::from_sorted_sharing(m.iter().map(|(k, e)| (k.as_str(), e)), &prev);
            let plain: Snapshot = m.clone().into_iter().collect();
            prop_assert_eq!(&shared, &plain);
            for s in [&shared, &plain] {
                prop_assert_eq!(s.len(), m.len());
                prop_assert_eq!(s.is_empty(), m.is_empty());
                let got: Vec<(&str, &FileEntry)> = s.iter().collect();
                let want: Vec<(&str, &FileEntry)> = m.iter().map(|(k, e)| (k.as_str(), e)).collect();
                prop_assert_eq!(got, want);
                prop_assert!(s.keys().eq(m.keys().map(String::as_str)));
                prop_assert!(s.values().eq(m.values()));
                for k in m.keys().map(String::as_str).chain(probes.iter().map(String::as_str)) {
                    prop_assert_eq!(s.get(k), m.get(k));
                }
                prop_assert_eq!(
                    serde_json::to_string(s).expect("json"),
                    serde_json::to_string(&m).expect("json")
                );
            }
            let changed: Vec<&FileEntry> = shared.changed_from(&prev).collect();
            let want: Vec<&FileEntry> = m
                .iter()
                .filter(|(k, e)| prev.get(k).map(|p| p.version) != Some(e.version))
                .map(|(_, e)| e)
                .collect();
            prop_assert_eq!(&changed, &want);
            prop_assert_eq!(plain.changed_from(&prev).collect::<Vec<_>>(), want);
            for (k, _) in &shared.entries {
                if let Some((p, _)) = prev.entries.iter().find(|(p, _)| p == k) {
                    prop_assert!(Arc::ptr_eq(k, p));
                }
            }
        }
    }
}

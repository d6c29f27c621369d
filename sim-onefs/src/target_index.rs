//! A cluster's SyncIQ target policies, keyed by id, with an index by target path and one
//! by name.
//!
//! Why: "is this path read-only to clients?" (every client write, every judge sample of a
//! policy's writability) asks which target policies' domains contain a path. A scan of
//! every target policy made that O(policies) per question and O(policies²) per run; the
//! index answers it from the path's ancestors (a map lookup for each ancestor whose length
//! some target path has). Likewise
//! PAPI names a target policy by id or name (`allow_write` jobs are posted by name): the
//! name index answers that without a scan.
//!
//! The index cannot drift: the map is private, reads go through `Deref` to the plain map,
//! and every change goes through [`TargetPolicies::insert`], [`TargetPolicies::remove`] or
//! the [`TpMut`] guard of [`TargetPolicies::get_mut`], which re-indexes if the target path
//! was changed through it. Serialised as the plain map (the state dump is unchanged).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use serde::Serialize;

use crate::synciq::TargetPolicy;

/// Target policies by id, indexed by target path.
#[derive(Clone, Debug, Default)]
pub struct TargetPolicies {
    items: BTreeMap<String, TargetPolicy>,
    /// Target path without trailing `/` → ids of the target policies with that path.
    by_path: PathIndex,
    /// Name → ids of the target policies with that name.
    by_name: BTreeMap<String, BTreeSet<String>>,
}

/// The index key of a target path: [`crate::model::is_under`] compares against the root
/// with its trailing slashes trimmed.
fn key(target_path: &str) -> &str {
    target_path.trim_end_matches('/')
}

/// Target path (index key) → ids, and how many keys there are of each length.
///
/// Why the lengths: `covering` would look up every ancestor of a path (each a walk down the
/// tree comparing strings), yet target paths are few and mostly alike in length: trying
/// only the lengths some key has makes it a few byte checks (every client write asks). Kept in step by the only two changes,
/// [`PathIndex::index`] and [`PathIndex::unindex`].
#[derive(Clone, Debug, Default)]
struct PathIndex {
    ids: BTreeMap<String, BTreeSet<String>>,
    /// Key length in bytes → number of keys of that length (no entry with a count of 0).
    lens: BTreeMap<usize, usize>,
}

impl PathIndex {
    fn unindex(&mut self, path: &str, id: &str) {
        if let Some(ids) = self.ids.get_mut(key(path)) {
            ids.remove(id);
            if ids.is_empty() {
                self.ids.remove(key(path));
                let len = key(path).len();
                if let Some(n) = self.lens.get_mut(&len) {
                    *n -= 1;
                    if *n == 0 {
                        self.lens.remove(&len);
                    }
                }
            }
        }
    }

    fn index(&mut self, path: &str, id: &str) {
        let ids = match self.ids.entry(key(path).to_string()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                *self.lens.entry(key(path).len()).or_default() += 1;
                e.insert(BTreeSet::new())
            }
        };
        ids.insert(id.to_string());
    }

    /// The ids stored under the roots `r` with `is_under(path, r)`: `path` itself and each
    /// prefix of it that ends just before a `/` (the empty prefix included, which is the
    /// key of a target path `/`). Those of them that are keys have a length some key has:
    /// only those lengths are tried (a prefix of length `n` is a root when it is all of
    /// `path` or `path[n]` is `/`), not every `/` of the path.
    fn covering<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a BTreeSet<String>> {
        self.lens.keys().filter_map(move |&n| {
            let root = match path.as_bytes().get(n) {
                None if n == path.len() => path,
                // `/` is ASCII: never inside another character, so `n` is a boundary.
                Some(b'/') => &path[..n],
                _ => return None,
            };
            self.ids.get(root)
        })
    }
}

fn unindex_name(by_name: &mut BTreeMap<String, BTreeSet<String>>, name: &str, id: &str) {
    if let Some(ids) = by_name.get_mut(name) {
        ids.remove(id);
        if ids.is_empty() {
            by_name.remove(name);
        }
    }
}

fn index_name(by_name: &mut BTreeMap<String, BTreeSet<String>>, name: &str, id: &str) {
    by_name
        .entry(name.to_string())
        .or_default()
        .insert(id.to_string());
}

impl TargetPolicies {
    pub fn new() -> TargetPolicies {
        TargetPolicies::default()
    }

    pub fn insert(&mut self, id: String, tp: TargetPolicy) -> Option<TargetPolicy> {
        self.by_path.index(&tp.target_path, &id);
        index_name(&mut self.by_name, &tp.name, &id);
        let old = self.items.insert(id.clone(), tp);
        if let Some(o) = &old {
            if key(&o.target_path) != key(&self.items[&id].target_path) {
                self.by_path.unindex(&o.target_path, &id);
            }
            if o.name != self.items[&id].name {
                unindex_name(&mut self.by_name, &o.name, &id);
            }
        }
        old
    }

    pub fn remove(&mut self, id: &str) -> Option<TargetPolicy> {
        let old = self.items.remove(id)?;
        self.by_path.unindex(&old.target_path, id);
        unindex_name(&mut self.by_name, &old.name, id);
        Some(old)
    }

    /// Mutable access to one target policy; a changed target path is re-indexed when the
    /// guard is dropped.
    pub fn get_mut(&mut self, id: &str) -> Option<TpMut<'_>> {
        let tp = self.items.get_mut(id)?;
        let old_path = tp.target_path.clone();
        let old_name = tp.name.clone();
        Some(TpMut {
            tp,
            by_path: &mut self.by_path,
            by_name: &mut self.by_name,
            id: id.to_string(),
            old_path,
            old_name,
        })
    }

    /// The target policy `id`, inserted from `make` if there is none.
    pub fn get_or_insert_with(
        &mut self,
        id: &str,
        make: impl FnOnce() -> TargetPolicy,
    ) -> TpMut<'_> {
        if !self.items.contains_key(id) {
            self.insert(id.to_string(), make());
        }
        self.get_mut(id).expect("present")
    }

    /// The id of the first target policy (in id order) named `name`.
    pub fn id_named(&self, name: &str) -> Option<&String> {
        self.by_name.get(name).and_then(|ids| ids.first())
    }

    /// Every target policy whose domain contains `path` (`is_under(path, target_path)`),
    /// with its id, in no particular order.
    pub fn covering<'a>(
        &'a self,
        path: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a TargetPolicy)> {
        self.by_path
            .covering(path)
            .flatten()
            .filter_map(|id| self.items.get_key_value(id))
    }
}

impl Deref for TargetPolicies {
    type Target = BTreeMap<String, TargetPolicy>;
    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl Serialize for TargetPolicies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

/// Mutable access to a target policy that keeps the path index right.
pub struct TpMut<'a> {
    tp: &'a mut TargetPolicy,
    by_path: &'a mut PathIndex,
    by_name: &'a mut BTreeMap<String, BTreeSet<String>>,
    /// The key it is stored under.
    id: String,
    old_path: String,
    old_name: String,
}

impl Deref for TpMut<'_> {
    type Target = TargetPolicy;
    fn deref(&self) -> &TargetPolicy {
        self.tp
    }
}

impl DerefMut for TpMut<'_> {
    fn deref_mut(&mut self) -> &mut TargetPolicy {
        self.tp
    }
}

impl Drop for TpMut<'_> {
    fn drop(&mut self) {
        if key(&self.old_path) != key(&self.tp.target_path) {
            self.by_path.unindex(&self.old_path, &self.id);
            self.by_path.index(&self.tp.target_path, &self.id);
        }
        if self.old_name != self.tp.name {
            unindex_name(self.by_name, &self.old_name, &self.id);
            index_name(self.by_name, &self.tp.name, &self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_under;
    use crate::synciq::{FailoverFailbackState, JobState};
    use proptest::prelude::*;

    fn tp(id: &str, path: &str) -> TargetPolicy {
        TargetPolicy {
            id: id.to_string(),
            name: format!("n{id}"),
            source_cluster_guid: String::new(),
            source_host: String::new(),
            target_path: path.to_string(),
            last_job_state: JobState::Finished,
            failover_failback_state: FailoverFailbackState::WritesDisabled,
            last_update_ms: 0,
            last_good: Default::default(),
        }
    }

    /// Paths from a small alphabet of components, so that prefixes and equal paths are
    /// common; trailing slashes and the root `/` included.
    fn path() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(
                prop::sample::select(vec!["ifs", "a", "ab", "b", "a-b", "é", "aé"]),
                0..4,
            ),
            any::<bool>(),
        )
            .prop_map(|(parts, slash)| {
                let mut p = format!("/{}", parts.join("/"));
                if slash && p != "/" {
                    p.push('/');
                }
                p
            })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, String),
        Remove(u8),
        Repath(u8, String),
        Rename(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..8, path()).prop_map(|(i, p)| Op::Insert(i, p)),
            (0u8..8).prop_map(Op::Remove),
            (0u8..8, path()).prop_map(|(i, p)| Op::Repath(i, p)),
            (0u8..8, 0u8..4).prop_map(|(i, n)| Op::Rename(i, n)),
        ]
    }

    proptest! {
        /// After any sequence of changes, `covering` finds exactly the target policies the
        /// old scan (`is_under` over every one) found.
        #[test]
        fn covering_agrees_with_the_scan(
            ops in prop::collection::vec(op(), 0..24),
            queries in prop::collection::vec(path(), 1..8),
        ) {
            let mut t = TargetPolicies::new();
            for o in ops {
                match o {
                    Op::Insert(i, p) => { t.insert(i.to_string(), tp(&i.to_string(), &p)); }
                    Op::Remove(i) => { t.remove(&i.to_string()); }
                    Op::Repath(i, p) => {
                        if let Some(mut m) = t.get_mut(&i.to_string()) {
                            m.target_path = p;
                        }
                    }
                    Op::Rename(i, n) => {
                        if let Some(mut m) = t.get_mut(&i.to_string()) {
                            m.name = format!("n{n}");
                        }
                    }
                }
            }
            // The name lookup finds what the scan of the id-ordered map found.
            for n in 0..9u8 {
                let name = format!("n{n}");
                let want = t.iter().find(|(_, x)| x.name == name).map(|(id, _)| id);
                prop_assert_eq!(t.id_named(&name), want, "name {}", name);
            }
            // The length counts are those of the keys.
            let mut lens = BTreeMap::new();
            for k in t.by_path.ids.keys() {
                *lens.entry(k.len()).or_insert(0usize) += 1;
            }
            prop_assert_eq!(&t.by_path.lens, &lens);
            for q in &queries {
                let mut got: Vec<&str> = t.covering(q).map(|(id, _)| id.as_str()).collect();
                got.sort_unstable();
                let want: Vec<&str> = t
                    .iter()
                    .filter(|(_, x)| is_under(q, &x.target_path))
                    .map(|(id, _)| id.as_str())
                    .collect();
                prop_assert_eq!(got, want, "query {}", q);
            }
        }
    }
}

//! A cluster's SyncIQ policies, keyed by id, with an index by name.
//!
//! Why: PAPI names a policy by id or by name (`GET sync/policies/{id|name}`, `POST
//! sync/jobs {"id": name}`), and the orchestrator uses names. A scan of every policy per
//! lookup made each request O(policies) and a run O(policies²); the index answers from
//! the name (the first id in id order, as the scan of the id-ordered map found it).
//!
//! The index cannot drift, as in [`crate::target_index`]: the map is private, reads go
//! through `Deref` to the plain map, and every change goes through [`Policies::insert`],
//! [`Policies::remove`] or the [`PolicyMut`] guard of [`Policies::get_mut`], which
//! re-indexes if the name was changed through it. Serialised as the plain map.
//!
//! A second index, by route (target cluster, source path, target path), answers "is there
//! already a policy back the other way" (resync-prep looks for an existing mirror on the
//! target at every job start: a scan of the target's policies there made a 1000-policy
//! failover O(policies²)). It is kept in step by the same changes and the same guard.
//!
//! The same guard keeps each policy's rendered PAPI JSON ([`Policies::rendered`]): the
//! orchestrator reads a policy around each of its jobs and the judge samples every policy,
//! while a policy changes a few times per run. Any mutable access drops the rendering, so
//! a stale one cannot be served.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use bytes::Bytes;
use serde::Serialize;

use crate::clock::Epoch;
use crate::synciq::Policy;

/// A policy's PAPI JSON, serialised. (Bytes only: keeping the `Value` as well cost more
/// memory than rendering it again for the few readers that want one.)
pub type Rendered = Bytes;

/// Policies by id, indexed by name.
#[derive(Clone, Debug, Default)]
pub struct Policies {
    items: BTreeMap<String, Policy>,
    /// Name → ids of the policies with that name.
    by_name: BTreeMap<String, BTreeSet<String>>,
    /// Route → ids of the policies with that route.
    by_route: BTreeMap<Route, BTreeSet<String>>,
    /// Each policy's rendering and the epoch it was made for; reset by every change.
    rendered: BTreeMap<String, OnceLock<(Epoch, Rendered)>>,
}

fn unindex(by_name: &mut BTreeMap<String, BTreeSet<String>>, name: &str, id: &str) {
    if let Some(ids) = by_name.get_mut(name) {
        ids.remove(id);
        if ids.is_empty() {
            by_name.remove(name);
        }
    }
}

fn index(by_name: &mut BTreeMap<String, BTreeSet<String>>, name: &str, id: &str) {
    by_name
        .entry(name.to_string())
        .or_default()
        .insert(id.to_string());
}

/// (target cluster, source root path, target path), compared exactly.
type Route = (String, String, String);

fn route_of(p: &Policy) -> Route {
    (
        p.target_cluster.clone(),
        p.source_root_path.clone(),
        p.target_path.clone(),
    )
}

fn same_route(r: &Route, p: &Policy) -> bool {
    r.0 == p.target_cluster && r.1 == p.source_root_path && r.2 == p.target_path
}

fn unindex_route(by_route: &mut BTreeMap<Route, BTreeSet<String>>, r: &Route, id: &str) {
    if let Some(ids) = by_route.get_mut(r) {
        ids.remove(id);
        if ids.is_empty() {
            by_route.remove(r);
        }
    }
}

impl Policies {
    pub fn new() -> Policies {
        Policies::default()
    }

    pub fn insert(&mut self, id: String, p: Policy) -> Option<Policy> {
        index(&mut self.by_name, &p.name, &id);
        let route = route_of(&p);
        self.rendered.insert(id.clone(), OnceLock::new());
        let old = self.items.insert(id.clone(), p);
        if let Some(o) = &old {
            if o.name != self.items[&id].name {
                unindex(&mut self.by_name, &o.name, &id);
            }
            unindex_route(&mut self.by_route, &route_of(o), &id);
        }
        self.by_route.entry(route).or_default().insert(id);
        old
    }

    pub fn remove(&mut self, id: &str) -> Option<Policy> {
        let old = self.items.remove(id)?;
        self.rendered.remove(id);
        unindex(&mut self.by_name, &old.name, id);
        unindex_route(&mut self.by_route, &route_of(&old), id);
        Some(old)
    }

    /// Mutable access to one policy; a changed name is re-indexed when the guard is dropped.
    pub fn get_mut(&mut self, id: &str) -> Option<PolicyMut<'_>> {
        let p = self.items.get_mut(id)?;
        if let Some(r) = self.rendered.get_mut(id) {
            *r = OnceLock::new();
        }
        let old_name = p.name.clone();
        let old_route = route_of(p);
        Some(PolicyMut {
            p,
            by_name: &mut self.by_name,
            by_route: &mut self.by_route,
            id: id.to_string(),
            old_name,
            old_route,
        })
    }

    /// Policy `id` as `render` renders it for epoch `ep`: made once after each change of
    /// the policy (a rendering for another epoch is not reused).
    pub fn rendered(
        &self,
        id: &str,
        ep: Epoch,
        render: impl Fn(&Policy, Epoch) -> Rendered,
    ) -> Option<Rendered> {
        let p = self.items.get(id)?;
        let Some(slot) = self.rendered.get(id) else {
            return Some(render(p, ep));
        };
        let (at, r) = slot.get_or_init(|| (ep, render(p, ep)));
        Some(if *at == ep { r.clone() } else { render(p, ep) })
    }

    /// The id of the first policy (in id order) named `name`.
    pub fn id_named(&self, name: &str) -> Option<&String> {
        self.by_name.get(name).and_then(|ids| ids.first())
    }

    /// The first policy (in id order) to `target_cluster` from `source_root_path` to
    /// `target_path` (what a scan of the id-ordered map for those three found).
    pub fn with_route(
        &self,
        target_cluster: &str,
        source_root_path: &str,
        target_path: &str,
    ) -> Option<&Policy> {
        // The key is owned Strings: a lookup builds one (three short copies), still far
        // cheaper than comparing against every policy.
        let key = (
            target_cluster.to_string(),
            source_root_path.to_string(),
            target_path.to_string(),
        );
        self.by_route
            .get(&key)
            .and_then(|ids| ids.first())
            .and_then(|id| self.items.get(id))
    }
}

impl Deref for Policies {
    type Target = BTreeMap<String, Policy>;
    fn deref(&self) -> &Self::Target {
        &self.items
    }
}

impl Serialize for Policies {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(s)
    }
}

/// Mutable access to a policy that keeps the name and route indexes right.
pub struct PolicyMut<'a> {
    p: &'a mut Policy,
    by_name: &'a mut BTreeMap<String, BTreeSet<String>>,
    by_route: &'a mut BTreeMap<Route, BTreeSet<String>>,
    /// The key it is stored under.
    id: String,
    old_name: String,
    old_route: Route,
}

impl Deref for PolicyMut<'_> {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        self.p
    }
}

impl DerefMut for PolicyMut<'_> {
    fn deref_mut(&mut self) -> &mut Policy {
        self.p
    }
}

impl Drop for PolicyMut<'_> {
    fn drop(&mut self) {
        if self.old_name != self.p.name {
            unindex(self.by_name, &self.old_name, &self.id);
            index(self.by_name, &self.p.name, &self.id);
        }
        if !same_route(&self.old_route, self.p) {
            unindex_route(self.by_route, &self.old_route, &self.id);
            self.by_route
                .entry(route_of(self.p))
                .or_default()
                .insert(self.id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synciq::JobState;
    use proptest::prelude::*;

    fn policy(id: &str, name: &str) -> Policy {
        Policy {
            id: id.to_string(),
            name: name.to_string(),
            enabled: true,
            action: "sync".into(),
            source_root_path: "/ifs/a".into(),
            target_host: "b".into(),
            target_cluster: "b".into(),
            target_path: "/ifs/a".into(),
            schedule: String::new(),
            description: String::new(),
            last_job_state: JobState::Finished,
            last_started_ms: None,
            last_success_ms: None,
            conflicted: false,
            synced: Default::default(),
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, u8),
        Remove(u8),
        Rename(u8, u8),
        Toggle(u8),
        Render(u8),
        /// Policy, target cluster, source path, target path (from small sets).
        Reroute(u8, u8, u8, u8),
    }

    /// Small sets of clusters and paths, so that routes are often shared.
    fn route(c: u8, s: u8, t: u8) -> (String, String, String) {
        let path = |x: u8| ["/ifs/a", "/ifs/ab", "/ifs/a/b"][x as usize % 3].to_string();
        (["b", "c"][c as usize % 2].to_string(), path(s), path(t))
    }

    fn render(p: &Policy, ep: Epoch) -> Rendered {
        serde_json::json!({"name": p.name, "enabled": p.enabled, "ep": ep.unix_s(0)})
            .to_string()
            .into()
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..8, 0u8..4).prop_map(|(i, n)| Op::Insert(i, n)),
            (0u8..8).prop_map(Op::Remove),
            (0u8..8, 0u8..4).prop_map(|(i, n)| Op::Rename(i, n)),
            (0u8..8).prop_map(Op::Toggle),
            (0u8..8).prop_map(Op::Render),
            (0u8..8, 0u8..2, 0u8..3, 0u8..3).prop_map(|(i, c, s, t)| Op::Reroute(i, c, s, t)),
        ]
    }

    proptest! {
        /// After any sequence of changes, the name lookup finds what the old scan of the
        /// id-ordered map (the first policy with that name) found, and so does the route
        /// lookup. Few names and routes, so that several policies share one.
        #[test]
        fn id_named_agrees_with_the_scan_and_renderings_stay_fresh(
            ops in prop::collection::vec(op(), 0..24),
            queries in prop::collection::vec(0u8..5, 1..8),
        ) {
            let mut t = Policies::new();
            for o in ops {
                match o {
                    Op::Insert(i, n) => { t.insert(i.to_string(), policy(&i.to_string(), &format!("n{n}"))); }
                    Op::Remove(i) => { t.remove(&i.to_string()); }
                    Op::Rename(i, n) => {
                        if let Some(mut m) = t.get_mut(&i.to_string()) {
                            m.name = format!("n{n}");
                        }
                    }
                    Op::Toggle(i) => {
                        if let Some(mut m) = t.get_mut(&i.to_string()) {
                            m.enabled = !m.enabled;
                        }
                    }
                    Op::Render(i) => {
                        t.rendered(&i.to_string(), Epoch::default(), render);
                    }
                    Op::Reroute(i, c, s, tp) => {
                        let (c, s, tp) = route(c, s, tp);
                        if t.contains_key(&i.to_string()) {
                            let mut m = t.get_mut(&i.to_string()).expect("present");
                            m.target_cluster = c;
                            m.source_root_path = s;
                            m.target_path = tp;
                        } else {
                            let mut p = policy(&i.to_string(), "n0");
                            (p.target_cluster, p.source_root_path, p.target_path) = (c, s, tp);
                            t.insert(i.to_string(), p);
                        }
                    }
                }
            }
            // The route lookup finds what the scan of the id-ordered map found.
            for c in 0..3u8 {
                for sp in 0..3u8 {
                    for tp in 0..3u8 {
                        let (c, sp, tp) = route(c, sp, tp);
                        let want = t.values().find(|q| {
                            q.target_cluster == c && q.source_root_path == sp && q.target_path == tp
                        });
                        prop_assert_eq!(
                            t.with_route(&c, &sp, &tp).map(|p| &p.id),
                            want.map(|p| &p.id)
                        );
                    }
                }
            }
            // A kept rendering is what rendering the policy now gives.
            for (id, p) in t.iter() {
                let ep = Epoch::default();
                let got = t.rendered(id, ep, render).expect("present");
                prop_assert_eq!(got, render(p, ep));
            }
            for q in queries {
                let name = format!("n{q}");
                let want = t.iter().find(|(_, p)| p.name == name).map(|(id, _)| id);
                prop_assert_eq!(t.id_named(&name), want, "name {}", name);
            }
        }
    }
}

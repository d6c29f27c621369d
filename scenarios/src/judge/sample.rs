//! World samples for the judge, taken by the drill runner while the run goes on:
//!
//! * a [`Snapshot`] **before** the run (after any preludes and the clients' warm-up) and
//!   one **after** it (before the clients' tail): every cluster's configuration JSON, its
//!   SyncIQ policies, which SmartConnect names its pools serve, whether it is up, the AD
//!   domain's SPNs, the site DNS delegation of every pool name, which DFS namespaces have
//!   a reachable target and which policies' copies are writable;
//! * a [`StepSample`] at **every step end** (the runner's observer sees each `StepEnded`
//!   event): names served per cluster, SPN collisions, unreachable DFS namespaces, and the
//!   writability of the ended step's policy. Kept cheap: a few map reads per step, and the
//!   per-cluster maps (which rarely change from one step end to the next) are shared with
//!   the previous sample when equal, so 10,000 step ends do not hold 10,000 copies.
//!
//! A snapshot keeps of each policy only what the invariants read (its schedule), not its
//! PAPI JSON: 2,000 policies × 2 clusters × 2 snapshots of JSON were ~40 MB.
//!
//! I11 needs the configuration before the run, I12 judges the safety rules at every step
//! end from these samples, I6 reads the SPN collisions seen during the run.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sim_onefs::model::WorldState;
use sim_onefs::WorldSpec;

use crate::lab::PolicyIndex;
use crate::world::World;

/// What the judge keeps of a SyncIQ policy's PAPI JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyBrief {
    /// Its `schedule` (`None`: absent or not a string).
    pub schedule: Option<String>,
}

impl PolicyBrief {
    /// The brief of a policy's PAPI JSON.
    pub fn of(v: &Value) -> PolicyBrief {
        PolicyBrief {
            schedule: v
                .get("schedule")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }
}

/// Cluster → the SmartConnect names its pools serve (lower-case).
pub type Names = BTreeMap<String, BTreeSet<String>>;

/// The world at one instant, in full.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Sim ms.
    pub t_ms: u64,
    /// Cluster → its configuration objects (`sim_onefs::Sim::config_json`).
    pub config: BTreeMap<String, Value>,
    /// Cluster → policy name → what the judge reads of the policy's PAPI JSON.
    pub policies: BTreeMap<String, BTreeMap<String, PolicyBrief>>,
    /// Cluster → whether it is up.
    pub up: BTreeMap<String, bool>,
    /// Cluster → the SmartConnect names its pools serve (lower-case).
    pub names: Names,
    /// Machine account (lower-case) → its SPNs (lower-case).
    pub spns: BTreeMap<String, BTreeSet<String>>,
    /// Pool name → the SSIPs its DNS delegation lists.
    pub ns: BTreeMap<String, Vec<String>>,
    /// DFS namespaces with no reachable referral target.
    pub dfs_unreachable: BTreeSet<String>,
    /// DFS namespaces with more than one reachable referral target (writes could split).
    pub dfs_dual: BTreeSet<String>,
    /// Policy → (copy on the run's source writable, copy on the run's target writable).
    pub writable: BTreeMap<String, (bool, bool)>,
    /// SPN (lower-case) → the accounts holding it, for SPNs on more than one account.
    pub spn_collisions: BTreeMap<String, Vec<String>>,
}

/// The world at the end of one step instance. The maps are shared (`Arc`) with the
/// previous sample when they did not change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepSample {
    pub t_ms: u64,
    /// The ended instance: step id, policy, zone, status name, its `end_seq`.
    pub step: String,
    pub policy: Option<String>,
    pub zone: Option<String>,
    pub status: String,
    pub end_seq: Option<u64>,
    pub up: Arc<BTreeMap<String, bool>>,
    pub names: Arc<Names>,
    pub dfs_unreachable: Arc<BTreeSet<String>>,
    pub dfs_dual: Arc<BTreeSet<String>>,
    /// The ended step's policy: (source copy writable, target copy writable).
    pub writable: Option<(bool, bool)>,
    pub spn_collisions: Arc<BTreeMap<String, Vec<String>>>,
}

/// What `Domain::collisions` returns (SPN, lower-case → its holders in account order, for
/// SPNs held more than once), built without a map entry per SPN: it runs at every step
/// end and collisions are rare, so only the duplicates are collected.
pub fn spn_collisions(d: &sim_ad_dns::Domain) -> BTreeMap<String, Vec<String>> {
    use std::borrow::Cow;
    let mut all: Vec<(Cow<'_, str>, &str)> = Vec::new();
    for acc in d.accounts.values() {
        for spn in &acc.spns {
            let lower = if spn.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(spn.to_ascii_lowercase())
            } else {
                Cow::Borrowed(spn.as_str())
            };
            all.push((lower, acc.name.as_str()));
        }
    }
    // Stable: holders of one SPN stay in account order, as in `Domain::collisions`.
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        if j - i > 1 {
            out.insert(
                all[i].0.to_string(),
                all[i..j].iter().map(|(_, n)| n.to_string()).collect(),
            );
        }
        i = j;
    }
    out
}

/// The names the pools of `clusters` serve (cluster → names; an unknown cluster serves
/// none): what `ConfigState::pool_names` gives for each pool.
fn names_in(w: &WorldState, clusters: &[String]) -> Names {
    clusters
        .iter()
        .map(|c| {
            let names = w
                .cluster(c)
                .map(|c| {
                    c.cfg
                        .pools
                        .values()
                        .flat_map(sim_onefs::config::ConfigState::pool_names)
                        .collect::<BTreeSet<String>>()
                })
                .unwrap_or_default();
            (c.clone(), names)
        })
        .collect()
}

/// A pool's names as `ConfigState::pool_names` spells them (lower-case, without a
/// trailing dot), borrowed when already so: a step end compares them with the previous
/// sample's without building a string.
fn pool_names_cow(p: &sim_onefs::config::Obj) -> impl Iterator<Item = Cow<'_, str>> {
    fn norm(n: &str) -> Cow<'_, str> {
        let t = n.trim_end_matches('.');
        if t.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(t.to_ascii_lowercase())
        } else {
            Cow::Borrowed(t)
        }
    }
    // Read without hashing (`field`: a scan of the pool's few keys), as every step end
    // asks this of every pool.
    let get = sim_onefs::config::field;
    let zone = get(p, "sc_dns_zone")
        .and_then(Value::as_str)
        .filter(|z| !z.is_empty())
        .map(norm);
    let aliases = match get(p, "sc_dns_zone_aliases") {
        Some(Value::Array(a)) => a.as_slice(),
        _ => &[],
    };
    zone.into_iter()
        .chain(aliases.iter().filter_map(Value::as_str).map(norm))
}

/// Whether [`names_in`] would give `prev` (without building it).
fn names_equal(w: &WorldState, clusters: &[String], prev: &Names) -> bool {
    if prev.len() != clusters.len() {
        return false;
    }
    let mut buf: Vec<Cow<'_, str>> = Vec::new();
    clusters.iter().all(|c| {
        let Some(want) = prev.get(c) else {
            return false;
        };
        buf.clear();
        if let Some(c) = w.cluster(c) {
            buf.extend(c.cfg.pools.values().flat_map(pool_names_cow));
        }
        buf.sort_unstable();
        buf.dedup();
        buf.len() == want.len() && buf.iter().zip(want).all(|(a, b)| a.as_ref() == b.as_str())
    })
}

/// `new`, or the previous sample's `Arc` when it holds the same (one copy for a run of
/// step ends that saw the same thing).
fn share<T: PartialEq>(prev: Option<&Arc<T>>, new: T) -> Arc<T> {
    match prev {
        Some(p) if **p == new => p.clone(),
        _ => Arc::new(new),
    }
}

/// [`share`] of a value already in an `Arc`.
fn share_arc<T: PartialEq>(prev: Option<&Arc<T>>, new: Arc<T>) -> Arc<T> {
    match prev {
        Some(p) if Arc::ptr_eq(p, &new) || **p == *new => p.clone(),
        _ => new,
    }
}

/// Everything sampled during one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub before: Option<Snapshot>,
    pub steps: Vec<StepSample>,
    pub after: Option<Snapshot>,
}

/// The ended step as the runner's observer sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepEnd {
    pub step: String,
    pub policy: Option<String>,
    pub zone: Option<String>,
    pub status: String,
    pub end_seq: Option<u64>,
}

/// Takes the samples; shared between the runner and its observer (cheap to clone).
#[derive(Clone)]
pub struct Sampler {
    world: World,
    spec: Arc<WorldSpec>,
    /// `spec`'s policies by name (writability is asked per step).
    policies: Arc<PolicyIndex>,
    from: String,
    to: String,
    samples: Arc<Mutex<Samples>>,
    /// The AD accounts the last step end saw and their SPN collisions: accounts rarely
    /// change between step ends, and comparing them costs less than collecting and sorting
    /// every SPN again.
    spn_seen: Arc<Mutex<Option<SpnSeen>>>,
}

/// AD accounts and [`spn_collisions`] of them.
type SpnSeen = (
    BTreeMap<String, sim_ad_dns::MachineAccount>,
    Arc<BTreeMap<String, Vec<String>>>,
);

/// [`spn_collisions`] of `d`, from `seen` when its accounts are the ones seen last
/// (then updated to `d`'s).
fn spn_collisions_seen(
    seen: &mut Option<SpnSeen>,
    d: &sim_ad_dns::Domain,
) -> Arc<BTreeMap<String, Vec<String>>> {
    match seen {
        Some((accounts, c)) if *accounts == d.accounts => c.clone(),
        _ => {
            let c = Arc::new(spn_collisions(d));
            *seen = Some((d.accounts.clone(), c.clone()));
            c
        }
    }
}

impl Sampler {
    /// A sampler of `world` for a run from `from` to `to` of a scenario world `spec`.
    pub fn new(world: &World, spec: &WorldSpec, from: &str, to: &str) -> Sampler {
        Sampler {
            world: world.clone(),
            spec: Arc::new(spec.clone()),
            policies: Arc::new(PolicyIndex::new(spec)),
            from: from.to_string(),
            to: to.to_string(),
            samples: Arc::default(),
            spn_seen: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Samples> {
        self.samples.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Right before the run starts.
    pub fn before_run(&self) {
        let s = self.snapshot();
        self.lock().before = Some(s);
    }

    /// After the run returned.
    pub fn after_run(&self) {
        let s = self.snapshot();
        self.lock().after = Some(s);
    }

    /// At the end of a step instance.
    ///
    /// The world is read once for the clock, which clusters are up, the names their pools
    /// serve, the ended policy's writability and the SPN collisions (each through its own
    /// `Sim` call, every one locking the world and reading the clock, this was most of a
    /// sample). Nothing moves while a sample is taken (the observer runs between two
    /// awaits of the orchestrator), so one read sees what the separate ones saw.
    pub fn step_ended(&self, end: StepEnd) {
        let paths = end
            .policy
            .as_deref()
            .and_then(|p| self.policies.paths(&self.spec, p, &self.from, &self.to));
        // The previous sample's names: equal ones (the common case) are shared, not built.
        let prev_names = self.lock().steps.last().map(|p| p.names.clone());
        let (t_ms, up, names, writable, spn_collisions) = self.world.sim.read_world(|w| {
            let up: BTreeMap<String, bool> = self
                .world
                .cluster_names()
                .iter()
                .map(|c| (c.clone(), w.cluster(c).is_some_and(|c| c.up)))
                .collect();
            let names = match prev_names {
                Some(prev) if names_equal(w, self.world.cluster_names(), &prev) => prev,
                _ => Arc::new(names_in(w, self.world.cluster_names())),
            };
            let writable = paths.map(|(src, tgt)| {
                (
                    w.is_writable(&self.from, &src),
                    w.is_writable(&self.to, &tgt),
                )
            });
            let spn = match w.ad.as_ref() {
                Some(d) => spn_collisions_seen(
                    &mut self.spn_seen.lock().unwrap_or_else(|p| p.into_inner()),
                    d,
                ),
                None => Arc::default(),
            };
            (w.now_ms, up, names, writable, spn)
        });
        let (dfs_unreachable, dfs_dual) = self.dfs_reach();
        let mut samples = self.lock();
        let prev = samples.steps.last();
        let s = StepSample {
            t_ms,
            step: end.step,
            policy: end.policy,
            zone: end.zone,
            status: end.status,
            end_seq: end.end_seq,
            up: share(prev.map(|p| &p.up), up),
            names,
            dfs_unreachable: share(prev.map(|p| &p.dfs_unreachable), dfs_unreachable),
            dfs_dual: share(prev.map(|p| &p.dfs_dual), dfs_dual),
            writable,
            spn_collisions: share_arc(prev.map(|p| &p.spn_collisions), spn_collisions),
        };
        samples.steps.push(s);
    }

    /// What was sampled (a copy; see [`Sampler::take_samples`]).
    pub fn samples(&self) -> Samples {
        self.lock().clone()
    }

    /// What was sampled, handed over (the sampler is left empty): the runner's way, which
    /// does not copy 10,000 step samples.
    pub fn take_samples(&self) -> Samples {
        std::mem::take(&mut *self.lock())
    }

    fn up(&self) -> BTreeMap<String, bool> {
        self.world
            .cluster_names()
            .iter()
            .map(|c| {
                let up = self.world.sim.is_up(c);
                (c.clone(), up)
            })
            .collect()
    }

    fn names(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.world
            .sim
            .read_world(|w| names_in(w, self.world.cluster_names()))
    }

    /// `(unreachable, dual)`: the DFS namespaces with no referral target whose share
    /// answers (what `pick_target` finds none for), and those with more than one (DFS
    /// clients would pick different copies; S4: exactly one copy answers). One pass: a
    /// target is live when it parses and its host resolves to an up cluster with the share;
    /// each host is resolved once per sample (nothing changes while the sample is taken).
    fn dfs_reach(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let w = &self.world;
        let mut hosts: Vec<(String, Option<String>)> = Vec::new();
        let mut live = |t: &String| {
            let Some((h, s, _)) = sim_ad_dns::dfs::parse_unc(t) else {
                return false;
            };
            let i = match hosts.iter().position(|(k, _)| *k == h) {
                Some(i) => i,
                None => {
                    let c = w.cluster_of_host(&h);
                    hosts.push((h, c));
                    hosts.len() - 1
                }
            };
            hosts[i]
                .1
                .as_deref()
                .is_some_and(|c| w.smb_share_answers(c, &s))
        };
        let (mut unreachable, mut dual) = (BTreeSet::new(), BTreeSet::new());
        for ns in w.dfs.namespaces.values() {
            let n = ns.targets.iter().filter(|t| live(t)).count();
            if n == 0 {
                unreachable.insert(ns.path.clone());
            } else if n > 1 {
                dual.insert(ns.path.clone());
            }
        }
        (unreachable, dual)
    }

    fn writable(&self, policy: &str) -> Option<(bool, bool)> {
        let (src, tgt) = self
            .policies
            .paths(&self.spec, policy, &self.from, &self.to)?;
        let sim = &self.world.sim;
        Some((
            sim.is_writable(&self.from, &src),
            sim.is_writable(&self.to, &tgt),
        ))
    }

    fn snapshot(&self) -> Snapshot {
        let sim = &self.world.sim;
        let clusters = sim.cluster_names();
        let mut config = BTreeMap::new();
        for c in &clusters {
            if let Some(v) = sim.config_json(c) {
                config.insert(c.clone(), v);
            }
        }
        // Every world policy and its mirror, wherever it exists.
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        for p in &self.spec.policies {
            candidates.insert(p.name.clone());
            candidates.insert(format!("{}_mirror", p.name));
        }
        let mut policies: BTreeMap<String, BTreeMap<String, PolicyBrief>> = BTreeMap::new();
        for c in &clusters {
            for name in &candidates {
                if let Some(schedule) = sim.policy_schedule(c, name) {
                    let brief = PolicyBrief {
                        schedule: Some(schedule),
                    };
                    policies
                        .entry(c.clone())
                        .or_default()
                        .insert(name.clone(), brief);
                }
            }
        }
        let mut writable = BTreeMap::new();
        for name in &candidates {
            if let Some(w) = self.writable(name) {
                writable.insert(name.clone(), w);
            }
        }
        let names = self.names();
        let mut ns = BTreeMap::new();
        {
            let dns = self.world.dns.lock().unwrap_or_else(|p| p.into_inner());
            for n in names.values().flatten() {
                ns.insert(n.clone(), dns.ns(n));
            }
        }
        let (spns, spn_collisions) = sim
            .with_ad_read(|d| {
                let spns = d
                    .accounts
                    .values()
                    .map(|a| {
                        (
                            a.name.to_ascii_lowercase(),
                            a.spns.iter().map(|s| s.to_ascii_lowercase()).collect(),
                        )
                    })
                    .collect();
                (spns, spn_collisions(d))
            })
            .unwrap_or_default();
        let (t_ms, up) = (sim.now_ms(), self.up());
        let (dfs_unreachable, dfs_dual) = self.dfs_reach();
        Snapshot {
            t_ms,
            config,
            policies,
            up,
            names,
            spns,
            ns,
            dfs_unreachable,
            dfs_dual,
            writable,
            spn_collisions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A pool's names read without hashing are `ConfigState::pool_names`'s, for pools
        /// with few keys (scanned) and many (hashed).
        #[test]
        fn pool_names_cow_matches_pool_names(
            zone in proptest::option::of("[a-cA-C.]{0,4}"),
            aliases in proptest::option::of(proptest::collection::vec("[a-cA-C.]{0,4}", 0..3)),
            extra in 0usize..20,
        ) {
            let mut p = sim_onefs::config::Obj::new();
            for i in 0..extra {
                p.insert(format!("k{i}"), Value::from(i));
            }
            if let Some(z) = zone {
                p.insert("sc_dns_zone".into(), Value::from(z));
            }
            if let Some(a) = aliases {
                p.insert("sc_dns_zone_aliases".into(), Value::from(a));
            }
            let fast: Vec<String> = pool_names_cow(&p).map(|n| n.into_owned()).collect();
            let plain: Vec<String> = sim_onefs::config::ConfigState::pool_names(&p)
                .into_iter()
                .collect();
            prop_assert_eq!(fast, plain);
        }

        /// Collisions remembered from the last accounts seen are those of the accounts
        /// asked about, through any sequence of account changes.
        #[test]
        fn remembered_spn_collisions_match(
            domains in proptest::collection::vec(
                proptest::collection::btree_map(
                    "[a-b]{1}",
                    proptest::collection::btree_set("HOST/[a-cA-C]{1}", 0..3),
                    0..3,
                ),
                1..6,
            )
        ) {
            let mut seen = None;
            for accounts in domains.iter().chain(domains.iter().rev()) {
                let mut d = sim_ad_dns::Domain::new("corp.example");
                for (name, spns) in accounts {
                    d.accounts.insert(
                        name.clone(),
                        sim_ad_dns::MachineAccount { name: name.clone(), spns: spns.clone() },
                    );
                }
                let got = spn_collisions_seen(&mut seen, &d);
                prop_assert_eq!(&*got, &spn_collisions(&d));
            }
        }

        /// The step-end collision scan answers what `Domain::collisions` answers, SPNs
        /// differing only in case included.
        #[test]
        fn spn_collisions_match_domain_collisions(
            accounts in proptest::collection::btree_map(
                "[a-cA-C]{1,2}",
                proptest::collection::btree_set("HOST/[a-dA-D]{1,2}", 0..5),
                0..6,
            )
        ) {
            let mut d = sim_ad_dns::Domain::new("corp.example");
            for (name, spns) in accounts {
                d.accounts.insert(
                    name.to_ascii_lowercase(),
                    sim_ad_dns::MachineAccount { name, spns },
                );
            }
            prop_assert_eq!(spn_collisions(&d), d.collisions());
        }
    }
}

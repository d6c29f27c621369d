//! `sim-onefs`: a deterministic in-process simulation of a set of OneFS clusters (a "world")
//! with the SyncIQ core, served through axum Routers on the real PAPI routes.
//!
//! # Architecture
//! * `spec` — serde input types (the scenario's `world:`); `faults` — fault rules and matching.
//! * `model` — world state (clusters, files, link, faults, audit) and the lazy event loop.
//! * `synciq` — policies, target policies, jobs, reports, settings (typed states).
//! * `api` — the PAPI Router: middleware (auth, version, faults), the generic resource
//!   collection, one module per resource, and all PAPI JSON rendering.
//! * `audit`, `clock` — audit entries, virtual time.
//!
//! Time: virtual time is tokio's clock (virtual under a paused runtime, real otherwise).
//! There are no background tasks: every public method and every request first calls
//! `advance(now)`, which processes all due events in time order, each stamped with its own
//! due time. Same seed + same request sequence (at the same virtual times) ⇒ identical
//! `state_json` and audit log.
//!
//! World start: every spec policy is installed as if it had one successful sync ending at
//! t=0 (target holds a copy, a report exists, the target policy is `writes_disabled`); then
//! `unsynced_fraction` of each `files` entry get version 2 on the source only.
//!
//! API boundary: [`Sim`] plus the spec/fault/audit types re-exported here. The orchestrator
//! never links this crate; it talks PAPI to [`Sim::router`] / [`Sim::service`].

#![recursion_limit = "512"]

mod api;
pub mod audit;
pub mod bench;
pub mod clock;
pub mod config;
pub mod faults;
pub mod model;
pub mod policy_index;
pub mod snapshot;
pub mod spec;
pub mod synciq;
pub mod target_index;
mod view;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use audit::{AuditEntry, AuditTrail, Keep, ReqCtx};
pub use faults::{DurationSpec, FaultEffect, FaultMatch, FaultRule};
pub use model::FileEntry;
pub use spec::*;

use model::{is_under, valid_ifs_path, WorldState};

/// Errors building a world.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("invalid world spec: {0}")]
    InvalidSpec(String),
}

/// Errors of simulated client file operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("unknown cluster `{0}`")]
    UnknownCluster(String),
    #[error("cluster `{0}` is down")]
    ClusterDown(String),
    #[error("invalid path `{0}`: must be an absolute path under /ifs")]
    InvalidPath(String),
    #[error("`{path}` on `{cluster}` is read-only: it is in the SyncIQ target directory of policy `{policy}` ({state})")]
    ReadOnly {
        cluster: String,
        path: String,
        policy: String,
        state: String,
    },
}

/// Transport-level error of [`Sim::service`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimConnError {
    #[error("connection dropped (cluster down or injected fault)")]
    Dropped,
}

/// Response extension marking a dropped connection; [`Sim::service`] turns it into
/// `Err(SimConnError::Dropped)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionDropped;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The in-process PAPI service of one cluster.
pub type SimService = tower::util::BoxCloneSyncService<
    http::Request<axum::body::Body>,
    http::Response<axum::body::Body>,
    BoxError,
>;

struct Inner {
    clock: clock::Clock,
    world: Mutex<WorldState>,
    sessions: api::SessionStore,
    /// Rendered GET bodies of the current world version (see `api::cache`).
    bodies: Mutex<api::BodyCache>,
}

/// Handle to a simulated world. Cheap to clone; all clones share the state.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl Sim {
    /// Validate `spec` and build the world at virtual time 0 (= now on tokio's clock).
    pub fn new(spec: &WorldSpec, seed: u64) -> Result<Sim, SimError> {
        let world = WorldState::from_spec(spec, seed)?;
        Ok(Sim {
            inner: Arc::new(Inner {
                clock: clock::Clock::start(),
                world: Mutex::new(world),
                sessions: api::SessionStore::default(),
                bodies: Mutex::new(api::BodyCache::default()),
            }),
        })
    }

    /// Lock the world, bring it up to the current virtual time, and run `f`.
    /// A poisoned lock (a panic in the middle of a change) ends the process: a half-updated
    /// world must not go on answering as if it were a cluster.
    /// The lock is never held across an `.await`.
    ///
    /// Any mutable access counts as a change: the world's version is bumped afterwards, so
    /// no rendered body cached before it is served again (correctness does not depend on
    /// each writer remembering to say it wrote). Readers use [`Sim::with_world_read`].
    pub(crate) fn with_world<R>(&self, f: impl FnOnce(&mut WorldState) -> R) -> R {
        let now = self.inner.clock.now_ms();
        let mut w = lock(&self.inner.world);
        w.advance_known(now);
        let r = f(&mut w);
        w.version += 1;
        r
    }

    /// Like [`Sim::with_world`] for code that only reads: the version moves only if
    /// bringing the world up to the current time processed an event.
    pub(crate) fn with_world_read<R>(&self, f: impl FnOnce(&WorldState) -> R) -> R {
        let now = self.inner.clock.now_ms();
        let mut w = lock(&self.inner.world);
        w.advance_known(now);
        f(&w)
    }

    pub(crate) fn body_cache(&self) -> &Mutex<api::BodyCache> {
        &self.inner.bodies
    }

    /// Switch the rendered-body cache of GET responses on (the default) or off. Off, every
    /// GET renders from the state: tests compare the two to prove the cache never serves a
    /// stale body.
    pub fn set_body_cache(&self, on: bool) {
        let mut c = lock(&self.inner.bodies);
        c.enabled = on;
        c.clear();
    }

    pub(crate) fn sessions(&self) -> &api::SessionStore {
        &self.inner.sessions
    }

    /// The PAPI router of one cluster.
    pub fn router(&self, cluster: &str) -> Option<axum::Router> {
        self.with_world_read(|w| w.clusters.contains_key(cluster))
            .then(|| api::router(self.clone(), cluster))
    }

    /// The router wrapped so that a dropped connection is `Err(SimConnError::Dropped)`.
    pub fn service(&self, cluster: &str) -> Option<SimService> {
        use tower::ServiceExt;
        let router = self.router(cluster)?;
        type Req = http::Request<axum::body::Body>;
        let svc = tower::service_fn(move |req: Req| {
            let r = router.clone();
            async move {
                let resp = match ServiceExt::<Req>::oneshot(r, req).await {
                    Ok(resp) => resp,
                    Err(e) => match e {},
                };
                if resp.extensions().get::<ConnectionDropped>().is_some() {
                    Err(Box::new(SimConnError::Dropped) as BoxError)
                } else {
                    Ok(resp)
                }
            }
        });
        Some(tower::util::BoxCloneSyncService::new(svc))
    }

    pub fn cluster_names(&self) -> Vec<String> {
        self.with_world_read(|w| w.clusters.keys().cloned().collect())
    }

    /// The first user with the admin role.
    pub fn admin_credentials(&self, cluster: &str) -> Option<(String, String)> {
        self.users(cluster)
            .into_iter()
            .find(|u| u.role == Role::Admin)
            .map(|u| (u.name, u.password))
    }

    pub fn users(&self, cluster: &str) -> Vec<UserSpec> {
        self.with_world_read(|w| {
            w.cluster(cluster)
                .map(|c| c.users.clone())
                .unwrap_or_default()
        })
    }

    /// Anchor virtual time to the wall clock: from now on PAPI times and the `Date` header
    /// read as real time (`drill serve`, which runs on the real clock). Virtual history
    /// already recorded keeps its offsets.
    pub fn anchor_to_wall_clock(&self) {
        self.with_world(|w| w.epoch = clock::Epoch::wall_clock_at(w.now_ms));
    }

    /// The Unix time (seconds) of the world's current virtual time.
    pub fn now_unix_s(&self) -> i64 {
        self.with_world_read(|w| w.epoch.unix_s(w.now_ms as i64))
    }

    /// Run virtual time `speed`× real time from now on (`drill serve --speed N`): jobs, PAPI
    /// times and the `Date` header all follow. 1 ..= [`clock::MAX_SPEED`].
    pub fn set_speed(&self, speed: u32) -> Result<(), SimError> {
        self.inner
            .clock
            .set_speed(speed)
            .map_err(SimError::InvalidSpec)
    }

    /// How many virtual milliseconds pass per real one.
    pub fn speed(&self) -> u32 {
        self.inner.clock.speed()
    }

    /// Virtual milliseconds since [`Sim::new`].
    pub fn now_ms(&self) -> u64 {
        self.with_world_read(|w| w.now_ms)
    }

    /// Add a fault rule (time rules fire at `when.at`, or at once if that has passed).
    pub fn add_fault(&self, rule: FaultRule) {
        self.with_world(|w| w.add_fault(rule));
    }

    /// Like [`Sim::add_fault`] but rejects out-of-range parameters.
    pub fn try_add_fault(&self, rule: FaultRule) -> Result<(), SimError> {
        rule.validate().map_err(SimError::InvalidSpec)?;
        self.add_fault(rule);
        Ok(())
    }

    /// Retire every fault rule added so far: none of them matches or fires again. (A
    /// scenario's `prelude_faults` act only during its prelude runs.)
    pub fn retire_faults(&self) {
        self.with_world(|w| w.faults.clear());
    }

    /// Bring every cluster a fault took down back up and heal the inter-cluster link (each
    /// change audited as the fault effect would be); the clusters that came back.
    pub fn restore_all(&self) -> Vec<String> {
        self.with_world(|w| {
            let t = w.now_ms;
            let down: Vec<String> = w
                .clusters
                .values()
                .filter(|c| !c.up)
                .map(|c| c.name.clone())
                .collect();
            for c in &down {
                w.set_cluster_up(c, true, t);
            }
            if w.link_partitioned {
                w.set_link(false, t);
            }
            down
        })
    }

    /// Rules for the harness (`orchestrator_crash`), in the order they were added.
    /// (`ad_unreachable` and `spn_collision` act on the world's AD domain.)
    pub fn pending_harness_faults(&self) -> Vec<FaultRule> {
        self.with_world_read(|w| w.harness_faults())
    }

    pub fn audit_log(&self) -> Vec<AuditEntry> {
        self.with_world_read(|w| w.audit.entries())
    }

    /// The audit log handed over, without building its entries (the world's log is left
    /// empty): for a harness whose run is over, which reads a few kinds of entry
    /// ([`AuditTrail::entries_where`]) where [`Sim::audit_log`] would build them all.
    pub fn take_audit_log(&self) -> AuditTrail {
        AuditTrail::new(self.with_world(|w| std::mem::take(&mut w.audit)))
    }

    /// A client writes (creates or overwrites) a file; returns the new version.
    pub fn client_write(
        &self,
        cluster: &str,
        path: &str,
        size_bytes: u64,
        actor: &str,
    ) -> Result<u64, FsError> {
        self.client_write_at(cluster, path, size_bytes, actor).1
    }

    /// [`Sim::client_write`], also giving the virtual time of the write (what
    /// [`Sim::now_ms`] reads right after it; a simulated client logs it with each write).
    pub fn client_write_at(
        &self,
        cluster: &str,
        path: &str,
        size_bytes: u64,
        actor: &str,
    ) -> (u64, Result<u64, FsError>) {
        self.with_world(|w| {
            let (now, result, _) = w.client_write(cluster, path, size_bytes, actor);
            (now, result)
        })
    }

    /// What a simulated client does for each write, under one lock: run `check` on whether
    /// `cluster` is up and on its configuration (as [`Sim::with_up_config`]); when it gives
    /// a file's path, write that file as [`Sim::client_write_at`] does. `None` for an
    /// unknown cluster, `Some(Err)` when `check` refused (nothing written), else the path,
    /// the virtual time of the write and its result, an error as its message.
    ///
    /// The same as the two calls one after the other (nothing can happen in between: the
    /// world is locked and the virtual clock reads the same), without locking the world
    /// and reading the clock twice, and with the error's message formatted once (the audit
    /// entry has it too).
    pub fn client_write_checked<E>(
        &self,
        cluster: &str,
        size_bytes: u64,
        actor: &str,
        check: impl FnOnce(bool, &crate::config::ConfigState) -> Result<String, E>,
    ) -> Option<Result<CheckedWrite, E>> {
        let now = self.inner.clock.now_ms();
        let mut w = lock(&self.inner.world);
        w.advance_known(now);
        let c = w.cluster(cluster)?;
        let path = match check(c.up, &c.cfg) {
            Ok(p) => p,
            // Only read: the version stays (as `with_world_read` leaves it).
            Err(e) => return Some(Err(e)),
        };
        let (t, result, msg) = w.client_write(cluster, &path, size_bytes, actor);
        w.bump_version_keeping_schedule();
        let result = result.map_err(|e| msg.unwrap_or_else(|| e.to_string()));
        Some(Ok((path, t, result)))
    }

    /// Read the world in place under one lock, brought up to the current virtual time: for
    /// a harness that reads many things at one instant (the drill's sampler at every step
    /// end, its judge after the run), where each [`Sim::is_up`], [`Sim::read_file`], …
    /// locks the world and reads the clock. `f` must not call back into this `Sim`.
    pub fn read_world<R>(&self, f: impl FnOnce(&WorldState) -> R) -> R {
        self.with_world_read(f)
    }

    pub fn read_file(&self, cluster: &str, path: &str) -> Option<FileEntry> {
        self.with_world_read(|w| w.cluster(cluster)?.files.get(path).cloned())
    }

    /// All files at or under `root`, keyed by full path.
    pub fn tree(&self, cluster: &str, root: &str) -> BTreeMap<String, FileEntry> {
        self.with_world_read(|w| {
            w.cluster(cluster)
                .map(|c| {
                    c.files
                        .range(root.to_string()..)
                        .take_while(|(k, _)| k.starts_with(root))
                        .filter(|(k, _)| is_under(k, root))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Whether a client could write `path` on `cluster` now.
    pub fn is_writable(&self, cluster: &str, path: &str) -> bool {
        self.with_world_read(|w| w.is_writable(cluster, path))
    }

    /// An administrator changes a SmartConnect pool at the cluster's console (WebUI or
    /// `isi network pools modify`), outside the orchestrator: the simulated operator of a
    /// drill carries out manual checklist steps this way. `pool` is the full id
    /// (`groupnet0.subnet0.pool0`) or the pool's name; `changes` are merged into the pool
    /// (e.g. `sc_dns_zone`, `sc_dns_zone_aliases`). Audited as `network.pool.update` by
    /// `actor`, without run context. Fault rules do not apply (they model the PAPI calls
    /// of the orchestrator), but a down cluster cannot be reconfigured.
    pub fn console_update_pool(
        &self,
        cluster: &str,
        pool: &str,
        changes: serde_json::Map<String, serde_json::Value>,
        actor: &str,
    ) -> Result<(), String> {
        self.with_world(|w| {
            let t = w.now_ms;
            let c = w
                .cluster_mut(cluster)
                .ok_or_else(|| format!("unknown cluster `{cluster}`"))?;
            if !c.up {
                return Err(format!("cluster `{cluster}` is down"));
            }
            let key = if c.cfg.pools.contains_key(pool) {
                pool.to_string()
            } else {
                c.cfg
                    .pools
                    .iter()
                    .find(|(_, p)| p.get("name").and_then(|n| n.as_str()) == Some(pool))
                    .map(|(k, _)| k.clone())
                    .ok_or_else(|| format!("pool `{pool}` not found on `{cluster}`"))?
            };
            let o = c.cfg.pools.get_mut(&key).expect("found above");
            let before = serde_json::json!({
                "sc_dns_zone": o.get("sc_dns_zone"),
                "sc_dns_zone_aliases": o.get("sc_dns_zone_aliases"),
            });
            for (f, v) in &changes {
                o.insert(f.clone(), v.clone());
            }
            w.push_audit(
                AuditEntry::new(t, cluster, actor, "network.pool.update", &key).detail(
                    serde_json::json!({"changes": changes, "before": before, "via": "console"}),
                ),
            );
            Ok(())
        })
    }

    /// Whether the cluster is up (not taken down by a fault).
    /// Run `f` on whether `cluster` is up and on its configuration, read in place under one
    /// lock (what a simulated client checks before each write: [`Sim::is_up`] and
    /// [`Sim::with_config`] together); `None` for an unknown cluster.
    pub fn with_up_config<R>(
        &self,
        cluster: &str,
        f: impl FnOnce(bool, &crate::config::ConfigState) -> R,
    ) -> Option<R> {
        self.with_world_read(|w| w.cluster(cluster).map(|c| f(c.up, &c.cfg)))
    }

    pub fn is_up(&self, cluster: &str) -> bool {
        self.with_world_read(|w| w.cluster(cluster).is_some_and(|c| c.up))
    }

    /// Full deterministic dump of the world (without the audit log and passwords).
    pub fn state_json(&self) -> serde_json::Value {
        self.with_world_read(|w| {
            let mut v = serde_json::to_value(w).unwrap_or(serde_json::Value::Null);
            if let Some(m) = v.as_object_mut() {
                m.insert("audit_len".into(), serde_json::json!(w.audit.len()));
            }
            v
        })
    }

    /// The PAPI JSON of a policy (by id or name).
    pub fn policy_state(&self, cluster: &str, policy: &str) -> Option<serde_json::Value> {
        self.with_world_read(|w| {
            let s = &w.cluster(cluster)?.synciq;
            let id = s.policy_id(policy)?;
            Some(api::policy_json(&s.policies[&id], w.epoch))
        })
    }

    /// The PAPI JSON of a target policy (by id or name).
    pub fn target_policy_state(&self, cluster: &str, policy: &str) -> Option<serde_json::Value> {
        self.with_world_read(|w| {
            let s = &w.cluster(cluster)?.synciq;
            let id = s.target_policy_id(policy)?;
            Some(api::target_policy_json(&s.target_policies[&id], w.epoch))
        })
    }

    /// The PAPI JSON of a policy's running job (by policy id or name), if any.
    pub fn job_state(&self, cluster: &str, policy: &str) -> Option<serde_json::Value> {
        self.with_world_read(|w| {
            let now = w.now_ms;
            let s = &w.cluster(cluster)?.synciq;
            let id = s.job_id(policy)?;
            Some(api::job_json(&s.jobs[&id], now, w.epoch))
        })
    }

    /// SmartConnect: the addresses the cluster owning `ssip` (a subnet service address)
    /// hands out for `name` (a pool's `sc_dns_zone` or alias), or `None` if no cluster
    /// owns the SSIP or its pools do not carry the name. Down clusters do not answer.
    pub fn smartconnect_answer(&self, ssip: &str, name: &str) -> Option<Vec<std::net::Ipv4Addr>> {
        self.with_world_read(|w| {
            w.clusters
                .values()
                .filter(|c| c.up)
                .find_map(|c| c.cfg.smartconnect_answer(ssip, name))
        })
    }

    /// A copy of the world's AD domain (`world.ad`), if it has one.
    pub fn ad_domain(&self) -> Option<sim_ad_dns::Domain> {
        self.with_world_read(|w| w.ad.clone())
    }

    /// Run `f` on the world's AD domain (e.g. a simulated client's Kerberos lookup).
    pub fn with_ad<R>(&self, f: impl FnOnce(&mut sim_ad_dns::Domain) -> R) -> Option<R> {
        self.with_world(|w| w.ad.as_mut().map(f))
    }

    /// A simulated SMB client opens `path` on `cluster`; returns the open-file id that
    /// `GET protocols/smb/openfiles` lists until it is closed.
    pub fn smb_open_file(&self, cluster: &str, path: &str, user: &str) -> Option<u64> {
        self.with_world(|w| {
            let c = w.cluster_mut(cluster)?;
            let id = c.cfg.next_openfile_id;
            c.cfg.next_openfile_id += 1;
            c.cfg
                .openfiles
                .insert(id, crate::config::open_file_obj(path, user));
            Some(id)
        })
    }

    /// A simulated SMB client closes an open file.
    pub fn smb_close_file(&self, cluster: &str, id: u64) -> bool {
        self.with_world(|w| {
            w.cluster_mut(cluster)
                .is_some_and(|c| c.cfg.openfiles.remove(&id).is_some())
        })
    }

    /// The PAPI JSON of all reports on a cluster, oldest first.
    pub fn reports(&self, cluster: &str) -> Vec<serde_json::Value> {
        self.with_world_read(|w| {
            w.cluster(cluster)
                .map(|c| {
                    c.synciq
                        .reports
                        .all()
                        .iter()
                        .map(|r| api::report_json(r, w.epoch))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Run `f` on the world's AD domain, read in place (no copy, unlike
    /// [`Sim::ad_domain`]): the judge samples SPN collisions at every step end.
    pub fn with_ad_read<R>(&self, f: impl FnOnce(&sim_ad_dns::Domain) -> R) -> Option<R> {
        self.with_world_read(|w| w.ad.as_ref().map(f))
    }

    /// A policy's `schedule` (by id or name), read from the model: what
    /// `policy_state(..)["schedule"]` holds, without rendering the policy's JSON.
    pub fn policy_schedule(&self, cluster: &str, policy: &str) -> Option<String> {
        self.with_world_read(|w| {
            let s = &w.cluster(cluster)?.synciq;
            let id = s.policy_id(policy)?;
            s.policies.get(&id).map(|p| p.schedule.clone())
        })
    }
}

/// A write [`Sim::client_write_checked`] made: the file's path, the virtual time of the
/// write and its result (the new version, or the error's message).
pub type CheckedWrite = (String, u64, Result<u64, String>);

/// Lock `m`, or end the process when a panic poisoned it in the middle of a change (serving
/// a half-updated world would answer clients with a state no cluster could be in).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|_| {
        eprintln!("sim-onefs: a panic interrupted a change of the simulated world; stopping rather than serving a half-updated state");
        std::process::exit(70)
    })
}

impl WorldState {
    /// Whether a client could write `path` on `cluster` now ([`Sim::is_writable`], for a
    /// reader already holding the world: [`Sim::read_world`]).
    pub fn is_writable(&self, cluster: &str, path: &str) -> bool {
        self.cluster(cluster).is_some_and(|c| c.up)
            && valid_ifs_path(path)
            && self.read_only_reason(cluster, path).is_none()
    }
}

//! Simulated SMB, NFS and DFS clients. They write at the rate the scenario sets, in virtual
//! time, through the same path a real client takes, and log every acknowledged write and
//! every error:
//!
//! * **SMB** `\\name\share[\dir]`: resolve `name` (DNS → SmartConnect → a pool address → its
//!   cluster), get a Kerberos ticket for `HOST/<name>` (fails when the SPN is missing, on
//!   two accounts, or on another cluster's account), open the share (fails when missing or
//!   under Deny-Everyone), write (fails in a read-only SyncIQ target directory). An SMB
//!   client keeps its session; on any error it drops it and reconnects on the next write.
//! * **NFS** `name:/path`: resolve, check an export covers the path and the client's address
//!   (10.9.0.N for the N-th client), write. The mount stays on the cluster it was made to
//!   until `refresh_clients` (step 19) remounts it, or the cluster goes away.
//! * A cluster whose SMB or NFS service is off (`protocols/{smb,nfs}/settings/global`
//!   `service: false`, what `disable_protocols` sets) refuses that protocol: the write fails
//!   and the client loses its session or mount, as a real client would.
//! * **DFS** `\\domain\root\folder`: every write follows the namespace's referral to the first
//!   target whose share exists on a server that answers (renaming shares redirects it; a
//!   server that is down is skipped), then writes as SMB does.
//!
//! Each write creates a new file (`<dir>/<client>-<n>`), so "was this acknowledged write
//! kept?" is a plain existence check after the failover (I4).

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scenario::{ClientSpec, Protocol};
use crate::world::{field, World};

/// Bytes per simulated write.
pub const WRITE_BYTES: u64 = 4096;
/// Cap on writes per client before the run's tail (a bound on the log's size). A client
/// that reaches it stops writing until the tail: a long run (a day of virtual time at a few
/// writes a second) can outlast it.
pub const MAX_WRITES_PER_CLIENT: u64 = 100_000;
/// Cap on writes per client in the tail after the run ([`ClientControl::tail`]), on top of
/// [`MAX_WRITES_PER_CLIENT`]: however early a client reached its cap, what it sees after
/// the run is in the log for the judge (I7), and the tail's log stays bounded at any
/// write rate.
pub const MAX_TAIL_WRITES_PER_CLIENT: u64 = 1_000;

/// One write attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientEvent {
    /// Virtual ms since the world was built.
    pub t_ms: u64,
    pub client: String,
    /// The cluster the write went to, when it got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The file written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Shared switches between the harness and the clients.
#[derive(Clone, Default)]
pub struct ClientControl {
    /// Bumped when `refresh_clients` ends: clients remount / reconnect.
    pub remount_generation: Arc<AtomicU64>,
    /// Set when the run has ended and the clients show what they see after it.
    pub tail: Arc<AtomicBool>,
    /// Set when the drill is over.
    pub stop: Arc<AtomicBool>,
}

/// The log all clients append to.
pub type ClientLog = Arc<Mutex<Vec<ClientEvent>>>;

enum Target {
    Smb {
        host: String,
        share: String,
        rest: String,
    },
    Nfs {
        host: String,
        path: String,
    },
    Dfs {
        path: String,
    },
}

/// A DFS client's path, resolved as far as it can be once: the namespace is fixed for the
/// world's life (DFS-mode failover renames shares, never the namespace), so the referral
/// and, for each of its targets, the UNC path `DfsRoot::resolve` would give are the same
/// on every write. Only which target's share exists on a server that answers changes, and
/// that is asked on every write.
struct DfsRoute {
    /// Per referral target in priority order: `(host, share)` as `pick_target` checks them,
    /// and the resolved UNC path split as `parse_unc` splits it (`Err` holds the resolved
    /// path when it does not parse).
    targets: Vec<DfsTarget>,
}

struct DfsTarget {
    host: String,
    share: String,
    /// `None` when `resolve` gives up after picking this target.
    resolved: Option<Result<(String, String, String), String>>,
}

impl DfsRoute {
    /// `None` when the path has no referral (every write fails as unreachable).
    fn new(root: &sim_ad_dns::dfs::DfsRoot, path: &str) -> Option<DfsRoute> {
        let ns = root.referral(path)?;
        let targets = ns
            .targets
            .iter()
            .filter_map(|t| {
                // `pick_target` skips malformed targets.
                let (host, share, _) = sim_ad_dns::dfs::parse_unc(t)?;
                let resolved = sim_ad_dns::dfs::DfsRoot::resolve_via(ns, path, t)
                    .map(|unc| sim_ad_dns::dfs::parse_unc(&unc).ok_or(unc));
                Some(DfsTarget {
                    host,
                    share,
                    resolved,
                })
            })
            .collect();
        Some(DfsRoute { targets })
    }
}

fn parse(spec: &ClientSpec) -> Result<Target, String> {
    match spec.protocol {
        Protocol::Smb => {
            let (host, share, rest) = sim_ad_dns::dfs::parse_unc(&spec.path).ok_or_else(|| {
                format!(
                    "client {}: {:?} is not \\\\host\\share",
                    spec.name, spec.path
                )
            })?;
            Ok(Target::Smb { host, share, rest })
        }
        Protocol::Nfs => {
            let (host, path) = spec.path.split_once(':').ok_or_else(|| {
                format!("client {}: {:?} is not host:/path", spec.name, spec.path)
            })?;
            Ok(Target::Nfs {
                host: host.to_string(),
                path: path.to_string(),
            })
        }
        Protocol::Dfs => Ok(Target::Dfs {
            path: spec.path.clone(),
        }),
    }
}

/// Check the client specs before a run (so a typo is an input error, not a silent client).
pub fn validate(specs: &[ClientSpec]) -> Result<(), String> {
    for s in specs {
        parse(s)?;
    }
    Ok(())
}

fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().unwrap_or(32)),
        None => (cidr, 32),
    };
    let Ok(net) = net.parse::<Ipv4Addr>() else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    u32::from(net) & mask == u32::from(ip) & mask
}

fn denies_everyone(perms: &Value) -> bool {
    // `Value::get`, without hashing (asked on every SMB write).
    let get = sim_onefs::config::value_field;
    perms.as_array().is_some_and(|a| {
        a.iter().any(|p| {
            get(p, "permission_type").and_then(Value::as_str) == Some("deny")
                && get(p, "trustee")
                    .and_then(|t| get(t, "id"))
                    .and_then(Value::as_str)
                    == Some("SID:S-1-1-0")
        })
    })
}

struct Client {
    idx: usize,
    spec: ClientSpec,
    target: Target,
    /// `client:<name>`, the actor of its writes in the audit log (built once, not per write).
    actor: String,
    /// For an SMB client, its `\dir` below the share as `/dir` (empty at the share's root).
    smb_rest: String,
    /// For a DFS client, its path's referral (`None`: no namespace covers it).
    dfs: Option<DfsRoute>,
    mount: Option<String>,
    generation: u64,
    /// Writes attempted (before and in the tail): the next file's number.
    written: u64,
    /// Of those, attempted in the tail.
    written_in_tail: u64,
    /// For an NFS client: export `clients` entries seen so far, each with whether it
    /// covers this client's address (fixed per client). Exports list the same few CIDRs
    /// on every write, and parsing them each time was a noticeable part of a write.
    cidrs: Vec<(String, bool)>,
}

/// Whether `cidr` covers `ip`, remembered in `seen` (see `Client::cidrs`).
fn cidr_contains_cached(seen: &mut Vec<(String, bool)>, cidr: &str, ip: Ipv4Addr) -> bool {
    if let Some((_, hit)) = seen.iter().find(|(c, _)| c == cidr) {
        return *hit;
    }
    let hit = cidr_contains(cidr, ip);
    seen.push((cidr.to_string(), hit));
    hit
}

/// `rest` of `\\host\share\rest` as a `/`-separated suffix of the share's path.
fn rest_suffix(rest: &str) -> String {
    let mut out = String::new();
    for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
        out.push('/');
        out.push_str(part);
    }
    out
}

/// The file a client's `n`-th write creates in a directory: `<dir>/<client>-<n:06>`.
struct FileName<'a> {
    client: &'a str,
    n: u64,
}

impl FileName<'_> {
    /// The file in the directory `dir` (its parts joined), built in one allocation
    /// without the formatting machinery (one per write).
    fn under(&self, dir: &[&str]) -> String {
        let len = dir.iter().map(|d| d.len()).sum::<usize>() + self.client.len() + 22;
        let mut out = String::with_capacity(len);
        for d in dir {
            out.push_str(d);
        }
        out.push('/');
        out.push_str(self.client);
        out.push('-');
        push_zero_padded(&mut out, self.n, 6);
        out
    }
}

/// `n` in decimal, zero-padded to `width` digits: what `format!("{n:0width$}")` writes.
fn push_zero_padded(out: &mut String, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for _ in digits.len() - i..width {
        out.push('0');
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// What a write attempt gives: `Ok((cluster, file))` or `Err((cluster if known, message))`.
type Attempt = Result<(String, String), (Option<String>, String)>;

impl Client {
    fn new(idx: usize, spec: ClientSpec, target: Target, world: &World) -> Client {
        let actor = if spec.name.starts_with("client:") {
            spec.name.clone()
        } else {
            format!("client:{}", spec.name)
        };
        let smb_rest = match &target {
            Target::Smb { rest, .. } => rest_suffix(rest),
            _ => String::new(),
        };
        let dfs = match &target {
            Target::Dfs { path } => DfsRoute::new(&world.dfs, path),
            _ => None,
        };
        Client {
            idx,
            spec,
            target,
            actor,
            smb_rest,
            dfs,
            mount: None,
            generation: 0,
            written: 0,
            written_in_tail: 0,
            cidrs: Vec::new(),
        }
    }

    fn ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 9, (self.idx / 250) as u8, (self.idx % 250 + 1) as u8)
    }

    fn kerberos(world: &World, host: &str, cluster: &str) -> Result<(), String> {
        let Some(result) = world.sim.with_ad(|d| {
            // Windows asks for HOST/<name as typed>; try the FQDN form first.
            d.kerberos(&format!("HOST/{host}"))
        }) else {
            return Ok(()); // no AD in this world: NTLM / NFS AUTH_SYS
        };
        let account = result.map_err(|e| format!("Kerberos: {e}"))?;
        let mine = world.machine_account(cluster);
        if !account.eq_ignore_ascii_case(&mine) {
            return Err(format!(
                "Kerberos: HOST/{host} belongs to {account}, not to {cluster}'s account {mine}"
            ));
        }
        Ok(())
    }

    /// One write attempt, and the virtual time of the write when it reached a cluster's
    /// file system (the time to log it with; `None`: ask the clock).
    fn attempt(&mut self, world: &World) -> (Option<u64>, Attempt) {
        let file_name = FileName {
            client: &self.spec.name,
            n: self.written,
        };
        match &self.target {
            Target::Smb { host, share, .. } => {
                let mut at = None;
                let r = smb_write(
                    world,
                    &mut self.mount,
                    &mut at,
                    SmbOpen {
                        host,
                        known_cluster: None,
                        share,
                        rest: &self.smb_rest,
                        kerberos: true,
                    },
                    &file_name,
                    &self.actor,
                );
                (at, r)
            }
            Target::Nfs { host, path } => {
                let cluster = match &self.mount {
                    Some(c) => c.clone(),
                    None => match world.cluster_of_host(host) {
                        Some(c) => {
                            self.mount = Some(c.clone());
                            c
                        }
                        None => return (None, Err((None, format!("{host} does not resolve")))),
                    },
                };
                let ip = self.ip();
                let cidrs = &mut self.cidrs;
                let mut allows = |e: &serde_json::Map<String, Value>| {
                    let strings = |k| {
                        field(e, k)
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                    };
                    // Covers the path, for every client (no client listed) or this one.
                    strings("paths").any(|p| crate::lab::path_under(path, p)) && {
                        let mut clients = strings("clients").peekable();
                        clients.peek().is_none()
                            || clients.any(|c| cidr_contains_cached(cidrs, c, ip))
                    }
                };
                // The server's checks and the write, under one lock (an unknown cluster
                // does not answer).
                let checked = world
                    .sim
                    .client_write_checked(&cluster, WRITE_BYTES, &self.actor, |up, cfg| {
                        if !up {
                            Err(NfsCheck::Down)
                        } else if !World::protocol_service_on_in(cfg, "nfs") {
                            Err(NfsCheck::ServiceOff)
                        } else if !cfg.nfs_exports.values().any(&mut allows) {
                            Err(NfsCheck::NoExport)
                        } else {
                            Ok(file_name.under(&[path.trim_end_matches('/')]))
                        }
                    })
                    .unwrap_or(Err(NfsCheck::Down));
                let (file, t, r) = match checked {
                    Ok(written) => written,
                    Err(NfsCheck::Down) => {
                        self.mount = None;
                        return (
                            None,
                            Err((Some(cluster), "NFS server not responding".into())),
                        );
                    }
                    Err(NfsCheck::ServiceOff) => {
                        // The server stops answering: the mount is lost, the next write
                        // mounts again by name.
                        self.mount = None;
                        let msg = format!("NFS service is disabled on {cluster}");
                        return (None, Err((Some(cluster), msg)));
                    }
                    Err(NfsCheck::NoExport) => {
                        return (
                            None,
                            Err((Some(cluster), format!("no export of {path} for {ip}"))),
                        );
                    }
                };
                let r = match r {
                    Ok(_) => Ok((cluster, file)),
                    Err(e) => Err((Some(cluster), e)),
                };
                (Some(t), r)
            }
            Target::Dfs { path } => {
                self.mount = None; // DFS follows the referral every time
                let unreachable = || {
                    (
                        None,
                        Err((
                            None,
                            format!("no DFS referral target of {path} is reachable"),
                        )),
                    )
                };
                let Some(route) = &self.dfs else {
                    return unreachable();
                };
                // What `DfsRoot::resolve` does on every write: the first target whose
                // share exists on a server that answers. A server that does not answer is
                // skipped: the client tries the next referral target, as Windows DFS
                // clients do.
                let picked = route.targets.iter().find_map(|t| {
                    let c = world.cluster_of_host(&t.host)?;
                    world.smb_share_answers(&c, &t.share).then_some((t, c))
                });
                let Some((t, c)) = picked else {
                    return unreachable();
                };
                let (host, share, rest) = match &t.resolved {
                    None => return unreachable(),
                    Some(Err(unc)) => {
                        return (None, Err((None, format!("bad referral {unc}"))));
                    }
                    Some(Ok(x)) => x,
                };
                // The server the referral check just found for this host (names resolve
                // the same within one attempt: nothing changes in between).
                let known_cluster = (host == &t.host).then_some(c);
                let mut at = None;
                let r = smb_write(
                    world,
                    &mut self.mount,
                    &mut at,
                    SmbOpen {
                        host,
                        known_cluster,
                        share,
                        rest: &rest_suffix(rest),
                        kerberos: false,
                    },
                    &file_name,
                    &self.actor,
                );
                (at, r)
            }
        }
    }
}

/// Why an NFS server refuses a write before it reaches the file system.
enum NfsCheck {
    /// Down (or unknown): not responding.
    Down,
    /// Its NFS service is off.
    ServiceOff,
    /// No export covers the path for the client's address.
    NoExport,
}

/// Where an SMB write goes.
struct SmbOpen<'a> {
    host: &'a str,
    /// The cluster `host` resolves to, when the caller just resolved it.
    known_cluster: Option<String>,
    share: &'a str,
    /// The directory below the share, as a `/dir` suffix.
    rest: &'a str,
    kerberos: bool,
}

/// An SMB write through `mount` (the session's cluster; dropped on any error). `at` gets
/// the virtual time of the write when it reached the file system.
fn smb_write(
    world: &World,
    mount: &mut Option<String>,
    at: &mut Option<u64>,
    open: SmbOpen<'_>,
    file_name: &FileName<'_>,
    actor: &str,
) -> Attempt {
    let cluster = match mount.take() {
        Some(c) => c,
        None => {
            let c = match open.known_cluster {
                Some(c) => c,
                None => world
                    .cluster_of_host(open.host)
                    .ok_or_else(|| (None, format!("{} does not resolve", open.host)))?,
            };
            if open.kerberos {
                Client::kerberos(world, open.host, &c).map_err(|e| (Some(c.clone()), e))?;
            }
            c
        }
    };
    // The checks a connection makes, then the write, under one lock: the server answers,
    // its SMB service is on, the share exists and does not deny everyone.
    let checked = world
        .sim
        .client_write_checked(&cluster, WRITE_BYTES, actor, |up, cfg| {
            if !up {
                return Err("connection reset".to_string());
            }
            if !World::protocol_service_on_in(cfg, "smb") {
                // The session is torn down; the next write connects again by name.
                return Err(format!("SMB service is disabled on {cluster}"));
            }
            let Some((_, s, share_path)) = crate::world::find_smb_share(cfg, open.share) else {
                return Err(format!("share {} not found on {cluster}", open.share));
            };
            if field(s, "permissions").is_some_and(denies_everyone) {
                return Err(format!("access denied on {} (Deny Everyone)", open.share));
            }
            Ok(file_name.under(&[share_path.trim_end_matches('/'), open.rest]))
        })
        .unwrap_or_else(|| {
            // An unknown cluster is neither up nor configured.
            Err("connection reset".to_string())
        });
    let (file, t, r) = match checked {
        Ok(written) => written,
        // The session is dropped (`mount` stays empty).
        Err(msg) => return Err((Some(cluster), msg)),
    };
    *at = Some(t);
    match r {
        Ok(_) => {
            *mount = Some(cluster.clone());
            Ok((cluster, file))
        }
        Err(e) => Err((Some(cluster), e)),
    }
}

/// Run every client until `ctl.stop` is set. Deterministic under a paused clock: the
/// clients are polled in a fixed order by one future.
pub async fn run_clients(world: World, specs: Vec<ClientSpec>, ctl: ClientControl, log: ClientLog) {
    let mut clients: Vec<Client> = Vec::new();
    for (idx, spec) in specs.into_iter().enumerate() {
        let Ok(target) = parse(&spec) else { continue };
        if spec.writes_per_minute == 0 {
            continue;
        }
        clients.push(Client::new(idx, spec, target, &world));
    }
    if clients.is_empty() {
        return;
    }
    // Next due time per client, in ms since start; staggered so they do not move in lockstep.
    let start = tokio::time::Instant::now();
    let period = |c: &Client| 60_000 / u64::from(c.spec.writes_per_minute.max(1));
    let mut due: Vec<u64> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u64 * 997) % period(c).max(1))
        .collect();
    loop {
        if ctl.stop.load(Ordering::SeqCst) {
            return;
        }
        let (i, &t) = due
            .iter()
            .enumerate()
            .min_by_key(|(i, t)| (**t, *i))
            .expect("non-empty");
        let now = start.elapsed().as_millis() as u64;
        if t > now {
            // Wake at the next write or at least every second to notice `stop`.
            tokio::time::sleep(Duration::from_millis((t - now).min(1_000))).await;
            continue;
        }
        let gen = ctl.remount_generation.load(Ordering::SeqCst);
        let c = &mut clients[i];
        if gen != c.generation {
            c.generation = gen;
            c.mount = None;
        }
        let in_tail = ctl.tail.load(Ordering::SeqCst);
        let allowed = if in_tail {
            c.written_in_tail < MAX_TAIL_WRITES_PER_CLIENT
        } else {
            c.written < MAX_WRITES_PER_CLIENT
        };
        if allowed {
            let (at, result) = c.attempt(&world);
            if in_tail {
                c.written_in_tail += 1;
            }
            c.written += 1;
            // The time right after the attempt: the write's own when it reached a cluster.
            let t_ms = at.unwrap_or_else(|| world.sim.now_ms());
            let ev = match result {
                Ok((cluster, path)) => ClientEvent {
                    t_ms,
                    client: c.spec.name.clone(),
                    cluster: Some(cluster),
                    path: Some(path),
                    ok: true,
                    error: None,
                },
                Err((cluster, error)) => ClientEvent {
                    t_ms,
                    client: c.spec.name.clone(),
                    cluster,
                    path: None,
                    ok: false,
                    error: Some(error),
                },
            };
            log.lock().unwrap_or_else(|p| p.into_inner()).push(ev);
        }
        due[i] = t + period(&clients[i]);
    }
}

/// Per-client outage: last acknowledged write on the source before the first on the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub client: String,
    pub last_source_ok_ms: Option<u64>,
    pub first_target_ok_ms: Option<u64>,
    /// `first_target_ok_ms - last_source_ok_ms`, when both exist and the client was
    /// writing all along: `None` when it reached its write cap before its first write on
    /// the target (it did not look in between, so when the target became reachable is not
    /// known).
    pub window_ms: Option<u64>,
    pub writes_ok: u64,
    pub writes_failed: u64,
    /// Writes acknowledged on the source that are not on the target after the run.
    pub lost_writes: u64,
    /// When the client made its last write before reaching [`MAX_WRITES_PER_CLIENT`], if
    /// it reached it before the run ended; it wrote again only in the tail after the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_cap_reached_ms: Option<u64>,
}

/// Outage windows of every client. `tail_from_ms`: when the run ended and the clients'
/// tail began (writes after it do not count towards [`MAX_WRITES_PER_CLIENT`]).
pub fn outages(
    log: &[ClientEvent],
    from: &str,
    to: &str,
    tail_from_ms: Option<u64>,
    lost: &dyn Fn(&ClientEvent) -> bool,
) -> Vec<Outage> {
    // Each client's events in log order, clients in name order: one pass over the log
    // (a scan of the whole log per client was quadratic).
    let mut by_client: std::collections::BTreeMap<&str, Vec<&ClientEvent>> =
        std::collections::BTreeMap::new();
    for e in log {
        by_client.entry(e.client.as_str()).or_default().push(e);
    }
    by_client
        .into_iter()
        .map(|(n, mine)| {
            let first_target_ok_ms = mine
                .iter()
                .find(|e| e.ok && e.cluster.as_deref() == Some(to))
                .map(|e| e.t_ms);
            let last_source_ok_ms = mine
                .iter()
                .filter(|e| {
                    e.ok && e.cluster.as_deref() == Some(from)
                        && first_target_ok_ms.is_none_or(|t| e.t_ms <= t)
                })
                .map(|e| e.t_ms)
                .max();
            // Each attempt logs one event, so the cap's last write is the cap-th event
            // before the tail.
            let write_cap_reached_ms = usize::try_from(MAX_WRITES_PER_CLIENT)
                .ok()
                .and_then(|cap| cap.checked_sub(1))
                .and_then(|i| mine.get(i))
                .map(|e| e.t_ms)
                .filter(|&t| tail_from_ms.is_none_or(|tail| t < tail));
            Outage {
                client: n.to_string(),
                last_source_ok_ms,
                first_target_ok_ms,
                window_ms: match (last_source_ok_ms, first_target_ok_ms) {
                    (Some(_), Some(b)) if write_cap_reached_ms.is_some_and(|c| c < b) => None,
                    (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                    _ => None,
                },
                write_cap_reached_ms,
                writes_ok: mine.iter().filter(|e| e.ok).count() as u64,
                writes_failed: mine.iter().filter(|e| !e.ok).count() as u64,
                lost_writes: mine.iter().filter(|e| lost(e)).count() as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr() {
        assert!(cidr_contains("10.9.0.0/16", Ipv4Addr::new(10, 9, 3, 4)));
        assert!(!cidr_contains("10.9.0.0/16", Ipv4Addr::new(10, 8, 3, 4)));
        assert!(cidr_contains("10.9.0.7", Ipv4Addr::new(10, 9, 0, 7)));
    }

    proptest::proptest! {
        /// A file name is the one `format!` gave.
        #[test]
        fn file_name_is_the_formatted_one(
            dir in "[a-z/]{0,12}",
            rest in "[a-z/]{0,6}",
            client in "[a-z0-9-]{0,8}",
            n in proptest::prop_oneof![0u64..2_000_000, proptest::num::u64::ANY],
        ) {
            let f = FileName { client: &client, n };
            proptest::prop_assert_eq!(f.under(&[&dir, &rest]), format!("{dir}{rest}/{client}-{n:06}"));
        }
    }

    proptest::proptest! {
        /// The remembered answer is `cidr_contains`'s, asked in any order and repeated.
        #[test]
        fn cached_cidr_matches_plain(
            asks in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("10.9.0.0/16".to_string()),
                    proptest::strategy::Just("10.8.0.0/16".to_string()),
                    "10\\.9\\.[0-3]\\.[0-9]{1,2}(/[0-9]{1,2})?",
                    "[0-9./]{0,8}",
                ],
                0..12,
            ),
            last in 0u8..4,
        ) {
            let ip = Ipv4Addr::new(10, 9, 0, last + 1);
            let mut seen = Vec::new();
            for c in asks.iter().chain(asks.iter()) {
                proptest::prop_assert_eq!(cidr_contains_cached(&mut seen, c, ip), cidr_contains(c, ip));
            }
        }
    }

    #[test]
    fn deny_everyone_is_seen() {
        let p = serde_json::json!([{"permission": "full", "permission_type": "deny", "trustee": {"id": "SID:S-1-1-0"}}]);
        assert!(denies_everyone(&p));
        assert!(!denies_everyone(&serde_json::json!([])));
    }
}

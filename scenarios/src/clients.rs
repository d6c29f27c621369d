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
use crate::world::World;

/// Bytes per simulated write.
pub const WRITE_BYTES: u64 = 4096;
/// Cap on writes per client per run (a bound on the log's size).
pub const MAX_WRITES_PER_CLIENT: u64 = 100_000;

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
    perms.as_array().is_some_and(|a| {
        a.iter().any(|p| {
            p.get("permission_type").and_then(Value::as_str) == Some("deny")
                && p.get("trustee")
                    .and_then(|t| t.get("id"))
                    .and_then(Value::as_str)
                    == Some("SID:S-1-1-0")
        })
    })
}

struct Client {
    idx: usize,
    spec: ClientSpec,
    target: Target,
    mount: Option<String>,
    generation: u64,
    written: u64,
}

impl Client {
    fn ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 9, (self.idx / 250) as u8, (self.idx % 250 + 1) as u8)
    }

    fn kerberos(&self, world: &World, host: &str, cluster: &str) -> Result<(), String> {
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

    /// One write attempt: Ok((cluster, file)) or Err((cluster if known, message)).
    fn attempt(&mut self, world: &World) -> Result<(String, String), (Option<String>, String)> {
        let name = self.spec.name.clone();
        let file_name = format!("{name}-{:06}", self.written);
        match &self.target {
            Target::Smb { host, share, rest } => {
                let (host, share, rest) = (host.clone(), share.clone(), rest.clone());
                self.smb_write(world, &host, &share, &rest, &file_name, true)
            }
            Target::Nfs { host, path } => {
                let (host, path) = (host.clone(), path.clone());
                let cluster = match &self.mount {
                    Some(c) => c.clone(),
                    None => {
                        let c = world
                            .cluster_of_host(&host)
                            .ok_or_else(|| (None, format!("{host} does not resolve")))?;
                        self.mount = Some(c.clone());
                        c
                    }
                };
                if !world.sim.is_up(&cluster) {
                    self.mount = None;
                    return Err((Some(cluster), "NFS server not responding".into()));
                }
                if !world.protocol_service_on(&cluster, "nfs") {
                    // The server stops answering: the mount is lost, the next write mounts
                    // again by name.
                    self.mount = None;
                    let msg = format!("NFS service is disabled on {cluster}");
                    return Err((Some(cluster), msg));
                }
                let ip = self.ip();
                let allowed = world.any_nfs_export(&cluster, |e| {
                    let covers = e
                        .get("paths")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .any(|p| crate::lab::path_under(&path, p));
                    let clients: Vec<&str> = e
                        .get("clients")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    covers && (clients.is_empty() || clients.iter().any(|c| cidr_contains(c, ip)))
                });
                if !allowed {
                    return Err((Some(cluster), format!("no export of {path} for {ip}")));
                }
                let file = format!("{}/{file_name}", path.trim_end_matches('/'));
                world
                    .sim
                    .client_write(&cluster, &file, WRITE_BYTES, &name)
                    .map(|_| (cluster.clone(), file))
                    .map_err(|e| (Some(cluster.clone()), e.to_string()))
            }
            Target::Dfs { path } => {
                // A server that does not answer is skipped: the client tries the next
                // referral target, as Windows DFS clients do.
                let share_exists = |h: &str, s: &str| {
                    world
                        .cluster_of_host(h)
                        .is_some_and(|c| world.sim.is_up(&c) && world.has_smb_share(&c, s))
                };
                let unc = world.dfs.resolve(path, share_exists).ok_or_else(|| {
                    (
                        None,
                        format!("no DFS referral target of {path} is reachable"),
                    )
                })?;
                let (host, share, rest) = sim_ad_dns::dfs::parse_unc(&unc)
                    .ok_or_else(|| (None, format!("bad referral {unc}")))?;
                self.mount = None; // DFS follows the referral every time
                self.smb_write(world, &host, &share, &rest, &file_name, false)
            }
        }
    }

    fn smb_write(
        &mut self,
        world: &World,
        host: &str,
        share: &str,
        rest: &str,
        file_name: &str,
        kerberos: bool,
    ) -> Result<(String, String), (Option<String>, String)> {
        let cluster = match &self.mount {
            Some(c) => c.clone(),
            None => {
                let c = world
                    .cluster_of_host(host)
                    .ok_or_else(|| (None, format!("{host} does not resolve")))?;
                if kerberos {
                    self.kerberos(world, host, &c)
                        .map_err(|e| (Some(c.clone()), e))?;
                }
                c
            }
        };
        let fail = |me: &mut Self, msg: String| {
            me.mount = None;
            Err((Some(cluster.clone()), msg))
        };
        if !world.sim.is_up(&cluster) {
            return fail(self, "connection reset".into());
        }
        if !world.protocol_service_on(&cluster, "smb") {
            // The session is torn down; the next write connects again by name.
            return fail(self, format!("SMB service is disabled on {cluster}"));
        }
        let Some((share_path, denied)) = world.smb_share_with(&cluster, share, denies_everyone)
        else {
            return fail(self, format!("share {share} not found on {cluster}"));
        };
        if denied {
            return fail(self, format!("access denied on {share} (Deny Everyone)"));
        }
        let mut dir = share_path.trim_end_matches('/').to_string();
        for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
            dir.push('/');
            dir.push_str(part);
        }
        let file = format!("{dir}/{file_name}");
        match world
            .sim
            .client_write(&cluster, &file, WRITE_BYTES, &self.spec.name)
        {
            Ok(_) => {
                self.mount = Some(cluster.clone());
                Ok((cluster, file))
            }
            Err(e) => fail(self, e.to_string()),
        }
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
        clients.push(Client {
            idx,
            spec,
            target,
            mount: None,
            generation: 0,
            written: 0,
        });
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
        if c.written < MAX_WRITES_PER_CLIENT {
            let result = c.attempt(&world);
            c.written += 1;
            let ev = match result {
                Ok((cluster, path)) => ClientEvent {
                    t_ms: world.sim.now_ms(),
                    client: c.spec.name.clone(),
                    cluster: Some(cluster),
                    path: Some(path),
                    ok: true,
                    error: None,
                },
                Err((cluster, error)) => ClientEvent {
                    t_ms: world.sim.now_ms(),
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
    /// `first_target_ok_ms - last_source_ok_ms`, when both exist.
    pub window_ms: Option<u64>,
    pub writes_ok: u64,
    pub writes_failed: u64,
    /// Writes acknowledged on the source that are not on the target after the run.
    pub lost_writes: u64,
}

/// Outage windows of every client.
pub fn outages(
    log: &[ClientEvent],
    from: &str,
    to: &str,
    lost: &dyn Fn(&ClientEvent) -> bool,
) -> Vec<Outage> {
    let mut names: Vec<&str> = log.iter().map(|e| e.client.as_str()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let mine: Vec<&ClientEvent> = log.iter().filter(|e| e.client == n).collect();
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
            Outage {
                client: n.to_string(),
                last_source_ok_ms,
                first_target_ok_ms,
                window_ms: match (last_source_ok_ms, first_target_ok_ms) {
                    (Some(a), Some(b)) => Some(b.saturating_sub(a)),
                    _ => None,
                },
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

    #[test]
    fn deny_everyone_is_seen() {
        let p = serde_json::json!([{"permission": "full", "permission_type": "deny", "trustee": {"id": "SID:S-1-1-0"}}]);
        assert!(denies_everyone(&p));
        assert!(!denies_everyone(&serde_json::json!([])));
    }
}

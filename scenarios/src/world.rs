//! A drill's simulated world: the OneFS clusters (`sim-onefs`), the site DNS with the
//! SmartConnect delegations (`sim-ad-dns`), and the DFS namespaces.
//!
//! DNS layout built from the scenario: a zone for the AD domain and for every SmartConnect
//! name's parent; each source pool's names (zone + aliases) are delegated to the source
//! pool's SmartConnect service IP, and — with **dual delegation** — also to the mapped target
//! pool's, so moving a name needs no DNS change. With **single delegation** only the source
//! is listed and failover must update the NS records. Every other pool's names are
//! delegated to its own service IP. NS records name hosts: each service IP gets the host
//! name `ssip-<a-b-c-d>.<zone>` with a glue A record in the zone holding the delegation
//! ([`sim_ad_dns::dns::ssip_host`]).
//!
//! With `world.dns.tsig` the site DNS refuses RFC 2136 updates not signed with that key,
//! and the orchestrator's in-process DNS client ([`World::dns_client`]) signs with it.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use orchestrator::dns::{DnsClient, FnDns};
use serde_json::Value;
use sim_ad_dns::dfs::DfsRoot;
use sim_ad_dns::dns::{Delegation, Dns, SmartConnectAnswerer};
use sim_ad_dns::wire::TsigKey;
use sim_onefs::{Sim, WorldSpec};

/// SmartConnect answers from the simulated clusters.
#[derive(Clone)]
pub struct SimAnswerer(pub Sim);

impl SmartConnectAnswerer for SimAnswerer {
    fn answer(&self, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        self.0.smartconnect_answer(ssip, name)
    }
}

/// The whole simulated site.
#[derive(Clone)]
pub struct World {
    pub sim: Sim,
    pub dns: Arc<Mutex<Dns>>,
    pub dfs: DfsRoot,
    /// The key updates to the site DNS must be signed with (`world.dns.tsig`).
    pub tsig: Option<TsigKey>,
    /// The clusters' names. A world's clusters are fixed when it is built, and clients ask
    /// for them on every write (each `Sim::cluster_names` call locks the world and copies).
    cluster_names: Arc<[String]>,
}

/// The first share called `name` (any zone) that has a path: its key, object and path.
///
/// Which share: the first in key order whose `name` equals `name` ignoring ASCII case and
/// whose `path` is a string (what a scan of every share reading each one's `name` gives).
/// Clients ask this on every write, and reading `name` from every share's JSON map (a
/// SipHash per share) was most of a write's cost; instead the keys are matched first.
/// Shares are keyed `zone␟lower(name)` (`sim_onefs::config::zone_key` of the lower-cased
/// name, kept so by every create, rename and zone rename), and a name equal to `name` but
/// for ASCII case has the same lower-case form (`str::to_lowercase`), so a share can only
/// match when its key ends with `␟` + `name` lower-cased: only those shares' objects are
/// read. Still a walk
/// of the keys in order (no index to keep up to date), so the first match is the one the
/// plain scan finds.
pub(crate) fn find_smb_share<'a>(
    cfg: &'a sim_onefs::config::ConfigState,
    name: &str,
) -> Option<(&'a String, &'a sim_onefs::config::Obj, &'a str)> {
    let matches = |s: &'a sim_onefs::config::Obj| {
        let n = field(s, "name")?.as_str()?;
        if !n.eq_ignore_ascii_case(name) {
            return None;
        }
        field(s, "path")?.as_str()
    };
    // The key's name part of a share that can match: `name` lower-cased (borrowed when
    // it is lower case already, as clients' share names usually are).
    let lower: std::borrow::Cow<'_, str> = if !name.is_ascii() {
        name.to_lowercase().into()
    } else if name.bytes().any(|b| b.is_ascii_uppercase()) {
        name.to_ascii_lowercase().into()
    } else {
        name.into()
    };
    let mut buf = [0; 4];
    let sep = sim_onefs::config::KEY_SEP.encode_utf8(&mut buf).as_bytes();
    cfg.smb_shares.iter().find_map(|(key, s)| {
        let k = key.as_bytes();
        let at = k.len().checked_sub(lower.len() + sep.len())?;
        let (head, tail) = k[at..].split_at(sep.len());
        if head != sep || tail != lower.as_bytes() {
            return None;
        }
        Some((key, s, matches(s)?))
    })
}

/// A configuration object's field, read without hashing (see `sim_onefs::config::field`).
pub(crate) use sim_onefs::config::field;

fn parent(name: &str) -> Option<&str> {
    name.split_once('.')
        .map(|x| x.1)
        .filter(|p| p.contains('.'))
}

impl World {
    /// Build the world of a scenario.
    pub fn build(spec: &WorldSpec, seed: u64) -> Result<World, String> {
        let sim = Sim::new(spec, seed).map_err(|e| e.to_string())?;
        // A joined cluster starts with its SmartConnect names' SPNs on its machine account
        // (as after OneFS's SPN check/fix), unless the scenario lists the accounts itself.
        if spec.ad.as_ref().is_some_and(|a| a.accounts.is_empty()) {
            for c in &spec.clusters {
                for p in &c.pools {
                    for n in std::iter::once(&p.sc_dns_zone).chain(p.aliases.iter()) {
                        for spn in crate::lab::spns_for_name(n) {
                            sim.with_ad(|d| d.add_spn(&c.name, &spn))
                                .transpose()
                                .map_err(|e| format!("AD account {}: {e}", c.name))?;
                        }
                    }
                }
            }
        }
        let delegation = spec
            .dns
            .as_ref()
            .map(|d| d.delegation)
            .unwrap_or(Delegation::Dual);
        let mut dns = Dns::new();
        if let Some(ad) = &spec.ad {
            dns.add_zone(&ad.domain).map_err(|e| e.to_string())?;
        }
        // (cluster, pool id) → (names, ssip)
        let mut pools = Vec::new();
        for c in &spec.clusters {
            for p in &c.pools {
                let mut names = vec![p.sc_dns_zone.clone()];
                names.extend(p.aliases.iter().cloned());
                pools.push((c.name.clone(), p.id.clone(), names, p.ssip.clone()));
            }
        }
        for (_, _, names, _) in &pools {
            for n in names {
                if let Some(z) = parent(n) {
                    dns.add_zone(z).map_err(|e| e.to_string())?;
                }
            }
        }
        let ssip_of = |s: &str| -> Option<String> {
            let (cluster, pool) = s.split_once('/')?;
            pools
                .iter()
                .find(|(c, id, _, _)| c == cluster && id == pool)
                .map(|x| x.3.clone())
        };
        for (cluster, id, names, ssip) in &pools {
            let key = format!("{cluster}/{id}");
            let mut targets = vec![ssip.clone()];
            if delegation == Delegation::Dual {
                for m in spec.pool_mappings.iter().filter(|m| m.source == key) {
                    if let Some(t) = ssip_of(&m.target) {
                        if !targets.contains(&t) {
                            targets.push(t);
                        }
                    }
                }
            }
            let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
            for n in names {
                if parent(n).is_some() {
                    dns.delegate(n, &refs).map_err(|e| e.to_string())?;
                }
            }
        }
        let dfs = DfsRoot::from_specs(&spec.dfs).map_err(|e| e.to_string())?;
        let tsig = spec
            .dns
            .as_ref()
            .and_then(|d| d.tsig.as_ref())
            .map(|t| t.key());
        let cluster_names = sim.cluster_names().into();
        Ok(World {
            sim,
            dns: Arc::new(Mutex::new(dns)),
            dfs,
            tsig,
            cluster_names,
        })
    }

    /// In-process DNS for the orchestrator: wire-format bytes in, bytes out. With a world
    /// key the server requires it on updates and the client signs with it. (No clock here:
    /// the TSIG time window is not checked in process, as the paused clock is virtual.)
    pub fn dns_client(&self) -> DnsClient {
        let dns = self.dns.clone();
        let answerer = SimAnswerer(self.sim.clone());
        let server_key = self.tsig.clone();
        let f = move |msg: Vec<u8>| {
            let mut d = dns.lock().unwrap_or_else(|p| p.into_inner());
            sim_ad_dns::wire::handle_message(&msg, &mut d, &answerer, server_key.as_ref())
        };
        let client_key = self
            .tsig
            .as_ref()
            .map(|k| orchestrator::dns::TsigKey::new(k.name.clone(), k.secret.clone()));
        DnsClient::new(Arc::new(FnDns(Arc::new(f))), client_key)
    }

    /// Resolve a name the way a client's resolver would.
    pub fn resolve(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        let answerer = SimAnswerer(self.sim.clone());
        let d = self.dns.lock().unwrap_or_else(|p| p.into_inner());
        d.resolve(name, &answerer).ok().map(|r| r.addrs)
    }

    /// The cluster that owns a pool address.
    pub fn cluster_of_ip(&self, ip: Ipv4Addr) -> Option<String> {
        // Read in place, every cluster under one lock: clients ask this on every attempt,
        // and the whole configuration as JSON would be rendered for each. The world's
        // clusters (`cluster_names`) are the simulator's, in the same (name) order.
        let addr = |r: &Value, k: &str| {
            r.as_object()
                .and_then(|o| field(o, k))
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Ipv4Addr>().ok())
        };
        let owns = |pools: &std::collections::BTreeMap<String, sim_onefs::config::Obj>| {
            pools.values().any(|p| {
                field(p, "ranges")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|r| {
                        let lo = addr(r, "low");
                        let hi = addr(r, "high");
                        matches!((lo, hi), (Some(lo), Some(hi)) if ip >= lo && ip <= hi)
                    })
            })
        };
        self.sim
            .find_config(|name, cfg| owns(&cfg.pools).then(|| name.to_string()))
    }

    /// The clusters' names, in order (fixed when the world was built).
    pub fn cluster_names(&self) -> &[String] {
        &self.cluster_names
    }

    /// Resolve a host (a cluster name, or a SmartConnect name through DNS) to a cluster.
    pub fn cluster_of_host(&self, host: &str) -> Option<String> {
        if let Some(c) = self
            .cluster_names
            .iter()
            .find(|c| c.eq_ignore_ascii_case(host))
        {
            return Some(c.clone());
        }
        let addrs = self.resolve(host)?;
        addrs.first().and_then(|a| self.cluster_of_ip(*a))
    }

    /// An SMB share of `cluster` by name (any zone): `(zone, path, permissions JSON)`.
    pub fn smb_share(&self, cluster: &str, name: &str) -> Option<(String, String, Value)> {
        self.sim
            .with_config(cluster, |cfg| {
                let (key, s, path) = find_smb_share(cfg, name)?;
                // Shares are keyed `zone␟name` (unit separator).
                let zone = key
                    .split(sim_onefs::config::KEY_SEP)
                    .next()
                    .unwrap_or("System");
                Some((
                    zone.to_string(),
                    path.to_string(),
                    s.get("permissions")
                        .cloned()
                        .unwrap_or(Value::Array(vec![])),
                ))
            })
            .flatten()
    }

    /// Whether `cluster` has an SMB share called `name` (any zone): [`World::smb_share`]
    /// without copying it.
    pub fn has_smb_share(&self, cluster: &str, name: &str) -> bool {
        self.sim
            .with_config(cluster, |cfg| find_smb_share(cfg, name).is_some())
            .unwrap_or(false)
    }

    /// Whether `cluster` is up and has an SMB share called `name` (any zone): `is_up` and
    /// [`World::has_smb_share`] read under one lock (DFS referral checks ask this for every
    /// target on every write).
    pub fn smb_share_answers(&self, cluster: &str, name: &str) -> bool {
        self.sim
            .with_up_config(cluster, |up, cfg| up && find_smb_share(cfg, name).is_some())
            .unwrap_or(false)
    }

    /// What an SMB client connecting to share `name` of `cluster` needs: the share's path
    /// and what `look` makes of its permissions, read in place (clients ask on every write;
    /// [`World::smb_share`] copies the permissions).
    pub fn smb_share_with<R>(
        &self,
        cluster: &str,
        name: &str,
        look: impl FnOnce(&Value) -> R,
    ) -> Option<(String, R)> {
        self.sim
            .with_config(cluster, |cfg| {
                let (_, s, path) = find_smb_share(cfg, name)?;
                let empty = Value::Array(vec![]);
                Some((
                    path.to_string(),
                    look(s.get("permissions").unwrap_or(&empty)),
                ))
            })
            .flatten()
    }

    /// Whether any NFS export of `cluster` passes `allows` (read in place: clients ask on
    /// every write, and [`World::nfs_exports`] copies every export).
    pub fn any_nfs_export(
        &self,
        cluster: &str,
        allows: impl Fn(&serde_json::Map<String, Value>) -> bool,
    ) -> bool {
        self.sim
            .with_config(cluster, |cfg| cfg.nfs_exports.values().any(allows))
            .unwrap_or(false)
    }

    /// Whether a protocol's service (`"smb"` or `"nfs"`) is on, cluster-wide
    /// (`protocols/<protocol>/settings/global` `service`; `disable_protocols` turns it off).
    /// On when the cluster or the setting is unknown.
    pub fn protocol_service_on(&self, cluster: &str, protocol: &str) -> bool {
        self.sim
            .with_config(cluster, |cfg| Self::protocol_service_on_in(cfg, protocol))
            .unwrap_or(true)
    }

    /// [`World::protocol_service_on`] on a configuration already in hand.
    pub(crate) fn protocol_service_on_in(
        cfg: &sim_onefs::config::ConfigState,
        protocol: &str,
    ) -> bool {
        let settings = match protocol {
            "smb" => &cfg.smb_settings,
            "nfs" => &cfg.nfs_settings,
            _ => return true,
        };
        field(settings, "service")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// The machine account of a cluster's AD provider (default: the cluster's name).
    pub fn machine_account(&self, cluster: &str) -> String {
        self.sim
            .with_config(cluster, |cfg| {
                cfg.ads
                    .as_ref()?
                    .get("machine_account")
                    .and_then(Value::as_str)
                    .map(|s| s.trim_end_matches('$').to_string())
            })
            .flatten()
            .unwrap_or_else(|| cluster.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use sim_onefs::config::{zone_key, ConfigState, Obj};

    /// The plain scan `find_smb_share` replaced: every share's `name` read from its map.
    fn find_smb_share_scan<'a>(
        cfg: &'a ConfigState,
        name: &str,
    ) -> Option<(&'a String, &'a Obj, &'a str)> {
        cfg.smb_shares.iter().find_map(|(key, s)| {
            let n = s.get("name")?.as_str()?;
            if !n.eq_ignore_ascii_case(name) {
                return None;
            }
            Some((key, s, s.get("path")?.as_str()?))
        })
    }

    /// Names that differ only in case (ASCII and not), that lower-case to another length
    /// (`İ`), to the same form though they differ beyond ASCII case (`K` Kelvin sign vs `k`),
    /// with the key separator, and prefixes and suffixes of each other.
    const NAMES: &[&str] = &[
        "data",
        "Data",
        "DATA",
        "data2",
        "ata",
        "a",
        "Ärger",
        "ärger",
        "ÄRGER",
        "İx",
        "i̇x",
        "\u{212a}ey",
        "key",
        "KEY",
        "Σσ",
        "σς",
        "x\u{1f}data",
        "",
    ];
    const ZONES: &[&str] = &["System", "a", "ab", "a\u{1f}b", "Zone", "zone", "é"];

    /// A share as the simulator stores it (keyed `zone␟lower(name)`): with or without a
    /// string path, some with `name` later set to a non-string (the key stays).
    fn shares() -> impl Strategy<Value = ConfigState> {
        prop::collection::vec(
            (
                prop::sample::select(ZONES),
                prop::sample::select(NAMES),
                0u8..6,
                any::<bool>(),
            ),
            0..12,
        )
        .prop_map(|specs| {
            let mut cfg = ConfigState::default();
            for (zone, name, kind, extra_first) in specs {
                let mut o = Obj::new();
                if extra_first {
                    o.insert("description".into(), json!("x"));
                }
                match kind {
                    0 => o.insert("name".into(), json!(7)),
                    _ => o.insert("name".into(), json!(name)),
                };
                match kind {
                    1 => None,
                    2 => o.insert("path".into(), json!(null)),
                    _ => o.insert("path".into(), json!(format!("/ifs/{zone}/{name}"))),
                };
                o.insert("permissions".into(), json!([]));
                cfg.smb_shares
                    .insert(zone_key(zone, &name.to_lowercase()), o);
            }
            cfg
        })
    }

    proptest! {
        /// The key-first search picks exactly the share the plain scan picks.
        #[test]
        fn find_smb_share_agrees_with_the_plain_scan(
            cfg in shares(),
            name in prop::sample::select(NAMES),
        ) {
            prop_assert_eq!(find_smb_share(&cfg, name), find_smb_share_scan(&cfg, name));
        }
    }

    #[test]
    fn find_smb_share_walks_every_zone_in_key_order() {
        let mut cfg = ConfigState::default();
        for (zone, name, path) in [("b", "Data", "/ifs/b"), ("a", "DATA", "/ifs/a")] {
            let o = json!({"name": name, "path": path});
            cfg.smb_shares.insert(
                zone_key(zone, &name.to_lowercase()),
                o.as_object().cloned().unwrap_or_default(),
            );
        }
        let (key, _, path) = find_smb_share(&cfg, "data").expect("found");
        assert_eq!((key.as_str(), path), ("a\u{1f}data", "/ifs/a"));
        assert!(find_smb_share(&cfg, "dat").is_none());
    }
}

//! Cluster configuration objects other than SyncIQ: access zones, SMB shares and open files,
//! NFS exports and aliases, protocol settings, quotas, snapshot schedules, dedupe settings,
//! groupnets / subnets / pools (SmartConnect) and the AD provider.
//!
//! Objects are stored as the JSON the client wrote (validated by `api::objects`), keyed by
//! their natural key; the API renders them over the field defaults the official clients
//! require. Keys are plain strings so the state serialises deterministically.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::spec::ClusterSpec;

/// A stored PAPI object (the fields a client set, plus the ones the simulator owns).
pub type Obj = Map<String, Value>;

/// Separator of compound keys (`zone` + `name`).
pub const KEY_SEP: char = '\u{1f}';

#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfigState {
    /// By zone name.
    pub zones: BTreeMap<String, Obj>,
    pub next_zone_id: u64,
    /// By `zone␟lower(name)`.
    pub smb_shares: BTreeMap<String, Obj>,
    pub smb_settings: Obj,
    pub nfs_settings: Obj,
    /// By open-file id.
    pub openfiles: BTreeMap<u64, Obj>,
    pub next_openfile_id: u64,
    /// By export id.
    pub nfs_exports: BTreeMap<u64, Obj>,
    pub next_export_id: u64,
    /// By `zone␟name`.
    pub nfs_aliases: BTreeMap<String, Obj>,
    /// By 32-character id.
    pub quotas: BTreeMap<String, Obj>,
    /// By schedule id.
    pub snapshot_schedules: BTreeMap<u64, Obj>,
    pub next_schedule_id: u64,
    pub dedupe: Obj,
    /// By groupnet name.
    pub groupnets: BTreeMap<String, Obj>,
    /// By `groupnet.subnet`.
    pub subnets: BTreeMap<String, Obj>,
    /// By `groupnet.subnet.pool`.
    pub pools: BTreeMap<String, Obj>,
    /// The AD provider (joined domain), if any.
    pub ads: Option<Obj>,
    /// `PUT cluster/identity` changes (`name`, `description`, `logon`).
    pub identity: Obj,
}

/// `o[key]`, found by comparing the keys in order: the entry `Map::get` finds (keys are
/// unique), without hashing `key` (SipHash), which costs more than comparing the few keys
/// of a configuration object. For the reads on every simulated client request (a
/// SmartConnect answer reads a few fields of every pool; clients read shares and exports).
pub fn field<'a>(o: &'a Obj, key: &str) -> Option<&'a Value> {
    if o.len() > 16 {
        return o.get(key);
    }
    o.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

/// `v.get(key)` for an object `v` (else `None`), by [`field`].
pub fn value_field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().and_then(|o| field(o, key))
}

pub fn zone_key(zone: &str, name: &str) -> String {
    format!("{zone}{KEY_SEP}{name}")
}

fn str_list<'a>(v: impl IntoIterator<Item = &'a String>) -> Value {
    Value::Array(v.into_iter().map(|s| json!(s)).collect())
}

/// The stored form of an SMB open file (`GET protocols/smb/openfiles` item).
pub fn open_file_obj(path: &str, user: &str) -> Obj {
    json!({"file": path.replace('/', "\\").replacen("\\ifs", "C:\\ifs", 1),
           "user": user, "locks": 0, "permissions": ["read", "write"]})
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// `a.b.c` → (a, b, c); anything else is put in `groupnet0.subnet0`.
pub fn split_pool_id(id: &str) -> (String, String, String) {
    let parts: Vec<&str> = id.split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
        (parts[0].into(), parts[1].into(), parts[2].into())
    } else {
        let name: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        ("groupnet0".into(), "subnet0".into(), name)
    }
}

/// Addresses `ssip+1 ..= ssip+n` (a pool's IP range next to its subnet's SSIP).
fn range_after(ssip: &str, n: u32) -> Option<(String, String)> {
    let ip: Ipv4Addr = ssip.parse().ok()?;
    let base = u32::from(ip);
    let low = Ipv4Addr::from(base.checked_add(1)?);
    let high = Ipv4Addr::from(base.checked_add(n)?);
    Some((low.to_string(), high.to_string()))
}

impl ConfigState {
    pub fn from_spec(c: &ClusterSpec) -> ConfigState {
        let mut s = ConfigState {
            next_zone_id: 1,
            next_openfile_id: 1,
            next_export_id: 1,
            next_schedule_id: 1,
            ..Default::default()
        };
        s.add_zone("System", "/ifs");
        for z in &c.zones {
            if z.name != "System" {
                s.add_zone(&z.name, &z.base_path);
            }
        }
        for sh in &c.smb_shares {
            let mut o = Obj::new();
            o.insert("name".into(), json!(sh.name));
            o.insert("path".into(), json!(sh.path));
            let perms = match &sh.permissions {
                None => default_share_permissions(),
                Some(ps) => Value::Array(ps.iter().map(share_permission_json).collect()),
            };
            o.insert("permissions".into(), perms);
            s.smb_shares
                .insert(zone_key(&sh.zone, &sh.name.to_lowercase()), o);
        }
        for a in &c.nfs_aliases {
            let o = json!({"name": a.name, "path": a.path});
            s.nfs_aliases.insert(
                zone_key(&a.zone, &a.name),
                o.as_object().cloned().unwrap_or_default(),
            );
        }
        for e in &c.nfs_exports {
            let id = s.next_export_id;
            s.next_export_id += 1;
            let mut o = Obj::new();
            o.insert("paths".into(), str_list(&e.paths));
            o.insert("zone".into(), json!(e.zone));
            o.insert("clients".into(), str_list(&e.clients));
            o.insert("read_only".into(), json!(e.read_only));
            s.nfs_exports.insert(id, o);
        }
        s.smb_settings = json!({"service": true})
            .as_object()
            .cloned()
            .unwrap_or_default();
        s.nfs_settings = json!({"service": true, "nfsv3_enabled": true, "nfsv4_enabled": true})
            .as_object()
            .cloned()
            .unwrap_or_default();
        s.dedupe = json!({"paths": c.dedupe_paths, "assess_paths": [], "dedupe_schedule": ""})
            .as_object()
            .cloned()
            .unwrap_or_default();
        for sc in &c.snapshot_schedules {
            let id = s.next_schedule_id;
            s.next_schedule_id += 1;
            let pattern = sc
                .pattern
                .clone()
                .unwrap_or_else(|| format!("{}_%Y-%m-%d_%H-%M", sc.name));
            let mut o = json!({"name": sc.name, "path": sc.path, "schedule": sc.schedule,
                               "pattern": pattern});
            if let Some(d) = sc.duration {
                o["duration"] = json!(d);
            }
            s.snapshot_schedules
                .insert(id, o.as_object().cloned().unwrap_or_default());
        }
        s.groupnets.insert(
            "groupnet0".into(),
            json!({"name": "groupnet0", "description": "Initial groupnet", "dns_servers": []})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        for p in &c.pools {
            let (g, sn, name) = split_pool_id(&p.id);
            s.groupnets.entry(g.clone()).or_insert_with(|| {
                json!({"name": g, "description": "", "dns_servers": []})
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            });
            let skey = format!("{g}.{sn}");
            let sub = s.subnets.entry(skey).or_insert_with(|| {
                json!({"name": sn, "groupnet": g, "sc_service_addrs": [], "prefixlen": 24,
                       "addr_family": "ipv4", "description": ""})
                .as_object()
                .cloned()
                .unwrap_or_default()
            });
            if let Some(Value::Array(a)) = sub.get_mut("sc_service_addrs") {
                let r = json!({"low": p.ssip, "high": p.ssip});
                if !a.contains(&r) {
                    a.push(r);
                }
            }
            let ranges = match range_after(&p.ssip, 8) {
                Some((lo, hi)) => json!([{"low": lo, "high": hi}]),
                None => json!([]),
            };
            let o = json!({
                "name": name, "groupnet": g, "subnet": sn, "access_zone": p.zone,
                "sc_dns_zone": p.sc_dns_zone, "sc_dns_zone_aliases": p.aliases,
                "ranges": ranges, "sc_subnet": sn, "description": "",
            });
            s.pools.insert(
                format!("{g}.{sn}.{name}"),
                o.as_object().cloned().unwrap_or_default(),
            );
        }
        for f in &c.open_files {
            let id = s.next_openfile_id;
            s.next_openfile_id += 1;
            s.openfiles.insert(id, open_file_obj(&f.path, &f.user));
        }
        for q in &c.quotas {
            // Ids are assigned by the world (seeded RNG) in `WorldState::from_spec`.
            let mut th = Obj::new();
            for (k, v) in [
                ("hard", q.hard_bytes),
                ("soft", q.soft_bytes),
                ("advisory", q.advisory_bytes),
            ] {
                if let Some(v) = v {
                    th.insert(k.into(), json!(v));
                }
            }
            if q.soft_bytes.is_some() {
                th.insert("soft_grace".into(), json!(604_800));
            }
            let enforced = q.hard_bytes.is_some() || q.soft_bytes.is_some();
            let mut o = json!({"path": q.path, "type": q.quota_type, "thresholds": th,
                           "enforced": enforced, "include_snapshots": false, "container": false});
            if !q.ready {
                // Read-only in PAPI (a client cannot set it); `quota_json` renders it.
                o["ready"] = json!(false);
            }
            s.quotas.insert(
                format!("pending{:024}", s.quotas.len()),
                o.as_object().cloned().unwrap_or_default(),
            );
        }
        s
    }

    pub fn add_zone(&mut self, name: &str, path: &str) -> u64 {
        let id = self.next_zone_id;
        self.next_zone_id += 1;
        let o = json!({"name": name, "path": path, "zone_id": id, "groupnet": "groupnet0",
                       "auth_providers": ["lsa-local-provider:".to_string() + name]});
        self.zones
            .insert(name.to_string(), o.as_object().cloned().unwrap_or_default());
        id
    }

    /// Paths the configuration says exist: zone base paths, share paths, export paths, quota
    /// and snapshot-schedule paths.
    pub fn configured_paths(&self) -> impl Iterator<Item = &str> {
        fn field(k: &'static str) -> impl Fn(&Obj) -> Option<&str> {
            move |o| o.get(k).and_then(Value::as_str)
        }
        self.zones
            .values()
            .filter_map(field("path"))
            .chain(self.smb_shares.values().filter_map(field("path")))
            .chain(self.quotas.values().filter_map(field("path")))
            .chain(self.snapshot_schedules.values().filter_map(field("path")))
            .chain(self.nfs_exports.values().flat_map(|o| {
                o.get("paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
            }))
            .map(|p| p.trim_end_matches('/'))
    }

    pub fn zone_base(&self, zone: &str) -> Option<String> {
        self.zones
            .get(zone)
            .and_then(|z| z.get("path"))
            .and_then(|p| p.as_str())
            .map(str::to_string)
    }

    pub fn zone_id(&self, zone: &str) -> Option<u64> {
        self.zones
            .get(zone)
            .and_then(|z| z.get("zone_id"))
            .and_then(Value::as_u64)
    }

    /// Zone by name or numeric id.
    pub fn zone_name(&self, key: &str) -> Option<String> {
        if self.zones.contains_key(key) {
            return Some(key.to_string());
        }
        let n: u64 = key.parse().ok()?;
        self.zones
            .iter()
            .find(|(_, z)| z.get("zone_id").and_then(Value::as_u64) == Some(n))
            .map(|(k, _)| k.clone())
    }

    /// SSIPs of the subnet of a pool.
    pub fn pool_ssips(&self, pool_key: &str) -> Vec<String> {
        let Some(p) = self.pools.get(pool_key) else {
            return vec![];
        };
        let g = p
            .get("groupnet")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let s = p.get("subnet").and_then(Value::as_str).unwrap_or_default();
        self.subnets
            .get(&format!("{g}.{s}"))
            .map(subnet_ssips)
            .unwrap_or_default()
    }

    /// SmartConnect names a pool answers (zone name and aliases, lower-case).
    pub fn pool_names(p: &Obj) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(z) = p.get("sc_dns_zone").and_then(Value::as_str) {
            if !z.is_empty() {
                out.push(z.trim_end_matches('.').to_ascii_lowercase());
            }
        }
        if let Some(Value::Array(a)) = p.get("sc_dns_zone_aliases") {
            for x in a.iter().filter_map(Value::as_str) {
                out.push(x.trim_end_matches('.').to_ascii_lowercase());
            }
        }
        out
    }

    /// The addresses this cluster hands out for `name` when asked at `ssip`.
    ///
    /// The answer of [`ConfigState::pool_ssips`] and [`ConfigState::pool_names`], asked
    /// without building them: every DNS query of every simulated client lands here, and
    /// listing up to 256 SSIPs as strings per pool per query was most of its cost.
    pub fn smartconnect_answer(&self, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let n = name.trim_end_matches('.');
        // `subnet_ssips` lists range addresses in their canonical spelling only.
        let ip = ssip
            .parse::<Ipv4Addr>()
            .ok()
            .filter(|a| a.to_string() == ssip);
        for p in self.pools.values() {
            if !pool_answers_name(p, n) {
                continue;
            }
            let g = field(p, "groupnet")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let s = field(p, "subnet")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self
                .subnets
                .get(&format!("{g}.{s}"))
                .is_some_and(|sub| subnet_has_ssip(sub, ssip, ip))
            {
                return Some(pool_addrs(p));
            }
        }
        None
    }
}

/// Whether `ConfigState::pool_names(p)` holds `name` (already trimmed of dots), in any case.
fn pool_answers_name(p: &Obj, name: &str) -> bool {
    let same = |x: &str| x.trim_end_matches('.').eq_ignore_ascii_case(name);
    if let Some(z) = field(p, "sc_dns_zone").and_then(Value::as_str) {
        if !z.is_empty() && same(z) {
            return true;
        }
    }
    if let Some(Value::Array(a)) = field(p, "sc_dns_zone_aliases") {
        return a.iter().filter_map(Value::as_str).any(same);
    }
    false
}

/// Whether [`subnet_ssips`] of `s` holds `ssip` (`ip`: `ssip` parsed, when it is an address
/// in its canonical spelling).
fn subnet_has_ssip(s: &Obj, ssip: &str, ip: Option<Ipv4Addr>) -> bool {
    let Some(Value::Array(a)) = field(s, "sc_service_addrs") else {
        return false;
    };
    a.iter().any(|r| {
        let lo = value_field(r, "low")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let hi = value_field(r, "high")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match (lo.parse::<Ipv4Addr>(), hi.parse::<Ipv4Addr>()) {
            (Ok(l), Ok(h)) if u32::from(h) >= u32::from(l) => ip.is_some_and(|x| {
                let (l, x) = (u32::from(l), u32::from(x));
                x >= l && x <= u32::from(h).min(l.saturating_add(255))
            }),
            _ => lo == ssip,
        }
    })
}

/// SSIPs (every address of every `sc_service_addrs` range, capped) of a subnet.
pub fn subnet_ssips(s: &Obj) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Value::Array(a)) = s.get("sc_service_addrs") {
        for r in a {
            let lo = r.get("low").and_then(Value::as_str).unwrap_or_default();
            let hi = r.get("high").and_then(Value::as_str).unwrap_or_default();
            match (lo.parse::<Ipv4Addr>(), hi.parse::<Ipv4Addr>()) {
                (Ok(l), Ok(h)) if u32::from(h) >= u32::from(l) => {
                    for x in u32::from(l)..=u32::from(h).min(u32::from(l).saturating_add(255)) {
                        out.push(Ipv4Addr::from(x).to_string());
                    }
                }
                _ => out.push(lo.to_string()),
            }
        }
    }
    out
}

/// Up to 16 addresses of a pool's ranges.
pub fn pool_addrs(p: &Obj) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    if let Some(Value::Array(a)) = field(p, "ranges") {
        for r in a {
            let lo = value_field(r, "low")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let hi = value_field(r, "high")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            if let (Some(l), Some(h)) = (lo, hi) {
                let (l, h): (Ipv4Addr, Ipv4Addr) = (l, h);
                let mut x = u32::from(l);
                while x <= u32::from(h) && out.len() < 16 {
                    out.push(Ipv4Addr::from(x));
                    x = match x.checked_add(1) {
                        Some(v) => v,
                        None => break,
                    };
                }
            }
        }
    }
    out
}

/// A spec ACL entry as PAPI renders it.
pub fn share_permission_json(p: &crate::spec::SharePermissionSpec) -> Value {
    let permission = match p.permission {
        crate::spec::SharePermission::Full => "full",
        crate::spec::SharePermission::Change => "change",
        crate::spec::SharePermission::Read => "read",
    };
    let permission_type = match p.permission_type {
        crate::spec::SharePermissionType::Allow => "allow",
        crate::spec::SharePermissionType::Deny => "deny",
    };
    let ttype = p.trustee_type.clone().unwrap_or_else(|| {
        if p.trustee_id == "SID:S-1-1-0" {
            "wellknown".into()
        } else {
            "user".into()
        }
    });
    let mut trustee = json!({"id": p.trustee_id, "type": ttype});
    if let Some(n) = &p.trustee_name {
        trustee["name"] = json!(n);
    }
    json!({"permission": permission, "permission_type": permission_type, "trustee": trustee})
}

/// OneFS's default share ACL: Everyone may read.
pub fn default_share_permissions() -> Value {
    json!([{"permission": "read", "permission_type": "allow",
            "trustee": {"id": "SID:S-1-1-0", "name": "Everyone", "type": "wellknown"}}])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `smartconnect_answer` as it was written first: list every pool's SSIPs and names.
    fn answer_plain(c: &ConfigState, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        for (k, p) in &c.pools {
            if !c.pool_ssips(k).iter().any(|s| s == ssip) {
                continue;
            }
            if ConfigState::pool_names(p).contains(&n) {
                return Some(pool_addrs(p));
            }
        }
        None
    }

    const ADDRS: &[&str] = &[
        "10.0.0.1",
        "10.0.0.2",
        "10.0.0.5",
        "10.0.1.0",
        "10.0.0.255",
        "10.0.1.10",
        "x",
        "",
        "10.0.0.01",
    ];
    const NAMES: &[&str] = &["a.example", "A.Example.", "b.example", "", ".", "c"];

    fn range() -> impl Strategy<Value = Value> {
        (prop::sample::select(ADDRS), prop::sample::select(ADDRS))
            .prop_map(|(lo, hi)| json!({"low": lo, "high": hi}))
    }

    fn config() -> impl Strategy<Value = ConfigState> {
        let subnet = prop::collection::vec(range(), 0..3);
        let pool = (
            0u8..3,
            prop::option::of(prop::sample::select(NAMES)),
            prop::collection::vec(prop::sample::select(NAMES), 0..3),
            prop::collection::vec(range(), 0..2),
        );
        (
            prop::collection::vec(subnet, 0..3),
            prop::collection::vec(pool, 0..5),
        )
            .prop_map(|(subnets, pools)| {
                let mut c = ConfigState::default();
                for (i, r) in subnets.into_iter().enumerate() {
                    let o = json!({"sc_service_addrs": r});
                    c.subnets.insert(
                        format!("g.s{i}"),
                        o.as_object().cloned().unwrap_or_default(),
                    );
                }
                for (i, (sub, zone, aliases, ranges)) in pools.into_iter().enumerate() {
                    let mut o = json!({"groupnet": "g", "subnet": format!("s{sub}"),
                                       "sc_dns_zone_aliases": aliases, "ranges": ranges});
                    if let Some(z) = zone {
                        o["sc_dns_zone"] = json!(z);
                    }
                    c.pools.insert(
                        format!("g.s{sub}.p{i}"),
                        o.as_object().cloned().unwrap_or_default(),
                    );
                }
                c
            })
    }

    proptest! {
        /// `field` finds what `Map::get` finds, in small and large maps.
        #[test]
        fn field_agrees_with_get(
            keys in prop::collection::vec("[a-d]{0,2}", 0..40),
            key in "[a-d]{0,2}",
        ) {
            let mut o = Obj::new();
            for (i, k) in keys.into_iter().enumerate() {
                o.insert(k, json!(i));
            }
            prop_assert_eq!(field(&o, &key), o.get(&key));
            let v = Value::Object(o);
            prop_assert_eq!(value_field(&v, &key), v.get(&key));
            let list = json!([1]);
            prop_assert_eq!(value_field(&list, &key), None);
        }

        /// The answer asked in place is the one the listed SSIPs and names give.
        #[test]
        fn smartconnect_answer_agrees_with_the_plain_version(
            c in config(),
            ssip in prop::sample::select(ADDRS),
            name in prop::sample::select(NAMES),
        ) {
            prop_assert_eq!(c.smartconnect_answer(ssip, name), answer_plain(&c, ssip, name));
        }
    }
}

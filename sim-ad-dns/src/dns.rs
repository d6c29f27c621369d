//! Simulated DNS: authoritative zones with A and NS records, and the resolver behaviour
//! that SmartConnect delegation relies on.
//!
//! A SmartConnect name such as `finance.corp.example` is not answered by the site DNS
//! itself: the parent zone holds NS records delegating the name to one or more SmartConnect
//! service IPs (SSIPs), and the cluster owning an SSIP answers only for names its pools carry
//! (as `sc_dns_zone` or an alias). Clusters are outside this crate, so the resolver asks
//! them through [`SmartConnectAnswerer`].
//!
//! * **Dual delegation**: NS to both clusters' SSIPs. The resolver asks each SSIP in NS order
//!   and the first that answers wins. At failover no DNS record changes: renaming the source
//!   pool's zone makes the source refuse, aliasing the name on the target makes it answer.
//! * **Single delegation**: NS to one SSIP. After the rename the only delegated server
//!   refuses, so failover must rewrite the NS RRset ([`Dns::set_ns`], or an RFC 2136 update
//!   via [`Dns::apply_update`]).
//!
//! The mode is not stored: it is read off the NS RRset ([`Dns::delegation`]), the same way the
//! orchestrator detects it over the wire, so the two can never disagree.
//!
//! **NS targets are host names, with glue**, as in a real delegating parent zone: an NS
//! record's data is a domain name, never an address. Each SSIP gets one host name in the
//! parent zone, [`ssip_host`]: `ssip-<a>-<b>-<c>-<d>.<zone origin>` (the SSIP's dotted quad
//! with dashes, e.g. `ssip-10-1-4-10.corp.example` for 10.1.4.10), and a glue A record
//! there with the SSIP ([`Dns::delegate`] writes both). The resolver follows an NS host
//! name through our own A records only (glue); a host without one makes the delegation
//! lame for that target, which the resolver skips.
//!
//! Names are case-insensitive and stored lower-case without the trailing dot. Every change to
//! a zone bumps its SOA serial once, so the orchestrator can observe that an update landed.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How a SmartConnect name is delegated (scenario key `world.dns.delegation`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Delegation {
    /// NS records point at both clusters' SSIPs.
    #[default]
    Dual,
    /// NS records point at one cluster's SSIP.
    Single,
}

/// DNS failures, each mapping to one response code on the wire ([`DnsError::rcode`]).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum DnsError {
    /// Not a syntactically valid domain name.
    #[error("invalid domain name {name:?}")]
    InvalidName { name: String },
    /// The name is in none of our zones (REFUSED).
    #[error("not authoritative for {name}")]
    NotAuthoritative { name: String },
    /// The name does not exist in its zone (NXDOMAIN).
    #[error("{name} does not exist")]
    NxDomain { name: String },
    /// The name is delegated, but none of the delegated SmartConnect servers answered for
    /// it (SERVFAIL, what a recursive resolver returns when every NS refuses).
    #[error("no delegated server answered for {name} (asked {asked:?})")]
    NoAnswer { name: String, asked: Vec<String> },
    /// An update names a zone we do not serve (NOTAUTH).
    #[error("update for unknown zone {zone}")]
    UnknownZone { zone: String },
    /// An update touches a name outside its zone (NOTZONE).
    #[error("{name} is outside zone {zone}")]
    NotZone { name: String, zone: String },
    /// The request is malformed (FORMERR).
    #[error("malformed message: {reason}")]
    Malformed { reason: String },
    /// The request uses something this server does not implement (NOTIMP).
    #[error("not implemented: {what}")]
    NotImplemented { what: String },
    /// TSIG verification failed or was required and missing (NOTAUTH).
    #[error("not authorized: {reason}")]
    NotAuthorized { reason: String },
    /// A response carried this non-zero RCODE (client side).
    #[error("server answered {rcode_name} ({rcode}) for {name}")]
    Rcode {
        name: String,
        rcode: u16,
        rcode_name: String,
    },
}

impl DnsError {
    /// The RCODE value this error is answered with.
    pub fn rcode(&self) -> u16 {
        match self {
            DnsError::Malformed { .. } | DnsError::InvalidName { .. } => 1,
            DnsError::NoAnswer { .. } => 2,
            DnsError::NxDomain { .. } => 3,
            DnsError::NotImplemented { .. } => 4,
            DnsError::NotAuthoritative { .. } => 5,
            DnsError::UnknownZone { .. } | DnsError::NotAuthorized { .. } => 9,
            DnsError::NotZone { .. } => 10,
            DnsError::Rcode { rcode, .. } => *rcode,
        }
    }
}

/// Lower-case, strip one trailing dot, and check label syntax (1..=63 octets per label,
/// at most 253 in total, letters/digits/hyphen/underscore). Underscore is allowed because
/// service names such as `_ldap._tcp` use it.
pub fn normalize_name(name: &str) -> Result<String, DnsError> {
    let bad = || DnsError::InvalidName {
        name: name.to_string(),
    };
    let n = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    if n.is_empty() || n.len() > 253 {
        return Err(bad());
    }
    for label in n.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad());
        }
    }
    Ok(n)
}

/// `name` equals `zone` or lies below it (label-wise, both normalised).
pub(crate) fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

/// Prefix of the host name an SSIP gets in a parent zone (see [`ssip_host`]).
pub const SSIP_HOST_PREFIX: &str = "ssip-";

/// The host name the site DNS gives a SmartConnect service IP in `zone` (an NS target of
/// the delegations to it, with a glue A record): `ssip-10-1-4-10.corp.example` for
/// 10.1.4.10 in `corp.example`. `zone` is taken as given, without a trailing dot.
pub fn ssip_host(ssip: Ipv4Addr, zone: &str) -> String {
    let [a, b, c, d] = ssip.octets();
    format!(
        "{SSIP_HOST_PREFIX}{a}-{b}-{c}-{d}.{}",
        zone.trim_end_matches('.').to_ascii_lowercase()
    )
}

/// Asks the cluster that owns an SSIP for a name. Implemented by the cluster simulator (or
/// [`SmartConnectTable`] in tests).
pub trait SmartConnectAnswerer {
    /// The addresses the cluster serving `ssip` hands out for `name`, or `None` if it does
    /// not serve that name (SmartConnect answers REFUSED) or nobody owns the SSIP.
    fn answer(&self, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>>;
}

impl<T: SmartConnectAnswerer + ?Sized> SmartConnectAnswerer for &T {
    fn answer(&self, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        (**self).answer(ssip, name)
    }
}

/// A fixed SSIP → name → addresses table: a stand-in for clusters in tests and for
/// `drill serve` setups without a cluster model. Name matching is case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartConnectTable {
    /// ssip → (lower-case name → addresses).
    pub ssips: BTreeMap<String, BTreeMap<String, Vec<Ipv4Addr>>>,
}

impl SmartConnectTable {
    /// Empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cluster behind `ssip` answers `name` with `addrs` (a pool zone name or alias).
    pub fn serve(&mut self, ssip: &str, name: &str, addrs: Vec<Ipv4Addr>) -> &mut Self {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        self.ssips
            .entry(ssip.to_string())
            .or_default()
            .insert(n, addrs);
        self
    }

    /// The cluster behind `ssip` stops answering `name` (e.g. the pool was renamed).
    pub fn withdraw(&mut self, ssip: &str, name: &str) -> &mut Self {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(names) = self.ssips.get_mut(ssip) {
            names.remove(&n);
        }
        self
    }
}

impl SmartConnectAnswerer for SmartConnectTable {
    fn answer(&self, ssip: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let n = name.trim_end_matches('.').to_ascii_lowercase();
        self.ssips.get(ssip)?.get(&n).cloned()
    }
}

/// One authoritative zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// Zone apex, normalised (e.g. `corp.example`).
    pub origin: String,
    /// SOA serial, bumped once per change.
    pub serial: u32,
    /// A RRsets by owner name. Never holds an empty vector.
    pub a: BTreeMap<String, Vec<Ipv4Addr>>,
    /// NS RRsets by owner name; an owner below the apex is a delegation (zone cut). Never
    /// holds an empty vector.
    pub ns: BTreeMap<String, Vec<String>>,
}

impl Zone {
    fn new(origin: String) -> Self {
        Zone {
            origin,
            serial: 1,
            a: BTreeMap::new(),
            ns: BTreeMap::new(),
        }
    }

    /// The zone cut at or above `name` (excluding the apex), if any: walking down from the
    /// apex, the first name that owns NS records. Data below a cut is not ours to answer.
    fn cut_for(&self, name: &str) -> Option<(&str, &[String])> {
        let depth = self.origin.bytes().filter(|&b| b == b'.').count() + 1;
        let at = |start: usize| {
            self.ns
                .get_key_value(&name[start..])
                .map(|(owner, targets)| (owner.as_str(), targets.as_slice()))
        };
        // Candidates from just below the apex down to the name itself (suffixes with more
        // labels than the apex, shortest first), borrowed from `name`: walking the dots
        // from the right, the suffix after the k-th has k labels. (A walk, not a list of
        // the suffixes' starts: every client lookup of a SmartConnect name comes here.)
        let mut labels = 0;
        for (i, b) in name.bytes().enumerate().rev() {
            if b == b'.' {
                labels += 1;
                if labels > depth {
                    if let Some(cut) = at(i + 1) {
                        return Some(cut);
                    }
                }
            }
        }
        if labels + 1 > depth {
            return at(0);
        }
        None
    }

    fn name_exists(&self, name: &str) -> bool {
        name == self.origin
            || self.a.contains_key(name)
            || self.ns.contains_key(name)
            // An empty non-terminal (a name with data only below it) exists too.
            || self
                .a
                .keys()
                .chain(self.ns.keys())
                .any(|k| k != name && in_zone(k, name))
    }
}

/// Where a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The A records, in the order given.
    pub addrs: Vec<Ipv4Addr>,
    /// The SSIP whose cluster answered, or `None` if our own A records answered.
    pub answered_by: Option<String>,
}

/// Record data this DNS models.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RrData {
    /// An address record.
    A(Ipv4Addr),
    /// A name-server record: a host name (see the module doc).
    Ns(String),
}

/// Record types this DNS models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RrType {
    A,
    Ns,
}

/// One operation of an RFC 2136 update section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateOp {
    /// Class ANY, type T, no RDATA: delete the RRset.
    DeleteRrset { name: String, rtype: RrType },
    /// Class ANY, type ANY: delete every RRset of the name.
    DeleteName { name: String },
    /// Class NONE: delete one RR.
    DeleteRr { name: String, data: RrData },
    /// Class IN: add one RR (a duplicate is ignored).
    Add { name: String, data: RrData },
}

impl UpdateOp {
    fn name(&self) -> &str {
        match self {
            UpdateOp::DeleteRrset { name, .. }
            | UpdateOp::DeleteName { name }
            | UpdateOp::DeleteRr { name, .. }
            | UpdateOp::Add { name, .. } => name,
        }
    }
}

/// A prerequisite-free RFC 2136 dynamic update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateRequest {
    /// The zone section's name.
    pub zone: String,
    /// The update section, applied in order.
    pub ops: Vec<UpdateOp>,
}

impl UpdateRequest {
    /// The update the single-delegation `repoint_dns` step sends: replace the NS RRset of
    /// `name` with the host names `hosts`, and add the glue A records `glue` (adding an
    /// existing record changes nothing, RFC 2136 §3.4.2.2).
    pub fn replace_ns(
        zone: &str,
        name: &str,
        hosts: &[String],
        glue: &[(String, Ipv4Addr)],
    ) -> Self {
        let mut ops = vec![UpdateOp::DeleteRrset {
            name: name.to_string(),
            rtype: RrType::Ns,
        }];
        ops.extend(hosts.iter().map(|s| UpdateOp::Add {
            name: name.to_string(),
            data: RrData::Ns(s.clone()),
        }));
        ops.extend(glue.iter().map(|(h, a)| UpdateOp::Add {
            name: h.clone(),
            data: RrData::A(*a),
        }));
        UpdateRequest {
            zone: zone.to_string(),
            ops,
        }
    }
}

/// The site DNS: zones we are authoritative for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// Zones by normalised origin.
    pub zones: BTreeMap<String, Zone>,
}

/// Where a query for a name at or below a zone cut is referred to: the delegation's NS
/// RRset and the glue we hold for its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// Owner of the NS RRset (the delegated name, the zone cut).
    pub owner: String,
    /// The NS targets (host names), in order.
    pub hosts: Vec<String>,
    /// Glue: each host that has A records in our zones, with them, in NS order.
    pub glue: Vec<(String, Vec<Ipv4Addr>)>,
}

impl Dns {
    /// No zones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve a zone (idempotent: an existing zone is kept as it is).
    pub fn add_zone(&mut self, origin: &str) -> Result<&mut Self, DnsError> {
        let o = normalize_name(origin)?;
        self.zones.entry(o.clone()).or_insert_with(|| Zone::new(o));
        Ok(self)
    }

    /// The zone that is authoritative for `name`: the one with the longest matching origin.
    pub fn zone_for(&self, name: &str) -> Option<&Zone> {
        let n = normalize_name(name).ok()?;
        self.zone_of_normalized(&n)
    }

    /// [`Dns::zone_for`] of a name already normalised (`normalize_name` leaves such a name
    /// as it is, so this skips a second pass and copy).
    fn zone_of_normalized(&self, n: &str) -> Option<&Zone> {
        self.zone_key_for(n).map(|k| &self.zones[k])
    }

    fn zone_key_for(&self, n: &str) -> Option<&str> {
        self.zones
            .keys()
            .filter(|z| in_zone(n, z))
            .max_by_key(|z| z.len())
            .map(String::as_str)
    }

    fn zone_mut_for(&mut self, name: &str) -> Result<(String, &mut Zone), DnsError> {
        let n = normalize_name(name)?;
        let key = self
            .zone_key_for(&n)
            .ok_or_else(|| DnsError::NotAuthoritative { name: n.clone() })?
            .to_string();
        Ok((n, self.zones.get_mut(&key).expect("key taken from the map")))
    }

    /// Add an A record (a duplicate is ignored).
    pub fn add_a(&mut self, name: &str, addr: Ipv4Addr) -> Result<&mut Self, DnsError> {
        let (n, zone) = self.zone_mut_for(name)?;
        let set = zone.a.entry(n).or_default();
        if !set.contains(&addr) {
            set.push(addr);
            zone.serial = zone.serial.wrapping_add(1);
        }
        Ok(self)
    }

    /// Delegate `name` to SmartConnect service IPs, in this order: each SSIP gets its host
    /// name [`ssip_host`] in the zone holding `name`, with a glue A record there, and the NS
    /// RRset of `name` becomes those host names. An empty list removes the delegation (the
    /// glue stays). An SSIP that is not an IPv4 address is an [`DnsError::InvalidName`].
    pub fn delegate(&mut self, name: &str, ssips: &[&str]) -> Result<&mut Self, DnsError> {
        let n = normalize_name(name)?;
        let origin = self
            .zone_key_for(&n)
            .ok_or_else(|| DnsError::NotAuthoritative { name: n.clone() })?
            .to_string();
        let mut hosts = Vec::with_capacity(ssips.len());
        for s in ssips {
            let ip: Ipv4Addr = s.trim().parse().map_err(|_| DnsError::InvalidName {
                name: (*s).to_string(),
            })?;
            let host = ssip_host(ip, &origin);
            self.add_a(&host, ip)?;
            hosts.push(host);
        }
        self.set_ns(&n, hosts)?;
        Ok(self)
    }

    /// Replace the NS RRset of `name` with these host names (empty removes the delegation).
    /// This is the single-delegation failover's DNS change; the hosts need glue
    /// ([`Dns::add_a`]) for the delegation to work.
    pub fn set_ns(&mut self, name: &str, hosts: Vec<String>) -> Result<(), DnsError> {
        let targets = hosts
            .iter()
            .map(|s| normalize_name(s))
            .collect::<Result<Vec<_>, _>>()?;
        let (n, zone) = self.zone_mut_for(name)?;
        let mut dedup: Vec<String> = Vec::new();
        for t in targets {
            if !dedup.contains(&t) {
                dedup.push(t);
            }
        }
        let old = zone.ns.get(&n).cloned().unwrap_or_default();
        if old != dedup {
            if dedup.is_empty() {
                zone.ns.remove(&n);
            } else {
                zone.ns.insert(n, dedup);
            }
            zone.serial = zone.serial.wrapping_add(1);
        }
        Ok(())
    }

    /// The NS RRset owned by `name` (empty if none or not ours).
    pub fn ns(&self, name: &str) -> Vec<String> {
        let Ok(n) = normalize_name(name) else {
            return vec![];
        };
        self.zone_for(&n)
            .and_then(|z| z.ns.get(&n).cloned())
            .unwrap_or_default()
    }

    /// The A RRset owned by `name` in our zones (not via delegation).
    pub fn a_records(&self, name: &str) -> Vec<Ipv4Addr> {
        let Ok(n) = normalize_name(name) else {
            return vec![];
        };
        self.zone_of_normalized(&n)
            .and_then(|z| z.a.get(&n).cloned())
            .unwrap_or_default()
    }

    /// SOA serial of the zone with this origin.
    pub fn serial(&self, origin: &str) -> Option<u32> {
        let o = normalize_name(origin).ok()?;
        self.zones.get(&o).map(|z| z.serial)
    }

    /// How `name` (or the cut above it) is delegated: `Dual` with two or more NS targets,
    /// `Single` with one, `None` if it is not delegated.
    pub fn delegation(&self, name: &str) -> Option<Delegation> {
        let n = normalize_name(name).ok()?;
        let (_, targets) = self.zone_for(&n)?.cut_for(&n)?;
        Some(if targets.len() >= 2 {
            Delegation::Dual
        } else {
            Delegation::Single
        })
    }

    /// The SSIP an NS target stands for: the first address of its glue (our own A records
    /// only, no delegation chasing, so a loop is impossible).
    fn ssip_of(&self, target: &str) -> Option<String> {
        // `a_records(target).first()`, without copying the RRset (every client lookup of a
        // SmartConnect name asks this for each NS host).
        let n = normalize_name(target).ok()?;
        self.zone_of_normalized(&n)?
            .a
            .get(&n)?
            .first()
            .map(Ipv4Addr::to_string)
    }

    /// The addresses of the NS hosts of the delegation at or above `name` (their glue), in
    /// NS order: the SmartConnect service IPs the name is delegated to.
    pub fn ns_ssips(&self, name: &str) -> Vec<Ipv4Addr> {
        self.referral(name)
            .map(|r| r.glue.into_iter().flat_map(|(_, a)| a).collect())
            .unwrap_or_default()
    }

    /// The referral for `name` if it is at or below a zone cut of its zone: the cut's NS
    /// RRset and the glue for its hosts. `None` for names our zones answer themselves.
    pub fn referral(&self, name: &str) -> Option<Referral> {
        let n = normalize_name(name).ok()?;
        let (owner, hosts) = self.zone_for(&n)?.cut_for(&n)?;
        let glue = hosts
            .iter()
            .filter_map(|h| {
                let a = self.a_records(h);
                (!a.is_empty()).then(|| (h.clone(), a))
            })
            .collect();
        Some(Referral {
            owner: owner.to_string(),
            hosts: hosts.to_vec(),
            glue,
        })
    }

    /// Resolve `name` to A records.
    ///
    /// If the name or a parent is delegated, each delegated SSIP (an NS host's glue) is asked
    /// in NS order and the first cluster that answers with at least one address wins: data
    /// below a zone cut is the child's, not ours. Otherwise our own A records answer, or the
    /// name does not exist.
    pub fn resolve(
        &self,
        name: &str,
        sc: &dyn SmartConnectAnswerer,
    ) -> Result<Resolution, DnsError> {
        let n = normalize_name(name)?;
        let zone = self
            .zone_of_normalized(&n)
            .ok_or_else(|| DnsError::NotAuthoritative { name: n.clone() })?;
        if let Some((_, targets)) = zone.cut_for(&n) {
            let mut asked = Vec::new();
            for t in targets {
                let Some(ssip) = self.ssip_of(t) else {
                    // A delegation to a host without glue is lame; the resolver moves on.
                    continue;
                };
                match sc.answer(&ssip, &n) {
                    Some(addrs) if !addrs.is_empty() => {
                        return Ok(Resolution {
                            addrs,
                            answered_by: Some(ssip),
                        })
                    }
                    _ => asked.push(ssip),
                }
            }
            return Err(DnsError::NoAnswer { name: n, asked });
        }
        if let Some(addrs) = zone.a.get(&n) {
            return Ok(Resolution {
                addrs: addrs.clone(),
                answered_by: None,
            });
        }
        Err(DnsError::NxDomain { name: n })
    }

    /// Whether `name` exists in our data (an owner, the apex, an empty non-terminal, or
    /// anything below a delegation, which we cannot rule out).
    pub fn exists(&self, name: &str) -> bool {
        let Ok(n) = normalize_name(name) else {
            return false;
        };
        match self.zone_for(&n) {
            Some(z) => z.name_exists(&n) || z.cut_for(&n).is_some(),
            None => false,
        }
    }

    /// Apply an RFC 2136 update to one zone, atomically: every name is checked first, then
    /// all operations run, then the serial is bumped once if anything changed. Deleting the
    /// apex NS RRset is ignored, as RFC 2136 §3.4.2.3 requires.
    pub fn apply_update(&mut self, req: &UpdateRequest) -> Result<(), DnsError> {
        let origin = normalize_name(&req.zone)?;
        if !self.zones.contains_key(&origin) {
            return Err(DnsError::UnknownZone { zone: origin });
        }
        // Validate everything before touching anything.
        let mut ops = Vec::with_capacity(req.ops.len());
        for op in &req.ops {
            let n = normalize_name(op.name())?;
            if !in_zone(&n, &origin) {
                return Err(DnsError::NotZone {
                    name: n,
                    zone: origin,
                });
            }
            let op = match op {
                UpdateOp::DeleteRrset { rtype, .. } => UpdateOp::DeleteRrset {
                    name: n,
                    rtype: *rtype,
                },
                UpdateOp::DeleteName { .. } => UpdateOp::DeleteName { name: n },
                UpdateOp::DeleteRr { data, .. } => UpdateOp::DeleteRr {
                    name: n,
                    data: normalize_data(data)?,
                },
                UpdateOp::Add { data, .. } => UpdateOp::Add {
                    name: n,
                    data: normalize_data(data)?,
                },
            };
            ops.push(op);
        }
        let zone = self.zones.get_mut(&origin).expect("checked above");
        let before = (zone.a.clone(), zone.ns.clone());
        for op in ops {
            match op {
                UpdateOp::DeleteRrset { name, rtype } => match rtype {
                    RrType::A => {
                        zone.a.remove(&name);
                    }
                    RrType::Ns if name == origin => {}
                    RrType::Ns => {
                        zone.ns.remove(&name);
                    }
                },
                UpdateOp::DeleteName { name } => {
                    zone.a.remove(&name);
                    if name != origin {
                        zone.ns.remove(&name);
                    }
                }
                UpdateOp::DeleteRr { name, data } => match data {
                    RrData::A(addr) => remove_from(&mut zone.a, &name, &addr),
                    RrData::Ns(_) if name == origin => {}
                    RrData::Ns(t) => remove_from(&mut zone.ns, &name, &t),
                },
                UpdateOp::Add { name, data } => match data {
                    RrData::A(addr) => add_to(&mut zone.a, name, addr),
                    RrData::Ns(t) => add_to(&mut zone.ns, name, t),
                },
            }
        }
        if (zone.a.clone(), zone.ns.clone()) != before {
            zone.serial = zone.serial.wrapping_add(1);
        }
        Ok(())
    }
}

fn normalize_data(d: &RrData) -> Result<RrData, DnsError> {
    Ok(match d {
        RrData::A(a) => RrData::A(*a),
        RrData::Ns(t) => RrData::Ns(normalize_name(t)?),
    })
}

fn add_to<T: PartialEq>(map: &mut BTreeMap<String, Vec<T>>, name: String, v: T) {
    let set = map.entry(name).or_default();
    if !set.contains(&v) {
        set.push(v);
    }
}

fn remove_from<T: PartialEq>(map: &mut BTreeMap<String, Vec<T>>, name: &str, v: &T) {
    if let Some(set) = map.get_mut(name) {
        set.retain(|x| x != v);
        if set.is_empty() {
            map.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD_SSIP: &str = "10.1.0.10";
    const DR_SSIP: &str = "10.2.0.10";
    const PROD_HOST: &str = "ssip-10-1-0-10.corp.example";
    const DR_HOST: &str = "ssip-10-2-0-10.corp.example";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// prod serves finance + alias fin; dr serves finance-dr (the az-zone-gate world).
    fn clusters() -> SmartConnectTable {
        let mut sc = SmartConnectTable::new();
        sc.serve(PROD_SSIP, "finance.corp.example", vec![ip("10.1.0.21")])
            .serve(PROD_SSIP, "fin.corp.example", vec![ip("10.1.0.21")])
            .serve(DR_SSIP, "finance-dr.corp.example", vec![ip("10.2.0.21")]);
        sc
    }

    /// The failover's cluster-side networking steps: rename on source, alias on target.
    fn move_names(sc: &mut SmartConnectTable) {
        for n in ["finance.corp.example", "fin.corp.example"] {
            sc.withdraw(PROD_SSIP, n);
            sc.serve(
                PROD_SSIP,
                &format!("igls-original-{n}"),
                vec![ip("10.1.0.21")],
            );
            sc.serve(DR_SSIP, n, vec![ip("10.2.0.21")]);
        }
    }

    fn dual_world() -> Dns {
        let mut dns = Dns::new();
        dns.add_zone("corp.example")
            .unwrap()
            .add_a("dc1.corp.example", ip("10.0.0.2"))
            .unwrap();
        for n in [
            "finance.corp.example",
            "fin.corp.example",
            "finance-dr.corp.example",
        ] {
            dns.delegate(n, &[PROD_SSIP, DR_SSIP]).unwrap();
        }
        dns
    }

    #[test]
    fn static_a_records_and_errors() {
        let dns = dual_world();
        let sc = clusters();
        let r = dns.resolve("DC1.corp.example.", &sc).unwrap();
        assert_eq!(r.addrs, vec![ip("10.0.0.2")]);
        assert_eq!(r.answered_by, None);
        assert!(matches!(
            dns.resolve("nope.corp.example", &sc),
            Err(DnsError::NxDomain { .. })
        ));
        assert!(matches!(
            dns.resolve("www.other.example", &sc),
            Err(DnsError::NotAuthoritative { .. })
        ));
        assert!(matches!(
            dns.resolve("bad..name", &sc),
            Err(DnsError::InvalidName { .. })
        ));
        assert!(dns.exists("corp.example"));
        assert!(!dns.exists("nope.corp.example"));
    }

    #[test]
    fn dual_delegation_moves_with_rename_and_alias_without_dns_change() {
        let dns = dual_world();
        let mut sc = clusters();
        assert_eq!(
            dns.delegation("finance.corp.example"),
            Some(Delegation::Dual)
        );
        let r = dns.resolve("finance.corp.example", &sc).unwrap();
        assert_eq!(r.answered_by.as_deref(), Some(PROD_SSIP));
        assert_eq!(r.addrs, vec![ip("10.1.0.21")]);

        let before = dns.clone();
        move_names(&mut sc);
        for n in ["finance.corp.example", "FIN.corp.example"] {
            let r = dns.resolve(n, &sc).unwrap();
            assert_eq!(r.answered_by.as_deref(), Some(DR_SSIP), "{n}");
            assert_eq!(r.addrs, vec![ip("10.2.0.21")]);
        }
        assert_eq!(dns, before, "dual delegation needs no DNS change");
    }

    #[test]
    fn half_done_dual_failover_is_visible() {
        // Source renamed but target alias not yet added: nobody answers (the outage window).
        let dns = dual_world();
        let mut sc = clusters();
        sc.withdraw(PROD_SSIP, "finance.corp.example");
        assert_eq!(
            dns.resolve("finance.corp.example", &sc),
            Err(DnsError::NoAnswer {
                name: "finance.corp.example".into(),
                asked: vec![PROD_SSIP.into(), DR_SSIP.into()]
            })
        );
    }

    #[test]
    fn single_delegation_needs_set_ns() {
        let mut dns = Dns::new();
        dns.add_zone("corp.example").unwrap();
        dns.delegate("finance.corp.example", &[PROD_SSIP]).unwrap();
        assert_eq!(
            dns.delegation("finance.corp.example"),
            Some(Delegation::Single)
        );
        let mut sc = clusters();
        assert_eq!(
            dns.resolve("finance.corp.example", &sc)
                .unwrap()
                .answered_by
                .as_deref(),
            Some(PROD_SSIP)
        );
        move_names(&mut sc);
        assert!(matches!(
            dns.resolve("finance.corp.example", &sc),
            Err(DnsError::NoAnswer { .. })
        ));
        // A host without glue is a lame delegation: nobody is asked.
        dns.set_ns("finance.corp.example", vec![DR_HOST.into()])
            .unwrap();
        assert_eq!(
            dns.resolve("finance.corp.example", &sc),
            Err(DnsError::NoAnswer {
                name: "finance.corp.example".into(),
                asked: vec![]
            })
        );
        dns.add_a(DR_HOST, ip(DR_SSIP)).unwrap();
        let serial = dns.serial("corp.example").unwrap();
        let r = dns.resolve("finance.corp.example", &sc).unwrap();
        assert_eq!(r.answered_by.as_deref(), Some(DR_SSIP));
        // Idempotent: the same NS set again changes nothing.
        dns.set_ns(
            "finance.corp.example",
            vec![format!("{}.", DR_HOST.to_uppercase())],
        )
        .unwrap();
        assert_eq!(dns.serial("corp.example"), Some(serial));
        assert_eq!(dns.ns_ssips("finance.corp.example"), vec![ip(DR_SSIP)]);
    }

    #[test]
    fn rfc2136_update_replaces_ns_atomically() {
        let mut dns = Dns::new();
        dns.add_zone("corp.example").unwrap();
        dns.delegate("finance.corp.example", &[PROD_SSIP]).unwrap();
        let s0 = dns.serial("corp.example").unwrap();
        dns.apply_update(&UpdateRequest::replace_ns(
            "corp.example",
            "finance.corp.example",
            &[DR_HOST.to_string()],
            &[(DR_HOST.to_string(), ip(DR_SSIP))],
        ))
        .unwrap();
        assert_eq!(dns.ns("finance.corp.example"), vec![DR_HOST]);
        assert_eq!(dns.a_records(DR_HOST), vec![ip(DR_SSIP)]);
        assert_eq!(dns.serial("corp.example"), Some(s0 + 1));
        // The same update again: the glue is not duplicated, nothing changes.
        dns.apply_update(&UpdateRequest::replace_ns(
            "corp.example",
            "finance.corp.example",
            &[DR_HOST.to_string()],
            &[(DR_HOST.to_string(), ip(DR_SSIP))],
        ))
        .unwrap();
        assert_eq!(dns.a_records(DR_HOST), vec![ip(DR_SSIP)]);
        assert_eq!(dns.serial("corp.example"), Some(s0 + 1));

        // One bad name rejects the whole update.
        let bad = UpdateRequest {
            zone: "corp.example".into(),
            ops: vec![
                UpdateOp::DeleteRrset {
                    name: "finance.corp.example".into(),
                    rtype: RrType::Ns,
                },
                UpdateOp::Add {
                    name: "x.other.example".into(),
                    data: RrData::A(ip("1.2.3.4")),
                },
            ],
        };
        assert!(matches!(
            dns.apply_update(&bad),
            Err(DnsError::NotZone { .. })
        ));
        assert_eq!(dns.ns("finance.corp.example"), vec![DR_HOST]);
        assert!(matches!(
            dns.apply_update(&UpdateRequest::replace_ns(
                "nope.example",
                "a.nope.example",
                &[],
                &[]
            )),
            Err(DnsError::UnknownZone { .. })
        ));
    }

    #[test]
    fn update_ops_a_records_and_apex_protection() {
        let mut dns = Dns::new();
        dns.add_zone("corp.example").unwrap();
        dns.set_ns("corp.example", vec!["ns1.corp.example".into()])
            .unwrap();
        let req = UpdateRequest {
            zone: "corp.example".into(),
            ops: vec![
                UpdateOp::Add {
                    name: "h.corp.example".into(),
                    data: RrData::A(ip("1.1.1.1")),
                },
                UpdateOp::Add {
                    name: "h.corp.example".into(),
                    data: RrData::A(ip("1.1.1.2")),
                },
                UpdateOp::DeleteRr {
                    name: "h.corp.example".into(),
                    data: RrData::A(ip("1.1.1.1")),
                },
                UpdateOp::DeleteRrset {
                    name: "corp.example".into(),
                    rtype: RrType::Ns,
                },
            ],
        };
        dns.apply_update(&req).unwrap();
        assert_eq!(dns.a_records("h.corp.example"), vec![ip("1.1.1.2")]);
        assert_eq!(dns.ns("corp.example"), vec!["ns1.corp.example"]);
        // The apex NS is not a delegation.
        assert_eq!(dns.delegation("h.corp.example"), None);
        dns.apply_update(&UpdateRequest {
            zone: "corp.example".into(),
            ops: vec![UpdateOp::DeleteName {
                name: "h.corp.example".into(),
            }],
        })
        .unwrap();
        assert!(dns.a_records("h.corp.example").is_empty());
    }

    #[test]
    fn ns_host_names_use_glue() {
        let mut dns = Dns::new();
        dns.add_zone("corp.example")
            .unwrap()
            .add_a("ssip-dr.corp.example", ip(DR_SSIP))
            .unwrap()
            .set_ns(
                "finance.corp.example",
                vec!["lame.corp.example".into(), "ssip-dr.corp.example".into()],
            )
            .unwrap();
        let mut sc = clusters();
        move_names(&mut sc);
        let r = dns.resolve("finance.corp.example", &sc).unwrap();
        assert_eq!(r.answered_by.as_deref(), Some(DR_SSIP));
        // Names below a delegated name go to the same servers.
        assert!(matches!(
            dns.resolve("x.finance.corp.example", &sc),
            Err(DnsError::NoAnswer { .. })
        ));
    }

    #[test]
    fn longest_zone_wins_and_state_round_trips() {
        let mut dns = dual_world();
        dns.add_zone("sub.corp.example")
            .unwrap()
            .add_a("h.sub.corp.example", ip("9.9.9.9"))
            .unwrap();
        assert_eq!(
            dns.zone_for("h.sub.corp.example").unwrap().origin,
            "sub.corp.example"
        );
        let json = serde_json::to_string(&dns).unwrap();
        assert_eq!(serde_json::from_str::<Dns>(&json).unwrap(), dns);
    }
    #[test]
    fn delegate_names_hosts_with_glue() {
        let dns = dual_world();
        assert_eq!(
            ssip_host(ip("10.1.4.10"), "Corp.Example."),
            "ssip-10-1-4-10.corp.example"
        );
        assert_eq!(dns.ns("finance.corp.example"), vec![PROD_HOST, DR_HOST]);
        assert_eq!(dns.a_records(PROD_HOST), vec![ip(PROD_SSIP)]);
        assert_eq!(dns.a_records(DR_HOST), vec![ip(DR_SSIP)]);
        assert_eq!(
            dns.ns_ssips("x.finance.corp.example"),
            vec![ip(PROD_SSIP), ip(DR_SSIP)]
        );
        let r = dns.referral("deep.x.FINANCE.corp.example.").unwrap();
        assert_eq!(r.owner, "finance.corp.example");
        assert_eq!(r.hosts, vec![PROD_HOST, DR_HOST]);
        assert_eq!(
            r.glue,
            vec![
                (PROD_HOST.to_string(), vec![ip(PROD_SSIP)]),
                (DR_HOST.to_string(), vec![ip(DR_SSIP)])
            ]
        );
        // Glue names and other data of the parent zone are not referred.
        assert_eq!(dns.referral(PROD_HOST), None);
        assert_eq!(dns.referral("dc1.corp.example"), None);
        assert_eq!(dns.referral("corp.example"), None);
        // An SSIP that is not an address is refused, and nothing changes.
        let mut d2 = dns.clone();
        assert!(matches!(
            d2.delegate("x.corp.example", &["ssip-prod"]),
            Err(DnsError::InvalidName { .. })
        ));
        assert_eq!(d2, dns);
        // An empty list removes the delegation and keeps the glue.
        d2.delegate("fin.corp.example", &[]).unwrap();
        assert_eq!(d2.delegation("fin.corp.example"), None);
        assert_eq!(d2.a_records(PROD_HOST), vec![ip(PROD_SSIP)]);
    }

    #[test]
    fn data_below_a_cut_is_the_childs() {
        // An A record at a delegated name is occluded by the cut, as in a real parent zone.
        let mut dns = dual_world();
        dns.add_a("finance.corp.example", ip("192.0.2.1")).unwrap();
        let r = dns.resolve("finance.corp.example", &clusters()).unwrap();
        assert_eq!(r.answered_by.as_deref(), Some(PROD_SSIP));
    }
}

#[cfg(test)]
mod cut_tests {
    use super::*;
    use proptest::prelude::*;

    /// `Zone::cut_for` as first written: the suffixes' starts listed, then looked up.
    fn cut_for_listed<'a>(z: &'a Zone, name: &str) -> Option<(&'a str, &'a [String])> {
        let depth = z.origin.split('.').count();
        let starts: Vec<usize> = std::iter::once(0)
            .chain(name.match_indices('.').map(|(i, _)| i + 1))
            .collect();
        let below_apex = starts.len().saturating_sub(depth);
        for &start in starts[..below_apex].iter().rev() {
            if let Some((owner, targets)) = z.ns.get_key_value(&name[start..]) {
                return Some((owner.as_str(), targets.as_slice()));
            }
        }
        None
    }

    fn name() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "corp", "x-1", ""]),
            0..5,
        )
        .prop_map(|l| l.join("."))
    }

    proptest! {
        /// The walk finds the cut the listed starts found, for any origin, cuts and name.
        #[test]
        fn cut_for_agrees_with_the_listed_starts(
            origin in name(),
            cuts in prop::collection::vec(name(), 0..6),
            q in name(),
        ) {
            let mut z = Zone::new(origin);
            for (i, c) in cuts.into_iter().enumerate() {
                z.ns.insert(c, vec![format!("ns{i}")]);
            }
            prop_assert_eq!(z.cut_for(&q), cut_for_listed(&z, &q));
        }
    }
}

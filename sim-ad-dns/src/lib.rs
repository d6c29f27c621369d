//! Deterministic simulation of Active Directory (machine accounts, SPNs), DNS (zones,
//! SmartConnect delegation, RFC 2136 updates) and DFS namespaces, for Failover Lab.
//!
//! # ARCHITECTURE
//!
//! Code map:
//! * [`ad`] — [`Domain`]: machine accounts and SPNs; collisions break Kerberos (I6).
//! * [`dns`] — [`Dns`]: zones with A/NS records; NS targets are host names
//!   ([`ssip_host`], `ssip-<a-b-c-d>.<zone>`) with glue; resolution through SmartConnect
//!   delegation ([`SmartConnectAnswerer`]); dual vs single delegation; referrals; RFC 2136
//!   updates.
//! * [`wire`] — DNS wire format (hickory-proto): [`wire::handle_message`] answers as a
//!   delegating parent zone (referrals with glue, recursion for RD=1 A queries, SOA on
//!   negative answers) and TSIG-checked updates; client builders the orchestrator mirrors.
//! * [`server`] — real UDP+TCP DNS on a socket around `handle_message` (for `drill serve`).
//! * [`dfs`] — [`DfsRoot`]: namespace referrals; clients take the first target whose share
//!   exists.
//! * [`spec`] — scenario keys `world.ad`, `world.dns` (delegation mode, TSIG key),
//!   `world.dfs`.
//!
//! Invariants kept: everything except [`server`] is pure and deterministic (ordered maps, no
//! randomness, no clock: time enters only as an argument); state types serialise with serde;
//! names compare case-insensitively where AD, DNS and SMB do; every DNS change bumps the
//! zone's SOA serial once; malformed wire input never panics.
//!
//! API boundary: `sim-onefs` owns clusters and implements [`SmartConnectAnswerer`] from its
//! pools; it reads/writes SPNs through [`Domain`]. The harness's clients use
//! [`Dns::resolve`], [`Domain::kerberos`] and [`DfsRoot::resolve`]. The orchestrator never
//! links this crate: it speaks DNS wire format to [`wire::handle_message`] (in process) or
//! to [`server::serve`] (sockets).

pub mod ad;
pub mod dfs;
pub mod dns;
pub mod server;
pub mod spec;
pub mod wire;

pub use ad::{smartconnect_spns, AdError, Domain, KerberosError, MachineAccount};
pub use dfs::{parse_unc, pick_target, DfsError, DfsRoot, Namespace};
pub use dns::{
    ssip_host, Delegation, Dns, DnsError, Referral, Resolution, RrData, RrType,
    SmartConnectAnswerer, SmartConnectTable, UpdateOp, UpdateRequest, Zone, SSIP_HOST_PREFIX,
};
pub use server::{serve, DnsServerHandle};
pub use spec::{AccountSpec, AdSpec, DfsSpec, DnsSpec, TsigSecret, TsigSpec};
pub use wire::TsigKey;

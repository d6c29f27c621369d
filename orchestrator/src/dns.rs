//! The orchestrator's DNS client: wire-format queries and RFC 2136 dynamic updates.
//!
//! `repoint_dns` uses it to verify that moved SmartConnect names now resolve to the target
//! (dual delegation) and, in single delegation, to replace a name's NS records with the
//! target's SmartConnect service IPs — TSIG-signed (HMAC-SHA256, RFC 8945) when a key is
//! configured, as BIND expects. Messages go through a [`DnsTransport`]: UDP (TCP when the
//! answer is truncated) to a real server, or an in-process function — same bytes.
//!
//! NS records name hosts, never addresses. [`DnsClient::ns_targets`] reads a delegation as
//! a parent zone gives it (the referral's NS RRset, addresses from its glue, or looked up
//! when a host has none), so the orchestrator maps NS host names back to SmartConnect
//! service IPs. A service IP the orchestrator delegates to gets the host name
//! [`ssip_host`] (`ssip-10-2-0-10.<zone>`), the scheme the lab's site DNS uses; the update
//! that repoints a name adds that host's glue A record when the zone lacks it
//! ([`DnsClient::replace_ns`]). With a key, the update is signed and the server's answer
//! must carry a TSIG of the same key over the request's MAC (RFC 8945 §5.3.2), or the
//! update counts as failed ([`DnsClientError::Unverified`]).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TSIG};
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::secret::SecretBytes;

/// Largest DNS message we read.
const MAX_MESSAGE_BYTES: usize = 65_535;

/// A DNS exchange failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DnsClientError {
    #[error("DNS server {server}: {detail}")]
    Transport { server: String, detail: String },
    #[error("no DNS answer from {server} within {timeout_ms} ms")]
    Timeout { server: String, timeout_ms: u64 },
    #[error("DNS {name}: {rcode}")]
    Rcode { name: String, rcode: String },
    #[error("DNS message: {0}")]
    Malformed(String),
    /// The answer to a TSIG-signed request is not signed by the key (RFC 8945 §5.3.2: the
    /// client must verify it), so it cannot be trusted.
    #[error("DNS answer for {name}: {reason}")]
    Unverified { name: String, reason: String },
}

/// Sends one DNS message and returns the answer.
pub trait DnsTransport: Send + Sync + fmt::Debug {
    fn exchange(&self, msg: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, DnsClientError>>;
}

/// UDP to a real server, retried over TCP when the answer is truncated.
#[derive(Debug, Clone)]
pub struct NetDns {
    pub server: SocketAddr,
    pub timeout_ms: u64,
}

impl DnsTransport for NetDns {
    fn exchange(&self, msg: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, DnsClientError>> {
        Box::pin(async move {
            let server = self.server.to_string();
            let t = Duration::from_millis(self.timeout_ms);
            let io = |e: std::io::Error| DnsClientError::Transport {
                server: server.clone(),
                detail: e.to_string(),
            };
            let timeout = || DnsClientError::Timeout {
                server: server.clone(),
                timeout_ms: self.timeout_ms,
            };
            let bind: SocketAddr = if self.server.is_ipv4() {
                "0.0.0.0:0".parse().expect("literal")
            } else {
                "[::]:0".parse().expect("literal")
            };
            let sock = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
            sock.connect(self.server).await.map_err(io)?;
            sock.send(&msg).await.map_err(io)?;
            let mut buf = vec![0u8; MAX_MESSAGE_BYTES];
            let n = tokio::time::timeout(t, sock.recv(&mut buf))
                .await
                .map_err(|_| timeout())?
                .map_err(io)?;
            buf.truncate(n);
            // TC bit: ask again over TCP.
            if buf.len() > 2 && buf[2] & 0x02 != 0 {
                let mut tcp = tokio::time::timeout(t, tokio::net::TcpStream::connect(self.server))
                    .await
                    .map_err(|_| timeout())?
                    .map_err(io)?;
                let len = u16::try_from(msg.len())
                    .map_err(|_| DnsClientError::Malformed("message too long".into()))?;
                tcp.write_all(&len.to_be_bytes()).await.map_err(io)?;
                tcp.write_all(&msg).await.map_err(io)?;
                let mut lb = [0u8; 2];
                tokio::time::timeout(t, tcp.read_exact(&mut lb))
                    .await
                    .map_err(|_| timeout())?
                    .map_err(io)?;
                let mut out = vec![0u8; u16::from_be_bytes(lb) as usize];
                tokio::time::timeout(t, tcp.read_exact(&mut out))
                    .await
                    .map_err(|_| timeout())?
                    .map_err(io)?;
                return Ok(out);
            }
            Ok(buf)
        })
    }
}

/// In-process transport: a function from request bytes to answer bytes.
#[derive(Clone)]
pub struct FnDns(pub Arc<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>);

impl fmt::Debug for FnDns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnDns")
    }
}

impl DnsTransport for FnDns {
    fn exchange(&self, msg: Vec<u8>) -> BoxFuture<'_, Result<Vec<u8>, DnsClientError>> {
        let f = self.0.clone();
        Box::pin(async move { Ok(f(msg)) })
    }
}

/// A TSIG key (hmac-sha256). The secret never prints.
#[derive(Debug, Clone)]
pub struct TsigKey {
    pub name: String,
    /// The key material (base64-decoded, as the DNS server's key file holds it encoded).
    pub secret: SecretBytes,
}

impl TsigKey {
    /// A key from its raw bytes.
    pub fn new(name: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        TsigKey {
            name: name.into(),
            secret: SecretBytes::new(secret),
        }
    }

    /// A key from the base64 text `tsig-keygen` or a BIND `key { secret "…"; }` clause gives.
    /// The error never contains the text.
    pub fn from_base64(name: impl Into<String>, text: &str) -> Result<Self, String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| "the TSIG secret is not valid base64".to_string())?;
        if bytes.is_empty() {
            return Err("the TSIG secret is empty".into());
        }
        Ok(TsigKey::new(name, bytes))
    }
}

/// Prefix of the host name a SmartConnect service IP is given in a parent zone.
pub const SSIP_HOST_PREFIX: &str = "ssip-";

/// The NS host name for SmartConnect service IP `ssip` in `zone`:
/// `ssip-<a>-<b>-<c>-<d>.<zone>`, e.g. `ssip-10-2-0-10.corp.example`.
pub fn ssip_host(ssip: Ipv4Addr, zone: &str) -> String {
    let [a, b, c, d] = ssip.octets();
    format!(
        "{SSIP_HOST_PREFIX}{a}-{b}-{c}-{d}.{}",
        zone.trim_end_matches('.').to_ascii_lowercase()
    )
}

/// One NS target of a delegation: its host name and the addresses it has (glue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsTarget {
    /// Host name, lower-case, without the trailing dot.
    pub host: String,
    /// Its A records (from the referral's glue, else looked up); empty for a lame target.
    pub addrs: Vec<Ipv4Addr>,
}

fn bare(n: &Name) -> String {
    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// DNS client over a transport.
#[derive(Debug, Clone)]
pub struct DnsClient {
    transport: Arc<dyn DnsTransport>,
    tsig: Option<TsigKey>,
    next_id: Arc<AtomicU16>,
}

fn dns_name(s: &str) -> Result<Name, DnsClientError> {
    let fq = if s.ends_with('.') {
        s.to_string()
    } else {
        format!("{s}.")
    };
    Name::from_ascii(&fq).map_err(|e| DnsClientError::Malformed(format!("name {s:?}: {e}")))
}

fn malformed(e: impl fmt::Display) -> DnsClientError {
    DnsClientError::Malformed(e.to_string())
}

impl DnsClient {
    /// A client; `tsig` signs updates.
    pub fn new(transport: Arc<dyn DnsTransport>, tsig: Option<TsigKey>) -> Self {
        DnsClient {
            transport,
            tsig,
            // Deterministic ids: replayable runs, and the transport matches by socket anyway.
            next_id: Arc::new(AtomicU16::new(1)),
        }
    }

    fn id(&self) -> u16 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    async fn ask(&self, name: &str, rtype: RecordType) -> Result<Message, DnsClientError> {
        let mut m = Message::new(self.id(), MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(dns_name(name)?, rtype));
        let bytes = m.to_vec().map_err(malformed)?;
        self.exchange_checked(bytes, name).await
    }

    /// Send one message and read the answer; an answer other than NOERROR is an error
    /// naming `name` and the rcode.
    async fn exchange_checked(
        &self,
        bytes: Vec<u8>,
        name: &str,
    ) -> Result<Message, DnsClientError> {
        let answer = self.transport.exchange(bytes).await?;
        let r = Message::from_vec(&answer).map_err(malformed)?;
        if r.response_code != ResponseCode::NoError {
            return Err(DnsClientError::Rcode {
                name: name.to_string(),
                rcode: r.response_code.to_str().to_string(),
            });
        }
        Ok(r)
    }

    /// The A addresses `name` resolves to.
    pub async fn resolve_a(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsClientError> {
        let r = self.ask(name, RecordType::A).await?;
        Ok(r.answers
            .iter()
            .filter_map(|rec| match &rec.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect())
    }

    /// The A addresses of `name` in the server's own data or through its delegations; a
    /// name that does not exist (NXDOMAIN) has none.
    pub async fn a_records(&self, name: &str) -> Result<Vec<Ipv4Addr>, DnsClientError> {
        match self.resolve_a(name).await {
            Err(DnsClientError::Rcode { rcode, .. })
                if rcode == ResponseCode::NXDomain.to_str() =>
            {
                Ok(vec![])
            }
            other => other,
        }
    }

    /// The NS host names of `name` (lower-case, without the trailing dot): the answer, or
    /// the authority section of a referral.
    pub async fn ns(&self, name: &str) -> Result<Vec<String>, DnsClientError> {
        Ok(self
            .ns_targets(name)
            .await?
            .into_iter()
            .map(|t| t.host)
            .collect())
    }

    /// The delegation of `name`: its NS hosts with their addresses — the glue of the
    /// additional section, or an A lookup of a host that came without glue.
    pub async fn ns_targets(&self, name: &str) -> Result<Vec<NsTarget>, DnsClientError> {
        let r = self.ask(name, RecordType::NS).await?;
        let mut out: Vec<NsTarget> = Vec::new();
        for rec in r.answers.iter().chain(r.authorities.iter()) {
            if let RData::NS(ns) = &rec.data {
                let host = bare(&ns.0);
                if !out.iter().any(|t| t.host == host) {
                    out.push(NsTarget {
                        host,
                        addrs: vec![],
                    });
                }
            }
        }
        for rec in &r.additionals {
            if let RData::A(a) = &rec.data {
                let owner = bare(&rec.name);
                if let Some(t) = out.iter_mut().find(|t| t.host == owner) {
                    if !t.addrs.contains(&a.0) {
                        t.addrs.push(a.0);
                    }
                }
            }
        }
        for t in out.iter_mut().filter(|t| t.addrs.is_empty()) {
            t.addrs = self.a_records(&t.host).await?;
        }
        Ok(out)
    }

    /// RFC 2136: replace the NS RRset of `name` in `zone` with the host names `hosts`, and
    /// add the glue A records `glue` (`(host, address)`), in one atomic update.
    pub async fn replace_ns(
        &self,
        zone: &str,
        name: &str,
        hosts: &[String],
        glue: &[(String, Ipv4Addr)],
    ) -> Result<(), DnsClientError> {
        let mut m = Message::new(self.id(), MessageType::Query, OpCode::Update);
        let mut z = Query::query(dns_name(zone)?, RecordType::SOA);
        z.set_query_class(DNSClass::IN);
        m.add_query(z);
        let owner = dns_name(name)?;
        let mut del = Record::update0(owner.clone(), 0, RecordType::NS);
        del.dns_class = DNSClass::ANY;
        m.add_authority(del);
        for t in hosts {
            m.add_authority(Record::from_rdata(
                owner.clone(),
                300,
                RData::NS(NS(dns_name(t)?)),
            ));
        }
        for (h, a) in glue {
            m.add_authority(Record::from_rdata(dns_name(h)?, 300, RData::A(A(*a))));
        }
        let bytes = m.to_vec().map_err(malformed)?;
        let Some(key) = &self.tsig else {
            self.exchange_checked(bytes, name).await?;
            return Ok(());
        };
        let (signed, request_mac) = sign(&bytes, key)?;
        let answer = self.transport.exchange(signed).await?;
        let r = Message::from_vec(&answer).map_err(malformed)?;
        if r.response_code != ResponseCode::NoError {
            return Err(DnsClientError::Rcode {
                name: name.to_string(),
                rcode: r.response_code.to_str().to_string(),
            });
        }
        verify_response(&answer, key, &request_mac).map_err(|reason| DnsClientError::Unverified {
            name: name.to_string(),
            reason,
        })
    }
}

/// Append a TSIG record (RFC 8945 §4.3: MAC over the message and the TSIG variables),
/// signed now.
/// Returns the signed message and its MAC (which the answer's MAC covers).
fn sign(msg: &[u8], key: &TsigKey) -> Result<(Vec<u8>, Vec<u8>), DnsClientError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sign_at_with_mac(msg, key, now, None)
}

/// [`sign`] with an explicit time signed (seconds since the epoch), message only.
#[cfg(test)]
fn sign_at(msg: &[u8], key: &TsigKey, time_signed: u64) -> Result<Vec<u8>, DnsClientError> {
    Ok(sign_at_with_mac(msg, key, time_signed, None)?.0)
}

/// The HMAC-SHA256 of `data` under `key`.
fn hmac(key: &TsigKey, data: &[u8]) -> Vec<u8> {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.secret.expose());
    ring::hmac::sign(&k, data).as_ref().to_vec()
}

/// Verify the TSIG of the answer to a request signed with MAC `request_mac` (RFC 8945
/// §4.3.3, §5.3.2): the last record must be a TSIG of our key and algorithm, without a TSIG
/// error, whose MAC covers the request MAC, the answer as it was before signing and the
/// TSIG variables. The error says why, never with key material.
fn verify_response(answer: &[u8], key: &TsigKey, request_mac: &[u8]) -> Result<(), String> {
    use hickory_proto::op::Header;
    use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
    let bad = |e: &dyn fmt::Display| format!("cannot read the signed answer: {e}");
    let mut dec = BinDecoder::new(answer);
    let header = Header::read(&mut dec).map_err(|e| bad(&e))?;
    let counts = header.counts;
    for _ in 0..counts.queries {
        Query::read(&mut dec).map_err(|e| bad(&e))?;
    }
    let total = usize::from(counts.answers)
        + usize::from(counts.authorities)
        + usize::from(counts.additionals);
    if counts.additionals == 0 {
        return Err("the answer to a signed update is not signed".into());
    }
    for _ in 0..total - 1 {
        Record::read(&mut dec).map_err(|e| bad(&e))?;
    }
    let tsig_start = dec.index();
    let last = Record::read(&mut dec).map_err(|e| bad(&e))?;
    let RData::TSIG(tsig) = &last.data else {
        return Err("the answer to a signed update is not signed".into());
    };
    if last.name != dns_name(&key.name).map_err(|e| e.to_string())? {
        return Err(format!(
            "the answer is signed with another key ({})",
            last.name
        ));
    }
    if tsig.algorithm != TsigAlgorithm::HmacSha256 {
        return Err(format!("the answer is signed with {}", tsig.algorithm));
    }
    if let Some(err) = &tsig.error {
        return Err(format!("the server reports TSIG error {err:?}"));
    }
    let mut h = header;
    h.metadata.id = tsig.oid;
    h.counts.additionals -= 1;
    let mut head = Vec::with_capacity(12);
    let mut enc = BinEncoder::new(&mut head);
    h.emit(&mut enc).map_err(|e| bad(&e))?;
    let mut tbs = Vec::with_capacity(answer.len() + 64);
    tbs.extend_from_slice(&(request_mac.len() as u16).to_be_bytes());
    tbs.extend_from_slice(request_mac);
    tbs.extend_from_slice(&head);
    tbs.extend_from_slice(&answer[12..tsig_start]);
    let mut vars = Vec::new();
    let mut enc = BinEncoder::new(&mut vars);
    tsig.emit_tsig_for_mac(&mut enc, &last.name)
        .map_err(|e| bad(&e))?;
    tbs.extend_from_slice(&vars);
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.secret.expose());
    ring::hmac::verify(&k, &tbs, &tsig.mac)
        .map_err(|_| "the answer's TSIG signature does not verify".to_string())
}

/// [`sign`] with an explicit time signed; a response's signature covers `request_mac`.
fn sign_at_with_mac(
    msg: &[u8],
    key: &TsigKey,
    time_signed: u64,
    request_mac: Option<&[u8]>,
) -> Result<(Vec<u8>, Vec<u8>), DnsClientError> {
    if msg.len() < 12 {
        return Err(malformed("message shorter than a header"));
    }
    let key_name = dns_name(&key.name)?;
    let oid = u16::from_be_bytes([msg[0], msg[1]]);
    let pre = TSIG::new(
        TsigAlgorithm::HmacSha256,
        time_signed,
        300,
        Vec::new(),
        oid,
        None,
        Vec::new(),
    );
    let mut vars = Vec::new();
    let mut enc = BinEncoder::new(&mut vars);
    pre.emit_tsig_for_mac(&mut enc, &key_name)
        .map_err(malformed)?;
    let mut tbs = Vec::with_capacity(msg.len() + vars.len() + 34);
    if let Some(m) = request_mac {
        tbs.extend_from_slice(&(m.len() as u16).to_be_bytes());
        tbs.extend_from_slice(m);
    }
    tbs.extend_from_slice(msg);
    tbs.extend_from_slice(&vars);
    let mac = hmac(key, &tbs);
    let mut out = msg.to_vec();
    let arcount = u16::from_be_bytes([out[10], out[11]]).wrapping_add(1);
    out[10..12].copy_from_slice(&arcount.to_be_bytes());
    let mut rr = Record::from_rdata(key_name, 0, RData::TSIG(pre.set_mac(mac.clone())));
    rr.dns_class = DNSClass::ANY;
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rr.emit(&mut enc).map_err(malformed)?;
    out.extend_from_slice(&buf);
    Ok((out, mac))
}

#[cfg(test)]
mod tests {
    //! TSIG known answers. The vectors come from dnspython 2.8.0, an implementation
    //! independent of this one (hickory-proto + ring), via `sim-ad-dns/testdata/tsig_kat.py`,
    //! which also checks every MAC against HMAC-SHA256 over the RFC 8945 §4.3.3 layout
    //! written out by hand. Regenerate with:
    //!
    //! ```text
    //! python3 -m venv /tmp/kat-venv && /tmp/kat-venv/bin/pip install dnspython==2.8.0
    //! /tmp/kat-venv/bin/python sim-ad-dns/testdata/tsig_kat.py
    //! ```
    //!
    //! The simulator's TSIG (`sim-ad-dns/src/wire.rs`) is tested against the same vectors.
    //!
    //! What the MAC covers (key `tsig-key.`, secret `00 01 .. 1f`, fudge 300):
    //!
    //! ```text
    //! the unsigned message: original id 2a5c, flags 2800 (UPDATE), ZO=1 PR=0 UP=2 AD=0,
    //!   zone corp.example. SOA IN, `finance.corp.example. 0 ANY NS` (delete RRset),
    //!   `finance.corp.example. 300 IN NS 10.2.0.10.` (names compressed as sent)
    //! then the TSIG variables, in this order:
    //!   08 "tsig-key" 00        key name, canonical (lowercase, never compressed)
    //!   00ff                    class ANY
    //!   00000000                TTL 0
    //!   0b "hmac-sha256" 00     algorithm name, canonical
    //!   0000 692e2c00           time signed, 48 bits (1764633600 = 2025-12-02T00:00:00Z)
    //!   012c                    fudge 300
    //!   0000                    error
    //!   0000                    other len (no other data)
    //! ```

    use std::sync::Mutex;

    use super::*;

    const KAT_TIME: u64 = 1_764_633_600;
    /// A time signed that needs all 48 bits.
    const KAT_TIME_HIGH: u64 = 0x0001_2345_6789;
    const KAT_UPDATE_UNSIGNED: &str = "2a5c2800000100000002000004636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b0231300132013002313000";
    const KAT_UPDATE_MAC: &str = "b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae";
    const KAT_UPDATE_SIGNED: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008747369672d6b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c0020b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae2a5c00000000";
    /// Signed by dnspython with the key named `TSIG-Key.`: the owner keeps its case on the
    /// wire, the MAC does not change (the digest uses the canonical name).
    const KAT_UPDATE_SIGNED_MIXED_CASE: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008545349472d4b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c0020b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae2a5c00000000";
    const KAT_UPDATE_HIGH_SIGNED: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008747369672d6b65790000fa00ff00000000003d0b686d61632d73686132353600000123456789012c00206d66bdac3e11033f478b061d5b06ebf85324a850328364227b881e26427808fa2a5c00000000";

    fn kat_key(name: &str) -> TsigKey {
        TsigKey::new(name, (0u8..32).collect::<Vec<u8>>())
    }

    fn unhex(s: &str) -> Vec<u8> {
        assert!(s.len().is_multiple_of(2), "odd hex length");
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn tsig_kat_update_signature_matches_dnspython() {
        let signed = sign_at(&unhex(KAT_UPDATE_UNSIGNED), &kat_key("tsig-key."), KAT_TIME).unwrap();
        assert_eq!(hex(&signed), KAT_UPDATE_SIGNED);
        assert!(KAT_UPDATE_SIGNED.contains(&format!("0020{KAT_UPDATE_MAC}2a5c")));
        // Without the trailing dot the key name means the same.
        let signed = sign_at(&unhex(KAT_UPDATE_UNSIGNED), &kat_key("tsig-key"), KAT_TIME);
        assert_eq!(hex(&signed.unwrap()), KAT_UPDATE_SIGNED);
    }

    #[test]
    fn tsig_kat_digest_uses_the_canonical_key_name() {
        let signed = sign_at(&unhex(KAT_UPDATE_UNSIGNED), &kat_key("TSIG-Key."), KAT_TIME).unwrap();
        assert_eq!(hex(&signed), KAT_UPDATE_SIGNED_MIXED_CASE);
    }

    #[test]
    fn tsig_kat_time_signed_is_48_bits() {
        let signed = sign_at(
            &unhex(KAT_UPDATE_UNSIGNED),
            &kat_key("tsig-key."),
            KAT_TIME_HIGH,
        )
        .unwrap();
        assert_eq!(hex(&signed), KAT_UPDATE_HIGH_SIGNED);
    }

    /// `replace_ns` builds the same update dnspython does (apart from the id, which comes
    /// from the client's counter) and signs it with the TSIG record dnspython would add.
    #[tokio::test]
    async fn tsig_kat_replace_ns_sends_the_known_update() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let seen = sent.clone();
        let transport = FnDns(Arc::new(move |msg: Vec<u8>| {
            *seen.lock().unwrap() = msg.clone();
            signed_answer(&msg, &kat_key("tsig-key."))
        }));
        let client = DnsClient::new(Arc::new(transport), Some(kat_key("tsig-key.")));
        client
            .replace_ns(
                "corp.example",
                "finance.corp.example",
                &["10.2.0.10".to_string()],
                &[],
            )
            .await
            .unwrap();
        let sent = sent.lock().unwrap().clone();
        let unsigned = unhex(KAT_UPDATE_UNSIGNED);
        assert_eq!(&sent[..2], &[0, 1], "the first id of a new client");
        // Header after the id, with ARCOUNT 1 for the TSIG, and the sections as dnspython
        // encodes them.
        let mut expected = unsigned.clone();
        expected[11] = 1;
        assert_eq!(hex(&sent[2..unsigned.len()]), hex(&expected[2..]));
        // The TSIG record: owner, type, class, TTL, algorithm, then the time signed (now),
        // which the known answers above cover; fudge, MAC size and the original id follow.
        let tsig = &sent[unsigned.len()..];
        let known = &unhex(KAT_UPDATE_SIGNED)[unsigned.len()..];
        assert_eq!(hex(&tsig[..33]), hex(&known[..33]));
        assert_eq!(hex(&tsig[39..43]), "012c0020");
        assert_eq!(hex(&tsig[tsig.len() - 6..]), "000100000000");
    }

    /// dnspython's NOERROR answer to the known update, signed over its MAC.
    const KAT_RESPONSE_SIGNED: &str = "2a5ca800000100000000000104636f7270076578616d706c65000006000108747369672d6b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c00208a4da87e8cfb4057373b83fc3d1101c19dcb496e8a0b0f493d9b73179fd42c022a5c00000000";

    #[test]
    fn tsig_kat_signed_answer_verifies() {
        let key = kat_key("tsig-key.");
        let answer = unhex(KAT_RESPONSE_SIGNED);
        verify_response(&answer, &key, &unhex(KAT_UPDATE_MAC)).unwrap();
        assert!(verify_response(&answer, &key, &[0u8; 32]).is_err());
        let mut forged = answer.clone();
        forged[3] ^= 0x01; // another rcode bit
        assert!(verify_response(&forged, &key, &unhex(KAT_UPDATE_MAC)).is_err());
        // The answer without its TSIG record.
        let mut unsigned = answer[..30].to_vec();
        unsigned[11] = 0;
        assert!(verify_response(&unsigned, &key, &unhex(KAT_UPDATE_MAC)).is_err());
    }

    /// A NOERROR answer to a signed update, signed as a server does: over the request's
    /// MAC (the 32 bytes before the TSIG's original id, error and other length).
    fn signed_answer(request: &[u8], key: &TsigKey) -> Vec<u8> {
        let req = Message::from_vec(request).unwrap();
        let mut resp = Message::response(req.id, req.op_code);
        resp.add_queries(req.queries.iter().cloned());
        let n = request.len();
        let request_mac = &request[n - 6 - 32..n - 6];
        sign_at_with_mac(&resp.to_vec().unwrap(), key, KAT_TIME, Some(request_mac))
            .unwrap()
            .0
    }

    /// The answer to a signed update must be signed by the key, over the request's MAC.
    #[tokio::test]
    async fn unsigned_or_forged_answers_to_a_signed_update_are_refused() {
        let key = kat_key("tsig-key.");
        let update = |answer: Arc<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>| async move {
            DnsClient::new(Arc::new(FnDns(answer)), Some(kat_key("tsig-key.")))
                .replace_ns("corp.example", "finance.corp.example", &[], &[])
                .await
        };
        let k = key.clone();
        update(Arc::new(move |m| signed_answer(&m, &k)))
            .await
            .unwrap();
        // Unsigned NOERROR.
        let e = update(Arc::new(|m: Vec<u8>| {
            let req = Message::from_vec(&m).unwrap();
            let mut resp = Message::response(req.id, req.op_code);
            resp.add_queries(req.queries.iter().cloned());
            resp.to_vec().unwrap()
        }))
        .await
        .unwrap_err();
        assert!(matches!(e, DnsClientError::Unverified { .. }), "{e}");
        // Signed with another secret, or over another request MAC.
        let other = TsigKey::new("tsig-key.", b"another secret".to_vec());
        let e = update(Arc::new(move |m| signed_answer(&m, &other)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        let k = key.clone();
        let e = update(Arc::new(move |mut m: Vec<u8>| {
            let n = m.len();
            m[n - 7] ^= 1; // another request MAC
            signed_answer(&m, &k)
        }))
        .await
        .unwrap_err();
        assert!(e.to_string().contains("does not verify"), "{e}");
        // Signed under another key name.
        let renamed = TsigKey::new("other-key.", (0u8..32).collect::<Vec<u8>>());
        let e = update(Arc::new(move |m| signed_answer(&m, &renamed)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("another key"), "{e}");
    }

    /// A fake parent zone: `finance.corp.example` is delegated to two hosts, one with glue
    /// in the referral and one without (looked up separately); `nope.*` is NXDOMAIN.
    fn fake_parent(updates: Arc<Mutex<Vec<Message>>>) -> DnsClient {
        let transport = FnDns(Arc::new(move |msg: Vec<u8>| {
            let req = Message::from_vec(&msg).unwrap();
            let mut resp = Message::response(req.id, req.op_code);
            resp.add_queries(req.queries.iter().cloned());
            if req.op_code == OpCode::Update {
                updates.lock().unwrap().push(req);
                return resp.to_vec().unwrap();
            }
            let q = &req.queries[0];
            let name = q.name().to_ascii();
            let n = |s: &str| Name::from_ascii(s).unwrap();
            match (name.as_str(), q.query_type()) {
                ("finance.corp.example.", RecordType::NS) => {
                    for h in ["SSIP-10-1-0-10.corp.example.", "ns-b.corp.example."] {
                        resp.add_authority(Record::from_rdata(
                            n("finance.corp.example."),
                            300,
                            RData::NS(NS(n(h))),
                        ));
                    }
                    resp.add_additional(Record::from_rdata(
                        n("ssip-10-1-0-10.corp.example."),
                        300,
                        RData::A(A(Ipv4Addr::new(10, 1, 0, 10))),
                    ));
                }
                ("ns-b.corp.example.", RecordType::A) => {
                    resp.metadata.authoritative = true;
                    resp.add_answer(Record::from_rdata(
                        n("ns-b.corp.example."),
                        300,
                        RData::A(A(Ipv4Addr::new(10, 2, 0, 10))),
                    ));
                }
                _ => resp.metadata.response_code = ResponseCode::NXDomain,
            }
            resp.to_vec().unwrap()
        }));
        DnsClient::new(Arc::new(transport), None)
    }

    #[tokio::test]
    async fn ns_targets_map_host_names_to_addresses() {
        let updates = Arc::new(Mutex::new(Vec::new()));
        let c = fake_parent(updates.clone());
        assert_eq!(
            c.ns_targets("finance.corp.example").await.unwrap(),
            vec![
                NsTarget {
                    host: "ssip-10-1-0-10.corp.example".into(),
                    addrs: vec![Ipv4Addr::new(10, 1, 0, 10)]
                },
                NsTarget {
                    host: "ns-b.corp.example".into(),
                    addrs: vec![Ipv4Addr::new(10, 2, 0, 10)]
                },
            ]
        );
        assert!(c.a_records("nope.corp.example").await.unwrap().is_empty());
        assert!(c.resolve_a("nope.corp.example").await.is_err());
        assert_eq!(
            ssip_host(Ipv4Addr::new(10, 2, 0, 10), "Corp.Example."),
            "ssip-10-2-0-10.corp.example"
        );

        // The repoint update: delete the NS RRset, add the hosts, add the glue.
        let host = ssip_host(Ipv4Addr::new(10, 2, 0, 10), "corp.example");
        c.replace_ns(
            "corp.example",
            "finance.corp.example",
            std::slice::from_ref(&host),
            &[(host.clone(), Ipv4Addr::new(10, 2, 0, 10))],
        )
        .await
        .unwrap();
        let sent = updates.lock().unwrap().pop().unwrap();
        let ops: Vec<(String, DNSClass, String)> = sent
            .authorities
            .iter()
            .map(|r| {
                let data = match &r.data {
                    RData::NS(ns) => ns.0.to_ascii(),
                    RData::A(a) => a.0.to_string(),
                    other => format!("{other:?}"),
                };
                (r.name.to_ascii(), r.dns_class, data)
            })
            .collect();
        assert_eq!(
            ops[1..].to_vec(),
            vec![
                (
                    "finance.corp.example.".to_string(),
                    DNSClass::IN,
                    "ssip-10-2-0-10.corp.example.".to_string()
                ),
                (
                    "ssip-10-2-0-10.corp.example.".to_string(),
                    DNSClass::IN,
                    "10.2.0.10".to_string()
                ),
            ]
        );
        assert_eq!(ops[0].0, "finance.corp.example.");
        assert_eq!(ops[0].1, DNSClass::ANY);
    }
}

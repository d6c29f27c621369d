//! DNS wire format: the simulated DNS as a real DNS server speaks it, and the client-side
//! message builders the orchestrator mirrors.
//!
//! Parsing and encoding use `hickory-proto`. TSIG (RFC 8945, HMAC-SHA256 only) is done here
//! over the raw bytes with `ring`'s HMAC, because the MAC covers the message exactly as
//! transmitted (name compression included), which re-encoding a parsed message would not
//! reproduce, and because hickory-proto only signs/verifies behind its DNSSEC features.
//!
//! Server behaviour ([`handle_message`]), that of a real delegating parent zone:
//! * QUERY for a name at or below a delegation (zone cut):
//!   - RD=0 (an iterative resolver, `dig +norec`), or any type but A: a **referral** —
//!     NOERROR, AA=0, empty answer, the cut's NS RRset (host names) in the authority
//!     section, their glue A records in the additional section.
//!   - RD=1 and type A (stub resolvers, `dig`'s default): **recursion** for our own
//!     delegations, as BIND with recursion does — the delegation is followed through the
//!     SmartConnect answerer ([`Dns::resolve`]) and the addresses come back with RA=1, AA=0,
//!     TTL 0; SERVFAIL when every delegated SmartConnect server refused.
//! * QUERY for a name of our own zone data (glue names, apex SOA/NS, other A records):
//!   authoritative (AA=1). NXDOMAIN and NODATA carry the zone's SOA in the authority
//!   section (RFC 2308). Names outside our zones: REFUSED. RA=1 on every answer.
//! * UPDATE (RFC 2136, without prerequisites): delete RRset / delete name / delete RR / add RR
//!   for A and NS, applied atomically via [`Dns::apply_update`]. With a key configured the
//!   update must carry a valid TSIG: unsigned → REFUSED (policy, RFC 2136 §3.3, as BIND
//!   answers); unknown key or algorithm → NOTAUTH with TSIG error BADKEY; wrong MAC →
//!   NOTAUTH/BADSIG; outside the fudge window → NOTAUTH/BADTIME (RFC 8945 §5.2). Nothing
//!   changes for a refused update. A verified request's response is signed.
//! * Anything unparsable gets FORMERR and never a panic. Responses (QR=1) get no answer, so
//!   two servers cannot be made to ping-pong.
//!
//! Determinism: [`handle_message`] reads no clock. Time checks of TSIG (the fudge window) are
//! done only by [`handle_message_at`] with a time the caller supplies (the loopback server
//! passes the system clock); signed responses carry that time, or echo the request's.

use std::fmt;
use std::net::Ipv4Addr;

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError, TSIG};
use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding,
};

use crate::dns::{
    normalize_name, Dns, DnsError, Referral, RrData, RrType, SmartConnectAnswerer, UpdateOp,
    UpdateRequest,
};

/// TTL for answers SmartConnect hands out: 0, as SmartConnect does, so that clients re-ask
/// and balancing/failover takes effect at once.
const SMARTCONNECT_TTL: u32 = 0;
/// TTL for the site DNS's own records.
const STATIC_TTL: u32 = 300;
/// EDNS payload size we advertise (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// A TSIG key (algorithm hmac-sha256). `Debug` does not print the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// Key name as configured on both sides, e.g. `dr-update.`.
    pub name: String,
    /// The shared secret (already base64-decoded).
    pub secret: Vec<u8>,
    /// Allowed clock skew in seconds (RFC 8945 recommends 300).
    pub fudge: u16,
}

impl TsigKey {
    /// A key with the recommended fudge of 300 s.
    pub fn new(name: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        TsigKey {
            name: name.into(),
            secret: secret.into(),
            fudge: 300,
        }
    }

    fn key_name(&self) -> Result<Name, DnsError> {
        dns_name(&self.name)
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.secret);
        ring::hmac::sign(&k, data).as_ref().to_vec()
    }

    fn verify(&self, data: &[u8], mac: &[u8]) -> bool {
        let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.secret);
        ring::hmac::verify(&k, data, mac).is_ok()
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .field("fudge", &self.fudge)
            .finish()
    }
}

/// Why a TSIG did not verify, as RFC 8945 classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigFailure {
    /// No TSIG record where one was required.
    Missing,
    /// Unknown key name or algorithm (BADKEY).
    BadKey,
    /// The MAC does not match (BADSIG).
    BadSig,
    /// Time signed outside the fudge window (BADTIME).
    BadTime,
}

/// A verified TSIG: what a signed response has to refer back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigInfo {
    /// The MAC of the verified message (covered by the response's MAC).
    pub mac: Vec<u8>,
    /// Its time signed.
    pub time: u64,
}

/// A message split at its TSIG record.
struct Split {
    /// The message as it was before signing: original ID, ARCOUNT without the TSIG.
    unsigned: Vec<u8>,
    key_name: Name,
    tsig: TSIG,
}

/// Find a trailing TSIG record in raw message bytes. `Ok(None)` when the message is unsigned;
/// `Err` when it cannot be walked or has a TSIG anywhere but last.
fn split_tsig(bytes: &[u8]) -> Result<Option<Split>, DnsError> {
    let malformed = |reason: &str| DnsError::Malformed {
        reason: reason.to_string(),
    };
    let mut dec = BinDecoder::new(bytes);
    let header = Header::read(&mut dec).map_err(|e| malformed(&e.to_string()))?;
    let counts = header.counts;
    for _ in 0..counts.queries {
        Query::read(&mut dec).map_err(|e| malformed(&e.to_string()))?;
    }
    let total = usize::from(counts.answers)
        + usize::from(counts.authorities)
        + usize::from(counts.additionals);
    if total == 0 || counts.additionals == 0 {
        return Ok(None);
    }
    for _ in 0..total - 1 {
        let r = Record::read(&mut dec).map_err(|e| malformed(&e.to_string()))?;
        if r.record_type() == RecordType::TSIG {
            return Err(malformed("TSIG record is not the last record"));
        }
    }
    let end = dec.index();
    let last = Record::read(&mut dec).map_err(|e| malformed(&e.to_string()))?;
    let RData::TSIG(tsig) = last.data else {
        return Ok(None);
    };
    let mut h = header;
    h.metadata.id = tsig.oid;
    h.counts.additionals -= 1;
    let mut unsigned = Vec::with_capacity(end);
    let mut enc = BinEncoder::new(&mut unsigned);
    h.emit(&mut enc).map_err(|e| malformed(&e.to_string()))?;
    unsigned.extend_from_slice(&bytes[12..end]);
    Ok(Some(Split {
        unsigned,
        key_name: last.name,
        tsig,
    }))
}

/// The TSIG variables of RFC 8945 §4.3.3 in canonical form.
fn tsig_variables(key_name: &Name, tsig: &TSIG) -> Result<Vec<u8>, DnsError> {
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    tsig.emit_tsig_for_mac(&mut enc, key_name)
        .map_err(|e| DnsError::Malformed {
            reason: e.to_string(),
        })?;
    Ok(buf)
}

/// The bytes a MAC covers: the request MAC (for responses), the unsigned message, the TSIG
/// variables.
fn to_be_signed(
    request_mac: Option<&[u8]>,
    unsigned: &[u8],
    key_name: &Name,
    tsig: &TSIG,
) -> Result<Vec<u8>, DnsError> {
    let mut tbs = Vec::with_capacity(unsigned.len() + 128);
    if let Some(m) = request_mac {
        tbs.extend_from_slice(&(m.len() as u16).to_be_bytes());
        tbs.extend_from_slice(m);
    }
    tbs.extend_from_slice(unsigned);
    tbs.extend_from_slice(&tsig_variables(key_name, tsig)?);
    Ok(tbs)
}

/// Append a TSIG record to an unsigned message and bump ARCOUNT. The record is encoded
/// without name compression so that it is valid wherever it lands.
fn append_tsig(msg: &[u8], key_name: &Name, tsig: TSIG) -> Result<Vec<u8>, DnsError> {
    let mut out = msg.to_vec();
    if out.len() < 12 {
        return Err(DnsError::Malformed {
            reason: "message shorter than a header".into(),
        });
    }
    let arcount = u16::from_be_bytes([out[10], out[11]]).wrapping_add(1);
    out[10..12].copy_from_slice(&arcount.to_be_bytes());
    let mut rr = Record::from_rdata(key_name.clone(), 0, RData::TSIG(tsig));
    rr.dns_class = DNSClass::ANY;
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rr.emit(&mut enc).map_err(|e| DnsError::Malformed {
        reason: e.to_string(),
    })?;
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Sign an unsigned message with `key` at `time`. For a response, pass the request's MAC.
/// Returns the signed message and its MAC.
pub fn tsig_sign(
    msg: &[u8],
    key: &TsigKey,
    time: u64,
    request_mac: Option<&[u8]>,
) -> Result<(Vec<u8>, Vec<u8>), DnsError> {
    sign_with_error(msg, key, time, request_mac, None)
}

fn sign_with_error(
    msg: &[u8],
    key: &TsigKey,
    time: u64,
    request_mac: Option<&[u8]>,
    error: Option<TsigError>,
) -> Result<(Vec<u8>, Vec<u8>), DnsError> {
    if msg.len() < 12 {
        return Err(DnsError::Malformed {
            reason: "message shorter than a header".into(),
        });
    }
    let key_name = key.key_name()?;
    let oid = u16::from_be_bytes([msg[0], msg[1]]);
    let pre = TSIG::new(
        TsigAlgorithm::HmacSha256,
        time,
        key.fudge,
        Vec::new(),
        oid,
        error,
        Vec::new(),
    );
    let mac = key.mac(&to_be_signed(request_mac, msg, &key_name, &pre)?);
    let signed = append_tsig(msg, &key_name, pre.set_mac(mac.clone()))?;
    Ok((signed, mac))
}

/// Verify the TSIG of a signed message. `request_mac` is the request's MAC when verifying a
/// response; `now` enables the time check.
pub fn tsig_verify(
    bytes: &[u8],
    key: &TsigKey,
    request_mac: Option<&[u8]>,
    now: Option<u64>,
) -> Result<TsigInfo, TsigFailure> {
    let split = split_tsig(bytes)
        .map_err(|_| TsigFailure::Missing)?
        .ok_or(TsigFailure::Missing)?;
    verify_split(&split, key, request_mac, now)
}

fn verify_split(
    split: &Split,
    key: &TsigKey,
    request_mac: Option<&[u8]>,
    now: Option<u64>,
) -> Result<TsigInfo, TsigFailure> {
    let Ok(key_name) = key.key_name() else {
        return Err(TsigFailure::BadKey);
    };
    // Name equality is case-insensitive, as key names are.
    if split.key_name != key_name {
        return Err(TsigFailure::BadKey);
    }
    if split.tsig.algorithm != TsigAlgorithm::HmacSha256 {
        return Err(TsigFailure::BadKey);
    }
    let tbs = to_be_signed(request_mac, &split.unsigned, &split.key_name, &split.tsig)
        .map_err(|_| TsigFailure::BadSig)?;
    if !key.verify(&tbs, &split.tsig.mac) {
        return Err(TsigFailure::BadSig);
    }
    // The time check comes after the MAC check (RFC 8945 §5.2.3), so a forged message cannot
    // learn our clock.
    if let Some(now) = now {
        if now.abs_diff(split.tsig.time) > u64::from(split.tsig.fudge) {
            return Err(TsigFailure::BadTime);
        }
    }
    Ok(TsigInfo {
        mac: split.tsig.mac.clone(),
        time: split.tsig.time,
    })
}

/// A fully qualified hickory `Name` from a (normalised) domain name or IPv4 literal.
fn dns_name(s: &str) -> Result<Name, DnsError> {
    let t = s.strip_suffix('.').unwrap_or(s);
    let n = if t.parse::<Ipv4Addr>().is_ok() {
        t.to_string()
    } else {
        normalize_name(t)?
    };
    Name::from_ascii(format!("{n}.")).map_err(|_| DnsError::InvalidName {
        name: s.to_string(),
    })
}

fn rcode_of(code: u16) -> ResponseCode {
    ResponseCode::from((code >> 4) as u8, (code & 0xF) as u8)
}

fn encode(m: &Message) -> Vec<u8> {
    // Encoding a message we built ourselves from parsed names cannot fail in practice; if it
    // did, SERVFAIL with the same ID is the honest answer.
    m.to_vec().unwrap_or_else(|_| {
        Message::error_msg(m.id, m.op_code, ResponseCode::ServFail)
            .to_vec()
            .unwrap_or_default()
    })
}

/// FORMERR for bytes we could not parse, echoing what we can read of the header.
fn formerr_raw(bytes: &[u8]) -> Vec<u8> {
    let id = if bytes.len() >= 2 {
        u16::from_be_bytes([bytes[0], bytes[1]])
    } else {
        0
    };
    let op = bytes
        .get(2)
        .map_or(OpCode::Query, |b| OpCode::from_u8((b >> 3) & 0x0F));
    encode(&Message::error_msg(id, op, ResponseCode::FormErr))
}

/// [`handle_message_at`] without a clock: TSIG time is not checked.
pub fn handle_message(
    bytes: &[u8],
    dns: &mut Dns,
    sc: &dyn SmartConnectAnswerer,
    tsig: Option<&TsigKey>,
) -> Vec<u8> {
    handle_message_at(bytes, dns, sc, tsig, None)
}

/// Answer one DNS message. `now` (seconds since the epoch) enables the TSIG time check and
/// is the time signed of signed responses. Returns the response bytes; empty means "send
/// nothing" (the input was itself a response).
pub fn handle_message_at(
    bytes: &[u8],
    dns: &mut Dns,
    sc: &dyn SmartConnectAnswerer,
    tsig: Option<&TsigKey>,
    now: Option<u64>,
) -> Vec<u8> {
    if bytes.len() >= 3 && bytes[2] & 0x80 != 0 {
        return Vec::new();
    }
    let Ok(req) = Message::from_vec(bytes) else {
        return formerr_raw(bytes);
    };
    let split = match split_tsig(bytes) {
        Ok(s) => s,
        Err(_) => return formerr_raw(bytes),
    };

    // Authenticate first: nothing is looked at or changed for a request that fails.
    let mut verified: Option<TsigInfo> = None;
    if let Some(split) = &split {
        let outcome = match tsig {
            Some(key) => verify_split(split, key, None, now),
            None => Err(TsigFailure::BadKey),
        };
        match outcome {
            Ok(info) => verified = Some(info),
            Err(fail) => return tsig_error_response(&req, split, tsig, fail, now),
        }
    }

    let mut resp = match req.op_code {
        OpCode::Query => answer_query(&req, dns, sc),
        OpCode::Update => {
            if tsig.is_some() && verified.is_none() {
                // A key is configured: an unsigned update is refused by policy (REFUSED,
                // RFC 2136 §3.3), as BIND's `allow-update { key ...; }` answers it.
                error_response(&req, ResponseCode::Refused)
            } else {
                answer_update(&req, dns)
            }
        }
        _ => error_response(&req, ResponseCode::NotImp),
    };
    if req.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(EDNS_PAYLOAD);
        resp.set_edns(e);
    }
    let out = encode(&resp);
    match (tsig, verified) {
        (Some(key), Some(info)) => {
            let time = now.unwrap_or(info.time);
            match tsig_sign(&out, key, time, Some(&info.mac)) {
                Ok((signed, _)) => signed,
                Err(_) => out,
            }
        }
        _ => out,
    }
}

/// A response skeleton for `req`: same ID, opcode, RD, CD, and the question echoed.
fn response_for(req: &Message) -> Message {
    let mut m = Message::response(req.id, req.op_code);
    m.metadata.recursion_desired = req.recursion_desired;
    m.metadata.checking_disabled = req.checking_disabled;
    m.add_queries(req.queries.iter().cloned());
    m
}

fn error_response(req: &Message, rcode: ResponseCode) -> Message {
    let mut m = response_for(req);
    m.metadata.response_code = rcode;
    m
}

/// NOTAUTH with a TSIG record carrying the TSIG error (RFC 8945 §5.3.2). BADKEY and BADSIG
/// answers are unsigned (we cannot or must not sign with that key); BADTIME is signed,
/// since the MAC did verify.
fn tsig_error_response(
    req: &Message,
    split: &Split,
    key: Option<&TsigKey>,
    fail: TsigFailure,
    now: Option<u64>,
) -> Vec<u8> {
    let resp = error_response(req, ResponseCode::NotAuth);
    let out = encode(&resp);
    let time = now.unwrap_or(split.tsig.time);
    match (fail, key) {
        (TsigFailure::BadTime, Some(key)) => {
            match sign_with_error(
                &out,
                key,
                time,
                Some(&split.tsig.mac),
                Some(TsigError::BadTime),
            ) {
                Ok((signed, _)) => signed,
                Err(_) => out,
            }
        }
        _ => {
            let error = if fail == TsigFailure::BadSig {
                TsigError::BadSig
            } else {
                TsigError::BadKey
            };
            let t = TSIG::new(
                split.tsig.algorithm.clone(),
                time,
                split.tsig.fudge,
                Vec::new(),
                req.id,
                Some(error),
                Vec::new(),
            );
            append_tsig(&out, &split.key_name, t).unwrap_or(out)
        }
    }
}

fn answer_query(req: &Message, dns: &Dns, sc: &dyn SmartConnectAnswerer) -> Message {
    if req.queries.len() != 1 {
        return error_response(req, ResponseCode::FormErr);
    }
    let q = &req.queries[0];
    let mut resp = response_for(req);
    // We resolve our own delegations for clients that ask for recursion (SmartConnect sits
    // behind us), as BIND with recursion does, so we offer it.
    resp.metadata.recursion_available = true;
    if !matches!(q.query_class(), DNSClass::IN | DNSClass::ANY) {
        resp.metadata.response_code = ResponseCode::Refused;
        return resp;
    }
    let Ok(name) = normalize_name(&q.name().to_ascii()) else {
        // A name that is valid DNS but not a host name we model: not ours.
        resp.metadata.response_code = ResponseCode::Refused;
        return resp;
    };
    let Some(zone) = dns.zone_for(&name) else {
        resp.metadata.response_code = ResponseCode::Refused;
        return resp;
    };
    let qname = q.name().clone();
    let qtype = q.query_type();

    // At or below a zone cut: the data is the child's (the SmartConnect servers').
    if let Some(referral) = dns.referral(&name) {
        if req.recursion_desired && qtype == RecordType::A {
            // Recursion: follow the delegation through SmartConnect, not authoritative.
            match dns.resolve(&name, sc) {
                Ok(r) => {
                    for a in r.addrs {
                        resp.add_answer(Record::from_rdata(
                            qname.clone(),
                            SMARTCONNECT_TTL,
                            RData::A(A(a)),
                        ));
                    }
                }
                Err(e) => resp.metadata.response_code = rcode_of(e.rcode()),
            }
        } else {
            add_referral(&mut resp, &referral);
        }
        return resp;
    }

    // Our own data: authoritative.
    resp.metadata.authoritative = true;
    let apex = zone.origin == name;
    if matches!(qtype, RecordType::A | RecordType::ANY) {
        for a in zone.a.get(&name).into_iter().flatten() {
            resp.add_answer(Record::from_rdata(
                qname.clone(),
                STATIC_TTL,
                RData::A(A(*a)),
            ));
        }
    }
    if apex && matches!(qtype, RecordType::NS | RecordType::ANY) {
        for t in zone.ns.get(&name).into_iter().flatten() {
            if let Ok(target) = dns_name(t) {
                resp.add_answer(Record::from_rdata(
                    qname.clone(),
                    STATIC_TTL,
                    RData::NS(NS(target)),
                ));
            }
            add_glue(&mut resp, dns, t);
        }
    }
    if apex && matches!(qtype, RecordType::SOA | RecordType::ANY) {
        if let Some(soa) = soa_record(zone, qname.clone(), STATIC_TTL) {
            resp.add_answer(soa);
        }
    }
    if resp.answers.is_empty() {
        // NODATA or NXDOMAIN, with the zone's SOA in the authority section (RFC 2308 §3);
        // its TTL is the negative-caching TTL, min(SOA TTL, MINIMUM) = 0: the lab's DNS
        // changes under failover, so nobody should cache its denials.
        if !dns.exists(&name) {
            resp.metadata.response_code = ResponseCode::NXDomain;
        }
        if let Ok(owner) = dns_name(&zone.origin) {
            if let Some(soa) = soa_record(zone, owner, SOA_MINIMUM) {
                resp.add_authority(soa);
            }
        }
    }
    resp
}

/// Negative-caching TTL of our zones (the SOA MINIMUM field): 0, see [`answer_query`].
const SOA_MINIMUM: u32 = 0;

/// The SOA record of `zone` (MNAME `ns1.<origin>`, RNAME `hostmaster.<origin>`, the zone's
/// serial), owned by `owner`.
fn soa_record(zone: &crate::dns::Zone, owner: Name, ttl: u32) -> Option<Record> {
    let mname = dns_name(&format!("ns1.{}", zone.origin)).ok()?;
    let rname = dns_name(&format!("hostmaster.{}", zone.origin)).ok()?;
    let soa = SOA::new(mname, rname, zone.serial, 3600, 600, 86400, SOA_MINIMUM);
    Some(Record::from_rdata(owner, ttl, RData::SOA(soa)))
}

/// A referral (RFC 1034 §4.3.2, step 3b): NOERROR, not authoritative, no answer, the NS
/// RRset of the cut in the authority section and the glue A records in the additional one.
fn add_referral(resp: &mut Message, r: &Referral) {
    resp.metadata.authoritative = false;
    let Ok(owner) = dns_name(&r.owner) else {
        return;
    };
    for h in &r.hosts {
        if let Ok(target) = dns_name(h) {
            resp.add_authority(Record::from_rdata(
                owner.clone(),
                STATIC_TTL,
                RData::NS(NS(target)),
            ));
        }
    }
    for (h, addrs) in &r.glue {
        if let Ok(host) = dns_name(h) {
            for a in addrs {
                resp.add_additional(Record::from_rdata(
                    host.clone(),
                    STATIC_TTL,
                    RData::A(A(*a)),
                ));
            }
        }
    }
}

/// The A records we hold for NS host `host`, in the additional section.
fn add_glue(resp: &mut Message, dns: &Dns, host: &str) {
    let Ok(h) = dns_name(host) else { return };
    for a in dns.a_records(host) {
        resp.add_additional(Record::from_rdata(h.clone(), STATIC_TTL, RData::A(A(a))));
    }
}

/// Translate the update section of an RFC 2136 message into our operations.
fn update_request(req: &Message) -> Result<UpdateRequest, DnsError> {
    let malformed = |r: &str| DnsError::Malformed { reason: r.into() };
    let [zone] = req.queries.as_slice() else {
        return Err(malformed("update must have exactly one zone"));
    };
    if zone.query_type() != RecordType::SOA || zone.query_class() != DNSClass::IN {
        return Err(malformed("zone section must be IN SOA"));
    }
    if !req.answers.is_empty() {
        return Err(DnsError::NotImplemented {
            what: "update prerequisites".into(),
        });
    }
    let mut ops = Vec::with_capacity(req.authorities.len());
    for rr in &req.authorities {
        let name = rr.name.to_ascii();
        let unsupported = || DnsError::NotImplemented {
            what: format!("update of {} records", rr.record_type()),
        };
        let op = match rr.dns_class {
            DNSClass::IN => match &rr.data {
                RData::A(a) => UpdateOp::Add {
                    name,
                    data: RrData::A(a.0),
                },
                RData::NS(ns) => UpdateOp::Add {
                    name,
                    data: RrData::Ns(ns.0.to_ascii()),
                },
                RData::Update0(_) => return Err(malformed("add without RDATA")),
                _ => return Err(unsupported()),
            },
            DNSClass::ANY => {
                if rr.ttl != 0 {
                    return Err(malformed("delete with non-zero TTL"));
                }
                match &rr.data {
                    RData::Update0(RecordType::ANY) => UpdateOp::DeleteName { name },
                    RData::Update0(RecordType::A) => UpdateOp::DeleteRrset {
                        name,
                        rtype: RrType::A,
                    },
                    RData::Update0(RecordType::NS) => UpdateOp::DeleteRrset {
                        name,
                        rtype: RrType::Ns,
                    },
                    RData::Update0(_) => return Err(unsupported()),
                    _ => return Err(malformed("RRset delete with RDATA")),
                }
            }
            DNSClass::NONE => {
                if rr.ttl != 0 {
                    return Err(malformed("delete with non-zero TTL"));
                }
                match &rr.data {
                    RData::A(a) => UpdateOp::DeleteRr {
                        name,
                        data: RrData::A(a.0),
                    },
                    RData::NS(ns) => UpdateOp::DeleteRr {
                        name,
                        data: RrData::Ns(ns.0.to_ascii()),
                    },
                    _ => return Err(unsupported()),
                }
            }
            _ => return Err(malformed("bad class in update section")),
        };
        ops.push(op);
    }
    Ok(UpdateRequest {
        zone: zone.name().to_ascii(),
        ops,
    })
}

fn answer_update(req: &Message, dns: &mut Dns) -> Message {
    let result = update_request(req).and_then(|u| dns.apply_update(&u));
    match result {
        Ok(()) => response_for(req),
        Err(e) => error_response(req, rcode_of(e.rcode())),
    }
}

// ---------------------------------------------------------------------------------------
// Client side.

/// A recursive-desired query for the A records of `name`.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, DnsError> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(dns_name(name)?, RecordType::A));
    m.to_vec().map_err(|e| DnsError::Malformed {
        reason: e.to_string(),
    })
}

/// An RFC 2136 update replacing the NS RRset of `name` in `zone` with the host names
/// `ssips` (e.g. `ssip-10-2-0-10.corp.example`; NS data is always a name — a dotted quad
/// is read as one, with numeric labels), TSIG-signed at the current system time when a key
/// is given. Glue is not added here; the orchestrator's `replace_ns` adds it.
pub fn build_ns_update(
    id: u16,
    zone: &str,
    name: &str,
    ssips: &[String],
    tsig: Option<&TsigKey>,
) -> Result<Vec<u8>, DnsError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    build_ns_update_at(id, zone, name, ssips, tsig, now)
}

/// [`build_ns_update`] with an explicit time signed, for deterministic callers.
pub fn build_ns_update_at(
    id: u16,
    zone: &str,
    name: &str,
    ssips: &[String],
    tsig: Option<&TsigKey>,
    time_signed: u64,
) -> Result<Vec<u8>, DnsError> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Update);
    let mut z = Query::query(dns_name(zone)?, RecordType::SOA);
    z.set_query_class(DNSClass::IN);
    m.add_query(z);
    let owner = dns_name(name)?;
    let mut del = Record::update0(owner.clone(), 0, RecordType::NS);
    del.dns_class = DNSClass::ANY;
    m.add_authority(del);
    for s in ssips {
        m.add_authority(Record::from_rdata(
            owner.clone(),
            STATIC_TTL,
            RData::NS(NS(dns_name(s)?)),
        ));
    }
    let bytes = m.to_vec().map_err(|e| DnsError::Malformed {
        reason: e.to_string(),
    })?;
    match tsig {
        Some(key) => Ok(tsig_sign(&bytes, key, time_signed, None)?.0),
        None => Ok(bytes),
    }
}

fn parse_response(bytes: &[u8]) -> Result<Message, DnsError> {
    let m = Message::from_vec(bytes).map_err(|e| DnsError::Malformed {
        reason: e.to_string(),
    })?;
    if m.message_type != MessageType::Response {
        return Err(DnsError::Malformed {
            reason: "not a response".into(),
        });
    }
    if m.response_code != ResponseCode::NoError {
        return Err(DnsError::Rcode {
            name: m
                .queries
                .first()
                .map(|q| q.name().to_ascii())
                .unwrap_or_default(),
            rcode: u16::from(m.response_code),
            rcode_name: m.response_code.to_str().to_string(),
        });
    }
    Ok(m)
}

/// The A addresses of a response; an error for a non-NOERROR RCODE. NOERROR without
/// addresses (NODATA) gives an empty list.
pub fn parse_a_answer(bytes: &[u8]) -> Result<Vec<Ipv4Addr>, DnsError> {
    let m = parse_response(bytes)?;
    Ok(m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect())
}

/// Check the response to an update built by [`build_ns_update`]: NOERROR, and when a key is
/// given, a valid TSIG that covers `request`'s MAC.
pub fn check_update_response(
    response: &[u8],
    request: &[u8],
    tsig: Option<&TsigKey>,
) -> Result<(), DnsError> {
    parse_response(response)?;
    if let Some(key) = tsig {
        let not_auth = |f: TsigFailure| DnsError::NotAuthorized {
            reason: format!("response TSIG: {f:?}"),
        };
        let req_mac = split_tsig(request)?
            .ok_or_else(|| not_auth(TsigFailure::Missing))?
            .tsig
            .mac;
        tsig_verify(response, key, Some(&req_mac), None).map_err(not_auth)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::SmartConnectTable;
    use proptest::prelude::*;

    const PROD: &str = "10.1.0.10";
    const DR: &str = "10.2.0.10";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn key() -> TsigKey {
        TsigKey::new("dr-update.", b"0123456789abcdef0123456789abcdef".to_vec())
    }

    const PROD_HOST: &str = "ssip-10-1-0-10.corp.example";
    const DR_HOST: &str = "ssip-10-2-0-10.corp.example";

    /// finance is delegated to prod only (single delegation, NS host + glue); dr's SSIP has
    /// its host name and glue too (as when dr's own pools are delegated in the zone).
    fn world() -> (Dns, SmartConnectTable) {
        let mut dns = Dns::new();
        dns.add_zone("corp.example")
            .unwrap()
            .add_a("dc1.corp.example", ip("10.0.0.2"))
            .unwrap()
            .add_a(DR_HOST, ip(DR))
            .unwrap()
            .delegate("finance.corp.example", &[PROD])
            .unwrap();
        let mut sc = SmartConnectTable::new();
        sc.serve(PROD, "finance.corp.example", vec![ip("10.1.0.21")]);
        (dns, sc)
    }

    /// Failover's cluster side: renamed on prod, aliased on dr.
    fn move_name(sc: &mut SmartConnectTable) {
        sc.withdraw(PROD, "finance.corp.example");
        sc.serve(
            DR,
            "finance.corp.example",
            vec![ip("10.2.0.21"), ip("10.2.0.22")],
        );
    }

    fn rcode(bytes: &[u8]) -> ResponseCode {
        Message::from_vec(bytes).unwrap().response_code
    }

    fn query(dns: &mut Dns, sc: &SmartConnectTable, name: &str) -> Result<Vec<Ipv4Addr>, DnsError> {
        let q = build_query(7, name).unwrap();
        let r = handle_message(&q, dns, sc, None);
        assert_eq!(Message::from_vec(&r).unwrap().id, 7);
        parse_a_answer(&r)
    }

    #[test]
    fn query_over_wire_maps_outcomes_to_rcodes() {
        let (mut dns, mut sc) = world();
        assert_eq!(
            query(&mut dns, &sc, "finance.corp.example"),
            Ok(vec![ip("10.1.0.21")])
        );
        assert_eq!(
            query(&mut dns, &sc, "DC1.corp.example."),
            Ok(vec![ip("10.0.0.2")])
        );
        let code = |r: Result<Vec<Ipv4Addr>, DnsError>| r.unwrap_err().rcode();
        assert_eq!(code(query(&mut dns, &sc, "nope.corp.example")), 3);
        assert_eq!(code(query(&mut dns, &sc, "www.elsewhere.example")), 5);
        // The zone apex exists but has no A: NODATA, not NXDOMAIN.
        assert_eq!(query(&mut dns, &sc, "corp.example"), Ok(vec![]));
        move_name(&mut sc);
        // Single delegation still points at prod, which now refuses.
        assert_eq!(code(query(&mut dns, &sc, "finance.corp.example")), 2);
    }

    #[test]
    fn signed_ns_update_repoints_single_delegation() {
        let (mut dns, mut sc) = world();
        let k = key();
        move_name(&mut sc);
        let serial = dns.serial("corp.example").unwrap();
        let upd = build_ns_update_at(
            42,
            "corp.example",
            "finance.corp.example",
            &[DR_HOST.to_string()],
            Some(&k),
            1_700_000_000,
        )
        .unwrap();
        let resp = handle_message_at(&upd, &mut dns, &sc, Some(&k), Some(1_700_000_100));
        check_update_response(&resp, &upd, Some(&k)).unwrap();
        assert_eq!(dns.ns("finance.corp.example"), vec![DR_HOST]);
        assert_eq!(dns.serial("corp.example"), Some(serial + 1));
        assert_eq!(
            query(&mut dns, &sc, "finance.corp.example"),
            Ok(vec![ip("10.2.0.21"), ip("10.2.0.22")])
        );
        // Replaying the same update is harmless (idempotent step).
        let resp = handle_message(&upd, &mut dns, &sc, Some(&k));
        assert_eq!(rcode(&resp), ResponseCode::NoError);
        assert_eq!(dns.serial("corp.example"), Some(serial + 1));
    }

    #[test]
    fn bad_or_missing_tsig_is_refused_and_changes_nothing() {
        let (mut dns, sc) = world();
        let k = key();
        let before = dns.clone();
        let ssips = [DR.to_string()];

        let unsigned =
            build_ns_update_at(1, "corp.example", "finance.corp.example", &ssips, None, 0).unwrap();
        assert_eq!(
            rcode(&handle_message(&unsigned, &mut dns, &sc, Some(&k))),
            ResponseCode::Refused
        );

        let wrong_secret = TsigKey::new("dr-update.", b"not the secret".to_vec());
        let forged = build_ns_update_at(
            2,
            "corp.example",
            "finance.corp.example",
            &ssips,
            Some(&wrong_secret),
            0,
        )
        .unwrap();
        let resp = handle_message(&forged, &mut dns, &sc, Some(&k));
        assert_eq!(rcode(&resp), ResponseCode::NotAuth);
        assert!(check_update_response(&resp, &forged, Some(&k)).is_err());

        let wrong_name = TsigKey::new("other-key.", k.secret.clone());
        let other = build_ns_update_at(
            3,
            "corp.example",
            "finance.corp.example",
            &ssips,
            Some(&wrong_name),
            0,
        )
        .unwrap();
        assert_eq!(
            rcode(&handle_message(&other, &mut dns, &sc, Some(&k))),
            ResponseCode::NotAuth
        );

        // A good signature, tampered with after signing (the SSIP bytes changed).
        let mut tampered = build_ns_update_at(
            4,
            "corp.example",
            "finance.corp.example",
            &ssips,
            Some(&k),
            0,
        )
        .unwrap();
        let pos = tampered.windows(2).position(|w| w == b"10").unwrap();
        tampered[pos + 1] = b'9';
        assert_eq!(
            rcode(&handle_message(&tampered, &mut dns, &sc, Some(&k))),
            ResponseCode::NotAuth
        );

        // Correct key but far outside the fudge window.
        let stale = build_ns_update_at(
            5,
            "corp.example",
            "finance.corp.example",
            &ssips,
            Some(&k),
            1000,
        )
        .unwrap();
        let resp = handle_message_at(&stale, &mut dns, &sc, Some(&k), Some(1_700_000_000));
        assert_eq!(rcode(&resp), ResponseCode::NotAuth);

        assert_eq!(dns, before);
    }

    #[test]
    fn unsigned_update_accepted_without_key_and_errors_mapped() {
        let (mut dns, sc) = world();
        let ssips = [DR.to_string()];
        let upd =
            build_ns_update_at(9, "corp.example", "finance.corp.example", &ssips, None, 0).unwrap();
        let resp = handle_message(&upd, &mut dns, &sc, None);
        check_update_response(&resp, &upd, None).unwrap();
        assert_eq!(dns.ns("finance.corp.example"), vec![DR]);

        let unknown =
            build_ns_update_at(9, "other.example", "x.other.example", &ssips, None, 0).unwrap();
        assert_eq!(
            rcode(&handle_message(&unknown, &mut dns, &sc, None)),
            ResponseCode::NotAuth
        );
        let notzone =
            build_ns_update_at(9, "corp.example", "x.other.example", &ssips, None, 0).unwrap();
        assert_eq!(
            rcode(&handle_message(&notzone, &mut dns, &sc, None)),
            ResponseCode::NotZone
        );
        // A signed request to a server without keys: BADKEY.
        let signed = build_ns_update_at(
            9,
            "corp.example",
            "finance.corp.example",
            &ssips,
            Some(&key()),
            0,
        )
        .unwrap();
        assert_eq!(
            rcode(&handle_message(&signed, &mut dns, &sc, None)),
            ResponseCode::NotAuth
        );
    }

    #[test]
    fn ns_and_soa_queries_and_responses_ignored() {
        let (mut dns, sc) = world();
        let mut m = Message::new(5, MessageType::Query, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("corp.example.").unwrap(),
            RecordType::SOA,
        ));
        let r =
            Message::from_vec(&handle_message(&m.to_vec().unwrap(), &mut dns, &sc, None)).unwrap();
        assert!(
            matches!(&r.answers[0].data, RData::SOA(s) if s.serial == dns.serial("corp.example").unwrap())
        );

        let mut m = Message::new(6, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(
            Name::from_ascii("finance.corp.example.").unwrap(),
            RecordType::NS,
        ));
        // NS of a delegated name: the referral, even with RD=1 (SmartConnect serves A only).
        let r =
            Message::from_vec(&handle_message(&m.to_vec().unwrap(), &mut dns, &sc, None)).unwrap();
        assert!(r.answers.is_empty() && !r.authoritative);
        assert!(
            matches!(&r.authorities[0].data, RData::NS(ns) if ns.0.to_ascii() == "ssip-10-1-0-10.corp.example.")
        );

        // A response is never answered.
        let resp = handle_message(
            &build_query(1, "dc1.corp.example").unwrap(),
            &mut dns,
            &sc,
            None,
        );
        assert!(handle_message(&resp, &mut dns, &sc, None).is_empty());
    }

    /// A query message for `name`/`rtype` with RD as given.
    fn ask(
        dns: &mut Dns,
        sc: &SmartConnectTable,
        name: &str,
        rtype: RecordType,
        rd: bool,
    ) -> Message {
        let mut m = Message::new(11, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = rd;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
        Message::from_vec(&handle_message(&m.to_vec().unwrap(), dns, sc, None)).unwrap()
    }

    fn soa_serial_in_authority(m: &Message) -> Option<u32> {
        match m.authorities.as_slice() {
            [rr] if rr.name.to_ascii() == "corp.example." => match &rr.data {
                RData::SOA(s) => Some(s.serial),
                _ => None,
            },
            _ => None,
        }
    }

    #[test]
    fn delegated_names_get_a_referral_with_glue_without_recursion() {
        let (mut dns, sc) = world();
        dns.delegate("fin.corp.example", &[PROD, DR]).unwrap();
        for name in ["fin.corp.example.", "x.FIN.corp.example."] {
            let r = ask(&mut dns, &sc, name, RecordType::A, false);
            assert_eq!(r.response_code, ResponseCode::NoError, "{name}");
            assert!(!r.authoritative, "a referral is not authoritative");
            assert!(r.recursion_available);
            assert!(r.answers.is_empty());
            let ns: Vec<(String, String)> = r
                .authorities
                .iter()
                .map(|rr| match &rr.data {
                    RData::NS(ns) => (rr.name.to_ascii(), ns.0.to_ascii()),
                    other => panic!("{other:?} in the authority section"),
                })
                .collect();
            assert_eq!(
                ns,
                vec![
                    ("fin.corp.example.".into(), format!("{PROD_HOST}.")),
                    ("fin.corp.example.".into(), format!("{DR_HOST}.")),
                ]
            );
            let glue: Vec<(String, Ipv4Addr)> = r
                .additionals
                .iter()
                .filter_map(|rr| match &rr.data {
                    RData::A(a) => Some((rr.name.to_ascii(), a.0)),
                    _ => None,
                })
                .collect();
            assert_eq!(
                glue,
                vec![
                    (format!("{PROD_HOST}."), ip(PROD)),
                    (format!("{DR_HOST}."), ip(DR))
                ]
            );
        }
        // Any type but A gets the referral even with RD=1.
        let r = ask(&mut dns, &sc, "fin.corp.example.", RecordType::AAAA, true);
        assert!(r.answers.is_empty() && !r.authoritative && r.authorities.len() == 2);
    }

    #[test]
    fn recursion_desired_follows_the_delegation() {
        let (mut dns, mut sc) = world();
        let r = ask(&mut dns, &sc, "finance.corp.example.", RecordType::A, true);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert!(!r.authoritative && r.recursion_available);
        assert!(
            matches!(&r.answers[..], [rr] if rr.ttl == 0 && matches!(rr.data, RData::A(a) if a.0 == ip("10.1.0.21")))
        );
        assert!(r.authorities.is_empty());
        // Every delegated server refuses: SERVFAIL, as a recursive resolver answers.
        move_name(&mut sc);
        let r = ask(&mut dns, &sc, "finance.corp.example.", RecordType::A, true);
        assert_eq!(r.response_code, ResponseCode::ServFail);
    }

    #[test]
    fn own_names_are_authoritative_and_negative_answers_carry_the_soa() {
        let (mut dns, sc) = world();
        let serial = dns.serial("corp.example").unwrap();
        // A glue name is the parent zone's own data.
        for rd in [false, true] {
            let r = ask(
                &mut dns,
                &sc,
                "ssip-10-1-0-10.corp.example.",
                RecordType::A,
                rd,
            );
            assert_eq!(r.response_code, ResponseCode::NoError);
            assert!(r.authoritative);
            assert!(
                matches!(&r.answers[..], [rr] if matches!(rr.data, RData::A(a) if a.0 == ip(PROD)))
            );
        }
        // NXDOMAIN: SOA in authority, AA=1.
        let r = ask(&mut dns, &sc, "nope.corp.example.", RecordType::A, false);
        assert_eq!(r.response_code, ResponseCode::NXDomain);
        assert!(r.authoritative && r.answers.is_empty());
        assert_eq!(soa_serial_in_authority(&r), Some(serial));
        assert_eq!(r.authorities[0].ttl, 0, "negative TTL = min(TTL, MINIMUM)");
        // NODATA: an existing name, another type.
        let r = ask(&mut dns, &sc, "dc1.corp.example.", RecordType::AAAA, true);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert!(r.authoritative && r.answers.is_empty());
        assert_eq!(soa_serial_in_authority(&r), Some(serial));
        // The apex: SOA answered, A is NODATA with the SOA.
        let r = ask(&mut dns, &sc, "corp.example.", RecordType::SOA, false);
        assert!(r.authoritative);
        assert!(
            matches!(&r.answers[..], [rr] if matches!(&rr.data, RData::SOA(s) if s.serial == serial))
        );
        let r = ask(&mut dns, &sc, "corp.example.", RecordType::A, false);
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert_eq!(soa_serial_in_authority(&r), Some(serial));
        // Apex NS, when the zone has it: authoritative, with the host's address.
        dns.set_ns("corp.example", vec!["ns1.corp.example".into()])
            .unwrap();
        dns.add_a("ns1.corp.example", ip("10.0.0.53")).unwrap();
        let r = ask(&mut dns, &sc, "corp.example.", RecordType::NS, false);
        assert!(r.authoritative);
        assert!(
            matches!(&r.answers[..], [rr] if matches!(&rr.data, RData::NS(n) if n.0.to_ascii() == "ns1.corp.example."))
        );
        assert!(
            matches!(&r.additionals[..], [rr] if matches!(rr.data, RData::A(a) if a.0 == ip("10.0.0.53")))
        );
        // Outside our zones: REFUSED, no SOA.
        let r = ask(&mut dns, &sc, "www.other.example.", RecordType::A, true);
        assert_eq!(r.response_code, ResponseCode::Refused);
        assert!(r.authorities.is_empty());
    }

    /// The TSIG error of a response's TSIG record, if it has one.
    fn tsig_error(bytes: &[u8]) -> Option<TsigError> {
        split_tsig(bytes).ok()??.tsig.error
    }

    #[test]
    fn tsig_failures_answer_as_rfc8945_says() {
        let (mut dns, sc) = world();
        let k = key();
        let before = dns.clone();
        let hosts = [DR_HOST.to_string()];
        let upd = |key: Option<&TsigKey>| {
            build_ns_update_at(5, "corp.example", "finance.corp.example", &hosts, key, 100).unwrap()
        };
        // Unsigned: REFUSED, unsigned answer.
        let r = handle_message_at(&upd(None), &mut dns, &sc, Some(&k), Some(100));
        assert_eq!(rcode(&r), ResponseCode::Refused);
        assert_eq!(tsig_error(&r), None);
        // Wrong secret: NOTAUTH, TSIG error BADSIG, no MAC.
        let r = handle_message_at(
            &upd(Some(&TsigKey::new("dr-update.", b"wrong".to_vec()))),
            &mut dns,
            &sc,
            Some(&k),
            Some(100),
        );
        assert_eq!(rcode(&r), ResponseCode::NotAuth);
        assert_eq!(tsig_error(&r), Some(TsigError::BadSig));
        // Unknown key name: NOTAUTH/BADKEY.
        let r = handle_message_at(
            &upd(Some(&TsigKey::new("someone-else.", k.secret.clone()))),
            &mut dns,
            &sc,
            Some(&k),
            Some(100),
        );
        assert_eq!(rcode(&r), ResponseCode::NotAuth);
        assert_eq!(tsig_error(&r), Some(TsigError::BadKey));
        // Right key, stale: NOTAUTH/BADTIME, signed.
        let r = handle_message_at(&upd(Some(&k)), &mut dns, &sc, Some(&k), Some(100_000));
        assert_eq!(rcode(&r), ResponseCode::NotAuth);
        assert_eq!(tsig_error(&r), Some(TsigError::BadTime));
        assert_eq!(dns, before, "nothing changed");
        // Right key in time: applied, and the answer is signed over the request's MAC.
        let req = upd(Some(&k));
        let r = handle_message_at(&req, &mut dns, &sc, Some(&k), Some(100));
        check_update_response(&r, &req, Some(&k)).unwrap();
        assert_eq!(dns.ns("finance.corp.example"), vec![DR_HOST]);
        let m = Message::from_vec(&r).unwrap();
        assert!(
            m.additionals
                .iter()
                .any(|rr| rr.record_type() == RecordType::TSIG)
                || m.signature.is_some()
        );
    }

    #[test]
    fn malformed_inputs_get_formerr() {
        let (mut dns, sc) = world();
        for bytes in [
            &[][..],
            &[0x12][..],
            &[0x12, 0x34, 0x01][..],
            &[0u8; 11][..],
        ] {
            let r = handle_message(bytes, &mut dns, &sc, None);
            assert_eq!(rcode(&r), ResponseCode::FormErr);
        }
        let mut q = build_query(77, "dc1.corp.example").unwrap();
        q.truncate(q.len() - 3);
        let r = handle_message(&q, &mut dns, &sc, None);
        assert_eq!(rcode(&r), ResponseCode::FormErr);
        assert_eq!(Message::from_vec(&r).unwrap().id, 77);
        assert!(parse_a_answer(&q).is_err());
    }

    // -----------------------------------------------------------------------------------
    // TSIG known answers.
    //
    // The vectors come from dnspython 2.8.0, an implementation independent of ours
    // (hickory-proto + ring), through `sim-ad-dns/testdata/tsig_kat.py`, which also checks
    // every MAC against HMAC-SHA256 over the RFC 8945 §4.3.3 layout written out by hand.
    // Regenerate with:
    //
    //     python3 -m venv /tmp/kat-venv && /tmp/kat-venv/bin/pip install dnspython==2.8.0
    //     /tmp/kat-venv/bin/python sim-ad-dns/testdata/tsig_kat.py
    //
    // The same vectors are in `orchestrator/src/dns.rs`, whose TSIG is a separate copy.
    //
    // What the request MAC covers (key "tsig-key.", secret 00 01 .. 1f, fudge 300):
    //
    //   the unsigned message: original id 2a5c, flags 2800 (UPDATE), ZO=1 PR=0 UP=2 AD=0,
    //     zone corp.example. SOA IN, `finance.corp.example. 0 ANY NS` (delete RRset),
    //     `finance.corp.example. 300 IN NS 10.2.0.10.` (names compressed as sent)
    //   then the TSIG variables, in this order:
    //     08 "tsig-key" 00           key name, canonical (lowercase, never compressed)
    //     00ff                       class ANY
    //     00000000                   TTL 0
    //     0b "hmac-sha256" 00        algorithm name, canonical
    //     0000 692e2c00              time signed, 48 bits (1764633600 = 2025-12-02Z)
    //     012c                       fudge 300
    //     0000                       error
    //     0000                       other len (no other data)
    //
    // A response's MAC is over the request MAC (2-byte length first), then the same.

    /// The key of the known-answer vectors.
    fn kat_key(name: &str) -> TsigKey {
        TsigKey::new(name, (0u8..32).collect::<Vec<u8>>())
    }

    /// Time signed of the vectors: 2025-12-02T00:00:00Z.
    const KAT_TIME: u64 = 1_764_633_600;
    /// A time signed that needs all 48 bits.
    const KAT_TIME_HIGH: u64 = 0x0001_2345_6789;
    const KAT_UPDATE_UNSIGNED: &str = "2a5c2800000100000002000004636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b0231300132013002313000";
    const KAT_UPDATE_MAC: &str = "b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae";
    const KAT_UPDATE_SIGNED: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008747369672d6b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c0020b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae2a5c00000000";
    /// The same update signed by dnspython with the key named `TSIG-Key.`: the owner keeps
    /// its case on the wire, the MAC is the same (the digest uses the canonical name).
    const KAT_UPDATE_SIGNED_MIXED_CASE: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008545349472d4b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c0020b5213f6d3e388ca0bab022569a3a6ffefc6a0741529971f5bd85f67cca431bae2a5c00000000";
    const KAT_UPDATE_HIGH_MAC: &str =
        "6d66bdac3e11033f478b061d5b06ebf85324a850328364227b881e26427808fa";
    const KAT_UPDATE_HIGH_SIGNED: &str = "2a5c2800000100000002000104636f7270076578616d706c6500000600010766696e616e6365c00c000200ff000000000000c01e000200010000012c000b023130013201300231300008747369672d6b65790000fa00ff00000000003d0b686d61632d73686132353600000123456789012c00206d66bdac3e11033f478b061d5b06ebf85324a850328364227b881e26427808fa2a5c00000000";
    /// The NOERROR answer to the update, signed at `KAT_TIME` over `KAT_UPDATE_MAC`.
    const KAT_RESPONSE_UNSIGNED: &str =
        "2a5ca800000100000000000004636f7270076578616d706c650000060001";
    const KAT_RESPONSE_MAC: &str =
        "8a4da87e8cfb4057373b83fc3d1101c19dcb496e8a0b0f493d9b73179fd42c02";
    const KAT_RESPONSE_SIGNED: &str = "2a5ca800000100000000000104636f7270076578616d706c65000006000108747369672d6b65790000fa00ff00000000003d0b686d61632d736861323536000000692e2c00012c00208a4da87e8cfb4057373b83fc3d1101c19dcb496e8a0b0f493d9b73179fd42c022a5c00000000";

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
        let unsigned = unhex(KAT_UPDATE_UNSIGNED);
        let (signed, mac) = tsig_sign(&unsigned, &kat_key("tsig-key."), KAT_TIME, None).unwrap();
        assert_eq!(hex(&mac), KAT_UPDATE_MAC);
        assert_eq!(hex(&signed), KAT_UPDATE_SIGNED);

        // The whole client path: our update builder makes the same message, signed alike.
        let built = build_ns_update_at(
            0x2a5c,
            "corp.example",
            "finance.corp.example",
            &[DR.to_string()],
            Some(&kat_key("tsig-key.")),
            KAT_TIME,
        )
        .unwrap();
        assert_eq!(hex(&built), KAT_UPDATE_SIGNED);
    }

    #[test]
    fn tsig_kat_digest_uses_the_canonical_key_name() {
        // Configured in another case: the MAC must not change. (Our encoder lowercases the
        // owner too, which is equivalent on the wire: names compare case-insensitively.)
        let unsigned = unhex(KAT_UPDATE_UNSIGNED);
        let (signed, mac) = tsig_sign(&unsigned, &kat_key("TSIG-Key."), KAT_TIME, None).unwrap();
        assert_eq!(hex(&mac), KAT_UPDATE_MAC);
        assert_eq!(hex(&signed), KAT_UPDATE_SIGNED);
        // dnspython's message whose owner is `TSIG-Key.` verifies with either spelling.
        let theirs = unhex(KAT_UPDATE_SIGNED_MIXED_CASE);
        for name in ["tsig-key.", "TSIG-Key.", "tsig-key"] {
            let info = tsig_verify(&theirs, &kat_key(name), None, Some(KAT_TIME)).unwrap();
            assert_eq!(hex(&info.mac), KAT_UPDATE_MAC, "{name}");
        }
    }

    #[test]
    fn tsig_kat_time_signed_is_48_bits() {
        let unsigned = unhex(KAT_UPDATE_UNSIGNED);
        let (signed, mac) =
            tsig_sign(&unsigned, &kat_key("tsig-key."), KAT_TIME_HIGH, None).unwrap();
        assert_eq!(hex(&mac), KAT_UPDATE_HIGH_MAC);
        assert_eq!(hex(&signed), KAT_UPDATE_HIGH_SIGNED);
        let info = tsig_verify(
            &unhex(KAT_UPDATE_HIGH_SIGNED),
            &kat_key("tsig-key."),
            None,
            Some(KAT_TIME_HIGH),
        )
        .unwrap();
        assert_eq!(info.time, KAT_TIME_HIGH);
    }

    #[test]
    fn tsig_kat_dnspython_request_verifies_and_tampering_does_not() {
        let theirs = unhex(KAT_UPDATE_SIGNED);
        let key = kat_key("tsig-key.");
        let info = tsig_verify(&theirs, &key, None, Some(KAT_TIME + 300)).unwrap();
        assert_eq!(
            info,
            TsigInfo {
                mac: unhex(KAT_UPDATE_MAC),
                time: KAT_TIME
            }
        );
        assert_eq!(
            tsig_verify(&theirs, &key, None, Some(KAT_TIME + 301)),
            Err(TsigFailure::BadTime)
        );
        // Any changed byte is noticed (BADSIG; BADKEY for the key or algorithm name;
        // Missing when it no longer parses) except the header's id, since the MAC covers
        // the original id from the TSIG record so that forwarders may renumber (RFC 8945
        // §4.3.1), and the TSIG record's own CLASS and TTL, which the digest takes as the
        // fixed ANY and 0 (§4.3.3) and which we do not check.
        let tsig_rr = unhex(KAT_UPDATE_UNSIGNED).len();
        let class_and_ttl = tsig_rr + 12..tsig_rr + 18; // after owner (10) and TYPE (2)
        assert_eq!(&theirs[class_and_ttl.clone()], &[0, 0xff, 0, 0, 0, 0]);
        for i in (2..theirs.len()).filter(|i| !class_and_ttl.contains(i)) {
            let mut t = theirs.clone();
            t[i] ^= 0x01;
            assert!(
                tsig_verify(&t, &key, None, None).is_err(),
                "flipping byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn tsig_kat_signed_response_matches_dnspython() {
        // Signing the answer covers the request MAC first.
        let (signed, mac) = tsig_sign(
            &unhex(KAT_RESPONSE_UNSIGNED),
            &kat_key("tsig-key."),
            KAT_TIME,
            Some(&unhex(KAT_UPDATE_MAC)),
        )
        .unwrap();
        assert_eq!(hex(&mac), KAT_RESPONSE_MAC);
        assert_eq!(hex(&signed), KAT_RESPONSE_SIGNED);

        // End to end: the server takes dnspython's signed update, applies it and answers
        // with exactly what dnspython signs as the answer.
        let (mut dns, sc) = world();
        let key = kat_key("tsig-key.");
        let resp = handle_message_at(
            &unhex(KAT_UPDATE_SIGNED),
            &mut dns,
            &sc,
            Some(&key),
            Some(KAT_TIME),
        );
        assert_eq!(hex(&resp), KAT_RESPONSE_SIGNED);
        assert_eq!(dns.ns("finance.corp.example"), vec![DR]);
        let info = tsig_verify(&resp, &key, Some(&unhex(KAT_UPDATE_MAC)), None).unwrap();
        assert_eq!(hex(&info.mac), KAT_RESPONSE_MAC);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random bytes never panic, and whatever comes back is empty or a parsable
        /// response that changed nothing.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let (mut dns, sc) = world();
            let before = dns.clone();
            let r = handle_message(&bytes, &mut dns, &sc, Some(&key()));
            if !r.is_empty() {
                let m = Message::from_vec(&r).expect("response parses");
                prop_assert_eq!(m.message_type, MessageType::Response);
            }
            prop_assert_eq!(dns, before);
            let _ = parse_a_answer(&bytes);
        }

        /// Valid messages with random corruption: the same guarantees.
        #[test]
        fn corrupted_messages_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            signed in any::<bool>(),
        ) {
            let (mut dns, sc) = world();
            let k = key();
            let mut bytes = build_ns_update_at(
                3, "corp.example", "finance.corp.example", &[DR.to_string()],
                signed.then_some(&k), 0).unwrap();
            for (i, b) in flips {
                let len = bytes.len();
                bytes[i % len] = b;
            }
            let r = handle_message(&bytes, &mut dns, &sc, Some(&k));
            if !r.is_empty() {
                prop_assert!(Message::from_vec(&r).is_ok());
            }
        }
    }
}

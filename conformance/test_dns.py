"""The site DNS of `drill serve` against dnspython (and `dig` when installed).

It must answer as a real delegating parent zone (DESIGN.md §4): SmartConnect names are
delegated with NS records naming hosts (`ssip-<a-b-c-d>.<zone>`) that have glue; a query
without recursion gets a referral; RD=1 A queries are answered recursively through the
delegation; the zone's own names are authoritative; negative answers carry the SOA; RFC 2136
updates need the TSIG key run.sh gave `drill serve` (CONF_TSIG_NAME / CONF_TSIG_SECRET).

World (conformance/world.yaml): finance/fin.corp.example are delegated to both clusters'
SmartConnect service IPs 10.1.0.10 (prod) and 10.2.0.10 (dr); finance-dr.corp.example to
dr's only.
"""
import base64
import os
import re
import shutil
import socket
import subprocess
import uuid

import pytest

dns = pytest.importorskip("dns")
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.name  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.tsig  # noqa: E402
import dns.tsigkeyring  # noqa: E402
import dns.update  # noqa: E402

ZONE = "corp.example."
PROD_HOST = "ssip-10-1-0-10.corp.example."
DR_HOST = "ssip-10-2-0-10.corp.example."
TIMEOUT = 3.0


@pytest.fixture(scope="module")
def server():
    addr = os.environ.get("CONF_DNS_ADDR")
    if not addr:
        pytest.skip("run through conformance/run.sh (needs drill serve's DNS)")
    host, port = addr.rsplit(":", 1)
    return host.strip("[]"), int(port)


@pytest.fixture(scope="module")
def keyring():
    name = os.environ.get("CONF_TSIG_NAME")
    secret = os.environ.get("CONF_TSIG_SECRET")
    if not name or not secret:
        pytest.skip("run through conformance/run.sh (needs the TSIG key)")
    return dns.tsigkeyring.from_text({name: secret}), name, secret


def query(server, name, rdtype="A", rd=False, tcp=False):
    q = dns.message.make_query(name, rdtype)
    if not rd:
        q.flags &= ~dns.flags.RD
    host, port = server
    send = dns.query.tcp if tcp else dns.query.udp
    return send(q, host, port=port, timeout=TIMEOUT)


def raw_exchange(server, wire):
    """Send bytes over UDP and return the answer's bytes (no TSIG checks on the way)."""
    host, port = server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT)
        s.sendto(wire, (host, port))
        return s.recvfrom(65535)[0]


def rrset_texts(section):
    return sorted(
        (rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype), rd.to_text().lower())
        for rr in section
        for rd in rr
    )


def ns_hosts(resp, owner):
    return sorted(
        rd.target.to_text().lower()
        for rr in resp.authority
        if rr.rdtype == dns.rdatatype.NS and rr.name == dns.name.from_text(owner)
        for rd in rr
    )


def glue(resp):
    return {
        rr.name.to_text().lower(): sorted(rd.address for rd in rr)
        for rr in resp.additional
        if rr.rdtype == dns.rdatatype.A
    }


def soa_in_authority(resp):
    soas = [rr for rr in resp.authority if rr.rdtype == dns.rdatatype.SOA]
    assert len(soas) == 1, resp
    assert soas[0].name == dns.name.from_text(ZONE)
    return soas[0][0]


# ------------------------------------------------------------------ referrals and glue


@pytest.mark.parametrize("tcp", [False, True])
def test_dual_delegation_referral_has_ns_host_names_and_glue(server, tcp):
    r = query(server, "finance.corp.example.", rd=False, tcp=tcp)
    assert r.rcode() == dns.rcode.NOERROR
    assert not r.flags & dns.flags.AA, "a referral is not authoritative"
    assert r.answer == []
    assert ns_hosts(r, "finance.corp.example.") == [PROD_HOST, DR_HOST]
    assert glue(r) == {PROD_HOST: ["10.1.0.10"], DR_HOST: ["10.2.0.10"]}


def test_single_delegation_referral_and_names_below_the_cut(server):
    r = query(server, "finance-dr.corp.example.", rd=False)
    assert not r.flags & dns.flags.AA and r.answer == []
    assert ns_hosts(r, "finance-dr.corp.example.") == [DR_HOST]
    assert glue(r) == {DR_HOST: ["10.2.0.10"]}
    # A name below the cut is referred to the same servers (the cut owns the NS RRset).
    r = query(server, "host.fin.corp.example.", rd=False)
    assert r.rcode() == dns.rcode.NOERROR and r.answer == []
    assert ns_hosts(r, "fin.corp.example.") == [PROD_HOST, DR_HOST]


def test_every_ns_host_has_matching_glue(server):
    for name in ["finance.corp.example.", "fin.corp.example.", "finance-dr.corp.example."]:
        r = query(server, name, "NS", rd=False)
        hosts = ns_hosts(r, name)
        assert hosts and set(glue(r)) == set(hosts), name
        for h in hosts:
            assert re.fullmatch(r"ssip-(\d+)-(\d+)-(\d+)-(\d+)\.corp\.example\.", h), h
            # The host's glue is its own service IP, by the naming scheme.
            assert glue(r)[h] == [h[len("ssip-"):].split(".")[0].replace("-", ".")]


# ------------------------------------------------------------------ authoritative data


@pytest.mark.parametrize("rd", [False, True])
def test_glue_names_are_answered_authoritatively(server, rd):
    for host, addr in [(PROD_HOST, "10.1.0.10"), (DR_HOST, "10.2.0.10")]:
        r = query(server, host, rd=rd)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.flags & dns.flags.AA
        assert rrset_texts(r.answer) == [(host, "A", addr)]


def test_soa_at_the_apex_is_authoritative(server):
    r = query(server, ZONE, "SOA")
    assert r.flags & dns.flags.AA
    (soa,) = [rd for rr in r.answer for rd in rr]
    assert soa.mname.to_text() == "ns1.corp.example."
    assert soa.serial >= 1


def test_nxdomain_carries_the_soa(server):
    serial = query(server, ZONE, "SOA").answer[0][0].serial
    for rd in (False, True):
        r = query(server, "no-such-name.corp.example.", rd=rd)
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert r.flags & dns.flags.AA
        assert r.answer == []
        assert soa_in_authority(r).serial == serial


def test_nodata_carries_the_soa(server):
    r = query(server, PROD_HOST, "AAAA")
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.AA and r.answer == []
    soa_in_authority(r)


def test_names_outside_our_zones_are_refused(server):
    r = query(server, "www.example.org.", rd=True)
    assert r.rcode() == dns.rcode.REFUSED


# ------------------------------------------------------------------ recursion (RD=1)


def test_recursion_follows_the_delegation_through_smartconnect(server):
    r = query(server, "finance.corp.example.", rd=True)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.flags & dns.flags.RA
    assert not r.flags & dns.flags.AA, "a recursive answer is not authoritative"
    (rrset,) = r.answer
    assert rrset.name == dns.name.from_text("finance.corp.example.")
    assert rrset.rdtype == dns.rdatatype.A and len(rrset) >= 1
    assert rrset.ttl == 0, "SmartConnect answers with TTL 0"
    # The name is prod's (dr carries finance-dr): prod's pool answers it.
    r_dr = query(server, "finance-dr.corp.example.", rd=True)
    assert r_dr.answer and r_dr.answer[0].rdtype == dns.rdatatype.A
    assert {rd.address for rd in rrset}.isdisjoint({rd.address for rd in r_dr.answer[0]})


def test_stub_resolver_resolves_smartconnect_names(server):
    import dns.resolver

    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [server[0]]
    res.port = server[1]
    res.lifetime = TIMEOUT
    ans = res.resolve("fin.corp.example.", "A")
    assert len(ans) >= 1


# ------------------------------------------------------------------ RFC 2136 + TSIG


def add_a_update(name, addr, keyring=None, keyname=None):
    u = dns.update.UpdateMessage(ZONE, keyring=keyring, keyname=keyname,
                                 keyalgorithm=dns.tsig.HMAC_SHA256)
    u.add(name, 300, "A", addr)
    return u


def a_of(server, name):
    r = query(server, name)
    return r.rcode(), sorted(rd.address for rr in r.answer for rd in rr)


def test_signed_update_is_applied_and_the_answer_signed(server, keyring):
    ring, keyname, _ = keyring
    name = "conf-%s.corp.example." % uuid.uuid4().hex[:8]
    assert a_of(server, name)[0] == dns.rcode.NXDOMAIN
    serial = query(server, ZONE, "SOA").answer[0][0].serial
    u = add_a_update(name, "192.0.2.10", ring, keyname)
    host, port = server
    # dns.query.udp verifies the response's TSIG against the request MAC (raises if not).
    r = dns.query.udp(u, host, port=port, timeout=TIMEOUT)
    assert r.rcode() == dns.rcode.NOERROR
    assert r.had_tsig and r.tsig_error == dns.rcode.NOERROR
    assert a_of(server, name) == (dns.rcode.NOERROR, ["192.0.2.10"])
    assert query(server, ZONE, "SOA").answer[0][0].serial == serial + 1


def test_update_with_a_wrong_secret_is_refused_with_badsig(server, keyring):
    _, keyname, secret = keyring
    wrong = base64.b64encode(b"not-the-secret-" + base64.b64decode(secret)[:8]).decode()
    ring = dns.tsigkeyring.from_text({keyname: wrong})
    name = "conf-%s.corp.example." % uuid.uuid4().hex[:8]
    serial = query(server, ZONE, "SOA").answer[0][0].serial
    u = add_a_update(name, "192.0.2.11", ring, keyname)
    resp = dns.message.from_wire(raw_exchange(server, u.to_wire()), keyring=False)
    assert resp.rcode() == dns.rcode.NOTAUTH
    assert resp.tsig_error == dns.rcode.BADSIG
    # Through dnspython's own checking the same answer is a peer BADSIG.
    host, port = server
    with pytest.raises(dns.tsig.PeerBadSignature):
        dns.query.udp(add_a_update(name, "192.0.2.11", ring, keyname), host, port=port,
                      timeout=TIMEOUT)
    assert a_of(server, name)[0] == dns.rcode.NXDOMAIN
    assert query(server, ZONE, "SOA").answer[0][0].serial == serial


def test_update_with_an_unknown_key_is_refused_with_badkey(server, keyring):
    _, _, secret = keyring
    ring = dns.tsigkeyring.from_text({"someone-else.": secret})
    name = "conf-%s.corp.example." % uuid.uuid4().hex[:8]
    u = add_a_update(name, "192.0.2.12", ring, "someone-else.")
    resp = dns.message.from_wire(raw_exchange(server, u.to_wire()), keyring=False)
    assert resp.rcode() == dns.rcode.NOTAUTH
    assert resp.tsig_error == dns.rcode.BADKEY
    assert a_of(server, name)[0] == dns.rcode.NXDOMAIN


def test_unsigned_update_is_refused_and_changes_nothing(server):
    name = "conf-%s.corp.example." % uuid.uuid4().hex[:8]
    serial = query(server, ZONE, "SOA").answer[0][0].serial
    host, port = server
    r = dns.query.udp(add_a_update(name, "192.0.2.13"), host, port=port, timeout=TIMEOUT)
    assert r.rcode() == dns.rcode.REFUSED
    # Repointing a delegation unsigned is refused too.
    u = dns.update.UpdateMessage(ZONE)
    u.replace("finance-dr.corp.example.", 300, "NS", PROD_HOST)
    r = dns.query.tcp(u, host, port=port, timeout=TIMEOUT)
    assert r.rcode() == dns.rcode.REFUSED
    assert a_of(server, name)[0] == dns.rcode.NXDOMAIN
    assert ns_hosts(query(server, "finance-dr.corp.example."), "finance-dr.corp.example.") == [DR_HOST]
    assert query(server, ZONE, "SOA").answer[0][0].serial == serial


# ------------------------------------------------------------------ dig


def dig(server, *args):
    exe = shutil.which("dig")
    if not exe:
        pytest.skip("dig is not installed")
    host, port = server
    out = subprocess.run([exe, "@" + host, "-p", str(port), "+time=3", "+tries=1", *args],
                         capture_output=True, text=True, timeout=20, check=True)
    return out.stdout


def flags_of(out):
    m = re.search(r";; flags: ([a-z ]+);", out)
    assert m, out
    return set(m.group(1).split())


def test_dig_norec_gets_the_referral(server):
    out = dig(server, "+norec", "finance.corp.example", "A")
    assert "status: NOERROR" in out
    assert "aa" not in flags_of(out)
    assert "ANSWER: 0," in out
    auth = out.split(";; AUTHORITY SECTION:")[1].split(";; ADDITIONAL SECTION:")[0]
    assert PROD_HOST in auth and DR_HOST in auth
    add = out.split(";; ADDITIONAL SECTION:")[1]
    assert re.search(re.escape(PROD_HOST) + r"\s+\d+\s+IN\s+A\s+10\.1\.0\.10", add)
    assert re.search(re.escape(DR_HOST) + r"\s+\d+\s+IN\s+A\s+10\.2\.0\.10", add)


def test_dig_recursive_answer_and_authoritative_glue(server):
    out = dig(server, "finance.corp.example", "A")
    assert "status: NOERROR" in out and "ra" in flags_of(out)
    assert re.search(r"finance\.corp\.example\.\s+0\s+IN\s+A\s+\d+\.\d+\.\d+\.\d+", out)
    out = dig(server, "+norec", PROD_HOST, "A")
    assert "aa" in flags_of(out)
    assert dig(server, "+short", DR_HOST).split() == ["10.2.0.10"]


def test_dig_nxdomain_shows_the_soa(server):
    out = dig(server, "+norec", "no-such-name.corp.example")
    assert "status: NXDOMAIN" in out and "aa" in flags_of(out)
    auth = out.split(";; AUTHORITY SECTION:")[1]
    assert re.search(r"corp\.example\.\s+\d+\s+IN\s+SOA\s+ns1\.corp\.example\.", auth)


def test_dig_signed_query_verifies(server, keyring):
    _, keyname, secret = keyring
    out = dig(server, "-y", "hmac-sha256:%s:%s" % (keyname, secret), PROD_HOST)
    # dig prints a TSIG PSEUDOSECTION and reports a failed verification loudly.
    assert "status: NOERROR" in out
    assert "TSIG PSEUDOSECTION" in out
    assert "failure" not in out.lower() and "tsig verify" not in out.lower()

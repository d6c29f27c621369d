"""Known-answer vectors for the TSIG tests (RFC 8945, hmac-sha256).

The constants in `sim-ad-dns/src/wire.rs` (tests `tsig_kat_*`) and `orchestrator/src/dns.rs`
(tests `tsig_kat_*`) are this script's output. They come from dnspython, an implementation
independent of ours (which uses hickory-proto and ring), and every MAC is checked once more
against HMAC-SHA256 over the RFC 8945 §4.3.3 digest layout written out by hand below.

Regenerate (any dnspython 2.x; the vectors were made with 2.8.0):

    python3 -m venv /tmp/kat-venv && /tmp/kat-venv/bin/pip install dnspython==2.8.0
    /tmp/kat-venv/bin/python sim-ad-dns/testdata/tsig_kat.py

The output must not change: if it does, one of the implementations changed its digest layout.
"""

import hashlib
import hmac
import struct
import time

import dns.message
import dns.name
import dns.tsig
import dns.update

SECRET = bytes(range(32))  # 00 01 02 .. 1f
FUDGE = 300
T = 1764633600  # 2025-12-02T00:00:00Z
T_HIGH = 0x0001_2345_6789  # a time signed that needs all 48 bits
NOW = T
time.time = lambda: NOW  # dnspython signs at time.time()


def key(name):
    return dns.tsig.Key(name, SECRET, dns.tsig.HMAC_SHA256)


def update():
    """RFC 2136: in zone corp.example, replace the NS RRset of finance.corp.example."""
    m = dns.update.UpdateMessage("corp.example.", id=0x2A5C)
    m.delete("finance.corp.example.", "NS")  # class ANY, TTL 0, no rdata
    m.add("finance.corp.example.", 300, "NS", "10.2.0.10.")
    return m


def signed_update(keyname, t):
    global NOW
    NOW = t
    m = update()
    m.use_tsig(key(keyname), fudge=FUDGE)  # original id = the message id
    return m.to_wire(), m.mac


def mac_by_hand(unsigned, t, request_mac=b""):
    """RFC 8945 §4.3.2/§4.3.3: [request MAC length, request MAC] (responses only), the
    message as it was before the TSIG was added (original id, ARCOUNT without the TSIG),
    then the TSIG variables."""
    v = b"\x08tsig-key\x00"  # key name, canonical: lowercase, uncompressed
    v += struct.pack("!HI", 255, 0)  # class ANY, TTL 0
    v += b"\x0bhmac-sha256\x00"  # algorithm name, canonical
    v += struct.pack("!HIH", t >> 32, t & 0xFFFFFFFF, FUDGE)  # time signed (u48), fudge
    v += struct.pack("!HH", 0, 0)  # error, other len (no other data)
    prefix = struct.pack("!H", len(request_mac)) + request_mac if request_mac else b""
    return hmac.new(SECRET, prefix + unsigned + v, hashlib.sha256).digest()


unsigned = update().to_wire()
print("UPDATE_UNSIGNED", unsigned.hex())
for name, t in [("tsig-key.", T), ("TSIG-Key.", T), ("tsig-key.", T_HIGH)]:
    wire, mac = signed_update(name, t)
    assert mac == mac_by_hand(unsigned, t)
    print(f"UPDATE {name} time={t}: MAC", mac.hex())
    print(f"UPDATE {name} time={t}: SIGNED", wire.hex())

# The server's TSIG-signed NOERROR answer to that update, signed at T over the request MAC.
request_wire, request_mac = signed_update("tsig-key.", T)
request = dns.message.from_wire(request_wire, keyring={dns.name.from_text("tsig-key."): key("tsig-key.")})
NOW = T
response = dns.message.make_response(request)
response_wire = response.to_wire()
bare = dns.message.make_response(request)
bare.tsig = None  # the same answer, unsigned
unsigned_response = bare.to_wire()
assert response.mac == mac_by_hand(unsigned_response, T, request_mac)
print("RESPONSE_UNSIGNED", unsigned_response.hex())
print("RESPONSE: MAC", response.mac.hex())
print("RESPONSE: SIGNED", response_wire.hex())

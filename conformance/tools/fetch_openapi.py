"""Fetch the OneFS OpenAPI document the OpenAPI conformance check (test_openapi.py) validates
against, verify it, and cache it under conformance/.cache/ (gitignored).

The document, `openapi_v18_only.json`, ships inside the `isilon-mcp-server` 1.0.0 source
distribution on PyPI; it is not copied into this repository. Both the archive and the member
are pinned by sha256. Prints the cached path; exits non-zero with a clear message when the
download is impossible or the bytes are not the pinned ones.

Usage: python tools/fetch_openapi.py [CACHE_DIR]
Environment: CONF_OPENAPI_SDIST (a local copy of the archive, for offline runs).
"""
import hashlib
import io
import os
import sys
import tarfile
import urllib.request

SDIST_URL = ("https://files.pythonhosted.org/packages/3b/7e/"
             "20da2bf08370e9afe9bfad4028c86c8704c410223b4cc9584bef569c56a1/"
             "isilon_mcp_server-1.0.0.tar.gz")
SDIST_SHA256 = "7352e20380ae4bbe28ec024a145626621c107648e4a96e8de72a4f3714b7c059"
SDIST_SIZE = 58798
MEMBER = "isilon_mcp_server-1.0.0/openapi_v18_only.json"
MEMBER_SHA256 = "b746dd5c5347efebec8de62e0d7bfa0cdcf0155b4c847557852b7ab6e19300cd"
NAME = "openapi_v18_only.json"


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def die(msg):
    sys.stderr.write("fetch_openapi: %s\n" % msg)
    sys.exit(2)


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cache = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, ".cache")
    os.makedirs(cache, exist_ok=True)
    out = os.path.join(cache, NAME)
    if os.path.exists(out):
        with open(out, "rb") as f:
            if sha256(f.read()) == MEMBER_SHA256:
                print(out)
                return
    local = os.environ.get("CONF_OPENAPI_SDIST")
    if local:
        try:
            with open(local, "rb") as f:
                data = f.read()
        except OSError as e:
            die("CONF_OPENAPI_SDIST=%s: %s" % (local, e))
        src = local
    else:
        src = SDIST_URL
        try:
            with urllib.request.urlopen(SDIST_URL, timeout=60) as r:
                data = r.read()
        except Exception as e:  # noqa: BLE001
            die("cannot download the OneFS OpenAPI document's archive (isilon-mcp-server 1.0.0 "
                "sdist) from %s: %s. The OpenAPI conformance check needs it; download it by "
                "hand and set CONF_OPENAPI_SDIST=/path/to/isilon_mcp_server-1.0.0.tar.gz." % (SDIST_URL, e))
    if sha256(data) != SDIST_SHA256:
        die("%s: sha256 %s (%d bytes), expected %s (%d bytes): not the pinned archive"
            % (src, sha256(data), len(data), SDIST_SHA256, SDIST_SIZE))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        try:
            doc = t.extractfile(MEMBER).read()
        except (KeyError, AttributeError):
            die("%s has no member %s" % (src, MEMBER))
    if sha256(doc) != MEMBER_SHA256:
        die("%s: sha256 %s, expected %s" % (MEMBER, sha256(doc), MEMBER_SHA256))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(doc)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()

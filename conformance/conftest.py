"""Fixtures: SDK API clients for the clusters `run.sh` started with `drill serve --tls`."""
import functools
import importlib
import inspect
import os
import re

import pytest

PROD = ("admin", "Prod-Adm1n!")
DR = ("admin", "Dr-Adm1n!")
AUDITOR = ("auditor", "Prod-Aud1t!")
OPERATOR = ("siq", "Prod-S1q!")

# isilon-sdk release subpackages under test.
SDK_VERSIONS = ["v9_5_0", "v9_10_0"]


def url(cluster):
    v = os.environ.get("CONF_%s_URL" % cluster.upper())
    if not v:
        pytest.skip("run through conformance/run.sh (needs drill serve)")
    return v


def make_client(sdk, cluster, creds):
    mod = importlib.import_module("isilon_sdk.%s" % sdk)
    cfg = mod.Configuration()
    cfg.host = url(cluster)
    cfg.username, cfg.password = creds
    cfg.verify_ssl = True
    cfg.ssl_ca_cert = os.environ["CONF_CA"]
    return mod, mod.ApiClient(cfg)


@pytest.fixture(params=SDK_VERSIONS)
def sdk(request):
    return request.param


@pytest.fixture
def prod(sdk):
    return make_client(sdk, "prod", PROD)


@pytest.fixture
def dr(sdk):
    return make_client(sdk, "dr", DR)


# ---------------------------------------------------------------- SDK method coverage
# The SDK API-class methods on the resources of reference/onefs-papi.md and the SyncIQ target
# reports failover clients read (isilon-sdk 0.7.0's v9_5_0 and v9_10_0), found by the route
# each method calls. Every call the tests make through an API class is recorded; the run ends
# with "SDK method coverage: N/M".

_ID = r"(/\{[^}]+\})?"
RESOURCE_PATHS = [re.compile("^" + p + "$") for p in [
    r"cluster/(identity|config)",
    r"sync/policies" + _ID, r"sync/policies/\{[^}]+\}/reset", r"sync/jobs" + _ID,
    r"sync/reports" + _ID, r"sync/target/policies" + _ID, r"sync/target/reports" + _ID,
    r"sync/settings",
    r"protocols/smb/shares" + _ID, r"protocols/smb/openfiles" + _ID,
    r"protocols/(smb|nfs)/settings/global", r"protocols/nfs/(exports|aliases)" + _ID,
    r"quota/quotas" + _ID, r"snapshot/schedules" + _ID, r"dedupe/settings",
    r"zones" + _ID,
    r"network/groupnets" + _ID, r"network/groupnets/\{[^}]+\}/subnets" + _ID,
    r"network/groupnets/\{[^}]+\}/subnets/\{[^}]+\}/pools" + _ID, r"network/(pools|subnets)",
    r"auth/providers/ads" + _ID,
]]

CALLED = set()

# Summary lines test_openapi.py leaves for the end of the run (response schemas from isilon-sdk's
# models, route coverage and error envelopes from the third-party mcp document).
OPENAPI_SUMMARY = []


def sdk_http_infos(sdk):
    """(API class name, method, source of its `<method>_with_http_info`) for every API-class
    method of one isilon-sdk subpackage: the route, HTTP method and response type of a call
    are spelled out in that source."""
    mod = importlib.import_module("isilon_sdk.%s" % sdk)
    for name in dir(mod):
        if not name.endswith("Api"):
            continue
        cls = getattr(mod, name)
        for meth, fn in inspect.getmembers(cls, inspect.isfunction):
            if not meth.startswith("_") and meth.endswith("_with_http_info"):
                yield name, meth[:-len("_with_http_info")], inspect.getsource(fn)


def resource_methods(sdk):
    """{(API class, method): route} of one SDK subpackage on the reference's resources."""
    out = {}
    for name, meth, src in sdk_http_infos(sdk):
        m = re.search(r"'/platform/\d+/([^']+)'", src)
        if m and any(r.match(m.group(1)) for r in RESOURCE_PATHS):
            out[(name, meth)] = m.group(1)
    return out


def _record(cls_name, meth, orig):
    @functools.wraps(orig)
    def wrapper(self, *a, **k):
        CALLED.add((cls_name, meth))
        return orig(self, *a, **k)
    return wrapper


def pytest_configure(config):
    config._sdk_methods = {}
    for sdk in SDK_VERSIONS:
        try:
            methods = resource_methods(sdk)
        except ImportError:
            return
        mod = importlib.import_module("isilon_sdk.%s" % sdk)
        for (cls_name, meth) in methods:
            cls = getattr(mod, cls_name)
            setattr(cls, meth, _record(cls_name, meth, getattr(cls, meth)))
        config._sdk_methods.update(methods)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if OPENAPI_SUMMARY:
        terminalreporter.write_sep("-", "OpenAPI conformance: bodies vs isilon-sdk models, "
                                        "routes vs the mcp document")
        for line in OPENAPI_SUMMARY:
            terminalreporter.write_line(line)
    universe = getattr(config, "_sdk_methods", {})
    if not universe or not CALLED:
        return
    covered = sorted(k for k in universe if k in CALLED)
    missing = sorted(k for k in universe if k not in CALLED)
    tr = terminalreporter
    tr.write_sep("-", "SDK method coverage: %d/%d" % (len(covered), len(universe)))
    if missing:
        tr.write_line("not driven: " + ", ".join("%s.%s" % m for m in missing))

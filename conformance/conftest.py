"""Fixtures: SDK API clients for the clusters `run.sh` started with `drill serve --tls`."""
import importlib
import os

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

"""Conformance: drive every resource of the simulated cluster through the official clients'
API classes and check values round-trip. Each test runs once per isilon-sdk release
subpackage in conftest.SDK_VERSIONS. The clients log in with a PAPI session first."""
import json
import time
import uuid

import pytest
import urllib3

from conftest import AUDITOR, OPERATOR, PROD, make_client, url


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def status_of(exc_info):
    return exc_info.value.status


# ---------------------------------------------------------------- cluster


def test_cluster_identity_and_config(prod):
    mod, api = prod
    c = mod.ClusterApi(api)
    ident = c.get_cluster_identity()
    assert ident.name == "prod"
    cfg = c.get_cluster_config()
    assert cfg.name == "prod"
    assert cfg.onefs_version.release == "9.10.0.0"
    assert len(cfg.guid) > 0


def test_cluster_identity_update(prod):
    mod, api = prod
    c = mod.ClusterApi(api)
    before = c.get_cluster_identity()
    c.update_cluster_identity(mod.ClusterIdentityExtended(
        description="conformance", logon=mod.ClusterIdentityLogonExtended(motd="authorised use only")))
    got = c.get_cluster_identity()
    assert got.description == "conformance" and got.logon.motd == "authorised use only"
    assert got.name == "prod" and got.logon.motd_header == before.logon.motd_header
    assert c.get_cluster_config().description == "conformance"
    with pytest.raises(mod.rest.ApiException) as e:
        c.update_cluster_identity(mod.ClusterIdentityExtended(name="9-not-a-name"))
    assert status_of(e) == 400 and "name" in json.loads(e.value.body)["errors"][0]["message"]
    c.update_cluster_identity(mod.ClusterIdentityExtended(
        description=before.description, logon=mod.ClusterIdentityLogonExtended(motd=before.logon.motd)))
    assert c.get_cluster_identity().description == before.description


# ---------------------------------------------------------------- SyncIQ


def test_sync_policy_crud_and_reset(prod):
    mod, api = prod
    s = mod.SyncApi(api)
    names = [p.name for p in s.list_sync_policies().policies]
    assert "finance-ledger" in names
    p = s.get_sync_policy("finance-ledger").policies[0]
    assert p.source_root_path == "/ifs/finance/ledger"
    assert p.last_job_state
    name = uniq("conf")
    created = s.create_sync_policy(mod.SyncPolicyCreateParams(
        name=name, action="sync", source_root_path="/ifs/data/eng",
        target_host="dr", target_path="/ifs/data/" + name, enabled=True))
    assert created.id
    s.update_sync_policy(mod.SyncPolicy(schedule="every 1 days at 10:00",
                                        description="conformance"), name)
    p = s.get_sync_policy(created.id).policies[0]
    assert p.schedule == "every 1 days at 10:00" and p.description == "conformance"
    mod.SyncPoliciesApi(api).create_policy_reset_item({}, name)
    s.delete_sync_policy(name)
    with pytest.raises(mod.rest.ApiException) as e:
        s.get_sync_policy(name)
    assert status_of(e) == 404
    with pytest.raises(mod.rest.ApiException) as e:
        s.create_sync_policy(mod.SyncPolicyCreateParams(
            name="finance-ledger", action="sync", source_root_path="/ifs/finance/ledger",
            target_host="dr", target_path="/ifs/x"))
    assert status_of(e) == 409


def test_sync_policy_pagination(prod):
    mod, api = prod
    s = mod.SyncApi(api)
    page = s.list_sync_policies(limit=1)
    assert len(page.policies) == 1 and page.resume
    rest = s.list_sync_policies(resume=page.resume)
    assert page.policies[0].name not in [p.name for p in rest.policies]


def wait_job_gone(s, policy, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            s.get_sync_job(policy)
        except Exception as e:  # noqa: BLE001
            if getattr(e, "status", None) == 404:
                return
            raise
        time.sleep(0.1)
    raise AssertionError("job for %s did not finish" % policy)


def test_sync_jobs_reports_and_actions(prod, dr):
    mod, api = prod
    s = mod.SyncApi(api)
    wait_job_gone(s, "finance-batch")
    s.create_sync_job(mod.SyncJobCreateParams(id="finance-batch"))
    job = s.get_sync_job("finance-batch").jobs[0]
    assert job.policy_name == "finance-batch" and job.action == "run"
    assert "finance-batch" in [j.policy_name for j in s.list_sync_jobs().jobs]
    s.update_sync_job(mod.SyncJob(state="paused"), "finance-batch")
    assert s.get_sync_job("finance-batch").jobs[0].state == "paused"
    s.update_sync_job(mod.SyncJob(state="running"), "finance-batch")
    s.update_sync_job(mod.SyncJob(state="canceled"), "finance-batch")
    wait_job_gone(s, "finance-batch")
    reps = s.get_sync_reports(policy_name="finance-batch").reports
    assert reps and all(r.policy_name == "finance-batch" for r in reps)
    assert s.get_sync_report(reps[0].id).reports[0].id == reps[0].id
    assert "canceled" in [r.state for r in reps]
    # A test job, then allow_write / allow_write_revert on the target through the client.
    s.create_sync_job(mod.SyncJobCreateParams(id="finance-batch", action="test"))
    wait_job_gone(s, "finance-batch")
    dmod, dapi = dr
    ds = dmod.SyncApi(dapi)
    tps = ds.get_target_policies().policies
    assert "finance-ledger" in [t.name for t in tps]
    assert ds.get_target_policy("finance-ledger").policies[0].failover_failback_state == "writes_disabled"
    ds.create_sync_job(dmod.SyncJobCreateParams(id="finance-ledger", action="allow_write"))
    wait_job_gone(ds, "finance-ledger")
    assert ds.get_target_policy("finance-ledger").policies[0].failover_failback_state == "writes_enabled"
    # Raw call_api for an action string the enum would also accept, as scripts do.
    dapi.call_api("/platform/14/sync/jobs", "POST",
                  body={"id": "finance-ledger", "action": "allow_write_revert"},
                  auth_settings=["basicAuth"], response_type="CreateResponse")
    wait_job_gone(ds, "finance-ledger")
    assert ds.get_target_policy("finance-ledger").policies[0].failover_failback_state == "writes_disabled"


def test_sync_settings(prod):
    mod, api = prod
    s = mod.SyncApi(api)
    st = s.get_sync_settings().settings
    assert st.service == "on"
    s.update_sync_settings(mod.SyncSettingsExtended(report_max_count=st.report_max_count - 1))
    assert s.get_sync_settings().settings.report_max_count == st.report_max_count - 1
    s.update_sync_settings(mod.SyncSettingsExtended(report_max_count=st.report_max_count))
    with pytest.raises(mod.rest.ApiException) as e:
        api.call_api("/platform/16/sync/settings", "PUT", body={"service": "sideways"},
                     auth_settings=["basicAuth"])
    assert status_of(e) == 400


def test_sync_cancel_all_jobs(prod):
    mod, api = prod
    s = mod.SyncApi(api)
    wait_job_gone(s, "finance-batch")
    s.create_sync_job(mod.SyncJobCreateParams(id="finance-batch"))
    assert s.list_sync_jobs().jobs
    s.delete_sync_jobs()
    assert s.list_sync_jobs().jobs == []
    reps = s.get_sync_reports(policy_name="finance-batch").reports
    assert "canceled" in [r.state for r in reps]


def test_sync_delete_all_policies(dr):
    """On dr (which has no source policies of its own): create two, delete all."""
    mod, api = dr
    s = mod.SyncApi(api)
    names = [uniq("back"), uniq("back")]
    for n in names:
        s.create_sync_policy(mod.SyncPolicyCreateParams(
            name=n, action="sync", source_root_path="/ifs/finance/ledger",
            target_host="prod", target_path="/ifs/finance/" + n))
    assert set(names) <= {p.name for p in s.list_sync_policies().policies}
    s.delete_sync_policies(local_only=True)
    assert s.list_sync_policies().policies == []
    with pytest.raises(mod.rest.ApiException) as e:
        api.call_api("/platform/18/sync/policies", "DELETE", query_params=[("bogus", "1")],
                     auth_settings=["basicAuth"])
    assert status_of(e) == 400


def test_sync_target_policy_break(prod, dr):
    """Run a new policy once, then break its target association on the target."""
    mod, api = prod
    s = mod.SyncApi(api)
    name = uniq("brk")
    s.create_sync_policy(mod.SyncPolicyCreateParams(
        name=name, action="sync", source_root_path="/ifs/data/eng",
        target_host="dr", target_path="/ifs/data/" + name, enabled=True))
    s.create_sync_job(mod.SyncJobCreateParams(id=name))
    wait_job_gone(s, name)
    assert s.get_sync_policy(name).policies[0].last_job_state == "finished"
    dmod, dapi = dr
    ds = dmod.SyncApi(dapi)
    tp = ds.get_target_policy(name).policies[0]
    assert tp.failover_failback_state == "writes_disabled"
    ds.delete_target_policy(name)
    with pytest.raises(dmod.rest.ApiException) as e:
        ds.get_target_policy(name)
    assert status_of(e) == 404
    with pytest.raises(dmod.rest.ApiException) as e:
        ds.delete_target_policy(name, force=True)
    assert status_of(e) == 404
    assert "finance-ledger" in [t.name for t in ds.get_target_policies().policies]
    s.delete_sync_policy(name)


# ---------------------------------------------------------------- protocols


def test_smb_shares_with_permissions_per_zone(prod):
    mod, api = prod
    p = mod.ProtocolsApi(api)
    shares = p.list_smb_shares(zone="finance").shares
    assert "ledger" in [x.name for x in shares]
    name = uniq("share")
    perm = mod.SmbSharePermission(permission="full", permission_type="allow",
                                  trustee=mod.AuthAccessAccessItemFileGroup(id="SID:S-1-1-0", name="Everyone", type="wellknown"))
    p.create_smb_share(mod.SmbShareCreateParams(name=name, path="/ifs/finance/ledger",
                                                permissions=[perm], description="d"), zone="finance")
    got = p.get_smb_share(name, zone="finance").shares[0]
    assert got.path == "/ifs/finance/ledger" and got.description == "d"
    assert got.permissions[0].permission == "full"
    deny = mod.SmbSharePermission(permission="full", permission_type="deny",
                                  trustee=mod.AuthAccessAccessItemFileGroup(id="SID:S-1-1-0"))
    p.update_smb_share(mod.SmbShare(permissions=[deny]), name, zone="finance")
    assert p.get_smb_share(name, zone="finance").shares[0].permissions[0].permission_type == "deny"
    with pytest.raises(mod.rest.ApiException) as e:
        p.get_smb_share(name)  # System zone
    assert status_of(e) == 404
    with pytest.raises(mod.rest.ApiException) as e:
        p.create_smb_share(mod.SmbShareCreateParams(name=name, path="/ifs/finance/ledger"), zone="finance")
    assert status_of(e) == 409
    with pytest.raises(mod.rest.ApiException) as e:
        p.create_smb_share(mod.SmbShareCreateParams(name=uniq("s"), path="/ifs/data"), zone="finance")
    assert status_of(e) == 400 and "path" in json.loads(e.value.body)["errors"][0]["message"]
    p.delete_smb_share(name, zone="finance")


def test_smb_openfiles_and_global_settings(prod):
    mod, api = prod
    p = mod.ProtocolsApi(api)
    assert p.get_smb_openfiles().openfiles is not None
    assert p.get_smb_settings_global().settings.service is True
    p.update_smb_settings_global(mod.SmbSettingsGlobalExtended(service=False))
    assert p.get_smb_settings_global().settings.service is False
    p.update_smb_settings_global(mod.SmbSettingsGlobalExtended(service=True))
    assert p.get_nfs_settings_global().settings.service is True
    p.update_nfs_settings_global(mod.NfsSettingsGlobalSettings(service=False))
    assert p.get_nfs_settings_global().settings.service is False
    p.update_nfs_settings_global(mod.NfsSettingsGlobalSettings(service=True))


def test_nfs_exports_and_aliases(prod):
    mod, api = prod
    p = mod.ProtocolsApi(api)
    ex = p.list_nfs_exports(zone="finance").exports
    assert ["/ifs/finance/batch"] in [e.paths for e in ex]
    r = p.create_nfs_export(mod.NfsExportCreateParams(paths=["/ifs/finance/ledger"], read_only=True,
                                                      clients=["10.0.0.1"]), zone="finance")
    e = p.get_nfs_export(r.id, zone="finance").exports[0]
    assert e.read_only is True and e.clients == ["10.0.0.1"]
    p.update_nfs_export(mod.NfsExport(read_only=False), r.id, zone="finance")
    assert p.get_nfs_export(r.id, zone="finance").exports[0].read_only is False
    # OneFS refuses only an export whose paths and clients overlap an existing one.
    with pytest.raises(mod.rest.ApiException) as exc:
        p.create_nfs_export(mod.NfsExportCreateParams(paths=["/ifs/finance/ledger"],
                                                      clients=["10.0.0.1"]), zone="finance")
    assert status_of(exc) == 409
    other = p.create_nfs_export(mod.NfsExportCreateParams(paths=["/ifs/finance/ledger"],
                                                          clients=["10.0.0.2"]), zone="finance")
    every = p.create_nfs_export(mod.NfsExportCreateParams(paths=["/ifs/finance/ledger"]),
                                zone="finance")
    forced = p.create_nfs_export(mod.NfsExportCreateParams(paths=["/ifs/finance/ledger"],
                                                           clients=["10.0.0.1"]),
                                 zone="finance", force=True)
    # A path that does not exist is refused unless ignore_bad_paths.
    missing = "/ifs/finance/" + uniq("nodir")
    with pytest.raises(mod.rest.ApiException) as exc:
        p.create_nfs_export(mod.NfsExportCreateParams(paths=[missing]), zone="finance")
    assert status_of(exc) == 400
    bad = p.create_nfs_export(mod.NfsExportCreateParams(paths=[missing]), zone="finance",
                              ignore_bad_paths=True)
    for x in (r, other, every, forced, bad):
        p.delete_nfs_export(x.id, zone="finance")
    name = "/" + uniq("alias")
    a = p.create_nfs_alias(mod.NfsAliasCreateParams(name=name, path="/ifs/finance/batch"), zone="finance")
    assert a.id == name
    got = p.get_nfs_alias(name, zone="finance").aliases[0]
    assert got.path == "/ifs/finance/batch"
    p.update_nfs_alias(mod.NfsAlias(path="/ifs/finance/ledger"), name, zone="finance")
    assert p.get_nfs_alias(name, zone="finance").aliases[0].path == "/ifs/finance/ledger"
    assert name in [x.name for x in p.list_nfs_aliases(zone="finance").aliases]
    p.delete_nfs_alias(name, zone="finance")


def test_smb_delete_all_shares_of_a_zone(prod):
    mod, api = prod
    z = mod.ZonesApi(api)
    p = mod.ProtocolsApi(api)
    zone = uniq("zone")
    z.create_zone(mod.ZoneCreateParams(name=zone, path="/ifs/" + zone))
    for n in ("a", "b"):
        p.create_smb_share(mod.SmbShareCreateParams(name=n, path="/ifs/" + zone), zone=zone)
    assert sorted(x.name for x in p.list_smb_shares(zone=zone).shares) == ["a", "b"]
    p.delete_smb_shares(zone=zone)
    assert p.list_smb_shares(zone=zone).shares == []
    assert "ledger" in [x.name for x in p.list_smb_shares(zone="finance").shares]
    with pytest.raises(mod.rest.ApiException) as e:
        p.delete_smb_shares(zone=uniq("nozone"))
    assert status_of(e) == 404
    z.delete_zone(zone)


def test_smb_openfile_close(prod):
    mod, api = prod
    p = mod.ProtocolsApi(api)
    files = p.get_smb_openfiles().openfiles
    assert files, "world.yaml seeds one open file per SDK release"
    f = files[0]
    assert f.file.startswith("C:\\ifs\\finance\\ledger")
    p.delete_smb_openfile(str(f.id))
    assert f.id not in [x.id for x in p.get_smb_openfiles().openfiles]
    with pytest.raises(mod.rest.ApiException) as e:
        p.delete_smb_openfile(str(f.id))
    assert status_of(e) == 404


# ---------------------------------------------------------------- quotas, snapshots, dedupe


def test_quotas(prod):
    mod, api = prod
    q = mod.QuotaApi(api)
    qs = q.list_quota_quotas().quotas
    assert qs and all(len(x.id) == 32 for x in qs)
    assert "/ifs/finance/ledger" in [x.path for x in qs]
    path = "/ifs/finance/" + uniq("q")
    r = q.create_quota_quota(mod.QuotaQuotaCreateParams(
        path=path, type="directory", include_snapshots=False, enforced=True,
        thresholds=mod.QuotaQuotaThresholds(hard=1000000, soft=500000, soft_grace=3600)))
    assert len(r.id) == 32
    got = q.get_quota_quota(r.id).quotas[0]
    assert got.thresholds.hard == 1000000 and got.type == "directory"
    q.update_quota_quota(mod.QuotaQuota(thresholds=mod.QuotaQuotaThresholds(hard=2000000)), r.id)
    assert q.get_quota_quota(r.id).quotas[0].thresholds.hard == 2000000
    with pytest.raises(mod.rest.ApiException) as e:
        q.create_quota_quota(mod.QuotaQuotaCreateParams(path=path, type="directory", include_snapshots=False))
    assert status_of(e) == 409
    q.delete_quota_quota(r.id)
    with pytest.raises(mod.rest.ApiException) as e:
        q.get_quota_quota(r.id)
    assert status_of(e) == 404


def test_snapshot_schedules(prod):
    mod, api = prod
    s = mod.SnapshotApi(api)
    name = uniq("sched")
    r = s.create_snapshot_schedule(mod.SnapshotScheduleCreateParams(
        name=name, path="/ifs/finance", pattern="snap-%Y", schedule="every 1 days at 10:00", duration=86400))
    got = s.get_snapshot_schedule(str(r.id)).schedules[0]
    assert got.name == name and got.duration == 86400
    s.update_snapshot_schedule(mod.SnapshotSchedule(duration=3600), str(r.id))
    assert s.get_snapshot_schedule(str(r.id)).schedules[0].duration == 3600
    assert name in [x.name for x in s.list_snapshot_schedules().schedules]
    s.delete_snapshot_schedule(str(r.id))


def test_quota_delete_matching(prod):
    mod, api = prod
    q = mod.QuotaApi(api)
    base = "/ifs/finance/" + uniq("q")
    for path in (base, base + "/sub"):
        q.create_quota_quota(mod.QuotaQuotaCreateParams(
            path=path, type="directory", include_snapshots=False, enforced=True,
            thresholds=mod.QuotaQuotaThresholds(hard=1000)))
    q.delete_quota_quotas(path=base, type="directory")
    assert [x.path for x in q.list_quota_quotas().quotas if x.path.startswith(base)] == [base + "/sub"]
    q.create_quota_quota(mod.QuotaQuotaCreateParams(path=base, type="directory", include_snapshots=False))
    q.delete_quota_quotas(path=base, recurse_path_children=True)
    paths = [x.path for x in q.list_quota_quotas().quotas]
    assert not [x for x in paths if x.startswith(base)]
    assert "/ifs/finance/ledger" in paths
    with pytest.raises(mod.rest.ApiException) as e:
        q.delete_quota_quotas(path="finance")
    assert status_of(e) == 400 and "path" in json.loads(e.value.body)["errors"][0]["message"]


def test_snapshot_schedules_delete_all(dr):
    mod, api = dr
    s = mod.SnapshotApi(api)
    for _ in range(2):
        s.create_snapshot_schedule(mod.SnapshotScheduleCreateParams(
            name=uniq("sched"), path="/ifs/finance", pattern="s-%Y", schedule="every 1 days at 10:00"))
    assert len(s.list_snapshot_schedules().schedules) >= 2
    s.delete_snapshot_schedules()
    assert s.list_snapshot_schedules().schedules == []


def test_dedupe_settings(prod):
    mod, api = prod
    d = mod.DedupeApi(api)
    d.update_dedupe_settings(mod.DedupeSettingsExtended(paths=["/ifs/finance"], assess_paths=["/ifs/data"]))
    st = d.get_dedupe_settings().settings
    assert st.paths == ["/ifs/finance"] and st.assess_paths == ["/ifs/data"]
    with pytest.raises(mod.rest.ApiException) as e:
        d.update_dedupe_settings(mod.DedupeSettingsExtended(paths=["/data"]))
    assert status_of(e) == 400


# ---------------------------------------------------------------- zones, network, AD


def test_zones(prod):
    mod, api = prod
    z = mod.ZonesApi(api)
    names = [x.name for x in z.list_zones().zones]
    assert "System" in names and "finance" in names
    name = uniq("zone")
    z.create_zone(mod.ZoneCreateParams(name=name, path="/ifs/" + name))
    got = z.get_zone(name).zones[0]
    assert got.path == "/ifs/" + name and got.zone_id > 1
    z.update_zone(mod.Zone(path="/ifs/other-" + name), name)
    assert z.get_zone(name).zones[0].path == "/ifs/other-" + name
    z.delete_zone(name)
    with pytest.raises(mod.rest.ApiException) as e:
        z.delete_zone("System")
    assert status_of(e) == 400


def test_network_groupnets_subnets_pools(prod):
    mod, api = prod
    n = mod.NetworkApi(api)
    g = mod.NetworkGroupnetsApi(api)
    assert "groupnet0" in [x.name for x in n.list_network_groupnets().groupnets]
    assert n.get_network_groupnet("groupnet0").groupnets[0].name == "groupnet0"
    subs = g.list_groupnet_subnets("groupnet0").subnets
    assert subs[0].sc_service_addrs[0].low == "10.1.0.10"
    assert g.get_groupnet_subnet("subnet0", "groupnet0").subnets[0].name == "subnet0"
    pools = g.list_subnets_subnet_pools("groupnet0", "subnet0").pools
    assert [p.sc_dns_zone for p in pools] == ["finance.corp.example"]
    pool = g.get_subnets_subnet_pool("finance", "groupnet0", "subnet0").pools[0]
    assert pool.access_zone == "finance" and pool.sc_dns_zone_aliases == ["fin.corp.example"]
    g.update_subnets_subnet_pool(mod.SubnetsSubnetPool(sc_dns_zone_aliases=["fin.corp.example", "fin2.corp.example"]),
                                 "finance", "groupnet0", "subnet0")
    flat = n.get_network_pools(access_zone="finance").pools
    assert flat[0].id == "groupnet0.subnet0.finance"
    assert "fin2.corp.example" in flat[0].sc_dns_zone_aliases
    g.update_subnets_subnet_pool(mod.SubnetsSubnetPool(sc_dns_zone_aliases=["fin.corp.example"]),
                                 "finance", "groupnet0", "subnet0")
    with pytest.raises(mod.rest.ApiException) as e:
        g.update_subnets_subnet_pool(mod.SubnetsSubnetPool(access_zone="nope"), "finance", "groupnet0", "subnet0")
    assert status_of(e) == 400


def test_network_create_update_delete(prod):
    mod, api = prod
    n = mod.NetworkApi(api)
    g = mod.NetworkGroupnetsApi(api)
    gn = uniq("gn").replace("-", "_")
    assert n.create_network_groupnet(mod.NetworkGroupnetCreateParams(
        name=gn, dns_servers=["10.0.0.53"], description="lab")).id == gn
    with pytest.raises(mod.rest.ApiException) as e:
        n.create_network_groupnet(mod.NetworkGroupnetCreateParams(name=gn))
    assert status_of(e) == 409
    with pytest.raises(mod.rest.ApiException) as e:
        n.create_network_groupnet(mod.NetworkGroupnetCreateParams(name=uniq("g"), dns_servers=["ns.example"]))
    assert status_of(e) == 400 and "dns_servers" in json.loads(e.value.body)["errors"][0]["message"]
    n.update_network_groupnet(mod.NetworkGroupnet(dns_servers=["10.0.0.54"], description="lab2"), gn)
    got = n.get_network_groupnet(gn).groupnets[0]
    assert got.dns_servers == ["10.0.0.54"] and got.description == "lab2"
    # Subnet, nested create; flat list.
    rng = mod.SubnetsSubnetPoolRange
    g.create_groupnet_subnet(mod.GroupnetSubnetCreateParams(
        name="sn1", addr_family="ipv4", prefixlen=24, gateway="10.5.0.1",
        sc_service_addrs=[rng(low="10.5.0.10", high="10.5.0.10")]), gn)
    with pytest.raises(mod.rest.ApiException) as e:
        g.create_groupnet_subnet(mod.GroupnetSubnetCreateParams(name="sn1", addr_family="ipv4", prefixlen=24), gn)
    assert status_of(e) == 409
    with pytest.raises(mod.rest.ApiException) as e:
        api.call_api("/platform/21/network/groupnets/%s/subnets" % gn, "POST",
                     body={"name": "sn2", "addr_family": "ipv4", "prefixlen": 33}, auth_settings=["basicAuth"])
    assert status_of(e) == 400 and "prefixlen" in json.loads(e.value.body)["errors"][0]["message"]
    g.update_groupnet_subnet(mod.GroupnetSubnet(mtu=9000, description="edge"), "sn1", gn)
    sub = g.get_groupnet_subnet("sn1", gn).subnets[0]
    assert sub.mtu == 9000 and sub.sc_service_addrs[0].low == "10.5.0.10"
    flat = n.get_network_subnets(groupnet=gn).subnets
    assert [x.id for x in flat] == [gn + ".sn1"] and flat[0].mtu == 9000
    assert gn + ".sn1" in [x.id for x in n.get_network_subnets(sort="id", dir="DESC").subnets]
    assert "groupnet0.subnet0" in [x.id for x in n.get_network_subnets().subnets]
    # Pool, nested create; flat list.
    pool = uniq("pool")
    r = g.create_subnets_subnet_pool(mod.SubnetsSubnetPoolCreateParams(
        name=pool, access_zone="finance", sc_dns_zone=pool + ".corp.example",
        ranges=[rng(low="10.5.0.20", high="10.5.0.29")]), gn, "sn1")
    assert r.id == "%s.sn1.%s" % (gn, pool)
    with pytest.raises(mod.rest.ApiException) as e:
        g.create_subnets_subnet_pool(mod.SubnetsSubnetPoolCreateParams(name=pool), gn, "sn1")
    assert status_of(e) == 409
    with pytest.raises(mod.rest.ApiException) as e:
        g.create_subnets_subnet_pool(mod.SubnetsSubnetPoolCreateParams(name=uniq("p"), access_zone="nope"), gn, "sn1")
    assert status_of(e) == 400 and "access_zone" in json.loads(e.value.body)["errors"][0]["message"]
    assert r.id in [p.id for p in n.get_network_pools(access_zone="finance").pools]
    assert g.get_subnets_subnet_pool(pool, gn, "sn1").pools[0].ranges[0].high == "10.5.0.29"
    # Deletes: a groupnet or subnet with contents is a conflict.
    with pytest.raises(mod.rest.ApiException) as e:
        n.delete_network_groupnet(gn)
    assert status_of(e) == 409
    with pytest.raises(mod.rest.ApiException) as e:
        g.delete_groupnet_subnet("sn1", gn)
    assert status_of(e) == 409
    g.delete_subnets_subnet_pool(pool, gn, "sn1")
    assert r.id not in [p.id for p in n.get_network_pools().pools]
    g.delete_groupnet_subnet("sn1", gn, force=True)
    assert n.get_network_subnets(groupnet=gn).subnets == []
    n.delete_network_groupnet(gn)
    with pytest.raises(mod.rest.ApiException) as e:
        n.get_network_groupnet(gn)
    assert status_of(e) == 404
    with pytest.raises(mod.rest.ApiException) as e:
        n.delete_network_groupnet("groupnet0")
    assert status_of(e) == 409


def test_ad_provider_spns(prod):
    mod, api = prod
    a = mod.AuthApi(api)
    ads = a.list_providers_ads().ads
    assert ads and ads[0].name == "CORP.EXAMPLE"
    pid = ads[0].id
    got = a.get_providers_ads_by_id(pid).ads[0]
    assert "HOST/finance" in got.recommended_spns
    a.update_providers_ads_by_id(mod.ProvidersAdsIdParams(spns=["HOST/finance", "HOST/finance.corp.example"]), pid)
    got = a.get_providers_ads_by_id(pid).ads[0]
    assert sorted(got.spns) == ["HOST/finance", "HOST/finance.corp.example"]
    dup = a.get_providers_ads_by_id(pid, check_duplicates=True).ads[0]
    assert dup.dup_spns == []
    a.update_providers_ads_by_id(mod.ProvidersAdsIdParams(spns=[]), pid)
    assert a.get_providers_ads_by_id(pid).ads[0].spns == []


def test_ad_provider_leave_and_join(dr):
    mod, api = dr
    a = mod.AuthApi(api)
    assert [x.name for x in a.list_providers_ads().ads] == ["CORP.EXAMPLE"]
    a.delete_providers_ads_by_id("CORP.EXAMPLE")
    assert a.list_providers_ads().ads == []
    with pytest.raises(mod.rest.ApiException) as e:
        a.get_providers_ads_by_id("CORP.EXAMPLE")
    assert status_of(e) == 404
    with pytest.raises(mod.rest.ApiException) as e:
        a.delete_providers_ads_by_id("CORP.EXAMPLE")
    assert status_of(e) == 404
    with pytest.raises(mod.rest.ApiException) as e:
        a.create_providers_ads_item(mod.ProvidersAdsItem(name="other.example", user="administrator", password="x"))
    assert status_of(e) == 400 and "name" in json.loads(e.value.body)["errors"][0]["message"]
    r = a.create_providers_ads_item(mod.ProvidersAdsItem(name="corp.example", user="administrator", password="x"))
    assert r.id == "CORP.EXAMPLE"
    with pytest.raises(mod.rest.ApiException) as e:
        a.create_providers_ads_item(mod.ProvidersAdsItem(name="corp.example", user="administrator", password="x"))
    assert status_of(e) == 409
    got = a.get_providers_ads_by_id("CORP.EXAMPLE").ads[0]
    assert got.machine_account == "DR$" and "HOST/dr" in got.recommended_spns


# ---------------------------------------------------------------- auth


def raw(cluster, method, path, headers=None, body=None):
    import os
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=os.environ["CONF_CA"])
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return http.request(method, url(cluster) + path, body=data, headers=h)


def test_session_login_csrf_logout(sdk):
    r = raw("prod", "POST", "/session/1/session",
            body={"username": PROD[0], "password": PROD[1], "services": ["platform", "namespace"]})
    assert r.status == 201
    cookies = r.headers.getlist("Set-Cookie")
    assert cookies[0].startswith("isisessid=") and cookies[1].startswith("isicsrf=")
    sess = cookies[0].split(";")[0]
    csrf = cookies[1].split(";")[0].split("=")[1]
    body = json.loads(r.data)
    assert body["timeout_absolute"] > 0 and body["username"] == "admin"
    assert raw("prod", "GET", "/platform/3/zones", {"Cookie": sess}).status == 200
    # A change without the CSRF header is refused; with it, accepted.
    upd = {"cache_entry_expiry": 3600}
    assert raw("prod", "PUT", "/platform/3/zones/finance", {"Cookie": sess}, upd).status == 401
    assert raw("prod", "PUT", "/platform/3/zones/finance",
               {"Cookie": sess, "X-CSRF-Token": csrf, "Origin": url("prod")}, upd).status == 204
    assert raw("prod", "DELETE", "/session/1/session/", {"Cookie": sess}).status == 204
    assert raw("prod", "GET", "/platform/3/zones", {"Cookie": sess}).status == 401
    bad = raw("prod", "POST", "/session/1/session", body={"username": "admin", "password": "wrong"})
    assert bad.status == 401


def test_sdk_session_and_logout(sdk):
    mod, api = make_client(sdk, "prod", PROD)
    mod.ClusterApi(api).get_cluster_identity()
    assert api.cookie and api.cookie.startswith("isisessid=") and api.x_csrf_token
    # The session alone (no Basic) authenticates.
    api.configuration.username = "nobody"
    api.configuration.password = "wrong"
    assert mod.ClusterApi(api).get_cluster_identity().name == "prod"


def test_roles(sdk):
    mod, api = make_client(sdk, "prod", AUDITOR)
    assert mod.ZonesApi(api).list_zones().zones
    with pytest.raises(mod.rest.ApiException) as e:
        mod.ZonesApi(api).update_zone(mod.Zone(cache_entry_expiry=3600), "finance")
    assert status_of(e) == 403
    for change in (
        lambda: mod.ClusterApi(api).update_cluster_identity(mod.ClusterIdentityExtended(description="x")),
        lambda: mod.SnapshotApi(api).delete_snapshot_schedules(),
        lambda: mod.NetworkApi(api).create_network_groupnet(mod.NetworkGroupnetCreateParams(name="ro")),
        lambda: mod.AuthApi(api).delete_providers_ads_by_id("CORP.EXAMPLE"),
        lambda: mod.SyncApi(api).delete_sync_jobs(),
    ):
        with pytest.raises(mod.rest.ApiException) as e:
            change()
        assert status_of(e) == 403
    mod, api = make_client(sdk, "prod", OPERATOR)
    assert mod.SyncApi(api).list_sync_policies().policies
    with pytest.raises(mod.rest.ApiException) as e:
        mod.ZonesApi(api).list_zones()
    assert status_of(e) == 403


def test_onefs_sdk_9_8_reads(sdk):
    """onefs-sdk-9-8-0-0 (a separately packaged 9.8 client) reads the same objects."""
    import os
    import onefs_sdk_9_8_0_0 as o
    cfg = o.Configuration(host=url("prod"), username=PROD[0], password=PROD[1], ssl_ca_cert=os.environ["CONF_CA"])
    with o.ApiClient(cfg) as api:
        assert o.ClusterApi(api).get_cluster_config().name == "prod"
        assert o.SyncApi(api).list_sync_policies().policies
        assert o.ProtocolsApi(api).list_smb_shares(zone="finance").shares
        assert o.QuotaApi(api).list_quota_quotas().quotas
        assert o.ZonesApi(api).list_zones().zones

import os,re,sys,importlib,json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from intro import analyze as _analyze
def analyze(pkg, cls):
    # intro.analyze keeps a list's allowed values under 'enum_items'; this script wants 'enum'.
    return {k: dict(v, enum=v['enum_items']) if 'enum_items' in v else v for k, v in _analyze(pkg, cls).items()}
RES = {
 'cluster_config': ['ClusterConfig'], 'cluster_identity': ['ClusterIdentity'],
 'sync_policy': ['SyncPoliciesExtended','SyncPolicies'], 'sync_job': ['SyncJobsExtended','SyncJobs'],
 'sync_report': ['SyncReportsExtended','SyncReports'], 'target_policy': ['TargetPoliciesExtended','TargetPolicies'],
 'sync_settings': ['SyncSettings'], 'smb_share': ['SmbSharesExtended','SmbShares'], 'smb_openfile': ['SmbOpenfiles'],
 'smb_settings': ['SmbSettingsGlobal'], 'nfs_settings': ['NfsSettingsGlobal'], 'nfs_export': ['NfsExportsExtended','NfsExports'],
 'nfs_alias': ['NfsAliasesExtended','NfsAliases'], 'quota': ['QuotaQuotasExtended','QuotaQuotas'],
 'snapshot_schedule': ['SnapshotSchedulesExtended','SnapshotSchedules'], 'dedupe_settings': ['DedupeSettings'],
 'zone': ['ZonesExtended','Zones'], 'groupnet': ['NetworkGroupnetsExtended','NetworkGroupnets'],
 'subnet': ['GroupnetSubnetsExtended','GroupnetSubnets'], 'pool': ['SubnetsSubnetPoolsExtended','SubnetsSubnetPools','NetworkPools'],
 'ads': ['ProvidersAdsExtended','ProvidersAds'],
}
TOP = {'cluster_config','cluster_identity'}
def value(pkg, name, info, conflicts, path):
    t = info['type']
    if 'enum' in info:
        return [info['enum'][0]] if t.startswith('list[') else info['enum'][0]
    if t == 'str':
        n = int(info.get('minlen', 0))
        return 'x'*n if n else ''
    if t == 'int': return max(0, int(info.get('min', 0)))
    if t == 'float': return 0.0
    if t == 'bool': return False
    if t.startswith('list['): return []
    if t.startswith('dict('): return {}
    if t == 'object': return {}
    return skeleton(pkg, t, conflicts, path)
def skeleton(pkg, cls, conflicts, path):
    r = analyze(pkg, cls)
    out = {}
    for k, info in r.items():
        if info.get('req'):
            out[k] = value(pkg, k, info, conflicts, path+'.'+k)
    return out
def merge(a, b, conflicts, path):
    for k, v in b.items():
        if k not in a: a[k] = v
        elif isinstance(a[k], dict) and isinstance(v, dict): merge(a[k], v, conflicts, path+'.'+k)
        elif type(a[k]) != type(v): conflicts.append((path+'.'+k, a[k], v))
    return a
pkgs = sys.argv[1:]
result = {}; conflicts=[]; enums={}
for res, tops in RES.items():
    acc = {}
    for pkg in pkgs:
        for top in tops:
            try: r = analyze(pkg, top)
            except AttributeError: continue
            if res in TOP:
                merge(acc, skeleton(pkg, top, conflicts, res), conflicts, res); continue
            for k, info in r.items():
                t = info['type']; inner = re.sub(r'^list\[(.*)\]$', r'\1', t)
                if inner[0].isupper():
                    merge(acc, skeleton(pkg, inner, conflicts, res), conflicts, res)
                    for kk, ii in analyze(pkg, inner).items():
                        if 'enum' in ii: enums.setdefault(res, {}).setdefault(kk, ii['enum'])
    result[res] = acc
json.dump({'required': result, 'enums': enums}, sys.stdout, indent=1, sort_keys=True)
print(file=sys.stderr); print('CONFLICTS', conflicts, file=sys.stderr)

# ---- full field tables: item models + create/update params
PARAMS = {
 'smb_share': ['SmbShareCreateParams','SmbShare'], 'nfs_export': ['NfsExportCreateParams','NfsExport'],
 'nfs_alias': ['NfsAliasCreateParams','NfsAlias'], 'quota': ['QuotaQuotaCreateParams','QuotaQuota'],
 'snapshot_schedule': ['SnapshotScheduleCreateParams','SnapshotSchedule'], 'dedupe_settings': ['DedupeSettingsExtended'],
 'zone': ['ZoneCreateParams','Zone'], 'groupnet': ['NetworkGroupnetCreateParams','NetworkGroupnet'],
 'subnet': ['GroupnetSubnetCreateParams','GroupnetSubnet'], 'pool': ['SubnetsSubnetPoolCreateParams','SubnetsSubnetPool'],
 'ads': ['ProvidersAdsItem','ProvidersAdsIdParams'], 'smb_settings': ['SmbSettingsGlobalExtended'], 'nfs_settings': ['NfsSettingsGlobalSettings'],
 'sync_settings': ['SyncSettingsExtended'], 'cluster_identity': ['ClusterIdentityExtended'],
}
def optval(info):
    t = info['type']
    if 'enum' in info: return [info['enum'][0]] if t.startswith('list[') else info['enum'][0]
    if t == 'str': return '' if int(info.get('minlen', 0)) == 0 and 'pattern' not in info else None
    if t == 'int': return max(0, int(info.get('min', 0)))
    if t == 'float': return 0.0
    if t == 'bool': return False
    if t.startswith('list['): return []
    if t.startswith('dict('): return {}
    return None
full = {}
for res, tops in RES.items():
    acc = {}
    items = []
    for pkg in pkgs:
        for top in tops:
            try: r = analyze(pkg, top)
            except AttributeError: continue
            if res in TOP: items.append((pkg, top)); continue
            for k, info in r.items():
                inner = re.sub(r'^list\[(.*)\]$', r'\1', info['type'])
                if inner[0].isupper(): items.append((pkg, inner))
    for pkg, cls in items:
        for k, info in analyze(pkg, cls).items():
            if k not in acc: acc[k] = optval(info)
            if 'enum' in info: enums.setdefault(res, {}).setdefault(k, info['enum'])
    for pkg in pkgs:
        for cls in PARAMS.get(res, []):
            try: r = analyze(pkg, cls)
            except AttributeError: continue
            for k, info in r.items():
                if k not in acc: acc[k] = None
                if 'enum' in info: enums.setdefault(res, {}).setdefault(k, info['enum'])
    for k, v in result[res].items(): acc[k] = v
    full[res] = acc
json.dump({'fields': full, 'enums': enums}, open('fields.json','w'), indent=1, sort_keys=True)

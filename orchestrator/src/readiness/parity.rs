//! Config parity drift (a readiness check): the SMB shares, NFS exports, NFS aliases and
//! quotas under a policy's path on the source, compared with what the target holds under
//! the policy's target path. A read-only comparison of two snapshots; it changes nothing.
//!
//! Drift is what a failover would silently change for users: a copy on the target whose
//! definition differs from the source's (path, permissions, export clients, quota
//! thresholds), or an object on the target under the path that the source does not have
//! (the target would serve it after the failover). Shares, exports and aliases the target
//! does not have yet are not drift: step 5 (`sync_config`) creates them; quotas are normally
//! absent on a SyncIQ target (PowerScale best practice) and step 12 creates them.

use std::collections::BTreeMap;

use crate::naming::{map_path, path_under};
use crate::papi::{NfsAlias, NfsExport, Quota, SmbPermission, SmbShare};

/// One side's configuration, every zone (each object with its zone name).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigSnapshot {
    pub shares: Vec<(String, SmbShare)>,
    pub exports: Vec<(String, NfsExport)>,
    pub aliases: Vec<(String, NfsAlias)>,
    pub quotas: Vec<Quota>,
}

/// What differs under one policy's paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Drift {
    /// Objects whose target copy differs, or that exist on the target only.
    pub differs: Vec<String>,
    /// Shares, exports and aliases not on the target yet (step 5 creates them).
    pub missing: Vec<String>,
}

/// How the comparison maps names and permissions.
#[derive(Debug, Clone)]
pub(crate) struct Mapping<'a> {
    pub source_path: &'a str,
    pub target_path: &'a str,
    /// A source share `X` may be `<prefix>X` on the target (the inactive copy of a DFS
    /// share, in DFS mode or inside a zone).
    pub dfs_prefix: Option<&'a str>,
    /// Original permissions of shares the data-integrity lock changed, by `zone/share`.
    pub saved_permissions: &'a BTreeMap<String, Vec<SmbPermission>>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// A share's permissions without the data-integrity lock's Deny-Everyone entry.
fn unlocked(p: &[SmbPermission]) -> Vec<SmbPermission> {
    p.iter()
        .filter(|x| !x.is_deny_everyone())
        .cloned()
        .collect()
}

fn persona(q: &Quota) -> String {
    q.persona
        .as_ref()
        .map(|p| p.to_string())
        .unwrap_or_default()
}

/// Compare `src` with `tgt` under the mapping's paths.
pub(crate) fn diff(src: &ConfigSnapshot, tgt: &ConfigSnapshot, m: &Mapping<'_>) -> Drift {
    let mut d = Drift::default();
    let under_src = |p: &str| path_under(p, m.source_path);
    let under_tgt = |p: &str| path_under(p, m.target_path);
    let to_tgt = |p: &str| map_path(p, m.source_path, m.target_path);

    // SMB shares, by zone and name.
    let mut matched: Vec<(String, String)> = Vec::new();
    for (zone, s) in src.shares.iter().filter(|(_, s)| under_src(&s.path)) {
        let Some(tpath) = to_tgt(&s.path) else {
            continue;
        };
        let mut names = vec![s.name.clone()];
        if let Some(prefix) = m.dfs_prefix {
            names.push(format!("{prefix}{}", s.name));
        }
        let t = tgt
            .shares
            .iter()
            .find(|(z, t)| z == zone && names.iter().any(|n| n.eq_ignore_ascii_case(&t.name)));
        let Some((_, t)) = t else {
            d.missing.push(format!("share {} (zone {zone})", s.name));
            continue;
        };
        matched.push((zone.clone(), t.name.to_ascii_lowercase()));
        if t.path != tpath {
            d.differs.push(format!(
                "share {} (zone {zone}): path {} on the target, {tpath} expected",
                t.name, t.path
            ));
        }
        let want = m
            .saved_permissions
            .get(&format!("{zone}/{}", s.name))
            .cloned()
            .unwrap_or_else(|| unlocked(&s.permissions));
        if unlocked(&t.permissions) != want {
            d.differs.push(format!(
                "share {} (zone {zone}): permissions differ from the source's",
                t.name
            ));
        }
    }
    for (zone, t) in tgt.shares.iter().filter(|(_, t)| under_tgt(&t.path)) {
        if !matched.contains(&(zone.clone(), t.name.to_ascii_lowercase())) {
            d.differs.push(format!(
                "share {} (zone {zone}) exists on the target only",
                t.name
            ));
        }
    }

    // NFS exports, by zone and path set.
    let mut matched: Vec<(String, Vec<String>)> = Vec::new();
    for (zone, e) in src
        .exports
        .iter()
        .filter(|(_, e)| !e.paths.is_empty() && e.paths.iter().all(|p| under_src(p)))
    {
        let tpaths: Vec<String> =
            sorted(&e.paths.iter().filter_map(|p| to_tgt(p)).collect::<Vec<_>>());
        let label = format!("export {} (zone {zone})", tpaths.join(","));
        let Some((_, t)) = tgt
            .exports
            .iter()
            .find(|(z, t)| z == zone && sorted(&t.paths) == tpaths)
        else {
            d.missing.push(label);
            continue;
        };
        matched.push((zone.clone(), tpaths.clone()));
        if sorted(&t.clients) != sorted(&e.clients)
            || sorted(&t.root_clients) != sorted(&e.root_clients)
            || t.read_only != e.read_only
        {
            d.differs.push(format!(
                "{label}: clients, root clients or read-only differ from the source's"
            ));
        }
    }
    for (zone, t) in tgt
        .exports
        .iter()
        .filter(|(_, t)| !t.paths.is_empty() && t.paths.iter().all(|p| under_tgt(p)))
    {
        if !matched.contains(&(zone.clone(), sorted(&t.paths))) {
            d.differs.push(format!(
                "export {} (zone {zone}) exists on the target only",
                sorted(&t.paths).join(",")
            ));
        }
    }

    // NFS aliases, by zone and name.
    let mut matched: Vec<(String, String)> = Vec::new();
    for (zone, a) in src.aliases.iter().filter(|(_, a)| under_src(&a.path)) {
        let Some(tpath) = to_tgt(&a.path) else {
            continue;
        };
        let Some((_, t)) = tgt
            .aliases
            .iter()
            .find(|(z, t)| z == zone && t.name == a.name)
        else {
            d.missing
                .push(format!("NFS alias {} (zone {zone})", a.name));
            continue;
        };
        matched.push((zone.clone(), t.name.clone()));
        if t.path != tpath {
            d.differs.push(format!(
                "NFS alias {} (zone {zone}): path {} on the target, {tpath} expected",
                a.name, t.path
            ));
        }
    }
    for (zone, t) in tgt.aliases.iter().filter(|(_, t)| under_tgt(&t.path)) {
        if !matched.contains(&(zone.clone(), t.name.clone())) {
            d.differs.push(format!(
                "NFS alias {} (zone {zone}) exists on the target only",
                t.name
            ));
        }
    }

    // Quotas, by path, type and persona. One missing on the target is expected.
    let mut matched: Vec<String> = Vec::new();
    for q in src.quotas.iter().filter(|q| under_src(&q.path)) {
        let Some(tpath) = to_tgt(&q.path) else {
            continue;
        };
        let Some(t) = tgt
            .quotas
            .iter()
            .find(|t| t.path == tpath && t.quota_type == q.quota_type && persona(t) == persona(q))
        else {
            continue;
        };
        matched.push(t.id.clone());
        if t.thresholds != q.thresholds {
            d.differs.push(format!(
                "{} quota on {tpath}: thresholds differ from the source's",
                q.quota_type
            ));
        }
    }
    for t in tgt.quotas.iter().filter(|t| under_tgt(&t.path)) {
        if !matched.contains(&t.id) {
            d.differs.push(format!(
                "{} quota on {} exists on the target only",
                t.quota_type, t.path
            ));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::papi::{QuotaThresholds, Trustee};

    fn share(name: &str, path: &str, perm: &str) -> (String, SmbShare) {
        (
            "finance".into(),
            SmbShare {
                name: name.into(),
                path: path.into(),
                permissions: vec![SmbPermission {
                    permission: perm.into(),
                    permission_type: "allow".into(),
                    trustee: Trustee {
                        id: "SID:S-1-5-32-545".into(),
                        name: None,
                        trustee_type: None,
                    },
                }],
                description: None,
            },
        )
    }

    fn quota(id: &str, path: &str, hard: u64) -> Quota {
        Quota {
            id: id.into(),
            path: path.into(),
            quota_type: "directory".into(),
            enforced: Some(true),
            include_snapshots: Some(false),
            thresholds: QuotaThresholds {
                hard: Some(hard),
                soft: None,
                advisory: None,
                soft_grace: None,
            },
            persona: None,
            ready: Some(true),
        }
    }

    fn mapping(saved: &BTreeMap<String, Vec<SmbPermission>>) -> Mapping<'_> {
        Mapping {
            source_path: "/ifs/finance",
            target_path: "/ifs/dr/finance",
            dfs_prefix: None,
            saved_permissions: saved,
        }
    }

    #[test]
    fn identical_copies_are_no_drift_and_absent_copies_are_only_missing() {
        let saved = BTreeMap::new();
        let src = ConfigSnapshot {
            shares: vec![share("ledger", "/ifs/finance/ledger", "full")],
            quotas: vec![quota("a", "/ifs/finance/ledger", 10)],
            ..Default::default()
        };
        let same = ConfigSnapshot {
            shares: vec![share("ledger", "/ifs/dr/finance/ledger", "full")],
            ..Default::default()
        };
        assert_eq!(diff(&src, &same, &mapping(&saved)), Drift::default());
        let empty = ConfigSnapshot::default();
        let d = diff(&src, &empty, &mapping(&saved));
        assert!(d.differs.is_empty(), "{d:?}");
        assert_eq!(d.missing, vec!["share ledger (zone finance)".to_string()]);
    }

    #[test]
    fn changed_permissions_paths_thresholds_and_extras_are_drift() {
        let saved = BTreeMap::new();
        let src = ConfigSnapshot {
            shares: vec![share("ledger", "/ifs/finance/ledger", "full")],
            quotas: vec![quota("a", "/ifs/finance/ledger", 10)],
            ..Default::default()
        };
        let tgt = ConfigSnapshot {
            shares: vec![
                share("ledger", "/ifs/dr/finance/other", "read"),
                share("stale", "/ifs/dr/finance/stale", "full"),
                // Outside the policy's target path: not compared.
                share("elsewhere", "/ifs/other", "full"),
            ],
            quotas: vec![
                quota("b", "/ifs/dr/finance/ledger", 20),
                quota("c", "/ifs/dr/finance/tmp", 5),
            ],
            ..Default::default()
        };
        let d = diff(&src, &tgt, &mapping(&saved));
        assert_eq!(
            d.differs,
            vec![
                "share ledger (zone finance): path /ifs/dr/finance/other on the target, /ifs/dr/finance/ledger expected".to_string(),
                "share ledger (zone finance): permissions differ from the source's".into(),
                "share stale (zone finance) exists on the target only".into(),
                "directory quota on /ifs/dr/finance/ledger: thresholds differ from the source's".into(),
                "directory quota on /ifs/dr/finance/tmp exists on the target only".into(),
            ]
        );
    }

    #[test]
    fn the_lock_and_dfs_names_are_not_drift() {
        // The data-integrity lock put Deny-Everyone on the source share; its original
        // permissions were saved. In DFS mode the target copy is `igls-dfs-ledger`.
        let (z, mut locked) = share("ledger", "/ifs/finance/ledger", "full");
        let original = locked.permissions.clone();
        locked.permissions = vec![SmbPermission::deny_everyone()];
        let mut saved = BTreeMap::new();
        saved.insert("finance/ledger".to_string(), original);
        let src = ConfigSnapshot {
            shares: vec![(z, locked)],
            ..Default::default()
        };
        let tgt = ConfigSnapshot {
            shares: vec![share("igls-dfs-ledger", "/ifs/dr/finance/ledger", "full")],
            ..Default::default()
        };
        let mut m = mapping(&saved);
        m.dfs_prefix = Some("igls-dfs-");
        assert_eq!(diff(&src, &tgt, &m), Drift::default());
    }

    #[test]
    fn exports_and_aliases_compare_by_mapped_path() {
        let saved = BTreeMap::new();
        let e = |paths: &[&str], clients: &[&str]| NfsExport {
            id: serde_json::json!(1),
            paths: paths.iter().map(|s| s.to_string()).collect(),
            clients: clients.iter().map(|s| s.to_string()).collect(),
            root_clients: vec![],
            read_only: false,
            zone: None,
            description: None,
        };
        let a = |name: &str, path: &str| NfsAlias {
            name: name.into(),
            path: path.into(),
            zone: None,
        };
        let z = |s: &str| s.to_string();
        let src = ConfigSnapshot {
            exports: vec![(z("finance"), e(&["/ifs/finance/batch"], &["10.9.0.0/16"]))],
            aliases: vec![(z("finance"), a("batch", "/ifs/finance/batch"))],
            ..Default::default()
        };
        let tgt = ConfigSnapshot {
            exports: vec![(z("finance"), e(&["/ifs/dr/finance/batch"], &["10.0.0.0/8"]))],
            aliases: vec![(z("finance"), a("batch", "/ifs/dr/finance/old"))],
            ..Default::default()
        };
        let d = diff(&src, &tgt, &mapping(&saved));
        assert_eq!(d.differs.len(), 2, "{d:?}");
        assert!(d.differs[0].starts_with("export /ifs/dr/finance/batch (zone finance): clients"));
        assert!(
            d.differs[1].starts_with("NFS alias batch (zone finance): path /ifs/dr/finance/old")
        );
    }
}

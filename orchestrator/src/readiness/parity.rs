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
use std::sync::OnceLock;

use crate::naming::{hits, map_path, order_by, path_under};
use crate::papi::{NfsAlias, NfsExport, Quota, SmbPermission, SmbShare};

/// One side's configuration, every zone (each object with its zone name).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigSnapshot {
    pub shares: Vec<(String, SmbShare)>,
    pub exports: Vec<(String, NfsExport)>,
    pub aliases: Vec<(String, NfsAlias)>,
    pub quotas: Vec<Quota>,
    /// The lookups [`diff`] makes, built on its first use (the snapshot is complete by
    /// then and not changed after): see [`SnapIndex`].
    pub(crate) index: OnceLock<SnapIndex>,
}

/// A snapshot's objects by path and by the keys [`diff`] matches them on.
///
/// Why: readiness compares each policy's part of one snapshot per cluster; scanning every
/// share, export, alias and quota of both sides for each policy (and every target object
/// for each source one) was two million comparisons at 1000 policies. Paths are range
/// queries as in [`crate::config_repl::model::PathIndex`] (the hits in snapshot order);
/// the keys map to the first object with that key, which is what the scans' `find` took.
#[derive(Debug, Clone, Default)]
pub(crate) struct SnapIndex {
    shares: Vec<usize>,
    /// By the first path; an export is under a tree only when all its paths are.
    exports: Vec<usize>,
    aliases: Vec<usize>,
    quotas: Vec<usize>,
    /// (zone, name in ASCII lower case): `eq_ignore_ascii_case` is equality of these.
    share_names: BTreeMap<(String, String), usize>,
    /// (zone, paths sorted).
    export_paths: BTreeMap<(String, Vec<String>), usize>,
    alias_names: BTreeMap<(String, String), usize>,
    /// Every quota of a path, in snapshot order.
    quota_paths: BTreeMap<String, Vec<usize>>,
}

fn first_path(e: &NfsExport) -> &str {
    e.paths.first().map_or("", String::as_str)
}

impl SnapIndex {
    fn new(c: &ConfigSnapshot) -> Self {
        let mut x = SnapIndex {
            shares: order_by(c.shares.len(), |i| &c.shares[i].1.path),
            exports: order_by(c.exports.len(), |i| first_path(&c.exports[i].1)),
            aliases: order_by(c.aliases.len(), |i| &c.aliases[i].1.path),
            quotas: order_by(c.quotas.len(), |i| &c.quotas[i].path),
            ..SnapIndex::default()
        };
        for (i, (z, s)) in c.shares.iter().enumerate() {
            x.share_names
                .entry((z.clone(), s.name.to_ascii_lowercase()))
                .or_insert(i);
        }
        for (i, (z, e)) in c.exports.iter().enumerate() {
            x.export_paths
                .entry((z.clone(), sorted(&e.paths)))
                .or_insert(i);
        }
        for (i, (z, a)) in c.aliases.iter().enumerate() {
            x.alias_names
                .entry((z.clone(), a.name.clone()))
                .or_insert(i);
        }
        for (i, q) in c.quotas.iter().enumerate() {
            x.quota_paths.entry(q.path.clone()).or_default().push(i);
        }
        x
    }
}

impl ConfigSnapshot {
    fn index(&self) -> &SnapIndex {
        self.index.get_or_init(|| SnapIndex::new(self))
    }

    /// Positions of the shares under `base`, in order.
    fn shares_under(&self, base: &str) -> Vec<usize> {
        hits(&self.index().shares, |i| &self.shares[i].1.path, base)
    }

    /// Positions of the exports with paths, all under `base`, in order.
    fn exports_under(&self, base: &str) -> Vec<usize> {
        hits(
            &self.index().exports,
            |i| first_path(&self.exports[i].1),
            base,
        )
        .into_iter()
        .filter(|i| {
            let e = &self.exports[*i].1;
            !e.paths.is_empty() && e.paths.iter().all(|p| path_under(p, base))
        })
        .collect()
    }

    fn aliases_under(&self, base: &str) -> Vec<usize> {
        hits(&self.index().aliases, |i| &self.aliases[i].1.path, base)
    }

    fn quotas_under(&self, base: &str) -> Vec<usize> {
        hits(&self.index().quotas, |i| &self.quotas[i].path, base)
    }
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
    let to_tgt = |p: &str| map_path(p, m.source_path, m.target_path);
    let ti = tgt.index();

    // SMB shares, by zone and name.
    let mut matched: Vec<(String, String)> = Vec::new();
    for (zone, s) in src
        .shares_under(m.source_path)
        .into_iter()
        .map(|i| &src.shares[i])
    {
        let Some(tpath) = to_tgt(&s.path) else {
            continue;
        };
        let mut names = vec![s.name.clone()];
        if let Some(prefix) = m.dfs_prefix {
            names.push(format!("{prefix}{}", s.name));
        }
        // The first target share of the zone with either name (as the scan's `find`).
        let t = names
            .iter()
            .filter_map(|n| ti.share_names.get(&(zone.clone(), n.to_ascii_lowercase())))
            .min()
            .map(|j| &tgt.shares[*j]);
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
    for (zone, t) in tgt
        .shares_under(m.target_path)
        .into_iter()
        .map(|i| &tgt.shares[i])
    {
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
        .exports_under(m.source_path)
        .into_iter()
        .map(|i| &src.exports[i])
    {
        let tpaths: Vec<String> =
            sorted(&e.paths.iter().filter_map(|p| to_tgt(p)).collect::<Vec<_>>());
        let label = format!("export {} (zone {zone})", tpaths.join(","));
        let Some((_, t)) = ti
            .export_paths
            .get(&(zone.clone(), tpaths.clone()))
            .map(|j| &tgt.exports[*j])
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
        .exports_under(m.target_path)
        .into_iter()
        .map(|i| &tgt.exports[i])
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
    for (zone, a) in src
        .aliases_under(m.source_path)
        .into_iter()
        .map(|i| &src.aliases[i])
    {
        let Some(tpath) = to_tgt(&a.path) else {
            continue;
        };
        let Some((_, t)) = ti
            .alias_names
            .get(&(zone.clone(), a.name.clone()))
            .map(|j| &tgt.aliases[*j])
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
    for (zone, t) in tgt
        .aliases_under(m.target_path)
        .into_iter()
        .map(|i| &tgt.aliases[i])
    {
        if !matched.contains(&(zone.clone(), t.name.clone())) {
            d.differs.push(format!(
                "NFS alias {} (zone {zone}) exists on the target only",
                t.name
            ));
        }
    }

    // Quotas, by path, type and persona. One missing on the target is expected.
    let mut matched: Vec<String> = Vec::new();
    for q in src
        .quotas_under(m.source_path)
        .into_iter()
        .map(|i| &src.quotas[i])
    {
        let Some(tpath) = to_tgt(&q.path) else {
            continue;
        };
        let Some(t) = ti
            .quota_paths
            .get(&tpath)
            .into_iter()
            .flatten()
            .map(|j| &tgt.quotas[*j])
            .find(|t| t.quota_type == q.quota_type && persona(t) == persona(q))
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
    for t in tgt
        .quotas_under(m.target_path)
        .into_iter()
        .map(|i| &tgt.quotas[i])
    {
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

    /// The scans the index replaced, kept as the reference.
    fn diff_scan(src: &ConfigSnapshot, tgt: &ConfigSnapshot, m: &Mapping<'_>) -> Drift {
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
            let Some(t) = tgt.quotas.iter().find(|t| {
                t.path == tpath && t.quota_type == q.quota_type && persona(t) == persona(q)
            }) else {
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

    fn arb_share() -> impl proptest::strategy::Strategy<Value = (String, SmbShare)> {
        use proptest::prelude::*;
        (
            prop_oneof![Just("z1"), Just("z2")],
            prop_oneof![Just("a"), Just("A"), Just("d-a"), Just("D-A"), Just("b")],
            arb_path(),
            prop_oneof![Just("full"), Just("read")],
        )
            .prop_map(|(z, n, p, perm)| {
                let (_, mut s) = share(n, &p, perm);
                s.name = n.to_string();
                (z.to_string(), s)
            })
    }

    fn arb_path() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            prop_oneof![
                Just("/ifs/finance"),
                Just("/ifs/dr/finance"),
                Just("/ifs/financ"),
                Just("/ifs/dr/finance-x"),
                Just("/ifs"),
            ],
            prop_oneof![Just(""), Just("/"), Just("/x"), Just("/x/y"), Just("//x")],
        )
            .prop_map(|(a, b)| format!("{a}{b}"))
    }

    proptest::proptest! {
        /// The indexed comparison reports what the scans reported, line for line.
        #[test]
        fn indexed_diff_agrees_with_the_scans(
            src_shares in proptest::collection::vec(arb_share(), 0..8),
            tgt_shares in proptest::collection::vec(arb_share(), 0..8),
            src_q in proptest::collection::vec((arb_path(), 1u64..3, proptest::prelude::any::<bool>()), 0..6),
            tgt_q in proptest::collection::vec((arb_path(), 1u64..3, proptest::prelude::any::<bool>()), 0..6),
            src_e in proptest::collection::vec((proptest::collection::vec(arb_path(), 0..3), 0usize..2), 0..5),
            tgt_e in proptest::collection::vec((proptest::collection::vec(arb_path(), 0..3), 0usize..2), 0..5),
            src_a in proptest::collection::vec((0usize..2, 0usize..3, arb_path()), 0..5),
            tgt_a in proptest::collection::vec((0usize..2, 0usize..3, arb_path()), 0..5),
            dfs in proptest::prelude::any::<bool>(),
        ) {
            let zones = ["z1", "z2"];
            let quotas = |v: &[(String, u64, bool)]| -> Vec<Quota> {
                v.iter().enumerate().map(|(i, (p, h, user))| {
                    let mut q = quota(&format!("q{i}"), p, *h);
                    if *user { q.quota_type = "user".into(); }
                    q
                }).collect()
            };
            let exports = |v: &[(Vec<String>, usize)]| -> Vec<(String, NfsExport)> {
                v.iter().map(|(ps, c)| (zones[*c % 2].to_string(), NfsExport {
                    id: serde_json::json!(1),
                    paths: ps.clone(),
                    clients: vec![["10.0.0.0/8", "10.9.0.0/16"][*c].to_string()],
                    root_clients: vec![],
                    read_only: false,
                    zone: None,
                    description: None,
                })).collect()
            };
            let aliases = |v: &[(usize, usize, String)]| -> Vec<(String, NfsAlias)> {
                v.iter().map(|(z, n, p)| (zones[*z].to_string(), NfsAlias {
                    name: ["a", "b", "c"][*n].into(),
                    path: p.clone(),
                    zone: None,
                })).collect()
            };
            let src = ConfigSnapshot {
                shares: src_shares,
                quotas: quotas(&src_q),
                exports: exports(&src_e),
                aliases: aliases(&src_a),
                ..Default::default()
            };
            let tgt = ConfigSnapshot {
                shares: tgt_shares,
                quotas: quotas(&tgt_q),
                exports: exports(&tgt_e),
                aliases: aliases(&tgt_a),
                ..Default::default()
            };
            let saved = BTreeMap::new();
            let mut m = mapping(&saved);
            if dfs {
                m.dfs_prefix = Some("d-");
            }
            proptest::prop_assert_eq!(diff(&src, &tgt, &m), diff_scan(&src, &tgt, &m));
        }
    }
}

//! What a job run must change on the target so its configuration under the policy's target
//! path matches the source's under the source path: pure, so every rule (path mapping, DFS
//! naming, create/update/delete per object type) is unit-tested without a cluster.
//!
//! Identity per type: shares by zone and name (in DFS mode the name without the
//! `igls-dfs-` prefix, so `X` on the source is `igls-dfs-X` — or, after a DFS cut-over,
//! `X` — on the target), exports by zone and their set of paths, aliases by zone and name,
//! quotas by path, type and persona, snapshot schedules by name, dedupe paths by path.
//! A target object under the target path with no source counterpart is deleted: the source
//! is the job's truth (its definition is recorded before it goes, S1).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::model::{ConfigSet, ShareDef};
use crate::naming::{map_path, path_under};

/// How source objects land on the target.
#[derive(Debug, Clone, Copy)]
pub struct Mapping<'a> {
    /// The policy's source path.
    pub from: &'a str,
    /// The policy's target path.
    pub to: &'a str,
    /// DFS mode: the prefix of the target's inactive share copies (`igls-dfs-`); a share
    /// the target lacks is created inactive, under this name.
    pub dfs_prefix: Option<&'a str>,
    /// In any mode, the prefix by which an inactive DFS copy already on the target is
    /// recognised as the copy of the source's `X` (and kept under its name): a zone's DFS
    /// shares (seed Access Zone step 6) are switched by `dfs_rename_shares`, so activating
    /// a second `X` here would give a DFS namespace two writable targets.
    pub inactive_prefix: Option<&'a str>,
}

/// Create, update or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Delete,
}

/// One change on the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `smb_share`, `nfs_export`, `nfs_alias`, `quota`, `snapshot_schedule`, `dedupe_path`.
    pub kind: String,
    pub op: Op,
    /// The access zone (shares, exports, aliases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// How the target addresses the object: share/alias/schedule name, export/quota id,
    /// the dedupe path.
    pub key: String,
    /// Its path on the target (exports: the first of their paths).
    pub path: String,
    /// The PAPI body to send (create/update).
    pub body: Value,
    /// The target's definition before an update or delete (recorded first: S1).
    #[serde(default)]
    pub before: Value,
}

impl Change {
    /// What the change is about to do, e.g. `create smb share X (zone System)`.
    pub fn intent(&self) -> String {
        let op = match self.op {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        };
        let what = self.kind.replace('_', " ");
        match &self.zone {
            Some(z) => format!("{op} {what} {} (zone {z})", self.key),
            None => format!("{op} {what} {}", self.key),
        }
    }

    /// One line for reports and logs.
    pub fn label(&self) -> String {
        let op = match self.op {
            Op::Create => "created",
            Op::Update => "updated",
            Op::Delete => "deleted",
        };
        let what = self.kind.replace('_', " ");
        match &self.zone {
            Some(z) => format!("{what} {} (zone {z}) {op}", self.key),
            None => format!("{what} {} {op}", self.key),
        }
    }
}

/// Changes per object type and operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
}

/// Count `changes` per object type.
pub fn count(changes: &[Change]) -> BTreeMap<String, Counts> {
    let mut m: BTreeMap<String, Counts> = BTreeMap::new();
    for c in changes {
        let e = m.entry(c.kind.clone()).or_default();
        match c.op {
            Op::Create => e.created += 1,
            Op::Update => e.updated += 1,
            Op::Delete => e.deleted += 1,
        }
    }
    m
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn map_all(paths: &[String], m: &Mapping<'_>) -> Option<Vec<String>> {
    let mut v = paths
        .iter()
        .map(|p| map_path(p, m.from, m.to))
        .collect::<Option<Vec<_>>>()?;
    v.sort();
    Some(v)
}

fn share_key(name: &str, m: &Mapping<'_>) -> String {
    let n = name.to_ascii_lowercase();
    match m.dfs_prefix.or(m.inactive_prefix) {
        Some(p) => n
            .strip_prefix(&p.to_ascii_lowercase())
            .map(str::to_string)
            .unwrap_or(n),
        None => n,
    }
}

fn share_body(s: &ShareDef, name: Option<&str>, path: &str) -> Value {
    let mut body = json!({"path": path, "permissions": s.permissions});
    if let Some(n) = name {
        body["name"] = json!(n);
    }
    for (k, v) in &s.fields {
        body[k] = v.clone();
    }
    body
}

/// The changes that make `tgt` (read under `m.to`) match `src` (read under `m.from`).
pub fn plan(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>) -> Vec<Change> {
    let mut out = Vec::new();
    shares(src, tgt, m, &mut out);
    exports(src, tgt, m, &mut out);
    aliases(src, tgt, m, &mut out);
    quotas(src, tgt, m, &mut out);
    schedules(src, tgt, m, &mut out);
    dedupe(src, tgt, m, &mut out);
    out
}

fn shares(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let mut matched = vec![false; tgt.shares.len()];
    for s in &src.shares {
        let Some(tpath) = map_path(&s.path, m.from, m.to) else {
            continue;
        };
        let key = share_key(&s.name, m);
        let found = tgt
            .shares
            .iter()
            .enumerate()
            .find(|(i, t)| !matched[*i] && t.zone == s.zone && share_key(&t.name, m) == key);
        match found {
            Some((i, t)) => {
                matched[i] = true;
                let fields_same = s.fields.iter().all(|(k, v)| t.fields.get(k) == Some(v));
                if t.path != tpath || t.permissions != s.permissions || !fields_same {
                    out.push(Change {
                        kind: "smb_share".into(),
                        op: Op::Update,
                        zone: Some(s.zone.clone()),
                        key: t.name.clone(),
                        path: tpath.clone(),
                        body: share_body(s, None, &tpath),
                        before: json!(t),
                    });
                }
            }
            None => {
                // DFS mode: the target's copy is the inactive `igls-dfs-X` until step 6
                // renames it (DFS clients take the first referral target whose share
                // exists, so the target must not offer `X` before the cut-over).
                let name = match m.dfs_prefix {
                    Some(p) => format!("{p}{}", s.name),
                    None => s.name.clone(),
                };
                out.push(Change {
                    kind: "smb_share".into(),
                    op: Op::Create,
                    zone: Some(s.zone.clone()),
                    key: name.clone(),
                    path: tpath.clone(),
                    body: share_body(s, Some(&name), &tpath),
                    before: Value::Null,
                });
            }
        }
    }
    for (t, _) in tgt.shares.iter().zip(&matched).filter(|(_, m)| !**m) {
        if !path_under(&t.path, m.to) {
            continue;
        }
        out.push(Change {
            kind: "smb_share".into(),
            op: Op::Delete,
            zone: Some(t.zone.clone()),
            key: t.name.clone(),
            path: t.path.clone(),
            body: Value::Null,
            before: json!(t),
        });
    }
}

fn exports(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let mut matched = vec![false; tgt.exports.len()];
    for e in &src.exports {
        let Some(tpaths) = map_all(&e.paths, m) else {
            continue;
        };
        let mut body = json!({
            "clients": e.clients,
            "root_clients": e.root_clients,
            "read_only": e.read_only,
        });
        if let Some(d) = &e.description {
            body["description"] = json!(d);
        }
        let found = tgt
            .exports
            .iter()
            .enumerate()
            .find(|(i, t)| !matched[*i] && t.zone == e.zone && sorted(&t.paths) == tpaths);
        match found {
            Some((i, t)) => {
                matched[i] = true;
                let same = sorted(&t.clients) == sorted(&e.clients)
                    && sorted(&t.root_clients) == sorted(&e.root_clients)
                    && t.read_only == e.read_only
                    && (e.description.is_none() || t.description == e.description);
                if !same {
                    out.push(Change {
                        kind: "nfs_export".into(),
                        op: Op::Update,
                        zone: Some(e.zone.clone()),
                        key: t.id.clone(),
                        path: tpaths[0].clone(),
                        body,
                        before: json!(t),
                    });
                }
            }
            None => {
                body["paths"] = json!(tpaths);
                out.push(Change {
                    kind: "nfs_export".into(),
                    op: Op::Create,
                    zone: Some(e.zone.clone()),
                    key: tpaths.join(","),
                    path: tpaths[0].clone(),
                    body,
                    before: Value::Null,
                });
            }
        }
    }
    for (t, _) in tgt.exports.iter().zip(&matched).filter(|(_, m)| !**m) {
        out.push(Change {
            kind: "nfs_export".into(),
            op: Op::Delete,
            zone: Some(t.zone.clone()),
            key: t.id.clone(),
            path: t.paths.first().cloned().unwrap_or_default(),
            body: Value::Null,
            before: json!(t),
        });
    }
}

fn aliases(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let mut matched = vec![false; tgt.aliases.len()];
    for a in &src.aliases {
        let Some(tpath) = map_path(&a.path, m.from, m.to) else {
            continue;
        };
        let found = tgt.aliases.iter().enumerate().find(|(i, t)| {
            !matched[*i] && t.zone == a.zone && t.name.eq_ignore_ascii_case(&a.name)
        });
        match found {
            Some((i, t)) => {
                matched[i] = true;
                if t.path != tpath {
                    out.push(Change {
                        kind: "nfs_alias".into(),
                        op: Op::Update,
                        zone: Some(a.zone.clone()),
                        key: t.name.clone(),
                        path: tpath.clone(),
                        body: json!({"path": tpath}),
                        before: json!(t),
                    });
                }
            }
            None => out.push(Change {
                kind: "nfs_alias".into(),
                op: Op::Create,
                zone: Some(a.zone.clone()),
                key: a.name.clone(),
                path: tpath.clone(),
                body: json!({"name": a.name, "path": tpath}),
                before: Value::Null,
            }),
        }
    }
    for (t, _) in tgt.aliases.iter().zip(&matched).filter(|(_, m)| !**m) {
        out.push(Change {
            kind: "nfs_alias".into(),
            op: Op::Delete,
            zone: Some(t.zone.clone()),
            key: t.name.clone(),
            path: t.path.clone(),
            body: Value::Null,
            before: json!(t),
        });
    }
}

fn quotas(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let mut matched = vec![false; tgt.quotas.len()];
    for q in &src.quotas {
        let Some(tpath) = map_path(&q.path, m.from, m.to) else {
            continue;
        };
        let found = tgt.quotas.iter().enumerate().find(|(i, t)| {
            !matched[*i]
                && t.path == tpath
                && t.quota_type == q.quota_type
                && t.persona == q.persona
        });
        let mut body = json!({"thresholds": q.thresholds});
        if let Some(e) = q.enforced {
            body["enforced"] = json!(e);
        }
        match found {
            Some((i, t)) => {
                matched[i] = true;
                if t.thresholds != q.thresholds
                    || (q.enforced.is_some() && t.enforced != q.enforced)
                {
                    out.push(Change {
                        kind: "quota".into(),
                        op: Op::Update,
                        zone: None,
                        key: t.id.clone(),
                        path: tpath.clone(),
                        body,
                        before: json!(t),
                    });
                }
            }
            None => {
                body["path"] = json!(tpath);
                body["type"] = json!(q.quota_type);
                body["include_snapshots"] = json!(q.include_snapshots.unwrap_or(false));
                if let Some(p) = &q.persona {
                    body["persona"] = p.clone();
                }
                out.push(Change {
                    kind: "quota".into(),
                    op: Op::Create,
                    zone: None,
                    key: format!("{} {tpath}", q.quota_type),
                    path: tpath.clone(),
                    body,
                    before: Value::Null,
                });
            }
        }
    }
    for (t, _) in tgt.quotas.iter().zip(&matched).filter(|(_, m)| !**m) {
        out.push(Change {
            kind: "quota".into(),
            op: Op::Delete,
            zone: None,
            key: t.id.clone(),
            path: t.path.clone(),
            body: Value::Null,
            before: json!(t),
        });
    }
}

fn schedules(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let mut matched = vec![false; tgt.schedules.len()];
    for s in &src.schedules {
        let Some(tpath) = map_path(&s.path, m.from, m.to) else {
            continue;
        };
        let mut body = json!({"path": tpath, "schedule": s.schedule, "pattern": s.pattern});
        if let Some(d) = s.duration {
            body["duration"] = json!(d);
        }
        if let Some(a) = &s.alias {
            body["alias"] = json!(a);
        }
        let found = tgt
            .schedules
            .iter()
            .enumerate()
            .find(|(i, t)| !matched[*i] && t.name.eq_ignore_ascii_case(&s.name));
        match found {
            Some((i, t)) => {
                matched[i] = true;
                let same = t.path == tpath
                    && t.schedule == s.schedule
                    && t.pattern == s.pattern
                    && t.duration == s.duration
                    && t.alias == s.alias;
                if !same {
                    out.push(Change {
                        kind: "snapshot_schedule".into(),
                        op: Op::Update,
                        zone: None,
                        key: if t.id.is_empty() {
                            t.name.clone()
                        } else {
                            t.id.clone()
                        },
                        path: tpath.clone(),
                        body,
                        before: json!(t),
                    });
                }
            }
            None => {
                body["name"] = json!(s.name);
                out.push(Change {
                    kind: "snapshot_schedule".into(),
                    op: Op::Create,
                    zone: None,
                    key: s.name.clone(),
                    path: tpath.clone(),
                    body,
                    before: Value::Null,
                });
            }
        }
    }
    for (t, _) in tgt.schedules.iter().zip(&matched).filter(|(_, m)| !**m) {
        out.push(Change {
            kind: "snapshot_schedule".into(),
            op: Op::Delete,
            zone: None,
            key: if t.id.is_empty() {
                t.name.clone()
            } else {
                t.id.clone()
            },
            path: t.path.clone(),
            body: Value::Null,
            before: json!(t),
        });
    }
}

fn dedupe(src: &ConfigSet, tgt: &ConfigSet, m: &Mapping<'_>, out: &mut Vec<Change>) {
    let want: Vec<String> = src
        .dedupe_paths
        .iter()
        .filter_map(|p| map_path(p, m.from, m.to))
        .collect();
    for p in &want {
        if !tgt.dedupe_paths.contains(p) {
            out.push(Change {
                kind: "dedupe_path".into(),
                op: Op::Create,
                zone: None,
                key: p.clone(),
                path: p.clone(),
                body: json!({"path": p}),
                before: Value::Null,
            });
        }
    }
    for p in &tgt.dedupe_paths {
        if !want.contains(p) {
            out.push(Change {
                kind: "dedupe_path".into(),
                op: Op::Delete,
                zone: None,
                key: p.clone(),
                path: p.clone(),
                body: Value::Null,
                before: json!({"path": p}),
            });
        }
    }
}

/// The target's whole dedupe list after `changes` (PAPI replaces the list, so paths outside
/// the policy's tree are kept as they are).
pub fn dedupe_list_after(tgt: &ConfigSet, changes: &[Change]) -> Option<Vec<String>> {
    let ds: Vec<&Change> = changes.iter().filter(|c| c.kind == "dedupe_path").collect();
    if ds.is_empty() {
        return None;
    }
    let mut list: Vec<String> = tgt
        .dedupe_all
        .iter()
        .filter(|p| !ds.iter().any(|c| c.op == Op::Delete && &&c.path == p))
        .cloned()
        .collect();
    for c in ds.iter().filter(|c| c.op == Op::Create) {
        if !list.contains(&c.path) {
            list.push(c.path.clone());
        }
    }
    Some(list)
}

#[cfg(test)]
mod tests {
    use super::super::model::*;
    use super::*;
    use crate::papi::{QuotaThresholds, SmbPermission, Trustee};

    fn perm(user: &str) -> SmbPermission {
        SmbPermission {
            permission: "full".into(),
            permission_type: "allow".into(),
            trustee: Trustee {
                id: format!("UID:{user}"),
                name: None,
                trustee_type: None,
            },
        }
    }

    fn share(zone: &str, name: &str, path: &str, who: &str) -> ShareDef {
        ShareDef {
            zone: zone.into(),
            name: name.into(),
            path: path.into(),
            permissions: vec![perm(who)],
            fields: BTreeMap::new(),
        }
    }

    fn m<'a>(dfs: Option<&'a str>) -> Mapping<'a> {
        Mapping {
            from: "/ifs/src/eng",
            to: "/ifs/dr/eng",
            dfs_prefix: dfs,
            inactive_prefix: None,
        }
    }

    fn ops(c: &[Change]) -> Vec<(String, Op, String)> {
        c.iter()
            .map(|c| (c.kind.clone(), c.op, c.key.clone()))
            .collect()
    }

    #[test]
    fn shares_create_update_delete_with_mapped_paths() {
        let src = ConfigSet {
            shares: vec![
                share("System", "eng", "/ifs/src/eng", "alice"),
                share("System", "tools", "/ifs/src/eng/tools", "bob"),
            ],
            ..ConfigSet::default()
        };
        let tgt = ConfigSet {
            shares: vec![
                share("System", "tools", "/ifs/dr/eng/tools", "carol"),
                share("System", "old", "/ifs/dr/eng/old", "bob"),
            ],
            ..ConfigSet::default()
        };
        let c = plan(&src, &tgt, &m(None));
        assert_eq!(
            ops(&c),
            vec![
                ("smb_share".into(), Op::Create, "eng".into()),
                ("smb_share".into(), Op::Update, "tools".into()),
                ("smb_share".into(), Op::Delete, "old".into()),
            ]
        );
        assert_eq!(c[0].body["path"], "/ifs/dr/eng");
        assert_eq!(c[0].body["permissions"][0]["trustee"]["id"], "UID:alice");
        assert_eq!(c[1].body["permissions"][0]["trustee"]["id"], "UID:bob");
        assert_eq!(c[2].before["name"], "old");
        // Applied, nothing is left to do.
        let after = ConfigSet {
            shares: vec![
                share("System", "eng", "/ifs/dr/eng", "alice"),
                share("System", "tools", "/ifs/dr/eng/tools", "bob"),
            ],
            ..ConfigSet::default()
        };
        assert!(plan(&src, &after, &m(None)).is_empty());
    }

    #[test]
    fn dfs_mode_names_the_target_copy_igls_dfs_and_accepts_the_renamed_one() {
        let src = ConfigSet {
            shares: vec![share("System", "eng", "/ifs/src/eng", "alice")],
            ..ConfigSet::default()
        };
        let c = plan(&src, &ConfigSet::default(), &m(Some("igls-dfs-")));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].key, "igls-dfs-eng");
        assert_eq!(c[0].body["name"], "igls-dfs-eng");
        // The inactive copy, or the copy already renamed to X by a cut-over: both match.
        for name in ["igls-dfs-eng", "eng"] {
            let tgt = ConfigSet {
                shares: vec![share("System", name, "/ifs/dr/eng", "alice")],
                ..ConfigSet::default()
            };
            assert!(plan(&src, &tgt, &m(Some("igls-dfs-"))).is_empty(), "{name}");
        }
        // Another zone is another share.
        let tgt = ConfigSet {
            shares: vec![share("Other", "igls-dfs-eng", "/ifs/dr/eng", "alice")],
            ..ConfigSet::default()
        };
        let c = plan(&src, &tgt, &m(Some("igls-dfs-")));
        assert_eq!(
            ops(&c),
            vec![
                ("smb_share".into(), Op::Create, "igls-dfs-eng".into()),
                ("smb_share".into(), Op::Delete, "igls-dfs-eng".into()),
            ]
        );
    }

    #[test]
    fn exports_aliases_quotas_schedules_dedupe() {
        let src = ConfigSet {
            exports: vec![ExportDef {
                zone: "System".into(),
                id: "7".into(),
                paths: vec!["/ifs/src/eng".into()],
                clients: vec!["10.0.0.1".into()],
                root_clients: vec![],
                read_only: false,
                description: None,
            }],
            aliases: vec![AliasDef {
                zone: "System".into(),
                name: "/eng".into(),
                path: "/ifs/src/eng".into(),
            }],
            quotas: vec![QuotaDef {
                id: "q1".into(),
                path: "/ifs/src/eng".into(),
                quota_type: "directory".into(),
                persona: None,
                thresholds: QuotaThresholds {
                    hard: Some(100),
                    soft: None,
                    advisory: None,
                    soft_grace: None,
                },
                enforced: Some(true),
                include_snapshots: Some(false),
            }],
            schedules: vec![ScheduleDef {
                id: "1".into(),
                name: "eng-hourly".into(),
                path: "/ifs/src/eng".into(),
                schedule: "every 1 hours".into(),
                pattern: "eng-%Y".into(),
                duration: Some(86_400),
                alias: None,
            }],
            dedupe_paths: vec!["/ifs/src/eng/builds".into()],
            ..ConfigSet::default()
        };
        let tgt = ConfigSet {
            exports: vec![ExportDef {
                zone: "System".into(),
                id: "3".into(),
                paths: vec!["/ifs/dr/eng".into()],
                clients: vec!["10.0.0.9".into()],
                root_clients: vec![],
                read_only: false,
                description: None,
            }],
            aliases: vec![AliasDef {
                zone: "System".into(),
                name: "/gone".into(),
                path: "/ifs/dr/eng/x".into(),
            }],
            quotas: vec![QuotaDef {
                id: "t9".into(),
                path: "/ifs/dr/eng".into(),
                quota_type: "directory".into(),
                persona: None,
                thresholds: QuotaThresholds {
                    hard: Some(50),
                    soft: None,
                    advisory: None,
                    soft_grace: None,
                },
                enforced: Some(true),
                include_snapshots: Some(false),
            }],
            schedules: vec![ScheduleDef {
                id: "4".into(),
                name: "old".into(),
                path: "/ifs/dr/eng".into(),
                schedule: "every 1 days".into(),
                pattern: "x".into(),
                duration: None,
                alias: None,
            }],
            dedupe_paths: vec!["/ifs/dr/eng/stale".into()],
            dedupe_all: vec!["/ifs/other".into(), "/ifs/dr/eng/stale".into()],
            ..ConfigSet::default()
        };
        let c = plan(&src, &tgt, &m(None));
        assert_eq!(
            ops(&c),
            vec![
                ("nfs_export".into(), Op::Update, "3".into()),
                ("nfs_alias".into(), Op::Create, "/eng".into()),
                ("nfs_alias".into(), Op::Delete, "/gone".into()),
                ("quota".into(), Op::Update, "t9".into()),
                ("snapshot_schedule".into(), Op::Create, "eng-hourly".into()),
                ("snapshot_schedule".into(), Op::Delete, "4".into()),
                (
                    "dedupe_path".into(),
                    Op::Create,
                    "/ifs/dr/eng/builds".into()
                ),
                ("dedupe_path".into(), Op::Delete, "/ifs/dr/eng/stale".into()),
            ]
        );
        assert_eq!(c[0].body["clients"][0], "10.0.0.1");
        assert_eq!(c[1].body["path"], "/ifs/dr/eng");
        assert_eq!(c[3].body["thresholds"]["hard"], 100);
        assert_eq!(c[4].body["path"], "/ifs/dr/eng");
        assert_eq!(c[4].body["duration"], 86_400);
        assert_eq!(
            dedupe_list_after(&tgt, &c),
            Some(vec![
                "/ifs/other".to_string(),
                "/ifs/dr/eng/builds".to_string()
            ])
        );
        let n = count(&c);
        assert_eq!(n["snapshot_schedule"].created, 1);
        assert_eq!(n["snapshot_schedule"].deleted, 1);
        assert_eq!(n["quota"].updated, 1);
        // An export missing on the target is created with its mapped paths.
        let c = plan(&src, &ConfigSet::default(), &m(None));
        assert_eq!(c[0].op, Op::Create);
        assert_eq!(c[0].body["paths"][0], "/ifs/dr/eng");
        assert_eq!(c.iter().filter(|c| c.kind == "quota").count(), 1);
    }
}

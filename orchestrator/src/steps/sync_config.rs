//! Step 5, `sync_config`: replicate the configuration under a policy's path from source to
//! target — SMB shares (with their original permissions, never the data-integrity lock),
//! NFS exports and NFS aliases — into the same-named access zone on the target, and reads
//! the copies back (a cluster that acknowledged a write it did not keep fails the step, so
//! the policy's DFS rename and cut-over do not go ahead without them).
//!
//! In DFS mode a share `X` is created on the target as `igls-dfs-X` (the inactive copy):
//! DFS clients use the first referral target whose share exists, so the target must not
//! offer `X` until step 6 renames it.

use crate::ctx::{RunCtx, StepDone, StepError};
use serde_json::{json, Value};

use crate::papi::SmbPermission;
use crate::plan::StepInstance;
use crate::run_spec::Mode;

use super::policy_shares;
use crate::naming::{map_path, path_under};

/// Share fields copied as they are (ids and zone ids are the target's own).
const SHARE_FIELDS: [&str; 8] = [
    "description",
    "browsable",
    "access_based_enumeration",
    "ca_timeout",
    "continuously_available",
    "file_create_mask",
    "directory_create_mask",
    "oplocks",
];

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let p = ctx
        .plan
        .policies
        .iter()
        .find(|x| x.name == policy)
        .ok_or_else(|| StepError::Failed(format!("policy {policy} is not in the plan")))?;
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let from = &ctx.plan.spec.from;
    let to = &ctx.plan.spec.to;
    let dfs = ctx.plan.spec.mode == Mode::Dfs;
    let prefix = &ctx.plan.spec.options.naming.dfs_prefix;
    let mut changes = Vec::new();
    // What the target must hold afterwards, read back at the end (a cluster may acknowledge
    // a write it does not keep): the DFS rename and the cut-over rely on these copies.
    let mut want_shares: Vec<(String, String, String)> = Vec::new();
    let mut want_exports: Vec<(String, Vec<String>)> = Vec::new();
    let mut want_aliases: Vec<(String, String)> = Vec::new();

    // SMB shares.
    let shares = policy_shares(ctx, inst, &src).await?;
    let saved = ctx.with_state(|s| s.saved_share_permissions.clone());
    for (zone, share) in &shares {
        if ctx.inventory.zone(to, zone).is_none() {
            return Err(StepError::Failed(format!(
                "share {} is in zone {zone}, which does not exist on {to}",
                share.name
            )));
        }
        let Some(tpath) = map_path(&share.path, &p.source_path, &p.target_path) else {
            continue;
        };
        let perms: Vec<SmbPermission> = saved
            .get(&format!("{zone}/{}", share.name))
            .cloned()
            .unwrap_or_else(|| {
                share
                    .permissions
                    .iter()
                    .filter(|x| !x.is_deny_everyone())
                    .cloned()
                    .collect()
            });
        let existing = tgt.smb_shares(zone).await?;
        // In zone modes a DFS share of the zone is one whose target copy is the inactive
        // `igls-dfs-X` (seed step 6's note): it stays inactive until `dfs_rename_shares`.
        let zone_dfs = matches!(ctx.plan.spec.mode, Mode::AccessZone | Mode::IpPool)
            && existing
                .iter()
                .any(|s| s.name == format!("{prefix}{}", share.name));
        // After a DFS failover the target's copy is already called X.
        let name = if (dfs || zone_dfs) && !existing.iter().any(|s| s.name == share.name) {
            format!("{prefix}{}", share.name)
        } else {
            share.name.clone()
        };
        want_shares.push((zone.clone(), name.clone(), tpath.clone()));
        match existing.iter().find(|s| s.name == name) {
            Some(t) if t.path == tpath && t.permissions == perms => {}
            Some(_) => {
                tgt.update_smb_share(zone, &name, &json!({"path": tpath, "permissions": perms}))
                    .await?;
                changes.push(format!("share {name} updated"));
            }
            None => {
                let raw = src.smb_shares_raw(zone).await?;
                let mut body = json!({"name": name, "path": tpath, "permissions": perms});
                if let Some(orig) = raw.iter().find(|r| r["name"] == share.name.as_str()) {
                    for f in SHARE_FIELDS {
                        if let Some(v) = orig.get(f) {
                            if !v.is_null() {
                                body[f] = v.clone();
                            }
                        }
                    }
                }
                tgt.create_in_zone("smb/shares", zone, &body).await?;
                changes.push(format!("share {name} created"));
            }
        }
    }

    // NFS exports and aliases, zone by zone.
    let zones = ctx.inventory.zones.get(from).cloned().unwrap_or_default();
    for z in zones {
        if ctx.inventory.zone(to, &z.name).is_none() {
            continue;
        }
        for e in src.nfs_exports(&z.name).await? {
            if !e.paths.iter().all(|x| path_under(x, &p.source_path)) {
                continue;
            }
            let tpaths: Vec<String> = e
                .paths
                .iter()
                .filter_map(|x| map_path(x, &p.source_path, &p.target_path))
                .collect();
            want_exports.push((z.name.clone(), tpaths.clone()));
            let existing = tgt.nfs_exports(&z.name).await?;
            if existing.iter().any(|t| same_set(&t.paths, &tpaths)) {
                continue;
            }
            let mut body = json!({
                "paths": tpaths,
                "clients": e.clients,
                "root_clients": e.root_clients,
                "read_only": e.read_only,
            });
            if let Some(d) = &e.description {
                body["description"] = Value::String(d.clone());
            }
            tgt.create_in_zone("nfs/exports", &z.name, &body).await?;
            changes.push(format!("export {} created", tpaths.join(",")));
        }
        for a in src.nfs_aliases(&z.name).await? {
            let Some(tpath) = map_path(&a.path, &p.source_path, &p.target_path) else {
                continue;
            };
            want_aliases.push((z.name.clone(), a.name.clone()));
            if tgt
                .nfs_aliases(&z.name)
                .await?
                .iter()
                .any(|t| t.name == a.name)
            {
                continue;
            }
            tgt.create_in_zone(
                "nfs/aliases",
                &z.name,
                &json!({"name": a.name, "path": tpath}),
            )
            .await?;
            changes.push(format!("alias {} created", a.name));
        }
    }
    // Read back what this step wrote (only when it wrote something: an unchanged target was
    // just read).
    if !changes.is_empty() {
        let mut missing = Vec::new();
        let mut zones_read: std::collections::BTreeMap<String, Vec<crate::papi::SmbShare>> =
            Default::default();
        for (zone, name, tpath) in &want_shares {
            if !zones_read.contains_key(zone) {
                zones_read.insert(zone.clone(), tgt.smb_shares(zone).await?);
            }
            if !zones_read[zone]
                .iter()
                .any(|s| &s.name == name && &s.path == tpath)
            {
                missing.push(format!("share {name} (zone {zone})"));
            }
        }
        let mut exports_read: std::collections::BTreeMap<String, Vec<crate::papi::NfsExport>> =
            Default::default();
        for (zone, paths) in &want_exports {
            if !exports_read.contains_key(zone) {
                exports_read.insert(zone.clone(), tgt.nfs_exports(zone).await?);
            }
            if !exports_read[zone].iter().any(|t| same_set(&t.paths, paths)) {
                missing.push(format!("export {} (zone {zone})", paths.join(",")));
            }
        }
        let mut aliases_read: std::collections::BTreeMap<String, Vec<crate::papi::NfsAlias>> =
            Default::default();
        for (zone, name) in &want_aliases {
            if !aliases_read.contains_key(zone) {
                aliases_read.insert(zone.clone(), tgt.nfs_aliases(zone).await?);
            }
            if !aliases_read[zone].iter().any(|t| &t.name == name) {
                missing.push(format!("NFS alias {name} (zone {zone})"));
            }
        }
        if !missing.is_empty() {
            return Err(StepError::Failed(format!(
                "configuration copies not found on {to} after writing them: {}",
                missing.join(", ")
            )));
        }
    }
    Ok(if changes.is_empty() {
        StepDone::unchanged("target configuration already matches")
    } else {
        StepDone::acted(changes.join("; "))
    })
}

pub(super) fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

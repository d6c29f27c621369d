//! Plan selection: which policies, zones and pool mappings a run covers (named policies, all
//! between the clusters, a zone's by base path, or a pool's), with the mappings resolved
//! from the run spec or from target-pool alias hints (`igls-<source-pool>`). No step order
//! here: that is `graph.rs`.

use std::collections::BTreeMap;

use super::{NetMapping, PlanError, ZonePlan};
use crate::inventory::{Inventory, PolicyInfo, PoolInfo};
use crate::run_spec::{Mode, Networking, PoolMapping, RunKind, RunSpec};

/// What a run covers.
pub(super) struct Selection {
    /// The policies, in name order.
    pub policies: Vec<PolicyInfo>,
    /// Zones cut over (zone modes) or whose names move (SyncIQ mode, automatic networking).
    pub zones: Vec<ZonePlan>,
    /// A failback after an uncontrolled failover ([`super::Returned`]).
    pub returned: Option<super::Returned>,
}

/// Detect a failback after an uncontrolled failover from what the clusters report: the
/// originals `spec.to → spec.from` that are still enabled on `spec.to`, have no
/// `<name>_mirror` on `spec.from`, and whose target record on `spec.from` is
/// `writes_enabled`. Returns the mirrors the failback will run (as the plan's policies:
/// they exist once `returned_resync_prep` made them) and what was detected.
fn returned(spec: &RunSpec, inv: &Inventory) -> (Vec<PolicyInfo>, Option<super::Returned>) {
    if spec.kind != RunKind::Failback || !spec.controlled {
        return (Vec::new(), None);
    }
    let mut mirrors = Vec::new();
    let mut pairs = Vec::new();
    for p in inv.policies_between(&spec.to, &spec.from) {
        let mirror = crate::naming::mirror_name(&p.name);
        if mirror != format!("{}_mirror", p.name) || inv.policies.contains_key(&mirror) {
            continue;
        }
        let writable = inv
            .target_policy(&spec.from, &p.name)
            .is_some_and(|t| t.failover_failback_state == "writes_enabled");
        if !p.enabled || !writable {
            continue;
        }
        pairs.push((mirror.clone(), p.name.clone()));
        mirrors.push(PolicyInfo {
            name: mirror,
            id: String::new(),
            source: spec.from.clone(),
            target: Some(spec.to.clone()),
            source_path: p.target_path.clone(),
            target_path: p.source_path.clone(),
            schedule: String::new(),
            enabled: true,
            last_job_state: None,
            expected_job_ms: p.expected_job_ms,
            history: Vec::new(),
        });
    }
    if pairs.is_empty() {
        return (Vec::new(), None);
    }
    let names: Vec<&str> = pairs.iter().map(|(_, o)| o.as_str()).collect();
    let why = format!(
        "{to} returned after an uncontrolled failover: {} still enabled on {to}, no mirror on {from}, and {from}'s target record of each is writes_enabled",
        names.join(", "),
        to = spec.to,
        from = spec.from,
    );
    let r = super::Returned {
        cluster: spec.to.clone(),
        policies: pairs,
        why,
    };
    (mirrors, Some(r))
}

/// Check `spec` against `inv` and choose what the run covers.
pub(super) fn select(spec: &RunSpec, inv: &Inventory) -> Result<Selection, PlanError> {
    let known = || inv.clusters.keys().cloned().collect::<Vec<_>>().join(", ");
    for c in [&spec.from, &spec.to] {
        if !inv.clusters.contains_key(c) {
            return Err(PlanError::UnknownCluster(c.clone(), known()));
        }
    }
    if spec.from == spec.to {
        return Err(PlanError::SameCluster(spec.from.clone()));
    }
    let rehearsal = spec.kind == RunKind::Rehearsal;
    if rehearsal && !spec.controlled {
        return Err(PlanError::Unsupported(
            "a rehearsal is a test on a healthy source: remove run.controlled: false".into(),
        ));
    }
    // An unreachable source (uncontrolled failover) was not discovered: its zones and pools
    // are taken from what the target and the run spec know (see `source_pool`).
    let source_seen = inv.pools.contains_key(&spec.from);
    // Which cluster's zones place a path: the source's, or the same-named ones on the target.
    let zones_of = if source_seen { &spec.from } else { &spec.to };
    let naming = &spec.options.naming;
    let (mirrors, returned) = returned(spec, inv);
    let mut candidates = inv.policies_between(&spec.from, &spec.to);
    candidates.extend(mirrors.iter());
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let pick_named = |names: &[String]| -> Result<Vec<PolicyInfo>, PlanError> {
        let mut out = Vec::new();
        let mut names: Vec<&String> = names.iter().collect();
        names.sort();
        names.dedup();
        for name in names {
            match candidates.iter().find(|p| &p.name == name) {
                Some(p) => out.push((*p).clone()),
                None => {
                    return Err(PlanError::UnknownPolicy(
                        name.clone(),
                        spec.from.clone(),
                        spec.to.clone(),
                        candidates
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ))
                }
            }
        }
        Ok(out)
    };
    let resolve_mapping = |m: &PoolMapping| -> Result<NetMapping, PlanError> {
        let side = |s: &str| -> Result<PoolInfo, PlanError> {
            let (cluster, pool) = PoolMapping::split(s).ok_or_else(|| {
                PlanError::Invalid(format!("pool mapping {s:?} must be <cluster>/<pool-id>"))
            })?;
            inv.pool(cluster, pool).cloned().ok_or_else(|| {
                PlanError::Invalid(format!("pool {pool:?} not found on cluster {cluster:?}"))
            })
        };
        let target_pool = side(&m.target)?;
        let source_pool = match PoolMapping::split(&m.source) {
            Some((c, id)) if c == spec.from && !source_seen => {
                source_pool(spec, m, id, &target_pool)?
            }
            _ => side(&m.source)?,
        };
        Ok(NetMapping {
            source_pool,
            target_pool,
            reverse: false,
        })
    };
    // Mappings between from and to: explicit ones, then target-pool alias hints
    // (`igls-<source-pool-name>` on a target pool names its source pool).
    let mut mappings: Vec<(NetMapping, Vec<String>)> = Vec::new();
    for m in &spec.pool_mappings {
        let src_cluster = PoolMapping::split(&m.source).map(|x| x.0);
        let tgt_cluster = PoolMapping::split(&m.target).map(|x| x.0);
        if src_cluster == Some(spec.from.as_str()) && tgt_cluster == Some(spec.to.as_str()) {
            mappings.push((resolve_mapping(m)?, m.policies.clone()));
        }
    }
    // Failback over a mapping configured for the failover direction.
    if mappings.is_empty() {
        for m in &spec.pool_mappings {
            let src_cluster = PoolMapping::split(&m.source).map(|x| x.0);
            let tgt_cluster = PoolMapping::split(&m.target).map(|x| x.0);
            if src_cluster == Some(spec.to.as_str()) && tgt_cluster == Some(spec.from.as_str()) {
                let fwd = resolve_mapping(m)?;
                // The pool's policies fail back through their mirrors (`P_mirror`, made by
                // the failover's resync-prep on this side).
                let mirror = |p: &String| {
                    let mirrored = format!("{p}_mirror");
                    if candidates.iter().any(|c| c.name == mirrored) {
                        mirrored
                    } else {
                        p.clone()
                    }
                };
                mappings.push((
                    NetMapping {
                        source_pool: fwd.target_pool,
                        target_pool: fwd.source_pool,
                        reverse: true,
                    },
                    m.policies.iter().map(mirror).collect(),
                ));
            }
        }
    }
    for tp in inv.pools.get(&spec.to).into_iter().flatten() {
        for alias in &tp.aliases {
            let Some(src_name) = alias.strip_prefix(&naming.hint_prefix) else {
                continue;
            };
            if src_name.starts_with("original-") || src_name.starts_with("dfs-") {
                continue;
            }
            if let Some(sp) = inv.pool(&spec.from, src_name) {
                if !mappings.iter().any(|(m, _)| m.source_pool.id == sp.id) {
                    mappings.push((
                        NetMapping {
                            source_pool: sp.clone(),
                            target_pool: tp.clone(),
                            reverse: false,
                        },
                        vec![],
                    ));
                }
            }
        }
    }

    let zone_policies = |zone: &str| -> Result<(String, Vec<PolicyInfo>), PlanError> {
        let z = inv.zone(zones_of, zone).ok_or_else(|| {
            PlanError::Invalid(format!("access zone {zone:?} does not exist on {zones_of}"))
        })?;
        if inv.zone(&spec.to, zone).is_none() {
            return Err(PlanError::Invalid(format!(
                "access zone {zone:?} does not exist on {}; create it there first",
                spec.to
            )));
        }
        let ps = candidates
            .iter()
            .filter(|p| crate::naming::path_under(&p.source_path, &z.path) && z.path != "/ifs")
            .map(|p| (*p).clone())
            .collect();
        Ok((z.path.clone(), ps))
    };

    let mut zones: Vec<ZonePlan> = Vec::new();
    let policies: Vec<PolicyInfo> = match spec.mode {
        Mode::SynciqPolicy | Mode::Dfs => {
            let ps: Vec<PolicyInfo> = if spec.policies.is_empty() {
                candidates.iter().map(|p| (*p).clone()).collect()
            } else {
                pick_named(&spec.policies)?
            };
            // A rehearsal in SyncIQ/DFS mode puts its test alias on the mapped target pools
            // (whatever the networking setting: no production name moves).
            if rehearsal
                || (spec.mode == Mode::SynciqPolicy && spec.options.networking == Networking::Auto)
            {
                // Automatic networking in SyncIQ mode needs the pool mapping in the plan.
                let mut by_zone: BTreeMap<String, ZonePlan> = BTreeMap::new();
                for (m, _) in &mappings {
                    let z = m.source_pool.access_zone.clone();
                    let base = inv
                        .zone(zones_of, &z)
                        .map(|x| x.path.clone())
                        .unwrap_or_default();
                    let e = by_zone.entry(z.clone()).or_insert(ZonePlan {
                        name: z,
                        base_path: base,
                        mappings: vec![],
                        policies: vec![],
                    });
                    e.mappings.push(m.clone());
                }
                zones = by_zone.into_values().collect();
                for z in &mut zones {
                    z.policies = ps
                        .iter()
                        .filter(|p| {
                            // A policy's zone: the deepest source zone holding its path.
                            inv.zone_of_path(zones_of, &p.source_path)
                                .map_or("System", |x| x.name.as_str())
                                == z.name
                        })
                        .map(|p| p.name.clone())
                        .collect();
                }
            }
            ps
        }
        Mode::AccessZone => {
            let zone = spec.zone.as_deref().ok_or_else(|| {
                PlanError::Invalid("access-zone mode needs run.zone (the zone to fail over)".into())
            })?;
            let (base, ps) = zone_policies(zone)?;
            let ms: Vec<NetMapping> = mappings
                .iter()
                .filter(|(m, _)| m.source_pool.access_zone == zone)
                .map(|(m, _)| m.clone())
                .collect();
            if ms.is_empty() {
                return Err(PlanError::Invalid(if source_seen {
                    format!(
                        "no SmartConnect pool of zone {zone:?} on {} is mapped to a pool on {} (add world.pool_mappings / run.pool_mappings, or an alias hint {}<pool> on the target pool)",
                        spec.from, spec.to, naming.hint_prefix
                    )
                } else {
                    format!(
                        "{} is unreachable, so its pools in zone {zone:?} cannot be read: map each to a pool on {} in run.pool_mappings with its SmartConnect `names`",
                        spec.from, spec.to
                    )
                }));
            }
            if !spec.policies.is_empty() {
                return Err(PlanError::Invalid(
                    "access-zone mode fails over every policy of the zone; remove run.policies"
                        .into(),
                ));
            }
            zones.push(ZonePlan {
                name: zone.to_string(),
                base_path: base,
                mappings: ms,
                policies: ps.iter().map(|p| p.name.clone()).collect(),
            });
            ps
        }
        Mode::IpPool => {
            let pool = spec.pool.as_deref().ok_or_else(|| {
                PlanError::Invalid("ip-pool mode needs run.pool (the source pool id)".into())
            })?;
            let sp = match inv.pool(&spec.from, pool) {
                Some(p) => p.clone(),
                None if !source_seen => mappings
                    .iter()
                    .map(|(m, _)| &m.source_pool)
                    .find(|p| p.id == pool || p.name == pool)
                    .cloned()
                    .ok_or_else(|| {
                        PlanError::Invalid(format!(
                            "{} is unreachable, so pool {pool:?} cannot be read: map it to a pool on {} in run.pool_mappings with its SmartConnect `names`",
                            spec.from, spec.to
                        ))
                    })?,
                None => {
                    return Err(PlanError::Invalid(format!(
                        "pool {pool:?} not found on {}",
                        spec.from
                    )))
                }
            };
            let (m, assigned) = mappings
                .iter()
                .find(|(m, _)| m.source_pool.id == sp.id)
                .cloned()
                .ok_or_else(|| {
                    PlanError::Invalid(format!(
                        "pool {pool:?} is not mapped to a pool on {} (add a pool mapping or the alias hint {}{} on the target pool)",
                        spec.to, naming.hint_prefix, sp.name
                    ))
                })?;
            let zone = sp.access_zone.clone();
            let (base, zone_ps) = zone_policies(&zone)?;
            let ps = if !assigned.is_empty() {
                pick_named(&assigned)?
            } else if !spec.policies.is_empty() {
                pick_named(&spec.policies)?
            } else {
                zone_ps
            };
            zones.push(ZonePlan {
                name: zone,
                base_path: base,
                mappings: vec![m],
                policies: ps.iter().map(|p| p.name.clone()).collect(),
            });
            ps
        }
    };
    if policies.is_empty() {
        return Err(PlanError::NoPolicies(spec.from.clone(), spec.to.clone()));
    }
    if rehearsal {
        // A test alias is only worth adding where a policy of the rehearsal has its data.
        zones.retain(|z| !z.policies.is_empty());
    }
    // Only the policies the run covers need their resync-prep on the returned source.
    let returned = returned.map(|mut r| {
        r.policies
            .retain(|(m, _)| policies.iter().any(|p| &p.name == m));
        r
    });
    let returned = returned.filter(|r| !r.policies.is_empty());
    Ok(Selection {
        policies,
        zones,
        returned,
    })
}

/// The source pool `id` of mapping `m` when the source could not be discovered (it is
/// down: uncontrolled failover). Its client-facing names are the ones recorded with the
/// mapping; its zone is the recorded one or the target pool's (a zone failover needs the
/// same-named zone on both sides). Without recorded names the run cannot know which names
/// to move, and says so.
fn source_pool(
    spec: &RunSpec,
    m: &PoolMapping,
    id: &str,
    target_pool: &PoolInfo,
) -> Result<PoolInfo, PlanError> {
    let names: Vec<String> = m
        .names
        .iter()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect();
    let Some((zone_name, aliases)) = names.split_first() else {
        return Err(PlanError::Invalid(format!(
            "{} is unreachable, so the SmartConnect names of its pool {id:?} cannot be read; list them in the pool mapping's `names` (zone name first, then aliases)",
            spec.from
        )));
    };
    Ok(PoolInfo {
        id: id.to_string(),
        name: id.rsplit('.').next().unwrap_or(id).to_string(),
        access_zone: m
            .zone
            .clone()
            .unwrap_or_else(|| target_pool.access_zone.clone()),
        sc_dns_zone: zone_name.clone(),
        aliases: aliases.to_vec(),
        ssips: Vec::new(),
        ranges: Vec::new(),
    })
}

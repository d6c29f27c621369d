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
    if !spec.controlled && matches!(spec.mode, Mode::AccessZone | Mode::IpPool) {
        return Err(PlanError::Unsupported(
            "an uncontrolled failover in access-zone / ip-pool mode needs the unreachable source's pool inventory, which is not kept yet; use synciq-policy or dfs mode".into(),
        ));
    }
    let naming = &spec.options.naming;
    let candidates = inv.policies_between(&spec.from, &spec.to);
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
        Ok(NetMapping {
            source_pool: side(&m.source)?,
            target_pool: side(&m.target)?,
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
                mappings.push((
                    NetMapping {
                        source_pool: fwd.target_pool,
                        target_pool: fwd.source_pool,
                        reverse: true,
                    },
                    m.policies.clone(),
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
        let z = inv.zone(&spec.from, zone).ok_or_else(|| {
            PlanError::Invalid(format!(
                "access zone {zone:?} does not exist on {}",
                spec.from
            ))
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
                        .zone(&spec.from, &z)
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
                            inv.zone_of_path(&spec.from, &p.source_path)
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
                return Err(PlanError::Invalid(format!(
                    "no SmartConnect pool of zone {zone:?} on {} is mapped to a pool on {} (add world.pool_mappings / run.pool_mappings, or an alias hint {}<pool> on the target pool)",
                    spec.from, spec.to, naming.hint_prefix
                )));
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
            let sp = inv.pool(&spec.from, pool).ok_or_else(|| {
                PlanError::Invalid(format!("pool {pool:?} not found on {}", spec.from))
            })?;
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
    Ok(Selection { policies, zones })
}

//! The simulated operator's hands. With `networking: manual` (SyncIQ mode) the orchestrator
//! prints the networking steps 14–18 as a checklist and waits until an operator confirms
//! each (DESIGN.md §2). A drill's operator does what the checklist says before confirming,
//! at the consoles of the simulated site — the clusters' SmartConnect pools
//! ([`sim_onefs::Sim::console_update_pool`]), the AD domain ([`sim_onefs::Sim::with_ad`],
//! `setspn`) and the site DNS ([`World::dns`]) — so a manual run ends where an automatic one
//! would, and I7 judges it the same way.
//!
//! It moves the names of every pool mapping between the run's clusters (the run's, else the
//! world's `pool_mappings`; for a failback, the mappings configured the other way round;
//! plus target-pool alias hints `igls-<source pool>`), as automatic networking does. It
//! confirms only what it did and checked: when an item cannot be done (a cluster down, AD
//! unreachable, another account holding an SPN, a name that does not resolve to the target
//! afterwards) it does not confirm, and the run ends `paused` with the step waiting.
//!
//! Its console changes carry no run context in the audit log (actor `operator`): they are
//! not the orchestrator's doing.

use orchestrator::run_spec::{Naming, PoolMapping};
use orchestrator::{Mode, Networking, RunSpec, StepId};
use serde_json::{json, Map, Value};

use crate::world::World;

/// Actor name of the operator's console changes in the audit log.
pub const OPERATOR_ACTOR: &str = "operator";

/// One mapping as the operator reads it: pool keys on the run's source and target.
#[derive(Debug, Clone, PartialEq)]
struct Mapping {
    source_pool: String,
    target_pool: String,
    /// Failback over a mapping configured for the failover: the names to move are the
    /// target pool's own (renamed `igls-original-…` by the failover).
    reverse: bool,
}

/// What the operator needs to carry out the manual networking checklist of one run.
#[derive(Clone)]
pub struct ManualNetworking {
    world: World,
    from: String,
    to: String,
    pool_mappings: Vec<PoolMapping>,
    naming: Naming,
    /// The run's source paths: the checklist moves the names of the pools whose zone
    /// serves them, not every mapped pool's.
    paths: Vec<String>,
}

fn strip(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

impl ManualNetworking {
    /// The operator of `spec` (with its pool mappings filled in), if the run has a manual
    /// networking checklist at all.
    pub fn for_run(
        world: &World,
        spec: &RunSpec,
        world_spec: &sim_onefs::WorldSpec,
    ) -> Option<ManualNetworking> {
        // The run's policies: those it names, else every policy from `from` to `to` (the
        // failback's mirrors included, by their source path on `from`).
        let paths: Vec<String> = world_spec
            .policies
            .iter()
            .filter(|p| spec.policies.is_empty() || spec.policies.contains(&p.name))
            .filter_map(|p| {
                if p.source == spec.from && p.target == spec.to {
                    Some(p.source_path.clone())
                } else if p.source == spec.to && p.target == spec.from {
                    Some(p.target_path.clone())
                } else {
                    None
                }
            })
            .collect();
        (spec.mode == Mode::SynciqPolicy && spec.options.networking == Networking::Manual).then(
            || ManualNetworking {
                world: world.clone(),
                from: spec.from.clone(),
                to: spec.to.clone(),
                pool_mappings: spec.pool_mappings.clone(),
                naming: spec.options.naming.clone(),
                paths,
            },
        )
    }

    /// Whether the zone of `pool` on the source holds one of the run's paths.
    fn serves_run(&self, cluster: &str, pool: &Value) -> bool {
        let zone = pool
            .get("access_zone")
            .and_then(Value::as_str)
            .unwrap_or("System");
        let base = self
            .world
            .sim
            .config_json(cluster)
            .and_then(|c| {
                c.get("zones")?
                    .get(zone)?
                    .get("path")?
                    .as_str()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "/ifs".into());
        self.paths.iter().any(|p| crate::lab::path_under(p, &base))
    }

    /// A cluster's pools as configured now: key → pool object.
    fn pools(&self, cluster: &str) -> Map<String, Value> {
        self.world
            .sim
            .config_json(cluster)
            .and_then(|c| c.get("pools").and_then(Value::as_object).cloned())
            .unwrap_or_default()
    }

    /// A pool by full id or by name.
    fn pool(&self, cluster: &str, id: &str) -> Result<(String, Value), String> {
        let pools = self.pools(cluster);
        pools
            .get(id)
            .map(|p| (id.to_string(), p.clone()))
            .or_else(|| {
                pools
                    .iter()
                    .find(|(_, p)| p.get("name").and_then(Value::as_str) == Some(id))
                    .map(|(k, p)| (k.clone(), p.clone()))
            })
            .ok_or_else(|| format!("pool {id} not found on {cluster}"))
    }

    /// The mappings between the run's clusters, resolved to pool keys.
    fn mappings(&self) -> Result<Vec<Mapping>, String> {
        let mut out: Vec<Mapping> = Vec::new();
        /// `(cluster, pool)` of one side of a mapping.
        type Side<'a> = (&'a str, &'a str);
        fn sides(m: &PoolMapping) -> Option<(Side<'_>, Side<'_>)> {
            Some((
                PoolMapping::split(&m.source)?,
                PoolMapping::split(&m.target)?,
            ))
        }
        for m in &self.pool_mappings {
            if let Some(((sc, sp), (tc, tp))) = sides(m) {
                if sc == self.from && tc == self.to {
                    out.push(Mapping {
                        source_pool: self.pool(sc, sp)?.0,
                        target_pool: self.pool(tc, tp)?.0,
                        reverse: false,
                    });
                }
            }
        }
        if out.is_empty() {
            for m in &self.pool_mappings {
                if let Some(((sc, sp), (tc, tp))) = sides(m) {
                    if sc == self.to && tc == self.from {
                        out.push(Mapping {
                            source_pool: self.pool(tc, tp)?.0,
                            target_pool: self.pool(sc, sp)?.0,
                            reverse: true,
                        });
                    }
                }
            }
        }
        // Alias hints: `igls-<source pool name>` on a target pool names its source pool.
        let src_pools = self.pools(&self.from);
        for (tk, tp) in self.pools(&self.to) {
            for alias in str_list(tp.get("sc_dns_zone_aliases")) {
                let Some(name) = alias.strip_prefix(&self.naming.hint_prefix) else {
                    continue;
                };
                if name.starts_with("original-") || name.starts_with("dfs-") {
                    continue;
                }
                let Some((sk, _)) = src_pools.iter().find(|(k, p)| {
                    *k == name || p.get("name").and_then(Value::as_str) == Some(name)
                }) else {
                    continue;
                };
                if !out.iter().any(|m| &m.source_pool == sk) {
                    out.push(Mapping {
                        source_pool: sk.clone(),
                        target_pool: tk.clone(),
                        reverse: false,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The client-facing names a mapping moves (as `NetMapping::names` in the plan).
    fn names(&self, m: &Mapping) -> Result<Vec<String>, String> {
        // The home pool of the names: the source pool (failover), or the pool the failover
        // renamed (failback: on the run's target).
        let (cluster, pool) = if m.reverse {
            (&self.to, &m.target_pool)
        } else {
            (&self.from, &m.source_pool)
        };
        let (_, p) = self.pool(cluster, pool)?;
        let n = &self.naming;
        let mut v = vec![strip(
            p.get("sc_dns_zone")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            &n.original_prefix,
        )];
        for a in str_list(p.get("sc_dns_zone_aliases")) {
            let a = strip(&a, &n.original_prefix);
            if !a.is_empty() && !a.starts_with(&n.ignore_prefix) && !v.contains(&a) {
                v.push(a);
            }
        }
        v.retain(|x| !x.is_empty() && !x.starts_with(&n.hint_prefix));
        Ok(v)
    }

    fn update_pool(&self, cluster: &str, pool: &str, changes: Value) -> Result<(), String> {
        let changes = changes.as_object().cloned().unwrap_or_default();
        self.world
            .sim
            .console_update_pool(cluster, pool, changes, OPERATOR_ACTOR)
    }

    /// Carry out one checklist item; `Ok` with what was done, `Err` with why it could not
    /// be (the operator then does not confirm).
    pub fn carry_out(&self, step: StepId) -> Result<String, String> {
        let mut done: Vec<String> = Vec::new();
        for m in self.mappings()? {
            let (home_cluster, home_pool) = if m.reverse {
                (&self.to, &m.target_pool)
            } else {
                (&self.from, &m.source_pool)
            };
            let (_, home) = self.pool(home_cluster, home_pool)?;
            if !self.serves_run(home_cluster, &home) {
                continue;
            }
            let names = self.names(&m)?;
            match step {
                StepId::RenameSourceSmartconnect => self.rename_source(&m, &names, &mut done)?,
                StepId::RemoveSourceSpns => {
                    let account = self.world.machine_account(&self.from);
                    for spn in names.iter().flat_map(|n| crate::lab::spns_for_name(n)) {
                        let removed = self
                            .world
                            .sim
                            .with_ad(|d| d.remove_spn(&account, &spn))
                            .transpose()
                            .map_err(|e| format!("setspn -D {spn} {account}: {e}"))?;
                        if removed == Some(true) {
                            done.push(format!("{spn} removed from {account}"));
                        }
                    }
                }
                StepId::MoveSmartconnectToTarget => self.move_to_target(&m, &names, &mut done)?,
                StepId::AddTargetSpns => {
                    let account = self.world.machine_account(&self.to);
                    for spn in names.iter().flat_map(|n| crate::lab::spns_for_name(n)) {
                        // `setspn -S`: refuses an SPN another account holds.
                        let added = self
                            .world
                            .sim
                            .with_ad(|d| d.add_spn_checked(&account, &spn))
                            .transpose()
                            .map_err(|e| format!("setspn -S {spn} {account}: {e}"))?;
                        if added == Some(true) {
                            done.push(format!("{spn} added to {account}"));
                        }
                    }
                }
                StepId::RepointDns => self.repoint_dns(&m, &names, &mut done)?,
                // Refreshing the clients is theirs to do (the drill remounts them when the
                // step ends); anything else has nothing at the consoles.
                _ => {}
            }
        }
        Ok(if done.is_empty() {
            "nothing to change".into()
        } else {
            done.join("; ")
        })
    }

    fn rename_source(
        &self,
        m: &Mapping,
        names: &[String],
        done: &mut Vec<String>,
    ) -> Result<(), String> {
        let (key, p) = self.pool(&self.from, &m.source_pool)?;
        let aliases = str_list(p.get("sc_dns_zone_aliases"));
        if m.reverse {
            // Failback: the source carries the moved names as aliases; take them off.
            let kept: Vec<String> = aliases
                .iter()
                .filter(|a| !names.iter().any(|n| n.eq_ignore_ascii_case(a)))
                .cloned()
                .collect();
            if kept != aliases {
                self.update_pool(&self.from, &key, json!({"sc_dns_zone_aliases": kept}))?;
                done.push(format!("{key}: aliases {} removed", names.join(", ")));
            }
            return Ok(());
        }
        let n = &self.naming;
        let rename = |x: &str| {
            if x.is_empty() || x.starts_with(&n.original_prefix) || x.starts_with(&n.ignore_prefix)
            {
                x.to_string()
            } else {
                format!("{}{x}", n.original_prefix)
            }
        };
        let zone_now = p
            .get("sc_dns_zone")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let zone = rename(zone_now);
        let renamed: Vec<String> = aliases.iter().map(|a| rename(a)).collect();
        if zone != zone_now || renamed != aliases {
            self.update_pool(
                &self.from,
                &key,
                json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": renamed}),
            )?;
            done.push(format!("{key}: {zone_now} → {zone}"));
        }
        Ok(())
    }

    fn move_to_target(
        &self,
        m: &Mapping,
        names: &[String],
        done: &mut Vec<String>,
    ) -> Result<(), String> {
        let (key, p) = self.pool(&self.to, &m.target_pool)?;
        let zone_now = p
            .get("sc_dns_zone")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let aliases = str_list(p.get("sc_dns_zone_aliases"));
        if m.reverse {
            // Failback: the target's own names were renamed `igls-original-…`; restore them.
            let orig = |x: &str| strip(x, &self.naming.original_prefix);
            let zone = orig(&zone_now);
            let restored: Vec<String> = aliases.iter().map(|a| orig(a)).collect();
            if zone != zone_now || restored != aliases {
                self.update_pool(
                    &self.to,
                    &key,
                    json!({"sc_dns_zone": zone, "sc_dns_zone_aliases": restored}),
                )?;
                done.push(format!("{key}: names restored ({zone})"));
            }
            return Ok(());
        }
        let mut new = aliases.clone();
        for name in names {
            if !name.eq_ignore_ascii_case(&zone_now)
                && !new.iter().any(|a| a.eq_ignore_ascii_case(name))
            {
                new.push(name.clone());
                done.push(format!("{name} → {key}"));
            }
        }
        if new != aliases {
            self.update_pool(&self.to, &key, json!({"sc_dns_zone_aliases": new}))?;
        }
        Ok(())
    }

    /// SmartConnect service IPs of a pool's subnet on `cluster`.
    fn ssips(&self, cluster: &str, pool_key: &str) -> Vec<String> {
        self.world
            .sim
            .with_config(cluster, |cfg| cfg.pool_ssips(pool_key))
            .unwrap_or_default()
    }

    fn repoint_dns(
        &self,
        m: &Mapping,
        names: &[String],
        done: &mut Vec<String>,
    ) -> Result<(), String> {
        let (key, _) = self.pool(&self.to, &m.target_pool)?;
        let ssips = self.ssips(&self.to, &key);
        if ssips.is_empty() {
            return Err(format!("target pool {key} has no SmartConnect service IP"));
        }
        for name in names {
            {
                let mut dns = self.world.dns.lock().unwrap_or_else(|p| p.into_inner());
                if dns.ns(name).is_empty() {
                    continue; // not delegated in the site DNS: nothing to repoint
                }
                // NS hosts are names; their glue says which service IPs they stand for.
                let have = dns.ns_ssips(name);
                if !have.iter().any(|a| ssips.contains(&a.to_string())) {
                    let refs: Vec<&str> = ssips.iter().map(String::as_str).collect();
                    dns.delegate(name, &refs)
                        .map_err(|e| format!("updating the NS records of {name}: {e}"))?;
                    done.push(format!("NS of {name} → {}", ssips.join(", ")));
                }
            }
            // Then check, as the checklist says, that the name resolves to the target.
            match self.world.cluster_of_host(name) {
                Some(c) if c == self.to => {}
                other => {
                    return Err(format!(
                        "{name} resolves to {}, not to {}",
                        other.as_deref().unwrap_or("nothing"),
                        self.to
                    ))
                }
            }
        }
        Ok(())
    }
}

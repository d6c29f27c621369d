//! Step 3, `validate` (readiness), and step 3a, `block_on_warning`.
//!
//! Errors stop the run before any cut-over (outcome `blocked`; the preparation is rolled
//! back). Warnings are recorded; step 3a, when enabled, turns them into a stop too.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let spec = &ctx.plan.spec;
    let mut errors: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;

    let controlled = spec.controlled;
    let sides: Vec<(&str, &crate::papi::PapiClient)> = if controlled {
        vec![("source", &src), ("target", &tgt)]
    } else {
        // Uncontrolled: the source is down by assumption; only the target must be ready.
        warnings.push(format!(
            "uncontrolled failover: {} is treated as unreachable; its steps are skipped",
            spec.from
        ));
        vec![("target", &tgt)]
    };
    for (role, client) in sides {
        match client.sync_settings().await {
            Ok(s) if s.service == "on" => {}
            Ok(s) => errors.push(format!(
                "{role} {}: SyncIQ service is {:?}, must be \"on\"",
                client.cluster(),
                s.service
            )),
            Err(e) => errors.push(format!("{role} {} unreachable: {e}", client.cluster())),
        }
    }
    // S2 (names follow writable data): a moved SmartConnect name serves every share of its
    // zone, so a zone whose names move must move all of its data. A policy of the zone that
    // replicates to the target but is not in this run would be left behind a name that now
    // leads to its read-only copy.
    let zone_of = |path: &str| {
        ctx.inventory
            .zone_of_path(&spec.from, path)
            .map_or("System", |x| x.name.as_str())
            .to_string()
    };
    // A rehearsal moves no production name (its zones only get a test alias).
    let rehearsal = spec.kind == crate::run_spec::RunKind::Rehearsal;
    let mut moving: Vec<String> = if rehearsal {
        Vec::new()
    } else {
        ctx.plan.zones.iter().map(|z| z.name.clone()).collect()
    };
    if !rehearsal
        && spec.mode == crate::run_spec::Mode::SynciqPolicy
        && spec.options.networking == crate::run_spec::Networking::Manual
    {
        // The checklist moves the names of the pools serving the run's paths.
        for p in &ctx.plan.policies {
            let z = zone_of(&p.source_path);
            if !moving.contains(&z) {
                moving.push(z);
            }
        }
    }
    for z in &moving {
        if spec.mode == crate::run_spec::Mode::IpPool {
            continue; // the pool's assigned policies are the run's by construction
        }
        let left: Vec<&str> = ctx
            .inventory
            .policies_between(&spec.from, &spec.to)
            .into_iter()
            .filter(|p| !ctx.plan.policies.iter().any(|x| x.name == p.name))
            .filter(|p| zone_of(&p.source_path) == *z)
            .map(|p| p.name.as_str())
            .collect();
        if !left.is_empty() {
            errors.push(format!(
                "the names of zone {} would move to {}, but policies {} of that zone are not in this run (their clients would reach a read-only copy): add them, or move the names by hand (networking: manual)",
                z,
                spec.to,
                left.join(", ")
            ));
        }
    }
    if errors.is_empty() {
        for p in &ctx.plan.policies {
            if !controlled {
                match tgt.get_target_policy(&p.name).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        errors.push(format!("target policy {} not found on {}", p.name, spec.to))
                    }
                    Err(e) => errors.push(format!("target policy {}: {e}", p.name)),
                }
                continue;
            }
            match src.get_policy(&p.name).await {
                Ok(Some(sp)) => {
                    if !sp.enabled {
                        errors.push(format!(
                            "policy {} is disabled on {} (already failed over?)",
                            p.name, spec.from
                        ));
                    }
                    match sp.last_job_state.as_deref() {
                        Some("failed") | Some("needs_attention") => warnings.push(format!(
                            "policy {}: last job state is {}",
                            p.name,
                            sp.last_job_state.as_deref().unwrap_or("")
                        )),
                        _ => {}
                    }
                }
                Ok(None) => errors.push(format!("policy {} not found on {}", p.name, spec.from)),
                Err(e) => errors.push(format!("policy {}: {e}", p.name)),
            }
            match tgt.get_target_policy(&p.name).await {
                Ok(Some(tp)) => {
                    match tp.failover_failback_state.as_str() {
                        "writes_disabled" => {}
                        s @ ("creating_resync_policy" | "resync_policy_created") => {
                            errors.push(format!(
                                "target policy {} on {} is {s}: resync-prep has already run, so {} is the source of its mirror (already failed over?)",
                                p.name, spec.to, spec.to
                            ))
                        }
                        s => errors.push(format!(
                            "target policy {} on {} is {s} (expected writes_disabled)",
                            p.name, spec.to
                        )),
                    }
                }
                Ok(None) => {
                    errors.push(format!("target policy {} not found on {}", p.name, spec.to))
                }
                Err(e) => errors.push(format!("target policy {}: {e}", p.name)),
            }
        }
    }
    if errors.is_empty()
        && controlled
        && ctx.plan.spec.options.networking == crate::run_spec::Networking::Auto
    {
        check_networking(ctx, &src, &tgt, &mut errors, &mut warnings).await;
    }
    ctx.with_state(|s| s.warnings.extend(warnings.iter().cloned()));
    if !errors.is_empty() {
        return Err(StepError::Failed(format!(
            "readiness failed: {}",
            errors.join("; ")
        )));
    }
    Ok(StepDone::unchanged(format!(
        "{} policies ready, {} warnings",
        ctx.plan.policies.len(),
        warnings.len()
    )))
}

/// Zone checks: AD providers on both sides, no moved SPN held by another account, and the
/// DNS delegation of every moved name.
pub(super) async fn check_networking(
    ctx: &RunCtx,
    src: &crate::papi::PapiClient,
    tgt: &crate::papi::PapiClient,
    errors: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    if ctx.plan.zones.is_empty() || ctx.plan.spec.kind == crate::run_spec::RunKind::Rehearsal {
        return; // a rehearsal moves no name and no SPN
    }
    let naming = &ctx.plan.spec.options.naming;
    let names: Vec<String> = ctx
        .plan
        .zones
        .iter()
        .flat_map(|z| z.mappings.iter().flat_map(|m| m.names(naming)))
        .collect();
    let moved: Vec<String> = names
        .iter()
        .flat_map(|n| crate::naming::spns_for(n))
        .collect();
    match src.ads_providers_checked().await {
        Ok(ads) if ads.is_empty() => warnings.push(format!(
            "{} has no AD provider: no SPNs to move (Kerberos to the moved names needs them)",
            src.cluster()
        )),
        Ok(ads) => {
            for a in &ads {
                for d in &a.dup_spns {
                    if moved.iter().any(|m| m.eq_ignore_ascii_case(d)) {
                        errors.push(format!(
                            "SPN collision: {d} of {} is also registered on another machine account; moving it would break Kerberos for that name",
                            a.machine_account
                        ));
                    }
                }
            }
        }
        Err(e) => errors.push(format!("AD provider of {}: {e}", src.cluster())),
    }
    match tgt.ads_providers().await {
        Ok(ads) if ads.is_empty() => errors.push(format!(
            "{} has no AD provider: SPNs for the moved names cannot be registered there",
            tgt.cluster()
        )),
        Ok(_) => {}
        Err(e) => errors.push(format!("AD provider of {}: {e}", tgt.cluster())),
    }
    if let Some(dns) = &ctx.dns {
        for n in &names {
            match dns.ns_targets(n).await {
                Ok(ns) if ns.len() > 1 => {}
                Ok(ns) if ns.len() == 1 => warnings.push(format!(
                    "{n} is delegated to one SmartConnect service IP only ({} = {:?}): single delegation, DNS will be updated",
                    ns[0].host, ns[0].addrs
                )),
                Ok(_) => warnings.push(format!("{n} has no NS delegation")),
                Err(e) => warnings.push(format!("DNS lookup of {n}: {e}")),
            }
        }
    }
}

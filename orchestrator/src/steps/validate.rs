//! Step 3, `validate` (readiness), and step 3a, `block_on_warning`.
//!
//! Errors stop the run before any cut-over (outcome `blocked`; the preparation is rolled
//! back). Warnings are recorded; step 3a, when enabled, turns them into a stop too.

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let spec = &ctx.plan.spec;
    let mut errors: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;

    for (role, client) in [("source", &src), ("target", &tgt)] {
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
    if errors.is_empty() {
        for p in &ctx.plan.policies {
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
                    if tp.failover_failback_state != "writes_disabled" {
                        errors.push(format!(
                            "target policy {} on {} is {} (expected writes_disabled)",
                            p.name, spec.to, tp.failover_failback_state
                        ));
                    }
                }
                Ok(None) => {
                    errors.push(format!("target policy {} not found on {}", p.name, spec.to))
                }
                Err(e) => errors.push(format!("target policy {}: {e}", p.name)),
            }
        }
    }
    ctx.with_state(|s| s.warnings.extend(warnings.iter().cloned()));
    if !errors.is_empty() {
        return Err(StepError(format!(
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

pub async fn block_on_warning(ctx: &RunCtx, _inst: &StepInstance) -> Result<StepDone, StepError> {
    let warnings = ctx.with_state(|s| s.warnings.clone());
    if warnings.is_empty() {
        Ok(StepDone::unchanged("no warnings"))
    } else {
        Err(StepError(format!(
            "blocked on {} warning(s): {}",
            warnings.len(),
            warnings.join("; ")
        )))
    }
}

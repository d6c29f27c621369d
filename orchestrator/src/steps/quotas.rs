//! Steps 12 and 13: `failover_quotas` creates the source's quotas under the policy path on
//! the target (after allow-write, so they apply to the now-active copy), and
//! `remove_source_quotas` deletes them on the source, which is now a SyncIQ target (PowerScale
//! best practice: no quotas on SyncIQ target directories).
//!
//! Safety rule S1 (nothing exists nowhere): `failover_quotas` reads the target's quotas back
//! after writing them and fails unless every source quota under the path has its copy;
//! `remove_source_quotas` runs only after that succeeded (the plan's edge, the executor's skip
//! rule), deletes a source quota only when it finds its copy on the target, and journals each
//! definition (run state `removed_config`, checkpointed) before the delete, so the report can
//! say what was removed and an admin can recreate it.

use crate::ctx::StepError;
use crate::papi::Quota;

use crate::naming::{map_path, path_under};

pub(super) fn same_quota(t: &Quota, q: &Quota, tpath: &str) -> bool {
    t.path == tpath && t.quota_type == q.quota_type && t.persona == q.persona
}

/// Source quotas under the policy path whose copy (same path, type, persona, thresholds) is
/// not among `target`.
pub(super) fn missing_copies(
    source: &[Quota],
    target: &[Quota],
    p: &crate::inventory::PolicyInfo,
) -> Vec<String> {
    source
        .iter()
        .filter(|q| path_under(&q.path, &p.source_path))
        .filter(|q| {
            let Some(tpath) = map_path(&q.path, &p.source_path, &p.target_path) else {
                return true;
            };
            !target
                .iter()
                .any(|t| same_quota(t, q, &tpath) && t.thresholds == q.thresholds)
        })
        .map(|q| format!("{} ({})", q.path, q.quota_type))
        .collect()
}

/// The quotas of `client`'s cluster under the source path of `p`.
pub(super) async fn quotas_under(
    client: &crate::papi::PapiClient,
    p: &crate::inventory::PolicyInfo,
) -> Result<Vec<Quota>, StepError> {
    Ok(client
        .quotas()
        .await?
        .into_iter()
        .filter(|q| path_under(&q.path, &p.source_path))
        .collect())
}

/// Copy the source's quotas under `p`'s path to the target (create or update thresholds),
/// then read the target's quotas back: an error unless every source quota under the path
/// has its copy (S1). Returns the source quotas, and how many were created and updated.
pub(super) async fn copy_to_target(
    ctx: &crate::ctx::RunCtx,
    src: &crate::papi::PapiClient,
    tgt: &crate::papi::PapiClient,
    p: &crate::inventory::PolicyInfo,
) -> Result<(Vec<Quota>, usize, usize), StepError> {
    let target_quotas = tgt.quotas().await?;
    let mut created = 0;
    let mut updated = 0;
    let source_quotas = quotas_under(src, p).await?;
    for q in &source_quotas {
        let Some(tpath) = map_path(&q.path, &p.source_path, &p.target_path) else {
            continue;
        };
        match target_quotas.iter().find(|t| same_quota(t, q, &tpath)) {
            Some(t) if t.thresholds == q.thresholds => {}
            Some(t) => {
                tgt.put_json(
                    &format!("quota/quotas/{}", crate::papi::enc(&t.id)),
                    &serde_json::json!({"thresholds": q.thresholds}),
                )
                .await?;
                updated += 1;
            }
            None => {
                let mut body = serde_json::json!({
                    "path": tpath,
                    "type": q.quota_type,
                    "enforced": q.enforced.unwrap_or(true),
                    "include_snapshots": q.include_snapshots.unwrap_or(false),
                    "thresholds": q.thresholds,
                });
                if let Some(persona) = &q.persona {
                    body["persona"] = persona.clone();
                }
                tgt.create_quota(&body).await?;
                created += 1;
            }
        }
    }
    // S1: confirm every copy by reading it back before anyone may remove an original.
    let missing = missing_copies(&source_quotas, &tgt.quotas().await?, p);
    if !missing.is_empty() {
        return Err(StepError::Failed(format!(
            "quota copies not found on {} after writing them: {}",
            ctx.plan.spec.to,
            missing.join(", ")
        )));
    }
    Ok((source_quotas, created, updated))
}

/// Delete the source's quotas `under` `p`'s path (as just read), each only when its copy is among
/// `target` (`None`: the admin asked for the removal without a copy), after journaling
/// every definition (S1, write-ahead). Returns how many went and the ones kept for want
/// of a copy.
pub(super) async fn remove_from_source(
    ctx: &crate::ctx::RunCtx,
    src: &crate::papi::PapiClient,
    under: &[Quota],
    target: Option<&[Quota]>,
    p: &crate::inventory::PolicyInfo,
) -> Result<(usize, Vec<String>), StepError> {
    if under.is_empty() {
        return Ok((0, Vec::new()));
    }
    let missing: Vec<String> = match target {
        Some(t) => missing_copies(under, t, p),
        None => Vec::new(),
    };
    let removable: Vec<&Quota> = under
        .iter()
        .filter(|q| !missing.contains(&format!("{} ({})", q.path, q.quota_type)))
        .collect();
    // Journal every definition before the first delete (write-ahead).
    ctx.with_state(|s| {
        for q in &removable {
            let entry = crate::report::RemovedConfig {
                cluster: ctx.plan.spec.from.clone(),
                kind: "quota".into(),
                path: q.path.clone(),
                policy: Some(p.name.clone()),
                definition: serde_json::to_value(q).unwrap_or_default(),
            };
            if !s.removed_config.contains(&entry) {
                s.removed_config.push(entry);
            }
        }
    });
    ctx.checkpoint()?;
    for q in &removable {
        src.delete_quota(&q.id).await?;
    }
    Ok((removable.len(), missing))
}

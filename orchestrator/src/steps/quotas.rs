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

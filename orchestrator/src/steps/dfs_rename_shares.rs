//! Step 6 (DFS mode), `dfs_rename_shares`: rename the source share `X` to `igls-dfs-X` and
//! the target's `igls-dfs-X` to `X`, so exactly one DFS referral target (`\\tgt\X`) is
//! reachable and DFS clients move to the target by themselves.
//!
//! The source is renamed first: for a moment no target answers (clients retry) rather than
//! both answering, which could split writes across the two copies.

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{shares_under, StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let policy = ctx.policy_of(inst)?;
    let p = ctx
        .plan
        .policies
        .iter()
        .find(|x| x.name == policy)
        .ok_or_else(|| StepError(format!("policy {policy} is not in the plan")))?;
    let prefix = ctx.plan.spec.options.naming.dfs_prefix.clone();
    let src = ctx.source(inst)?;
    let tgt = ctx.target(inst)?;
    let shares = shares_under(
        ctx,
        &src,
        &ctx.plan.spec.from,
        std::slice::from_ref(&p.source_path),
    )
    .await?;
    let mut done = Vec::new();
    for (zone, share) in &shares {
        let Some(orig) = original_name(&share.name, &prefix) else {
            // Active share on the source: hide it.
            src.update_smb_share(
                zone,
                &share.name,
                &json!({"name": format!("{prefix}{}", share.name)}),
            )
            .await?;
            done.push(format!(
                "{}:{} → {prefix}{}",
                ctx.plan.spec.from, share.name, share.name
            ));
            activate_target(&tgt, zone, &share.name, &prefix, &mut done).await?;
            continue;
        };
        // Already hidden on the source (a resumed run): make sure the target is active.
        activate_target(&tgt, zone, orig, &prefix, &mut done).await?;
    }
    Ok(if done.is_empty() {
        StepDone::unchanged("shares already renamed")
    } else {
        StepDone::acted(done.join("; "))
    })
}

fn original_name<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)
}

async fn activate_target(
    tgt: &crate::papi::PapiClient,
    zone: &str,
    name: &str,
    prefix: &str,
    done: &mut Vec<String>,
) -> Result<(), StepError> {
    let shares = tgt.smb_shares(zone).await?;
    if shares.iter().any(|s| s.name == name) {
        return Ok(());
    }
    let hidden = format!("{prefix}{name}");
    if !shares.iter().any(|s| s.name == hidden) {
        return Err(StepError(format!(
            "target {} has neither {name} nor {hidden} in zone {zone}; config replication must create it first",
            tgt.cluster()
        )));
    }
    tgt.update_smb_share(zone, &hidden, &json!({"name": name}))
        .await?;
    done.push(format!("{}:{hidden} → {name}", tgt.cluster()));
    Ok(())
}

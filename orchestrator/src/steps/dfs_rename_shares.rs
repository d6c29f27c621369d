//! Step 6 (DFS mode), `dfs_rename_shares`: rename the source share `X` to `igls-dfs-X` and
//! the target's `igls-dfs-X` to `X`, so exactly one DFS referral target (`\\tgt\X`) is
//! reachable and DFS clients move to the target by themselves.
//!
//! The source is renamed first: for a moment no target answers (clients retry) rather than
//! both answering, which could split writes across the two copies.
//!
//! Safety rule S4 (never strand DFS clients): the source share is renamed only after the
//! target's copy is confirmed, and if the target rename then fails the source rename is
//! undone. The plan skips this step for a policy whose `sync_config` failed.

use serde_json::json;

use crate::exec::RunCtx;
use crate::plan::StepInstance;

use super::{shares_under, StepDone, StepError};

pub async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
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
        let (name, hidden_here) = match original_name(&share.name, &prefix) {
            Some(orig) => (orig.to_string(), true),
            None => (share.name.clone(), false),
        };
        if !hidden_here {
            // S4: the source share is hidden only once the target's copy is confirmed.
            #[allow(unused_mut)]
            let mut check = true;
            #[cfg(feature = "planted-bugs")]
            if ctx.plan.spec.options.planted_bug
                == Some(crate::bugs::PlantedBug::DfsRenameWithoutTargetShare)
            {
                check = false; // Wrong on purpose: hide the source share unchecked.
            }
            if check {
                confirm_target(&tgt, zone, &name, &prefix).await?;
            }
            src.update_smb_share(zone, &name, &json!({"name": format!("{prefix}{name}")}))
                .await?;
            done.push(format!("{}:{name} → {prefix}{name}", ctx.plan.spec.from));
        }
        if let Err(e) = activate_target(&tgt, zone, &name, &prefix, &mut done).await {
            // S4: the target share did not come up; give DFS clients the source back.
            let undo = src
                .update_smb_share(zone, &format!("{prefix}{name}"), &json!({ "name": name }))
                .await;
            return Err(StepError(match undo {
                Ok(()) => format!(
                    "{e}; source share {name} on {} renamed back, DFS clients stay on the source",
                    ctx.plan.spec.from
                ),
                Err(u) => format!(
                    "{e}; renaming source share {prefix}{name} back to {name} on {} also failed ({u}): DFS clients have no target for it",
                    ctx.plan.spec.from
                ),
            }));
        }
    }
    Ok(if done.is_empty() {
        StepDone::unchanged("shares already renamed")
    } else {
        StepDone::acted(done.join("; "))
    })
}

/// The target must offer the share, active (`X`) or inactive (`igls-dfs-X`), before the
/// source's `X` is hidden.
async fn confirm_target(
    tgt: &crate::papi::PapiClient,
    zone: &str,
    name: &str,
    prefix: &str,
) -> Result<(), StepError> {
    let shares = tgt.smb_shares(zone).await?;
    let hidden = format!("{prefix}{name}");
    if shares.iter().any(|s| s.name == name || s.name == hidden) {
        Ok(())
    } else {
        Err(StepError(format!(
            "target {} has neither {name} nor {hidden} in zone {zone}; source share {name} left as it is (config replication must create the target share first)",
            tgt.cluster()
        )))
    }
}

/// `rollback_dfs_rename_shares[P]`: the policy's allow-write failed after its DFS shares were
/// switched, so the target copy is read-only: hide the target's `X` again (`igls-dfs-X`),
/// then make the source's `X` active, so DFS clients reach the copy that is still writable.
pub async fn rollback(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let p = ctx.policy_info(inst)?;
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
        let Some(name) = original_name(&share.name, &prefix) else {
            continue; // active on the source already
        };
        let hidden = format!("{prefix}{name}");
        if tgt.smb_shares(zone).await?.iter().any(|s| s.name == name) {
            tgt.update_smb_share(zone, name, &json!({ "name": hidden }))
                .await?;
            done.push(format!("{}:{name} → {hidden}", tgt.cluster()));
        }
        src.update_smb_share(zone, &hidden, &json!({ "name": name }))
            .await?;
        done.push(format!("{}:{hidden} → {name}", ctx.plan.spec.from));
    }
    Ok(if done.is_empty() {
        StepDone::unchanged("DFS shares already active on the source")
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

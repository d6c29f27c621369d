//! Networking step 7/15, `remove_source_spns`: `HOST/<name>` and `HOST/<fqdn>` of every moved
//! name come off the source cluster's machine account (before the target takes them: the same
//! SPN on two accounts breaks Kerberos). Shared SPN helpers: `spns.rs`.
//!
//! Uncontrolled failover: the source is down but the domain is not, so the SPNs come off
//! the source's machine account through the target cluster's AD provider (the seed's
//! "proxied through target cluster"; `isi auth ads spn delete --account`).

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::spns::remove_spns;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    if !ctx.plan.spec.controlled {
        return super::spns::remove_spns_via_target(ctx, inst).await;
    }
    remove_spns(
        ctx,
        inst,
        &ctx.source(inst)?,
        "no moved SPN on the source account",
    )
    .await
}

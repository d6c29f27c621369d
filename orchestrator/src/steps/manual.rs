//! Networking steps 14–18 of SyncIQ mode when `networking: manual`: the step prints what the
//! operator must do, and the executor waits for the operator to confirm it.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::{StepId, StepInstance};

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    let from = &ctx.plan.spec.from;
    let to = &ctx.plan.spec.to;
    let paths = ctx.source_paths();
    let text = match inst.step {
        StepId::RenameSourceSmartconnect => format!(
            "On {from}, rename the SmartConnect zone names and aliases of the pools serving {} (e.g. prefix igls-original-) so clients stop resolving them to {from}.",
            paths.join(", ")
        ),
        StepId::RemoveSourceSpns => format!(
            "In AD, delete the HOST/<name> and HOST/<fqdn> SPNs of those SmartConnect names from {from}'s machine account."
        ),
        StepId::MoveSmartconnectToTarget => format!(
            "On {to}, add the original SmartConnect names as aliases (sc_dns_zone_aliases) of the pool that serves the failed-over paths."
        ),
        StepId::AddTargetSpns => format!(
            "In AD, register HOST/<name> and HOST/<fqdn> SPNs for those names on {to}'s machine account."
        ),
        StepId::RepointDns => format!(
            "Update the DNS delegation (NS records) of those SmartConnect names to {to}'s SmartConnect service IP, then check they resolve to {to}."
        ),
        other => format!("Carry out {other} by hand."),
    };
    Ok(StepDone {
        acted: false,
        detail: None,
        manual: Some(text),
    })
}

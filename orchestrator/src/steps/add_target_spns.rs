//! Networking step 9/17, `add_target_spns`: the moved names' SPNs are registered on the
//! target's machine account; refuses to create a duplicate. Shared SPN helpers: `spns.rs`.

use crate::ctx::{RunCtx, StepDone, StepError};
use crate::plan::StepInstance;

use super::spns::add_spns;

pub(crate) async fn run(ctx: &RunCtx, inst: &StepInstance) -> Result<StepDone, StepError> {
    // Never create a duplicate: if another account (the source's, whose removal failed or
    // could not run, or any other) holds a moved SPN, registering it here would break
    // Kerberos for that name (I6). The target's own duplicate check sees them, since its
    // pool now carries the moved names.
    add_spns(ctx, inst, &ctx.target(inst)?, true, |added, account| {
        (
            "target account already has the SPNs",
            format!("added {added} SPN(s) to {account}"),
        )
    })
    .await
}

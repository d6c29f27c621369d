//! One call from connected clients to a finished report: discover, plan, execute.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::exec::{self, Observer, Operator, RunCtx};
use crate::inventory::{self, Inventory};
use crate::papi::{PapiClient, PapiError};
use crate::plan::{self, Plan, PlanError};
use crate::report::Report;
use crate::run_spec::RunSpec;

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("discovery failed: {0}")]
    Discover(#[from] PapiError),
    #[error("cannot plan the run: {0}")]
    Plan(#[from] PlanError),
}

/// Discover the clusters in `clients`.
pub async fn discover(clients: &BTreeMap<String, PapiClient>) -> Result<Inventory, PapiError> {
    inventory::discover(clients, &BTreeMap::new()).await
}

/// Discover, plan and execute `spec`; return the plan and the report.
pub async fn run(
    run_id: &str,
    clients: BTreeMap<String, PapiClient>,
    spec: &RunSpec,
    operator: Arc<dyn Operator>,
    observer: Option<Observer>,
) -> Result<(Plan, Report), RunError> {
    let inv = discover(&clients).await?;
    let plan = plan::build(spec, &inv)?;
    let ctx = Arc::new(RunCtx::new(run_id, plan.clone(), inv, clients));
    let report = exec::execute(ctx, operator, observer).await;
    Ok((plan, report))
}

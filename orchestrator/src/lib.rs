//! `orchestrator`: the failover orchestrator behind the `dr` command.
//!
//! It runs the ordered storage-layer failover steps of a OneFS cluster pair over the OneFS
//! Platform API and nothing else: it never links a simulator, and reaches clusters only
//! through [`papi::PapiClient`], whose transport is real HTTP or an in-process service.
//!
//! Flow: [`inventory::discover`] → [`plan::build`] (the DAG) → [`exec::execute`] (runs it,
//! keeping order and skip rules) → [`report::Report`]. [`runner::run`] does all three.

#[cfg(feature = "planted-bugs")]
pub mod bugs;
pub mod config;
pub mod dns;
pub mod exec;
pub mod inventory;
pub mod journal;
pub mod papi;
pub mod plan;
pub mod report;
pub mod run_spec;
pub mod runner;
pub mod secret;
pub mod server;
pub(crate) mod steps;

pub use exec::{AbsentOperator, Observer, Operator, RunEvent};
pub use plan::{Plan, StepId, StepInstance};
pub use report::{Outcome, Report, SkipReason, StepRecord, StepStatus};
pub use run_spec::{Mode, Networking, RunKind, RunOptions, RunSpec};

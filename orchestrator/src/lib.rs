//! `orchestrator`: the failover orchestrator behind the `dr` command.
//!
//! It runs the ordered storage-layer failover steps of a OneFS cluster pair over the OneFS
//! Platform API and nothing else: it never links a simulator, and reaches clusters only
//! through [`papi::PapiClient`], whose transport is real HTTP or an in-process service.
//!
//! Flow: [`runner::discover`] → [`build_plan`] (the DAG) → [`execute`] (runs it, keeping
//! order and skip rules) → [`report::Report`]. [`runner::run`] does all three.
//!
//! Layers, bottom up: `naming` (paths and names) → `plan` (step ids, instances, the DAG) →
//! `ctx` (what a step gets and returns) → `steps` (one file per step id, and the catalogue
//! that dispatches them) → `exec` (the executor; `makespan` computes its report's lower
//! bound and barrier baseline) → the surfaces: [`runner`], [`journal`],
//! [`server`], the `dr` binary. Only the surfaces, the client ([`papi`], [`dns`]), the data
//! formats ([`config`], [`run_spec`], [`report`], [`secret`]) and the items re-exported here
//! are public.

#[cfg(feature = "planted-bugs")]
pub mod bugs;
pub mod config;
pub mod config_repl;
mod ctx;
pub mod dns;
pub mod dump;
pub mod estimate;
mod exec;
pub mod html;
mod inventory;
pub mod journal;
mod makespan;
mod naming;
pub mod papi;
mod plan;
pub mod progress;
pub mod readiness;
mod ready;
pub mod report;
mod rollback_facts;
pub mod run_spec;
pub mod runner;
pub mod secret;
pub mod server;
mod steps;

pub use ctx::{Observer, RunCtx, RunEvent, RunState};
pub use exec::{execute, execute_resumable, AbsentOperator, Operator, Resume};
pub use inventory::{ClusterInfo, Inventory, JobSample, PolicyInfo, PoolInfo, TargetPolicyInfo};
pub use plan::{
    build as build_plan, Actor, NetMapping, Plan, PlanError, Returned, StepId, StepInstance,
    ZonePlan,
};
pub use report::{Outcome, Performance, Report, SkipReason, SlotLoad, StepRecord, StepStatus};
pub use run_spec::{Mode, Networking, RunKind, RunOptions, RunSpec};

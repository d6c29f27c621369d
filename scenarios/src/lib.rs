//! `scenarios`: the scenario format, simulated worlds, the judge (invariants) and the drill
//! harness behind the `drill` command.
//!
//! A scenario (YAML, [`scenario::Scenario`]) names a seeded world of simulated clusters, the
//! run to make, faults to inject and what to expect. [`runner::run_scenario`] builds the world
//! with `sim-onefs`, runs the real orchestrator against it (in-process under a paused clock,
//! or over loopback HTTP), and [`judge`] judges the result — from the world, the scenario
//! and the report's published JSON, independently of the orchestrator's internals.

pub mod bench;
pub mod chaos;
pub mod clients;
pub mod crash;
pub mod generate;
pub mod html;
pub mod import;
pub mod judge;
pub mod lab;
pub mod operator;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod table;
pub mod verify;
pub mod world;

pub use runner::{run_scenario, DrillOptions, DrillResult, TransportKind};
pub use scenario::Scenario;

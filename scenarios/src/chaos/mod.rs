//! Chaos testing (issue 6): generated worlds, runs and fault plans; seeded campaigns with
//! sharding, shrinking of failing seeds into replayable scenario files, and a step × fault
//! coverage matrix. Every run is judged by [`crate::judge`], whose reference model of the
//! documented rules (DESIGN.md §2, docs/safety-rules.md) runs on every `drill run`.
//!
//! * [`gen`] — proptest strategies (worlds, runs, fault plans) and the case → scenario
//!   builder. Seed N maps to the same scenario on every machine.
//! * [`campaign`] — `drill campaign`: seeds, workers, shards, summary, failing seeds.
//! * [`coverage`] — which steps were hit by which fault kinds, and which pairs never were.
//! * [`phases`] — how far each run got (planned … cut_over … completed), from its report.
//!
//! The invariants judged are whatever [`crate::judge`] judges (results say `ok`, `violated`
//! or `not_judged`); they grow without changes here.

pub mod campaign;
pub mod coverage;
pub mod gen;
pub mod known;
pub mod phases;

pub use campaign::{run_campaign, run_case, CampaignConfig, Shard, Summary};
pub use gen::{build_scenario, case_for_seed, case_strategy, ChaosCase, GenConfig};

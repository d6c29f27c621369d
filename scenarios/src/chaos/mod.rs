//! Chaos testing (issue 6): generated worlds, runs and fault plans; an oracle of the
//! documented step order and skip rules; seeded campaigns with sharding, shrinking of failing
//! seeds into replayable scenario files, and a step × fault coverage matrix.
//!
//! * [`gen`] — proptest strategies (worlds, runs, fault plans) and the case → scenario
//!   builder. Seed N maps to the same scenario on every machine.
//! * [`oracle`] — the documented rules (DESIGN.md §2) judged against a report, independent
//!   of the plan's own DAG (which `check.rs` trusts).
//! * [`campaign`] — `drill campaign`: seeds, workers, shards, summary, failing seeds.
//! * [`coverage`] — which steps were hit by which fault kinds, and which pairs never were.
//!
//! The invariants judged are whatever [`crate::check`] implements (results carry `checked`),
//! plus the oracle's checks; both grow without changes here.

pub mod campaign;
pub mod coverage;
pub mod gen;
pub mod known;
pub mod oracle;

pub use campaign::{run_campaign, run_case, CampaignConfig, Shard, Summary};
pub use gen::{build_scenario, case_for_seed, case_strategy, ChaosCase, GenConfig};

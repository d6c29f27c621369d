//! `drill`: run failover drills against simulated OneFS clusters.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scenarios::generate::{self, GenParams};
use scenarios::{run_scenario, DrillOptions, Scenario, TransportKind};

/// Failover drills on simulated OneFS cluster pairs.
///
/// Exit codes: 0 = every drill passed; 1 = a drill ran but an invariant or its `expect`
/// failed; 2 = bad input (unreadable or invalid scenario, bad arguments); 3 = the drill
/// could not run.
#[derive(Parser)]
#[command(name = "drill", version, about, long_about)]
struct Cli {
    /// Log filter (e.g. `info`, `orchestrator=debug`); logs go to stderr.
    #[arg(long, env = "DRILL_LOG", default_value = "warn", global = true)]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Transport {
    /// In-process calls into the simulated clusters, paused (virtual) clock.
    InProcess,
    /// Real HTTP to the clusters served on 127.0.0.1, real time.
    Http,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenario files and check their invariants and expectations.
    Run {
        /// Scenario YAML files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print the results as JSON (one object per scenario, in a list).
        #[arg(long)]
        json: bool,
        /// How the orchestrator reaches the simulated clusters.
        #[arg(long, value_enum, default_value = "in-process")]
        transport: Transport,
        /// Write each run's deterministic trace (report + audit log, JSON lines) here.
        #[arg(long)]
        trace_dir: Option<PathBuf>,
    },
    /// Print the scenario file's JSON Schema.
    Schema,
    /// Write a generated SyncIQ-mode scenario (YAML) to stdout.
    Generate {
        /// Number of policies.
        #[arg(long, default_value_t = 100)]
        policies: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The clusters' SyncIQ max_concurrent_jobs.
        #[arg(long, default_value_t = 16)]
        max_concurrent_jobs: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("drill: error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Schema => {
            let schema = schemars::schema_for!(Scenario);
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Generate {
            policies,
            seed,
            max_concurrent_jobs,
        } => {
            print!(
                "{}",
                generate::synciq_yaml(&GenParams {
                    policies,
                    seed,
                    max_concurrent_jobs,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            files,
            json,
            transport,
            trace_dir,
        } => {
            let opts = DrillOptions {
                transport: match transport {
                    Transport::InProcess => TransportKind::InProcess,
                    Transport::Http => TransportKind::Http,
                },
            };
            let mut scenarios = Vec::new();
            for f in &files {
                match Scenario::load(f) {
                    Ok(s) => scenarios.push(s),
                    Err(e) => {
                        eprintln!("drill: {e}");
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            let mut all_passed = true;
            let mut results = Vec::new();
            for (scn, file) in scenarios.iter().zip(&files) {
                let started = std::time::Instant::now();
                let result = run_scenario(scn, &opts)
                    .with_context(|| format!("running {}", file.display()))?;
                let wall = started.elapsed();
                all_passed &= result.passed();
                if let Some(dir) = &trace_dir {
                    std::fs::create_dir_all(dir)?;
                    let path = dir.join(format!("{}-{}.trace.jsonl", result.scenario, result.seed));
                    std::fs::write(&path, result.trace())
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                if json {
                    results.push(serde_json::to_value(&result)?);
                } else {
                    print!("{}", scenarios::table::render(&result));
                    println!("wall time: {:.3} s\n", wall.as_secs_f64());
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            }
            Ok(if all_passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

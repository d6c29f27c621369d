//! `dr`: fail a OneFS cluster pair over, over the OneFS Platform API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use orchestrator::config::Config;
use orchestrator::exec::{AbsentOperator, RunEvent};
use orchestrator::{plan, runner, Mode, Networking, Outcome, RunKind, RunOptions, RunSpec};

/// Storage-layer failover of OneFS (PowerScale) cluster pairs.
///
/// Cluster addresses and credential sources come from a config file (see `--config`);
/// passwords are read from the environment variable or file it names, never from the
/// command line. TLS certificates are verified unless `--insecure` is given.
///
/// Exit codes: 0 = done (failover succeeded); 1 = the run ended partial, failed, blocked or
/// paused; 2 = bad input (config, arguments, unknown policy); 3 = a cluster could not be
/// reached or answered unexpectedly.
#[derive(Parser)]
#[command(name = "dr", version, about, long_about)]
struct Cli {
    /// The cluster config file (YAML).
    #[arg(
        long,
        short,
        env = "DR_CONFIG",
        default_value = "dr.yaml",
        global = true
    )]
    config: PathBuf,
    /// Trust this CA certificate (PEM) for every cluster.
    #[arg(long, global = true)]
    ca_cert: Option<PathBuf>,
    /// Do not verify TLS certificates (a warning is logged). Never use against production
    /// clusters you cannot reach over a trusted network.
    #[arg(long, global = true)]
    insecure: bool,
    /// Log filter (e.g. `info`, `orchestrator=debug`); logs go to stderr.
    #[arg(long, env = "DR_LOG", default_value = "warn", global = true)]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    SynciqPolicy,
    Dfs,
    AccessZone,
    IpPool,
}

#[derive(Args)]
struct RunArgs {
    /// The cluster failing over (currently active).
    #[arg(long)]
    from: Option<String>,
    /// The cluster taking over.
    #[arg(long)]
    to: Option<String>,
    /// Failover mode.
    #[arg(long, value_enum, default_value = "synciq-policy")]
    mode: ModeArg,
    /// Policies to fail over (repeat; default: all from --from to --to).
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Networking steps are a manual checklist (the run pauses for confirmation).
    #[arg(long)]
    manual_networking: bool,
    /// One step at a time instead of independent policies in parallel.
    #[arg(long)]
    serial: bool,
    /// Abort before any change if validation has warnings (step 3a).
    #[arg(long)]
    block_on_warning: bool,
    /// A YAML run spec (the `run:` section of a scenario) instead of the flags above.
    #[arg(long, conflicts_with_all = ["from", "to", "policies"])]
    spec: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    fn to_spec(&self) -> anyhow::Result<RunSpec> {
        if let Some(path) = &self.spec {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading run spec {}", path.display()))?;
            return yaml_serde::from_str(&text)
                .with_context(|| format!("run spec {}", path.display()));
        }
        let from = self
            .from
            .clone()
            .context("--from is required (or --spec FILE)")?;
        let to = self
            .to
            .clone()
            .context("--to is required (or --spec FILE)")?;
        Ok(RunSpec {
            kind: RunKind::Failover,
            mode: match self.mode {
                ModeArg::SynciqPolicy => Mode::SynciqPolicy,
                ModeArg::Dfs => Mode::Dfs,
                ModeArg::AccessZone => Mode::AccessZone,
                ModeArg::IpPool => Mode::IpPool,
            },
            from,
            to,
            policies: self.policies.clone(),
            zone: None,
            pool: None,
            controlled: true,
            options: RunOptions {
                networking: if self.manual_networking {
                    Networking::Manual
                } else {
                    Networking::Auto
                },
                parallel: !self.serial,
                block_on_warning: self.block_on_warning,
                ..RunOptions::default()
            },
        })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Read every configured cluster's identity and SyncIQ policies.
    Discover {
        /// Print the inventory as JSON (loadable by tools and drills).
        #[arg(long)]
        dump: bool,
    },
    /// Print the step DAG a failover would run, without changing anything.
    Plan(RunArgs),
    /// Run a failover.
    Failover(RunArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dr: error: cannot start the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match rt.block_on(real_main(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dr: error: {e:#}");
            let input = e.chain().any(|c| {
                c.downcast_ref::<orchestrator::config::ConfigError>()
                    .is_some()
                    || c.downcast_ref::<orchestrator::plan::PlanError>().is_some()
                    || c.downcast_ref::<yaml_serde::Error>().is_some()
            });
            ExitCode::from(if input { 2 } else { 3 })
        }
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    let clients = config.clients(cli.ca_cert.as_deref(), cli.insecure)?;
    match cli.cmd {
        Cmd::Discover { dump } => {
            let inv = runner::discover(&clients).await.context("discovery")?;
            if dump {
                println!("{}", serde_json::to_string_pretty(&inv)?);
            } else {
                for c in inv.clusters.values() {
                    println!(
                        "cluster {} (OneFS {}, guid {}, SyncIQ {}, {} job slots)",
                        c.name, c.release, c.guid, c.synciq_service, c.max_concurrent_jobs
                    );
                }
                for p in inv.policies.values() {
                    println!(
                        "policy {:<24} {} → {}  {} → {}  schedule {:?}{}",
                        p.name,
                        p.source,
                        p.target.as_deref().unwrap_or("?"),
                        p.source_path,
                        p.target_path,
                        p.schedule,
                        if p.enabled { "" } else { "  (disabled)" }
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Plan(args) => {
            let spec = args.to_spec()?;
            let inv = runner::discover(&clients).await.context("discovery")?;
            let plan = plan::build(&spec, &inv)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{}", plan.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Failover(args) => {
            let spec = args.to_spec()?;
            let run_id = format!(
                "run-{}",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            );
            let bar = indicatif::ProgressBar::new_spinner();
            let observer: orchestrator::Observer = {
                let bar = bar.clone();
                Arc::new(move |ev: &RunEvent| match ev {
                    RunEvent::StepStarted(r) => bar.set_message(format!(
                        "{} {}{}",
                        r.seed_no,
                        r.step,
                        r.policy
                            .as_deref()
                            .map(|p| format!("[{p}]"))
                            .unwrap_or_default()
                    )),
                    RunEvent::StepEnded(r) => {
                        bar.inc(1);
                        if !r.status.is_ok() {
                            bar.println(format!(
                                "{} {}{}: {}",
                                r.seed_no,
                                r.step,
                                r.policy
                                    .as_deref()
                                    .map(|p| format!("[{p}]"))
                                    .unwrap_or_default(),
                                r.status.name()
                            ));
                        }
                    }
                    RunEvent::StepsAdded(_) | RunEvent::State(_) => {}
                })
            };
            let (_plan, report) = runner::run(
                &run_id,
                clients,
                &spec,
                Arc::new(AbsentOperator),
                Some(observer),
            )
            .await?;
            bar.finish_and_clear();
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for s in &report.steps {
                    println!(
                        "{:<5} {:<28} {:<20} {}",
                        s.seed_no,
                        s.step.as_str(),
                        s.policy.as_deref().or(s.zone.as_deref()).unwrap_or("-"),
                        match &s.status {
                            orchestrator::StepStatus::Failed { error } =>
                                format!("failed: {error}"),
                            orchestrator::StepStatus::Skipped { reason } =>
                                format!("skipped: {}", reason.short()),
                            orchestrator::StepStatus::Manual { instructions, .. } =>
                                format!("manual: {instructions}"),
                            other => other.name().to_string(),
                        }
                    );
                }
                println!("outcome: {}", report.outcome.as_str());
            }
            Ok(if report.outcome == Outcome::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

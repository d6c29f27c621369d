//! `dr`: fail a OneFS cluster pair over, over the OneFS Platform API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use orchestrator::config::Config;
use orchestrator::journal::{Journal, JournalOperator};
use orchestrator::progress::StepTree;
use orchestrator::AbsentOperator;
use orchestrator::{build_plan, runner, Mode, Networking, Outcome, RunKind, RunOptions, RunSpec};

/// Storage-layer failover of OneFS (PowerScale) cluster pairs.
///
/// Cluster addresses and credential sources come from a config file (see `--config`);
/// passwords are read from the environment variable or file it names, never from the
/// command line. TLS certificates are verified unless `--insecure` is given.
///
/// Exit codes: 0 = done (failover succeeded); 1 = the run ended partial, failed, blocked,
/// aborted or paused, or failed for another reason; 2 = bad input (config, arguments, unknown
/// policy); 3 = a cluster could not be reached or answered unexpectedly; 4 = refused (a lock
/// held by another run, a run another live process executes, no such run or journal, a run
/// that cannot be resumed); 5 = the journal cannot be written (the run stopped before any
/// further step acted; `dr resume RUN` continues it once the journal is writable); 70 = an
/// internal error stopped the process (a panic interrupted a change of shared state).
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
    /// The run journal (SQLite, WAL): every run's plan, step intents and results.
    #[arg(
        long,
        env = "DR_JOURNAL",
        default_value = "dr-journal.sqlite",
        global = true
    )]
    journal: PathBuf,
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

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Failover,
    Failback,
    Rehearsal,
}

#[derive(Args)]
struct PlanArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Predict each step's and the run's duration from the clusters' sync report history,
    /// their job slots and the cost model (the config's `estimate:` section fills in what the
    /// history cannot tell).
    #[arg(long)]
    estimate: bool,
}

#[derive(Args)]
struct RunArgs {
    /// Kind of run (the `failback` and `rehearsal` subcommands set it).
    #[arg(long, value_enum, default_value = "failover")]
    kind: KindArg,
    /// Access Zone mode: the zone to fail over.
    #[arg(long)]
    zone: Option<String>,
    /// IP Pool mode: the source pool id (e.g. `groupnet0.subnet0.pool0`).
    #[arg(long)]
    pool: Option<String>,
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
    /// Deny-Everyone on the source's SMB shares during the failover (step 1a).
    #[arg(long)]
    data_integrity: bool,
    /// Turn SMB and NFS off cluster-wide on the source first (step 1, option).
    #[arg(long)]
    disable_protocols: bool,
    /// Do not pre-sync before the lock (step 1p off): the final sync after the lock then
    /// moves the whole backlog since each policy's last sync, and the clients wait for it.
    #[arg(long)]
    no_presync: bool,
    /// Do not copy quotas to the target (step 12 off; source quotas then stay).
    #[arg(long)]
    no_quotas: bool,
    /// With --no-quotas, delete the source's quotas anyway (their definitions go into the
    /// report).
    #[arg(long, requires = "no_quotas")]
    remove_source_quotas: bool,
    /// Keep a failed policy's lock, manual schedule and disabled config job for inspection
    /// instead of rolling them back on the source (safety rule S5).
    #[arg(long)]
    hold_failed_policies: bool,
    /// A YAML run spec (the `run:` section of a scenario) instead of the flags above.
    #[arg(long, conflicts_with_all = ["from", "to", "policies", "zone", "pool"])]
    spec: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML file (step tree, timeline, and the
    /// impact, data-loss risk and recovery of every failed or skipped step).
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
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
            kind: match self.kind {
                KindArg::Failover => RunKind::Failover,
                KindArg::Failback => RunKind::Failback,
                KindArg::Rehearsal => RunKind::Rehearsal,
            },
            mode: match self.mode {
                ModeArg::SynciqPolicy => Mode::SynciqPolicy,
                ModeArg::Dfs => Mode::Dfs,
                ModeArg::AccessZone => Mode::AccessZone,
                ModeArg::IpPool => Mode::IpPool,
            },
            from,
            to,
            policies: self.policies.clone(),
            zone: self.zone.clone(),
            pool: self.pool.clone(),
            pool_mappings: vec![],
            controlled: true,
            options: RunOptions {
                networking: if self.manual_networking {
                    Networking::Manual
                } else {
                    Networking::Auto
                },
                parallel: !self.serial,
                block_on_warning: self.block_on_warning,
                data_integrity: self.data_integrity,
                disable_protocols: self.disable_protocols,
                quotas: !self.no_quotas,
                presync: !self.no_presync,
                remove_source_quotas: self.remove_source_quotas,
                on_policy_failure: if self.hold_failed_policies {
                    orchestrator::run_spec::OnPolicyFailure::Hold
                } else {
                    orchestrator::run_spec::OnPolicyFailure::Rollback
                },
                ..RunOptions::default()
            },
        })
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Read every configured cluster's identity and SyncIQ policies; with `--dump FILE`,
    /// write the whole estate (zones, network, shares, exports, quotas, snapshot schedules,
    /// dedupe, AD SPNs, SyncIQ and its report history, DNS delegations) as a versioned
    /// inventory file for `drill import`. Uses GET requests only: a read-only role is enough.
    Discover {
        /// Write the inventory file here (`-` = standard output). No secret is written.
        #[arg(long, value_name = "FILE")]
        dump: Option<PathBuf>,
        /// Print the JSON Schema of the inventory file and exit.
        #[arg(long)]
        schema: bool,
        /// Print the planning inventory (what `dr plan` works from) as JSON.
        #[arg(long)]
        json: bool,
        /// The DNS server to ask for SmartConnect delegations (`ip:port`); default: the
        /// config's `dns.server`.
        #[arg(long)]
        dns_server: Option<String>,
        /// Record a pool mapping of your plan in the file (`SRC=TGT`, each
        /// `cluster/groupnet.subnet.pool`; repeat). `SRC=TGT:P1,P2` also records the
        /// policies assigned to the pool (IP Pool mode fails them over with it).
        #[arg(long = "pool-mapping", value_name = "SRC=TGT[:POLICY,…]")]
        pool_mappings: Vec<String>,
        /// Sync reports kept per policy, newest first (0 = all).
        #[arg(long, default_value_t = 50)]
        report_limit: usize,
    },
    /// Print the step DAG a failover would run, without changing anything.
    Plan(PlanArgs),
    /// Run a failover (journaled; see `status` and `resume`).
    Failover(RunArgs),
    /// Run a failback (a failover in the other direction, using the mirror policies).
    Failback(RunArgs),
    /// Run a rehearsal (non-disruptive test of the target).
    Rehearsal(RunArgs),
    /// Readiness checks (step 3) for a run, changing nothing: the tree cluster → zone →
    /// pool → policy, every check ok / warning / error with what to fix.
    ///
    /// `--json` prints the tree as the report's `readiness` field. Exit codes: 0 = ready,
    /// no warnings; 1 = not ready (an error, which blocks step 3; or a warning with
    /// `--block-on-warning`, which step 3a would block on); 6 = ready with warnings. A
    /// cluster that refuses the credentials during discovery ends it before the tree, with
    /// the global codes (3).
    Readiness(RunArgs),
    /// Runs in the journal; with RUN, that run's steps.
    Status {
        run: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// With RUN: write its report as a self-contained HTML file (once it has stopped).
        #[arg(long, value_name = "FILE.html", requires = "run")]
        report: Option<PathBuf>,
    },
    /// Continue an interrupted or paused run from the journal.
    Resume {
        run: String,
        /// Confirm a manual step (`STEP` or `STEP:policy`; repeat).
        #[arg(long = "confirm")]
        confirm: Vec<String>,
        /// Give up on the run: mark it aborted and release its locks (changes no cluster).
        #[arg(long, conflicts_with = "confirm")]
        abort: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write the report as a self-contained HTML file.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Run the config replication jobs (one per policy, in the journal's database): copy
    /// SMB shares, NFS exports and aliases, quotas, snapshot schedules and dedupe paths
    /// under each policy's path from its source to its target (create, update, delete to
    /// match). Jobs of disabled policies are `policy_disabled`; `user_disabled` jobs (an
    /// admin's, or a failover's until its step 13b) are skipped. Exit 0 when every job that
    /// ran succeeded, 1 when one failed.
    ConfigSync(ConfigSyncArgs),
    /// Serve the REST API (tokens from the config file's `api.tokens`).
    ///
    /// Plain HTTP only on a loopback address: a non-loopback `--listen` needs `--tls-cert`
    /// and `--tls-key` (bearer tokens must not cross a network in clear), or
    /// `--insecure-listen` to accept the risk.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ConfigSyncArgs {
    /// One pass, then exit (the default).
    #[arg(long, conflicts_with = "every")]
    once: bool,
    /// Repeat a pass every INTERVAL (`30s`, `5m`, `1h`) until interrupted (Ctrl-C).
    #[arg(long, value_parser = parse_interval)]
    every: Option<std::time::Duration>,
    /// Only these policies (repeat; default: every policy of the configured clusters).
    #[arg(long = "policy")]
    policies: Vec<String>,
    /// Policies in DFS mode: their shares land on the target as `igls-dfs-X` (repeat).
    #[arg(long = "dfs-policy")]
    dfs_policies: Vec<String>,
    /// Set these policies' jobs to `user_disabled` and exit (repeat).
    #[arg(long = "disable", conflicts_with_all = ["once", "every", "enable"])]
    disable: Vec<String>,
    /// Set these policies' jobs to `enabled` and exit (repeat).
    #[arg(long = "enable", conflicts_with_all = ["once", "every"])]
    enable: Vec<String>,
    /// Print each pass as JSON (one document per pass).
    #[arg(long)]
    json: bool,
}

/// `30s`, `5m`, `1h`, `250ms` → a duration of at least one second.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .ok_or_else(|| format!("{s:?}: give a unit (s, m or h), e.g. 5m"))?;
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a number then s, m or h, e.g. 5m"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        other => return Err(format!("{s:?}: unknown unit {other:?} (use s, m or h)")),
    };
    if secs == 0 {
        return Err("the interval must be at least 1s".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: String,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (tokens then travel in clear).
    #[arg(long)]
    insecure_listen: bool,
    /// Open connections at most; more are closed on accept.
    #[arg(long, default_value_t = 256)]
    max_connections: usize,
    /// Time a client has to send a request's headers (and finish the TLS handshake).
    #[arg(long, default_value_t = 10_000)]
    header_timeout_ms: u64,
    /// A connection with no traffic for this long is closed.
    #[arg(long, default_value_t = 60_000)]
    idle_timeout_ms: u64,
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
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The documented exit code for an error (see the command's long help).
fn exit_code(e: &anyhow::Error) -> u8 {
    use orchestrator::runner::RunError as R;
    for c in e.chain() {
        // `RunError::Journal` is transparent: its journal error is not a link of the chain.
        if let Some(r) = c.downcast_ref::<R>() {
            return match r {
                R::JournalStopped { .. } => 5,
                R::Discover(_) => 3,
                R::Plan(_) => 2,
                R::Journal(j) => journal_code(j),
            };
        }
        if let Some(j) = c.downcast_ref::<orchestrator::journal::JournalError>() {
            return journal_code(j);
        }
        if let Some(e) = c.downcast_ref::<orchestrator::config_repl::SyncError>() {
            use orchestrator::config_repl::SyncError as S;
            return match e {
                S::Discover(_) => 3,
                S::UnknownPolicy(_) => 2,
                S::Store(_) => 5,
            };
        }
        if c.downcast_ref::<orchestrator::config_repl::StoreError>()
            .is_some()
        {
            return 5;
        }
        if c.downcast_ref::<orchestrator::config::ConfigError>()
            .is_some()
            || c.downcast_ref::<orchestrator::PlanError>().is_some()
            || c.downcast_ref::<yaml_serde::Error>().is_some()
        {
            return 2;
        }
        if c.downcast_ref::<orchestrator::papi::PapiError>().is_some()
            || c.downcast_ref::<orchestrator::dns::DnsClientError>()
                .is_some()
        {
            return 3;
        }
    }
    1
}

/// Exit code of a journal error: refusals 4, a damaged journal 2, an unwritable one 5.
fn journal_code(j: &orchestrator::journal::JournalError) -> u8 {
    use orchestrator::journal::JournalError as J;
    match j {
        J::Locked { .. }
        | J::Owned { .. }
        | J::UnknownRun(_)
        | J::DuplicateRun(_)
        | J::NotResumable { .. }
        | J::Gone(_) => 4,
        J::Invalid(_) => 2,
        J::Db(_) | J::Json(_) | J::OwnerFile { .. } => 5,
    }
}

async fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(code) = journal_cmd(&cli).await? {
        return Ok(code);
    }
    if let Cmd::Discover { schema: true, .. } = &cli.cmd {
        println!(
            "{}",
            serde_json::to_string_pretty(&orchestrator::dump::schema())?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let config = Config::load(&cli.config)?;
    if cli.insecure {
        tracing::warn!("--insecure: TLS certificates of the clusters are NOT verified");
        eprintln!("dr: warning: --insecure: TLS certificates of the clusters are NOT verified");
    }
    let clients = config.clients(cli.ca_cert.as_deref(), cli.insecure)?;
    let dns = config.dns_client()?;
    match &cli.cmd {
        Cmd::Resume {
            run,
            confirm,
            json,
            report,
            ..
        } => {
            return resume_cmd(
                &cli.journal,
                clients,
                dns,
                run,
                confirm,
                *json,
                report.as_deref(),
            )
            .await
        }
        Cmd::Serve(args) => return serve_cmd(&cli.journal, &config, clients, dns, args).await,
        Cmd::ConfigSync(args) => return config_sync_cmd(&cli.journal, clients, args).await,
        _ => {}
    }
    match cli.cmd {
        Cmd::Discover {
            dump: Some(path),
            dns_server,
            pool_mappings,
            report_limit,
            ..
        } => {
            dump_cmd(
                &config,
                &clients,
                dns,
                &path,
                dns_server,
                &pool_mappings,
                report_limit,
            )
            .await
        }
        Cmd::Discover { json, .. } => {
            let inv = runner::discover(&clients).await.context("discovery")?;
            if json {
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
        Cmd::Plan(PlanArgs {
            run: args,
            estimate,
        }) => {
            let spec = args.to_spec()?;
            let inv = runner::discover(&clients).await.context("discovery")?;
            let plan = build_plan(&spec, &inv)?;
            if estimate {
                let est = orchestrator::estimate::estimate(&plan, &inv, &config.estimate);
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&est)?);
                } else {
                    print!("{}", est.render());
                }
            } else if args.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{}", plan.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Failover(args) => run_cmd(&cli.journal, clients, dns, args, None, &config).await,
        Cmd::Failback(args) => {
            run_cmd(
                &cli.journal,
                clients,
                dns,
                args,
                Some(RunKind::Failback),
                &config,
            )
            .await
        }
        Cmd::Rehearsal(args) => {
            run_cmd(
                &cli.journal,
                clients,
                dns,
                args,
                Some(RunKind::Rehearsal),
                &config,
            )
            .await
        }
        Cmd::Readiness(args) => {
            let spec = args.to_spec()?;
            let inv = runner::discover(&clients).await.context("discovery")?;
            let plan = build_plan(&spec, &inv)?;
            let tree = runner::readiness(plan, inv, clients, dns).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&tree)?);
            } else {
                print!("{}", orchestrator::readiness::render::text(&tree));
            }
            Ok(ExitCode::from(
                tree.exit_code(spec.options.block_on_warning),
            ))
        }
        Cmd::Status { .. } | Cmd::Resume { .. } | Cmd::Serve(_) | Cmd::ConfigSync(_) => {
            unreachable!("handled before connecting")
        }
    }
}

/// A dump's progress on stderr: a bar when stderr is a terminal, nothing otherwise (so a
/// log or a pipe does not fill with redraws).
struct DumpProgress(Option<indicatif::ProgressBar>);

impl DumpProgress {
    fn new() -> Self {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() {
            return DumpProgress(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} reads  {wide_msg}")
        {
            bar.set_style(style);
        }
        DumpProgress(Some(bar))
    }
}

impl orchestrator::dump::Progress for DumpProgress {
    fn total(&self, reads: u64) {
        if let Some(b) = &self.0 {
            b.inc_length(reads);
        }
    }
    fn read(&self, what: &str) {
        if let Some(b) = &self.0 {
            b.set_message(what.to_string());
            b.inc(1);
        }
    }
}

/// `dr discover --dump FILE`.
async fn dump_cmd(
    config: &Config,
    clients: &std::collections::BTreeMap<String, orchestrator::papi::PapiClient>,
    dns: Option<orchestrator::dns::DnsClient>,
    path: &std::path::Path,
    dns_server: Option<String>,
    pool_mappings: &[String],
    report_limit: usize,
) -> anyhow::Result<ExitCode> {
    use orchestrator::dump;
    let mut mappings = Vec::new();
    for m in pool_mappings {
        let (source, rest) = m.split_once('=').with_context(|| {
            format!("--pool-mapping {m:?}: expected SRC=TGT[:POLICY,…] (cluster/groupnet.subnet.pool each)")
        })?;
        // `:P1,P2` after the target: the policies assigned to the pool (IP Pool mode).
        let (target, policies) = rest.split_once(':').unwrap_or((rest, ""));
        mappings.push(dump::PoolMappingDump {
            source: source.trim().to_string(),
            target: target.trim().to_string(),
            policies: policies
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        });
    }
    let (dns, server) = match dns_server {
        Some(s) => {
            let server: std::net::SocketAddr = s
                .parse()
                .with_context(|| format!("--dns-server {s:?} is not ip:port"))?;
            let client = orchestrator::dns::DnsClient::new(
                Arc::new(orchestrator::dns::NetDns {
                    server,
                    timeout_ms: 2_000,
                }),
                None,
            );
            (Some(client), Some(s))
        }
        None => (dns, config.dns.as_ref().map(|d| d.server.clone())),
    };
    if dns.is_none() {
        eprintln!(
            "dr: warning: no DNS server (config `dns.server` or --dns-server): SmartConnect \
             delegations are recorded as unknown"
        );
    }
    let opts = dump::DumpOptions {
        hosts: config
            .clusters
            .iter()
            .map(|c| (c.name.clone(), c.hosts.clone()))
            .collect(),
        report_limit,
        now_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
        dns_server: server,
        pool_mappings: mappings,
    };
    let progress = DumpProgress::new();
    let inv = dump::discover_dump(clients, dns.as_ref(), &opts, &progress)
        .await
        .context("discovery")?;
    if let Some(b) = &progress.0 {
        b.finish_and_clear();
    }
    let text = serde_json::to_string_pretty(&inv)? + "\n";
    if path.as_os_str() == "-" {
        print!("{text}");
    } else {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        let objects: usize = inv
            .clusters
            .iter()
            .map(|c| {
                c.zones.len()
                    + c.pools.len()
                    + c.smb_shares.len()
                    + c.nfs_exports.len()
                    + c.nfs_aliases.len()
                    + c.quotas.len()
                    + c.snapshot_schedules.len()
                    + c.synciq.policies.len()
            })
            .sum();
        eprintln!(
            "dr: wrote {} ({} clusters, {objects} objects, {} SmartConnect names)",
            path.display(),
            inv.clusters.len(),
            inv.dns.names.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Commands that need the journal but not (yet) the clusters.
async fn journal_cmd(cli: &Cli) -> anyhow::Result<Option<ExitCode>> {
    match &cli.cmd {
        Cmd::Status { run, json, report } => {
            let journal = Journal::open_existing(&cli.journal)?;
            match run {
                None => {
                    let runs = journal.list_runs()?;
                    if *json {
                        println!("{}", serde_json::to_string_pretty(&runs)?);
                    } else if runs.is_empty() {
                        println!("no runs in {}", cli.journal.display());
                    } else {
                        for r in runs {
                            println!(
                                "{:<28} {:<10} {:<9} {} {} → {}",
                                r.id,
                                r.status,
                                format!("{:?}", r.spec.kind).to_lowercase(),
                                r.spec.mode.as_str(),
                                r.spec.from,
                                r.spec.to
                            );
                        }
                    }
                }
                Some(id) => {
                    let d = journal.run(id)?;
                    if let Some(path) = report {
                        let r = d.report.as_ref().ok_or_else(|| {
                            anyhow::anyhow!("run {id} is {} and has no report yet", d.row.status)
                        })?;
                        write_html(path, r)?;
                    }
                    if *json {
                        println!("{}", serde_json::to_string_pretty(&d)?);
                    } else {
                        println!(
                            "run {} ({} {} {} → {}): {}",
                            d.row.id,
                            format!("{:?}", d.row.spec.kind).to_lowercase(),
                            d.row.spec.mode.as_str(),
                            d.row.spec.from,
                            d.row.spec.to,
                            d.row.status
                        );
                        print_steps(&d.steps);
                        if !d.locks.is_empty() {
                            println!("locks held: {}", d.locks.join(", "));
                        }
                        if !d.confirmations.is_empty() {
                            println!("confirmed: {}", d.confirmations.join(", "));
                        }
                        print_waiting(&d.row.id, &d.steps);
                    }
                }
            }
            Ok(Some(ExitCode::SUCCESS))
        }
        Cmd::Resume {
            run, abort: true, ..
        } => {
            let journal = Journal::open_existing(&cli.journal)?;
            journal.abort_run(run)?;
            println!("run {run} marked aborted; its locks are released");
            Ok(Some(ExitCode::SUCCESS))
        }
        _ => Ok(None),
    }
}

/// `dr config-sync`: set job states, or run passes (once, or every interval).
async fn config_sync_cmd(
    journal: &std::path::Path,
    clients: std::collections::BTreeMap<String, orchestrator::papi::PapiClient>,
    args: &ConfigSyncArgs,
) -> anyhow::Result<ExitCode> {
    use orchestrator::config_repl::{sync_all, JobState, SyncRequest};
    let store = Journal::open(journal)?.config_store()?;
    if !args.disable.is_empty() || !args.enable.is_empty() {
        let inv = runner::discover(&clients).await.context("discovery")?;
        for (names, state) in [
            (&args.disable, JobState::UserDisabled),
            (&args.enable, JobState::Enabled),
        ] {
            for name in names {
                let p = inv.policies.get(name).ok_or_else(|| {
                    orchestrator::config_repl::SyncError::UnknownPolicy(name.clone())
                })?;
                let target = p.target.clone().unwrap_or_default();
                store.set_state(
                    &p.source,
                    name,
                    &target,
                    state,
                    "set by an admin (dr config-sync)",
                )?;
                println!("config job of {name}: {}", state.as_str());
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let req = SyncRequest {
        policies: args.policies.clone(),
        dfs_policies: args.dfs_policies.clone(),
        dfs_prefix: None,
    };
    loop {
        let summary = sync_all(&store, &clients, &req).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            for j in &summary.jobs {
                println!(
                    "{:<24} {} → {}  {:<15} {:<9} {}",
                    j.policy,
                    j.source,
                    j.target,
                    j.state.as_str(),
                    j.result,
                    j.detail
                );
            }
            if summary.jobs.is_empty() {
                println!("no policies to replicate");
            }
        }
        let code = if summary.ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
        let Some(every) = args.every else {
            return Ok(code);
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(code),
            _ = tokio::time::sleep(every) => {}
        }
    }
}

fn print_steps(steps: &[orchestrator::StepRecord]) {
    for s in steps {
        println!(
            "{:<5} {:<28} {:<20} {}",
            s.seed_no,
            s.step.as_str(),
            s.policy.as_deref().or(s.zone.as_deref()).unwrap_or("-"),
            match &s.status {
                orchestrator::StepStatus::Failed { error } => format!("failed: {error}"),
                orchestrator::StepStatus::Skipped { reason } =>
                    format!("skipped: {}", reason.short()),
                orchestrator::StepStatus::Manual {
                    instructions,
                    confirmed,
                } => format!(
                    "manual{}: {instructions}",
                    if *confirmed {
                        " (confirmed)"
                    } else {
                        " (waiting)"
                    }
                ),
                other => other.name().to_string(),
            }
        );
    }
}

fn print_waiting(run_id: &str, steps: &[orchestrator::StepRecord]) {
    let waiting: Vec<String> = steps
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                orchestrator::StepStatus::Manual {
                    confirmed: false,
                    ..
                }
            )
        })
        .map(|s| {
            orchestrator::journal::confirmation_key(
                s.step.as_str(),
                s.policy.as_deref().or(s.zone.as_deref()),
            )
        })
        .collect();
    if !waiting.is_empty() {
        println!(
            "paused: do the manual step(s) above, then: dr resume {run_id} {}",
            waiting
                .iter()
                .map(|w| format!("--confirm {w}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}

/// Write the HTML report (`--report`).
fn write_html(path: &std::path::Path, report: &orchestrator::Report) -> anyhow::Result<()> {
    orchestrator::html::write_file(path, report, &orchestrator::html::Extras::default())
        .with_context(|| format!("writing the HTML report {}", path.display()))?;
    eprintln!("dr: HTML report written to {}", path.display());
    Ok(())
}

fn finish(
    report: &orchestrator::Report,
    json: bool,
    html: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = html {
        write_html(path, report)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print_steps(&report.steps);
        println!("run {} outcome: {}", report.run_id, report.outcome.as_str());
        if let Some(p) = &report.performance {
            println!("performance: {}", p.summary(report.makespan_ms));
        }
        print_waiting(&report.run_id, &report.steps);
    }
    Ok(if report.outcome == Outcome::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn run_cmd(
    journal_path: &std::path::Path,
    clients: std::collections::BTreeMap<String, orchestrator::papi::PapiClient>,
    dns: Option<orchestrator::dns::DnsClient>,
    args: RunArgs,
    kind: Option<RunKind>,
    config: &orchestrator::config::Config,
) -> anyhow::Result<ExitCode> {
    let mut spec = args.to_spec()?;
    if let Some(k) = kind {
        spec.kind = k;
    }
    // The report's estimate is made at plan time with the config's cost model, the same
    // figure `dr plan --estimate` prints.
    spec.options
        .estimate
        .get_or_insert_with(|| config.estimate.clone());
    let journal = Journal::open(journal_path)?;
    let run_id = format!(
        "run-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    eprintln!(
        "dr: run {run_id} (journal {}; if interrupted: dr resume {run_id})",
        journal_path.display()
    );
    let tree = StepTree::new(StepTree::wanted(args.json));
    let (_plan, report) = runner::run_journaled(
        &journal,
        &run_id,
        clients,
        dns,
        &spec,
        Arc::new(AbsentOperator),
        tree.as_ref().map(StepTree::observer),
    )
    .await
    .inspect_err(|e| stopped(tree.as_deref(), e))?;
    if let Some(t) = &tree {
        t.finish();
    }
    finish(&report, args.json, args.report.as_deref())
}

/// A run the journal stopped: show how far it got before the error is printed.
fn stopped(tree: Option<&StepTree>, e: &runner::RunError) {
    if let Some(t) = tree {
        t.finish();
    }
    if let runner::RunError::JournalStopped { report, .. } = e {
        print_steps(&report.steps);
    }
}

async fn resume_cmd(
    journal_path: &std::path::Path,
    clients: std::collections::BTreeMap<String, orchestrator::papi::PapiClient>,
    dns: Option<orchestrator::dns::DnsClient>,
    run: &str,
    confirm: &[String],
    json: bool,
    html: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let journal = Journal::open_existing(journal_path)?;
    if !confirm.is_empty() {
        journal.confirm(run, confirm)?;
    }
    let operator = JournalOperator::new(journal.confirmations(run)?);
    let tree = StepTree::new(StepTree::wanted(json));
    let (_plan, report) = runner::resume(
        &journal,
        run,
        clients,
        dns,
        Arc::new(operator),
        tree.as_ref().map(StepTree::observer),
    )
    .await
    .inspect_err(|e| stopped(tree.as_deref(), e))?;
    if let Some(t) = &tree {
        t.finish();
    }
    finish(&report, json, html)
}

async fn serve_cmd(
    journal_path: &std::path::Path,
    config: &Config,
    clients: std::collections::BTreeMap<String, orchestrator::papi::PapiClient>,
    dns: Option<orchestrator::dns::DnsClient>,
    args: &ServeArgs,
) -> anyhow::Result<ExitCode> {
    let addr: std::net::SocketAddr = args.listen.parse().map_err(|e| {
        orchestrator::config::ConfigError::Invalid(format!(
            "--listen {}: not an address like 127.0.0.1:8700 ({e})",
            args.listen
        ))
    })?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| {
                    orchestrator::config::ConfigError::Invalid(format!("{}: {e}", p.display()))
                })
            };
            Some(
                orchestrator::server::listen::tls_config(&read(c)?, &read(k)?)
                    .map_err(orchestrator::config::ConfigError::Invalid)?,
            )
        }
        _ => None,
    };
    orchestrator::server::listen::check_exposure(addr, tls.is_some(), args.insecure_listen)
        .map_err(orchestrator::config::ConfigError::Invalid)?;
    let tokens = config.api.resolve_tokens()?;
    if tokens.is_empty() {
        anyhow::bail!(
            "dr serve needs at least one API token: add api.tokens (name, role: operator|viewer, token_env or token_file) to the config file"
        );
    }
    let journal = Journal::open(journal_path)?;
    let state = orchestrator::server::AppState::with_dns(
        journal,
        clients,
        dns,
        orchestrator::server::ServerConfig {
            estimate: config.estimate.clone(),
            ..orchestrator::server::ServerConfig::new(&config.api, tokens)
        },
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    eprintln!(
        "dr serve: listening on {}://{} (OpenAPI: /openapi.json, API: /api/v1)",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?
    );
    if tls.is_none() && !addr.ip().is_loopback() {
        tracing::warn!("--insecure-listen: serving plain HTTP on a non-loopback address");
    }
    let limits = orchestrator::server::listen::Limits {
        max_connections: args.max_connections,
        header_read_timeout_ms: args.header_timeout_ms,
        idle_timeout_ms: args.idle_timeout_ms,
    };
    orchestrator::server::serve_with(listener, state, tls, limits, std::future::pending()).await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::exit_code;
    use orchestrator::journal::JournalError;

    fn rusqlite_error() -> rusqlite::Error {
        rusqlite::Error::InvalidQuery
    }

    #[test]
    fn exit_codes_mean_one_thing_each() {
        let refused = anyhow::Error::from(JournalError::Owned {
            run: "r".into(),
            owner: "pid 1".into(),
        });
        assert_eq!(exit_code(&refused), 4);
        // As `dr failover` / `dr resume` see it: wrapped in the runner's error.
        let locked = orchestrator::runner::RunError::Journal(JournalError::Locked {
            key: "boston/policy/eng".into(),
            run: "r".into(),
            status: "running".into(),
        });
        assert_eq!(
            exit_code(&anyhow::Error::from(locked).context("failover")),
            4
        );
        assert_eq!(exit_code(&JournalError::UnknownRun("r".into()).into()), 4);
        assert_eq!(exit_code(&JournalError::Gone("j".into()).into()), 4);
        let unwritable = JournalError::Db(rusqlite_error());
        assert_eq!(exit_code(&unwritable.into()), 5);
        assert_eq!(
            exit_code(&JournalError::Invalid("damaged".into()).into()),
            2
        );
        let bad = orchestrator::config::ConfigError::Invalid("--listen x".into());
        assert_eq!(exit_code(&anyhow::Error::from(bad).context("serve")), 2);
        assert_eq!(exit_code(&anyhow::anyhow!("something else")), 1);
    }
}

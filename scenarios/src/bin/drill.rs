//! `drill`: run failover drills against simulated OneFS clusters.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use orchestrator::progress::StepTree;
use scenarios::generate::{self, GenParams};
use scenarios::{run_scenario, DrillOptions, Scenario, TransportKind};

// Simulated worlds allocate many small objects (JSON trees, paths, audit entries); mimalloc
// spends about half the instructions glibc's malloc does on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[derive(Clone, Copy, ValueEnum)]
enum ImportMode {
    SynciqPolicy,
    Dfs,
    AccessZone,
    IpPool,
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
        /// Write each run's report as a self-contained HTML file (steps, timeline,
        /// invariants, client outage windows): with one scenario, this file; with several
        /// (or an existing directory), `PATH/<scenario>-<seed>.html`.
        #[arg(long, value_name = "PATH")]
        report: Option<PathBuf>,
    },
    /// Run a seeded chaos campaign: generated worlds, runs and faults, every run judged by
    /// the invariant checker and the documented-rules oracle. Exit 0 = no violations, 1 =
    /// some seed failed (written to --out as replayable scenario files).
    Campaign {
        /// Seed range, `A..B` (B exclusive) or `A..=B`.
        #[arg(long, default_value = "0..1000")]
        seeds: String,
        /// Worker threads (each runs its scenarios on single-threaded runtimes).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Run only the seeds `s` with `s % n == i` (for fanning out over machines).
        #[arg(long, default_value = "0/1")]
        shard: String,
        /// Largest world (policies); worlds lean small, up to this.
        #[arg(long, default_value_t = 200)]
        max_policies: usize,
        /// Smallest world (policies).
        #[arg(long, default_value_t = 1)]
        min_policies: usize,
        /// Most fault rules per scenario.
        #[arg(long, default_value_t = 6)]
        max_faults: usize,
        /// Write failing seeds here (`seed-N.yaml` and the shrunk `seed-N.min.yaml`).
        #[arg(long, default_value = "chaos-failures")]
        out: PathBuf,
        /// Extra runs spent shrinking each failing seed (0 = do not shrink).
        #[arg(long, default_value_t = 150)]
        shrink_budget: usize,
        /// Stop after this many failing seeds.
        #[arg(long)]
        max_failures: Option<usize>,
        /// Print the summary as JSON on stdout (for CI).
        #[arg(long)]
        json: bool,
        /// Hide the progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Fail on known issues too (see scenarios/src/chaos/known.rs).
        #[arg(long)]
        strict: bool,
        /// Test-only: run every scenario against a planted orchestrator bug
        /// (needs a build with `--features planted-bugs`).
        #[arg(long)]
        planted_bug: Option<String>,
    },
    /// Serve a scenario's world as PAPI servers on loopback (one port per cluster) until
    /// Ctrl-C; prints `<cluster> <url> user=<name> password=<password>` per cluster.
    Serve {
        /// Scenario (or world) YAML file.
        file: PathBuf,
        /// Serve HTTPS with a generated certificate.
        #[arg(long)]
        tls: bool,
        /// Write the CA certificate (PEM) that clients should trust here (with --tls).
        #[arg(long)]
        ca_out: Option<PathBuf>,
        /// First port (cluster i gets port+i); default 8080 when free, else chosen ports.
        #[arg(long)]
        port: Option<u16>,
        /// TSIG key (hmac-sha256) DNS updates must be signed with, `NAME:BASE64` (as
        /// `tsig-keygen` prints the secret); overrides the world's `dns.tsig`. Prefer the
        /// environment variable: a command line is visible to other local users.
        #[arg(
            long,
            env = "DRILL_TSIG_KEY",
            hide_env_values = true,
            value_name = "NAME:BASE64"
        )]
        tsig_key: Option<String>,
        /// Run the world's virtual time N× real time (jobs, PAPI times and `Date` follow), so
        /// a 30-minute failover can be demonstrated in about 30/N minutes. 1..=100000.
        #[arg(long, default_value_t = 1, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=100_000))]
        speed: u32,
    },
    /// Make a scenario of a `dr discover --dump` inventory: the discovered estate as a
    /// world (file trees from report sizes and quota usage, job costs from the report
    /// history), a controlled failover as its run and one client per share and export.
    Import {
        /// The inventory file (JSON, `dr discover --dump`).
        file: PathBuf,
        /// Write the scenario here (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Failover mode of the scenario's run.
        #[arg(long, value_enum, default_value = "synciq-policy")]
        mode: ImportMode,
        /// The cluster failing over (default: the source of most policies).
        #[arg(long)]
        from: Option<String>,
        /// The cluster taking over.
        #[arg(long)]
        to: Option<String>,
        /// Access Zone mode: the zone (default: the zone holding most policies).
        #[arg(long)]
        zone: Option<String>,
        /// IP Pool mode: the source pool id.
        #[arg(long)]
        pool: Option<String>,
        /// A pool mapping to add, `SRC=TGT` (`cluster/groupnet.subnet.pool` each; repeat).
        #[arg(long = "pool-mapping", value_name = "SRC=TGT")]
        pool_mappings: Vec<String>,
        /// Seed of the world.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scenario name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Verify a failover plan on your estate: FILE is a `dr discover --dump` inventory or a
    /// scenario. Runs the failover in every mode the world supports, a failback and a
    /// rehearsal, then a fault sweep (each step of the failover × each fault kind), all
    /// judged; writes DIR/verdict.html, DIR/verdict.json and a replay file per finding.
    /// Exit 0 = every run passed and the sweep found no invariant violation, 1 = not, 2 =
    /// bad input.
    Verify {
        /// Inventory (JSON, `dr discover --dump`) or scenario (YAML).
        file: PathBuf,
        /// Verify only this mode (default: every mode the world supports; the scenario's
        /// own mode is the main one). With an inventory, also the imported run's mode.
        #[arg(long, value_enum)]
        mode: Option<ImportMode>,
        /// Directory of the verdict.
        #[arg(long, default_value = "verdict")]
        out: PathBuf,
        /// Print verdict.json on stdout instead of the summary.
        #[arg(long)]
        json: bool,
        /// Seed of the sweep's sampling of policies (when cases exceed --max-cases).
        #[arg(long, default_value_t = 0)]
        sweep_seed: u64,
        /// Most fault-sweep cases (0 = no sweep).
        #[arg(long, default_value_t = scenarios::verify::DEFAULT_MAX_CASES)]
        max_cases: usize,
        /// Worker threads (default: the machine's cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Measure every performance figure side by side (failover wall time per failover and
    /// per policy on generated worlds of skewed sizes with job-slot contention, peak RSS,
    /// campaign scenarios/min, makespan over its lower bound, pipelined over the barrier
    /// baseline, client outage with and without pre-sync, the simulator's request rate),
    /// each with its target and met / missed.
    Bench {
        /// World sizes (policies), comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        sizes: Vec<usize>,
        /// Seeds of the chaos campaign (0 = skip it).
        #[arg(long, default_value_t = 300)]
        campaign_seeds: u64,
        /// Campaign worker threads.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Seconds of each request-rate measurement (0 = skip it).
        #[arg(long, default_value_t = 2.0)]
        rps_secs: f64,
        /// The clusters' SyncIQ job slots (max_concurrent_jobs) in the generated worlds.
        #[arg(long, default_value_t = 8)]
        job_slots: u32,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Measure nothing: print the throughput bench world of this many policies (YAML,
        /// as the failover figures run it) to replay or profile it with `drill run`.
        #[arg(long, value_name = "POLICIES")]
        print_world: Option<usize>,
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
        /// Give each policy a history of incremental syncs (reports the scheduler and
        /// `dr plan --estimate` learn from).
        #[arg(long)]
        history: bool,
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

fn import_mode(m: ImportMode) -> orchestrator::Mode {
    match m {
        ImportMode::SynciqPolicy => orchestrator::Mode::SynciqPolicy,
        ImportMode::Dfs => orchestrator::Mode::Dfs,
        ImportMode::AccessZone => orchestrator::Mode::AccessZone,
        ImportMode::IpPool => orchestrator::Mode::IpPool,
    }
}

/// `NAME:BASE64` of `--tsig-key`. Errors never repeat the argument (it holds the secret).
fn parse_tsig_key(arg: &str) -> Result<sim_ad_dns::wire::TsigKey, String> {
    let Some((name, secret)) = arg.split_once(':') else {
        return Err("expected NAME:BASE64 (the value is not shown)".into());
    };
    let name = name.trim();
    if sim_ad_dns::dns::normalize_name(name).is_err() {
        return Err("the key name before ':' is not a valid DNS name".into());
    }
    let secret = sim_ad_dns::TsigSecret::from_base64(secret)?;
    Ok(sim_ad_dns::wire::TsigKey::new(name, secret.0))
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Campaign {
            seeds,
            jobs,
            shard,
            max_policies,
            min_policies,
            max_faults,
            out,
            shrink_budget,
            max_failures,
            json,
            no_progress,
            strict,
            planted_bug,
        } => {
            use scenarios::chaos::{campaign, CampaignConfig, GenConfig};
            let parsed = campaign::parse_seed_range(&seeds)
                .and_then(|s| shard.parse::<campaign::Shard>().map(|sh| (s, sh)));
            let (seeds, shard) = match parsed {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("drill: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let cfg = CampaignConfig {
                seeds,
                jobs: jobs.max(1),
                shard,
                gen: GenConfig {
                    min_policies: min_policies.max(1),
                    max_policies: max_policies.max(min_policies.max(1)),
                    max_faults,
                    ..GenConfig::default()
                },
                out_dir: Some(out),
                shrink_budget,
                planted_bug,
                max_failures,
                progress: !no_progress,
            };
            let summary = campaign::run_campaign(&cfg);
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", summary.render());
            }
            let failing = if strict {
                summary.violation_count_strict()
            } else {
                summary.violation_count()
            };
            Ok(if failing == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Serve {
            file,
            tls,
            ca_out,
            port,
            tsig_key,
            speed,
        } => {
            let tsig = match tsig_key.as_deref().map(parse_tsig_key).transpose() {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("drill: --tsig-key: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let scn = match Scenario::load(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("drill: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let opts = scenarios::serve::ServeOpts {
                    tls,
                    ca_out,
                    port,
                    tsig,
                    ..Default::default()
                };
                let h = scenarios::serve::serve(&scn, opts).await?;
                // Served worlds run on the real clock: PAPI times and `Date` read as now
                // (and, with --speed, run ahead of it N× as fast).
                h.sim.anchor_to_wall_clock();
                h.sim.set_speed(speed)?;
                if speed > 1 {
                    eprintln!("drill: virtual time runs {speed}x real time");
                }
                for c in &h.clusters {
                    println!("{}", c.line());
                }
                if let Some(d) = h.dns_addr {
                    let tsig = h
                        .dns_tsig_key
                        .as_deref()
                        .map(|k| format!("; updates need TSIG key {k}"))
                        .unwrap_or_default();
                    println!(
                        "dns {d} (UDP and TCP: dig @{} -p {} <smartconnect-name>{tsig})",
                        d.ip(),
                        d.port()
                    );
                }
                use std::io::Write;
                std::io::stdout().flush()?;
                tokio::signal::ctrl_c().await?;
                h.shutdown().await;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import {
            file,
            out,
            mode,
            from,
            to,
            zone,
            pool,
            pool_mappings,
            seed,
            name,
        } => {
            use scenarios::import::{import_text, to_yaml, ImportOptions};
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("drill: error: cannot read {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let mut mappings = Vec::new();
            for m in &pool_mappings {
                let Some((s, t)) = m.split_once('=') else {
                    eprintln!("drill: error: --pool-mapping {m:?}: expected SRC=TGT");
                    return Ok(ExitCode::from(2));
                };
                mappings.push((s.trim().to_string(), t.trim().to_string()));
            }
            let opts = ImportOptions {
                name,
                seed,
                mode: import_mode(mode),
                from,
                to,
                zone,
                pool,
                pool_mappings: mappings,
                writes_per_minute: 0,
            };
            let scn = match import_text(&text, &opts) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("drill: error: {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let yaml = format!(
                "# Imported by `drill import` from {}; run it with `drill run`.\n{}",
                file.display(),
                to_yaml(&scn)?
            );
            match out {
                Some(p) => {
                    std::fs::write(&p, yaml).with_context(|| format!("writing {}", p.display()))?;
                    eprintln!(
                        "drill: wrote {} ({} clusters, {} policies, {} clients; run: {} {} → {})",
                        p.display(),
                        scn.world.clusters.len(),
                        scn.world.policies.len(),
                        scn.clients.len(),
                        scn.run.mode.as_str(),
                        scn.run.from,
                        scn.run.to
                    );
                }
                None => print!("{yaml}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Verify {
            file,
            mode,
            out,
            json,
            sweep_seed,
            max_cases,
            jobs,
        } => {
            use scenarios::verify::{load_input, verify, VerifyError, VerifyOptions};
            use std::io::IsTerminal;
            let mode = mode.map(import_mode);
            let scn = match load_input(&file, mode) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("drill: error: {e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let opts = VerifyOptions {
                mode,
                out_dir: out.clone(),
                sweep_seed,
                max_cases,
                jobs: jobs
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
                progress: std::io::stderr().is_terminal(),
                ..VerifyOptions::default()
            };
            let verdict = match verify(&scn, &opts) {
                Ok(v) => v,
                Err(e @ VerifyError::Input(_)) => {
                    eprintln!("drill: error: {}: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
                Err(e) => return Err(e.into()),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&verdict)?);
            } else {
                print!("{}", verdict.render(&out));
            }
            Ok(if verdict.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Bench {
            sizes,
            campaign_seeds,
            jobs,
            rps_secs,
            job_slots,
            json,
            print_world,
        } => {
            if let Some(n) = print_world {
                let seed = scenarios::bench::BenchOptions::default().seed;
                print!(
                    "{}",
                    scenarios::bench::world_yaml(
                        n.max(1),
                        seed,
                        job_slots.max(1),
                        false,
                        scenarios::bench::Backlog::Throughput
                    )
                );
                return Ok(ExitCode::SUCCESS);
            }
            if sizes.is_empty() || sizes.contains(&0) || !(0.0..=600.0).contains(&rps_secs) {
                eprintln!("drill: --sizes needs sizes of at least 1; --rps-secs 0..=600");
                return Ok(ExitCode::from(2));
            }
            let opts = scenarios::bench::BenchOptions {
                sizes,
                campaign_seeds,
                jobs: jobs.max(1),
                rps_secs,
                job_slots: job_slots.max(1),
                ..Default::default()
            };
            // The campaign's workers silence the orchestrator's logs; the failovers here do
            // the same (a failed step is in the report, not on stderr).
            let report = {
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
                scenarios::bench::run(&opts).context("drill bench")?
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Schema => {
            let schema = schemars::schema_for!(Scenario);
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Generate {
            policies,
            seed,
            max_concurrent_jobs,
            history,
        } => {
            print!(
                "{}",
                generate::synciq_yaml(&GenParams {
                    policies,
                    seed,
                    max_concurrent_jobs,
                    history,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            files,
            json,
            transport,
            trace_dir,
            report,
        } => {
            let opts = DrillOptions {
                transport: match transport {
                    Transport::InProcess => TransportKind::InProcess,
                    Transport::Http => TransportKind::Http,
                },
                ..DrillOptions::default()
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
                let tree = StepTree::new(StepTree::wanted(json));
                let opts = DrillOptions {
                    observer: tree.as_ref().map(StepTree::observer),
                    ..opts.clone()
                };
                let result = run_scenario(scn, &opts);
                if let Some(t) = &tree {
                    t.finish();
                }
                let result = result.with_context(|| format!("running {}", file.display()))?;
                if let Some(path) = &report {
                    if files.len() > 1 {
                        std::fs::create_dir_all(path)
                            .with_context(|| format!("creating {}", path.display()))?;
                    }
                    let out = scenarios::html::report_path(path, files.len(), &result);
                    std::fs::write(&out, scenarios::html::render(&result))
                        .with_context(|| format!("writing the HTML report {}", out.display()))?;
                    eprintln!("drill: HTML report written to {}", out.display());
                }
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

#[cfg(test)]
mod tests {
    use super::parse_tsig_key;

    #[test]
    fn tsig_key_argument_is_parsed_and_errors_hide_it() {
        let k = parse_tsig_key("dr-update.:c2VjcmV0LXNlY3JldA==").unwrap();
        assert_eq!(k.name, "dr-update.");
        assert_eq!(k.secret, b"secret-secret");
        for bad in [
            "c2VjcmV0LXNlY3JldA==",
            "dr-update.:not*base64",
            "bad name!:c2VjcmV0LXNlY3JldA==",
            "k.:",
        ] {
            let e = parse_tsig_key(bad).unwrap_err();
            assert!(!e.contains("c2VjcmV0") && !e.contains("not*base64"), "{e}");
        }
    }
}

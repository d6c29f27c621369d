//! Secrets never leak: a full journaled failover with tracing at debug level (orchestrator and
//! simulator), then the logs, the report, the journal file (and its WAL) and the journal's API
//! answers are searched for the cluster passwords, the HTTP Basic credentials and the API
//! tokens. Also: config credentials are read by reference only (env var or file); a drill
//! whose world has a TSIG key (`world.dns.tsig`) shows its secret nowhere — logs, table,
//! `--json` result, the scenario's `Debug` — and a bad one is reported without the text.

use std::io::Write;
use std::sync::{Arc, Mutex};

use base64::Engine;
use orchestrator::config::{ApiConfig, Config};
use orchestrator::journal::Journal;
use orchestrator::runner;
use orchestrator::AbsentOperator;
use sim_onefs::Sim;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

fn secrets_of(sim: &Sim) -> Vec<String> {
    let mut out = Vec::new();
    for c in sim.cluster_names() {
        for u in sim.users(&c) {
            out.push(u.password.clone());
            out.push(
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", u.name, u.password)),
            );
        }
    }
    out.retain(|s| s.len() >= 6);
    assert!(!out.is_empty());
    out
}

/// A DEBUG-level log subscriber that writes into the returned buffer.
fn debug_log() -> (Buf, impl tracing::Subscriber + Send + Sync) {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    (buf, subscriber)
}

#[test]
fn no_password_or_token_in_logs_reports_or_journal() {
    let scn = tests::load("synciq-manual-networking");
    let (buf, subscriber) = debug_log();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let (secrets, report_json, detail_json) = tracing::subscriber::with_default(subscriber, || {
        rt.block_on(async {
            let sim = Sim::new(&scn.world, scn.seed).unwrap();
            let secrets = secrets_of(&sim);
            let clients = scenarios::crash::clients(&sim, None).unwrap();
            tracing::debug!(?clients, "connected clients");
            let journal = Journal::open(&path).unwrap();
            let (_, report) = runner::run_journaled(
                &journal,
                "secret-run",
                clients,
                None,
                &scn.run,
                Arc::new(AbsentOperator),
                None,
            )
            .await
            .unwrap();
            // Confirm every step and resume to the end, so every event is journaled.
            let all: Vec<String> = report
                .steps
                .iter()
                .map(|s| s.step.as_str().to_string())
                .collect();
            journal.confirm("secret-run", &all).unwrap();
            let op = orchestrator::journal::JournalOperator::new(
                journal.confirmations("secret-run").unwrap(),
            );
            let (_, report2) = runner::resume(
                &journal,
                "secret-run",
                scenarios::crash::clients(&sim, None).unwrap(),
                None,
                Arc::new(op),
                None,
            )
            .await
            .unwrap();
            assert_eq!(report.outcome.as_str(), "paused");
            assert_eq!(report2.outcome.as_str(), "succeeded");
            let detail = journal.run("secret-run").unwrap();
            (
                secrets,
                serde_json::to_string(&report2).unwrap(),
                serde_json::to_string(&detail).unwrap(),
            )
        })
    });
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("DEBUG"), "debug logging was on");
    assert!(logs.contains("***"), "the client's password prints as ***");
    let mut journal_bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join("journal.sqlite-wal")) {
        journal_bytes.extend(wal);
    }
    let journal_text = String::from_utf8_lossy(&journal_bytes);
    assert!(
        journal_text.contains("secret-run"),
        "the journal file was read"
    );
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "a secret appears in the logs");
        assert!(
            !report_json.contains(s.as_str()),
            "a secret appears in the report"
        );
        assert!(
            !detail_json.contains(s.as_str()),
            "a secret appears in the journal's run detail"
        );
        assert!(
            !journal_text.contains(s.as_str()),
            "a secret appears in the journal file"
        );
    }
}

#[test]
fn credentials_and_tokens_come_by_reference_only() {
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "file-password-123\n").unwrap();
    let tok_file = dir.path().join("tok");
    std::fs::write(&tok_file, "viewer-token-from-file-0123\n").unwrap();
    let var = "DR_SECRETS_TEST_OPERATOR_TOKEN";
    std::env::set_var(var, "operator-token-from-env-0123");
    let cfg_path = dir.path().join("dr.yaml");
    std::fs::write(
        &cfg_path,
        format!(
            "clusters:\n  - {{name: a, url: 'http://127.0.0.1:9', user: admin, password_file: {}}}\napi:\n  tokens:\n    - {{name: ops, role: operator, token_env: {var}}}\n    - {{name: dash, role: viewer, token_file: {}}}\n",
            pw_file.display(),
            tok_file.display()
        ),
    )
    .unwrap();
    let cfg = Config::load(&cfg_path).unwrap();
    let tokens = cfg.api.resolve_tokens().unwrap();
    assert_eq!(tokens[0].token.expose(), "operator-token-from-env-0123");
    assert_eq!(tokens[1].token.expose(), "viewer-token-from-file-0123");
    let shown = format!("{cfg:?} {tokens:?}");
    for s in [
        "operator-token-from-env-0123",
        "viewer-token-from-file-0123",
        "file-password-123",
    ] {
        assert!(!shown.contains(s), "{s} printed");
    }
    let clients = cfg.clients(None, false).unwrap();
    assert!(!format!("{clients:?}").contains("file-password-123"));

    // Inline secrets are not a config key at all.
    let inline = "clusters: []\napi:\n  tokens:\n    - {name: x, role: operator, token: abc}\n";
    assert!(yaml_serde::from_str::<Config>(inline).is_err());
    let short = ApiConfig {
        tokens: vec![orchestrator::config::ApiTokenEntry {
            name: "short".into(),
            role: orchestrator::config::ApiRole::Viewer,
            token_env: Some(var.into()),
            token_file: None,
        }],
        ..ApiConfig::default()
    };
    std::env::set_var(var, "short");
    assert!(short.resolve_tokens().is_err(), "short tokens are refused");
}

#[test]
fn tsig_secret_of_a_world_never_shows() {
    let scn = tests::load("az-single-tsig");
    let tsig = scn.world.dns.as_ref().and_then(|d| d.tsig.clone()).unwrap();
    let b64 = tsig.secret_base64.to_base64();
    let raw = String::from_utf8(tsig.secret_base64.0.clone()).unwrap();
    let hex: String = tsig
        .secret_base64
        .0
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let secrets = [b64.clone(), raw, hex];
    let (buf, subscriber) = debug_log();
    let result = tracing::subscriber::with_default(subscriber, || {
        tracing::debug!(?scn, "scenario");
        tests::run(&scn)
    });
    tests::assert_passed(&result);
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("DEBUG"), "debug logging was on");
    let json = serde_json::to_string(&result).unwrap();
    let table = scenarios::table::render(&result);
    let debug = format!("{scn:?}");
    assert!(debug.contains("<redacted>"));
    for s in &secrets {
        for (what, text) in [
            ("logs", &logs),
            ("--json result", &json),
            ("table", &table),
            ("scenario Debug", &debug),
        ] {
            assert!(
                !text.contains(s.as_str()),
                "the TSIG secret appears in the {what}"
            );
        }
    }

    // A bad secret: the error points at the key, without the text.
    let text = std::fs::read_to_string(tests::library("az-single-tsig")).unwrap();
    let bad = text.replace(&b64, "not*base64*but-secret-text");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, bad).unwrap();
    let e = scenarios::Scenario::load(&path).unwrap_err().to_string();
    assert!(e.contains("TSIG secret") && e.contains("bad.yaml:"), "{e}");
    assert!(!e.contains("but-secret-text"), "{e}");
}

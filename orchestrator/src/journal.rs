//! The run journal: SQLite (WAL) record of every run, its plan, and each step instance's
//! intent (before it acts) and result (after), so `dr resume` continues after a crash.
//!
//! # How it fits
//! The journal is fed by an [`crate::exec::Observer`] ([`Journal::observer`]). The executor
//! emits its events synchronously, so by the time a step acts its `StepStarted` (the intent)
//! is on disk, and by the time anything downstream starts its `StepEnded` (the result) and the
//! run state after it (`State`: cached schedules, warnings) are too. `StepsAdded` records the
//! gate-rollback instances. [`Journal::resume_point`] turns the last records back into an
//! [`crate::exec::Resume`].
//!
//! # Tables
//! * `runs` — id, spec, plan, inventory (JSON), status (`running | paused | <outcome>`),
//!   report when finished, created/updated (Unix ms).
//! * `steps` — one row per instance: the instance and its latest record (JSON).
//! * `events` — append-only history: intent/result/state/added, with a per-run sequence.
//! * `confirmations` — manual steps an operator confirmed (`dr resume --confirm`).
//! * `locks` — `cluster/policy/NAME` and `cluster/zone/NAME` keys held by an unfinished run.
//!   A second run that wants a held key is refused ([`JournalError::Locked`]).
//!
//! # Invariants
//! * No secrets: the journal stores specs, plans, inventories, records and reports, none of
//!   which carries a password or session token (a test scans the file to keep it so).
//! * Locks are taken in the same transaction that creates the run and released when the run
//!   reaches a final outcome (not while it is `running` or `paused`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::ctx::Halt;
use crate::exec::{Observer, Operator, Resume, RunEvent, RunState};
use crate::inventory::Inventory;
use crate::plan::{Plan, StepInstance};
use crate::report::{Outcome, Report, StepRecord, StepStatus};
use crate::run_spec::{Mode, RunSpec};

/// Journal failures.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("journal data: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no run {0:?} in the journal")]
    UnknownRun(String),
    #[error("run {0:?} already exists in the journal")]
    DuplicateRun(String),
    #[error("{key} is locked by run {run} ({status}); resume that run (dr resume {run}) or wait until it ends")]
    Locked {
        key: String,
        run: String,
        status: String,
    },
    #[error("run {run} is {status}; only running or paused runs can be resumed")]
    NotResumable { run: String, status: String },
    #[error("{0}")]
    Invalid(String),
    #[error("no journal at {0} (deleted or moved, or a mistyped --journal)")]
    Gone(String),
    #[error("run {run} is being executed by another process ({owner}); wait for it to end, or stop that process first — a run is executed by one process at a time")]
    Owned { run: String, owner: String },
    #[error("journal owner file {path}: {error}")]
    OwnerFile { path: String, error: String },
}

/// A run's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub spec: RunSpec,
    /// `running`, `paused`, or the final outcome (`succeeded`, `partial`, ...).
    pub status: String,
    pub created_ms: u64,
    pub updated_ms: u64,
}

/// Everything the journal knows about one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    #[serde(flatten)]
    pub row: RunRow,
    pub plan: Plan,
    /// Every instance, with its latest record.
    pub steps: Vec<StepRecord>,
    pub state: RunState,
    pub report: Option<Report>,
    /// Confirmed manual steps (`step` or `step:policy`).
    pub confirmations: Vec<String>,
    /// Lock keys the run holds.
    pub locks: Vec<String>,
}

/// The SQLite journal. Cheap to clone (shares one connection).
#[derive(Clone)]
pub struct Journal {
    conn: Arc<Mutex<Connection>>,
    /// The file (None in memory): a write first checks it is still there, since SQLite
    /// goes on writing to an unlinked file and the run would have no durable record.
    path: Option<Arc<std::path::PathBuf>>,
    /// Runs this in-memory journal's executors own (a file journal uses OS file locks).
    owned: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// The config replication store in the same database (opened on first use).
    config_store: Arc<std::sync::OnceLock<Arc<crate::config_repl::Store>>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

/// Proof that this process executes a run ([`Journal::own`]); dropping it (or the process
/// ending) lets another executor take the run.
#[derive(Debug)]
pub struct RunOwner {
    run: String,
    inner: OwnerKind,
}

#[derive(Debug)]
enum OwnerKind {
    /// The locked owner file (the kernel unlocks it when it is closed).
    #[allow(dead_code)]
    File(std::fs::File),
    Memory(Arc<Mutex<std::collections::BTreeSet<String>>>),
}

impl Drop for RunOwner {
    fn drop(&mut self) {
        if let OwnerKind::Memory(set) = &self.inner {
            crate::ctx::lock(set).remove(&self.run);
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    plan TEXT NOT NULL,
    inventory TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    rolled_back INTEGER NOT NULL DEFAULT 0,
    report TEXT,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    instance TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    idx INTEGER,
    payload TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS confirmations (
    run_id TEXT NOT NULL,
    target TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (run_id, target)
);
CREATE TABLE IF NOT EXISTS locks (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL
);
";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Lock keys a run needs: each policy on the source cluster (and its mirror on the target),
/// and the zone / pool on both clusters for zone modes.
pub fn lock_keys(plan: &Plan) -> Vec<String> {
    let spec = &plan.spec;
    let mut keys = std::collections::BTreeSet::new();
    for p in &plan.policies {
        keys.insert(format!("{}/policy/{}", p.source, p.name));
        if let Some(t) = &p.target {
            keys.insert(format!("{t}/policy/{}", p.name));
        }
    }
    if let Some(z) = &spec.zone {
        keys.insert(format!("{}/zone/{z}", spec.from));
        keys.insert(format!("{}/zone/{z}", spec.to));
    }
    if let Some(pool) = &spec.pool {
        keys.insert(format!("{}/pool/{pool}", spec.from));
    }
    keys.into_iter().collect()
}

fn is_final(status: &str) -> bool {
    !matches!(status, "running" | "paused")
}

/// `step` or `step:policy` (or `step:zone`) naming a manual step instance.
pub fn confirmation_key(inst_step: &str, scope: Option<&str>) -> String {
    match scope {
        Some(s) => format!("{inst_step}:{s}"),
        None => inst_step.to_string(),
    }
}

impl Journal {
    /// Open (or create) the journal file, in WAL mode.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a committed intent survives a power loss too, not only a process crash
        // (NORMAL may roll back the last commits in WAL mode).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut j = Self::init(conn)?;
        j.path = Some(Arc::new(path.to_path_buf()));
        Ok(j)
    }

    /// Open an existing journal file; a path that does not exist is an error (a mistyped
    /// `--journal` must not create an empty journal that says "no runs").
    pub fn open_existing(path: &Path) -> Result<Journal, JournalError> {
        if !path.exists() {
            return Err(JournalError::Gone(path.display().to_string()));
        }
        Self::open(path)
    }

    /// An in-memory journal (tests, drills).
    pub fn in_memory() -> Result<Journal, JournalError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Journal, JournalError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Journal {
            conn: Arc::new(Mutex::new(conn)),
            path: None,
            owned: Arc::default(),
            config_store: Arc::default(),
        })
    }

    /// The config replication store ([`crate::config_repl::store`]): its tables live in
    /// this journal's database file ("next to the journal"), on their own connection; an
    /// in-memory journal gets a named in-memory store that lives as long as the journal.
    pub fn config_store(&self) -> Result<Arc<crate::config_repl::Store>, JournalError> {
        use crate::config_repl::{Store, StoreError};
        if let Some(s) = self.config_store.get() {
            return Ok(s.clone());
        }
        let opened = match &self.path {
            Some(p) => Store::open(p),
            None => {
                static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Store::memory(&format!("journal-config-{}-{n}", std::process::id()))
            }
        };
        let store = opened.map_err(|e| match e {
            StoreError::Sqlite(e) => JournalError::Db(e),
            StoreError::Json(e) => JournalError::Json(e),
            other => JournalError::Invalid(other.to_string()),
        })?;
        Ok(self.config_store.get_or_init(|| Arc::new(store)).clone())
    }

    /// Run `f` on the connection. Write transactions are `IMMEDIATE`: they take the write
    /// lock up front, so another process's short write (a `dr resume --confirm`) is waited
    /// for (busy timeout) instead of failing the upgrade of a read.
    fn with<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, JournalError>,
    ) -> Result<R, JournalError> {
        if let Some(p) = &self.path {
            if !p.exists() {
                return Err(JournalError::Gone(p.display().to_string()));
            }
        }
        f(&mut crate::ctx::lock(&self.conn))
    }

    /// Record a new run (status `running`) and take its locks, or refuse it.
    pub fn create_run(
        &self,
        run_id: &str,
        plan: &Plan,
        inventory: &Inventory,
    ) -> Result<(), JournalError> {
        let mode = plan.spec.mode;
        let keys = lock_keys(plan);
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let exists: Option<String> = tx
                .query_row("SELECT id FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(JournalError::DuplicateRun(run_id.to_string()));
            }
            for k in &keys {
                let held: Option<(String, String)> = tx
                    .query_row(
                        "SELECT l.run_id, r.status FROM locks l JOIN runs r ON r.id = l.run_id WHERE l.key = ?1",
                        [k],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((run, status)) = held {
                    return Err(JournalError::Locked {
                        key: k.clone(),
                        run,
                        status,
                    });
                }
            }
            let now = now_ms() as i64;
            tx.execute(
                "INSERT INTO runs (id, spec, plan, inventory, status, state, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?6)",
                params![
                    run_id,
                    serde_json::to_string(&plan.spec)?,
                    serde_json::to_string(plan)?,
                    serde_json::to_string(inventory)?,
                    serde_json::to_string(&RunState::default())?,
                    now
                ],
            )?;
            Self::insert_steps(&tx, "INSERT", run_id, &plan.steps, mode)?;
            for k in &keys {
                tx.execute(
                    "INSERT INTO locks (key, run_id) VALUES (?1, ?2)",
                    params![k, run_id],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Record one executor event for `run_id`.
    pub fn record(&self, run_id: &str, ev: &RunEvent) -> Result<(), JournalError> {
        self.record_all(run_id, std::slice::from_ref(ev))
    }

    /// Record events for `run_id` in one transaction.
    pub fn record_all(&self, run_id: &str, evs: &[RunEvent]) -> Result<(), JournalError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for ev in evs {
                Self::record_in(&tx, run_id, ev)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn record_in(
        tx: &rusqlite::Transaction<'_>,
        run_id: &str,
        ev: &RunEvent,
    ) -> Result<(), JournalError> {
        {
            let seq: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )?;
            let now = now_ms() as i64;
            let (kind, idx, payload) = match ev {
                RunEvent::StepStarted(r) => ("intent", Some(r.idx), serde_json::to_string(r)?),
                RunEvent::StepEnded(r) => ("result", Some(r.idx), serde_json::to_string(r)?),
                RunEvent::StepsAdded(v) => ("added", None, serde_json::to_string(v)?),
                RunEvent::State(s) => ("state", None, serde_json::to_string(s)?),
            };
            tx.execute(
                "INSERT INTO events (run_id, seq, kind, idx, payload, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![run_id, seq, kind, idx.map(|i| i as i64), payload, now],
            )?;
            match ev {
                RunEvent::StepStarted(r) | RunEvent::StepEnded(r) => {
                    tx.execute(
                        "UPDATE steps SET record = ?3 WHERE run_id = ?1 AND idx = ?2",
                        params![run_id, r.idx as i64, payload],
                    )?;
                }
                RunEvent::StepsAdded(v) => {
                    let mode: Mode = {
                        let spec: String =
                            tx.query_row("SELECT spec FROM runs WHERE id = ?1", [run_id], |r| {
                                r.get(0)
                            })?;
                        serde_json::from_str::<RunSpec>(&spec)?.mode
                    };
                    Self::insert_steps(tx, "INSERT OR REPLACE", run_id, v, mode)?;
                    tx.execute("UPDATE runs SET rolled_back = 1 WHERE id = ?1", [run_id])?;
                }
                RunEvent::State(s) => {
                    tx.execute(
                        "UPDATE runs SET state = ?2 WHERE id = ?1",
                        params![run_id, serde_json::to_string(s)?],
                    )?;
                }
            }
            tx.execute(
                "UPDATE runs SET updated_ms = ?2 WHERE id = ?1",
                params![run_id, now],
            )?;
            Ok(())
        }
    }

    /// A recorder of `run_id`'s events (see [`Recorder`]).
    pub fn recorder(&self, run_id: &str) -> Arc<Recorder> {
        Arc::new(Recorder {
            journal: self.clone(),
            run_id: run_id.to_string(),
            held: Mutex::new(None),
            halt: Halt::default(),
        })
    }

    /// An observer that journals every event of `run_id`. Prefer [`Journal::recorder`] when
    /// the caller can [`Recorder::flush`] at the end of the run.
    pub fn observer(&self, run_id: &str) -> Observer {
        self.recorder(run_id).observer()
    }

    /// Record the final report; a final outcome releases the run's locks.
    pub fn finish_run(&self, run_id: &str, report: &Report) -> Result<(), JournalError> {
        let status = report.outcome.as_str();
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE runs SET status = ?2, report = ?3, updated_ms = ?4 WHERE id = ?1",
                params![
                    run_id,
                    status,
                    serde_json::to_string(report)?,
                    now_ms() as i64
                ],
            )?;
            if n == 0 {
                return Err(JournalError::UnknownRun(run_id.to_string()));
            }
            if is_final(status) {
                tx.execute("DELETE FROM locks WHERE run_id = ?1", [run_id])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Mark a run aborted (an operator gives up on it) and release its locks.
    pub fn abort_run(&self, run_id: &str) -> Result<(), JournalError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE runs SET status = 'aborted', updated_ms = ?2 WHERE id = ?1",
                params![run_id, now_ms() as i64],
            )?;
            if n == 0 {
                return Err(JournalError::UnknownRun(run_id.to_string()));
            }
            tx.execute("DELETE FROM locks WHERE run_id = ?1", [run_id])?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Record operator confirmations (`step` or `step:policy`) for a run's manual steps.
    pub fn confirm(&self, run_id: &str, targets: &[String]) -> Result<(), JournalError> {
        let detail = self.run(run_id)?;
        for t in targets {
            let (step, scope) = match t.split_once(':') {
                Some((s, p)) => (s, Some(p)),
                None => (t.as_str(), None),
            };
            let found = detail.steps.iter().any(|r| {
                r.step.as_str() == step
                    && (scope.is_none()
                        || r.policy.as_deref() == scope
                        || r.zone.as_deref() == scope)
            });
            if !found {
                return Err(JournalError::Invalid(format!(
                    "run {run_id} has no step {t:?}; its manual steps: {}",
                    detail
                        .steps
                        .iter()
                        .filter(|r| matches!(r.status, StepStatus::Manual { .. })
                            || r.step.is_networking())
                        .map(|r| confirmation_key(
                            r.step.as_str(),
                            r.policy.as_deref().or(r.zone.as_deref())
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for t in targets {
                tx.execute(
                    "INSERT OR IGNORE INTO confirmations (run_id, target, at_ms) VALUES (?1, ?2, ?3)",
                    params![run_id, t, now_ms() as i64],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Confirmations recorded for a run.
    pub fn confirmations(&self, run_id: &str) -> Result<Vec<String>, JournalError> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT target FROM confirmations WHERE run_id = ?1 ORDER BY target")?;
            let rows = st.query_map([run_id], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// All runs, newest first.
    pub fn list_runs(&self) -> Result<Vec<RunRow>, JournalError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT id, spec, status, created_ms, updated_ms FROM runs ORDER BY created_ms DESC, id DESC",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, spec, status, created, updated) = row?;
                out.push(RunRow {
                    id,
                    spec: serde_json::from_str(&spec)?,
                    status,
                    created_ms: created as u64,
                    updated_ms: updated as u64,
                });
            }
            Ok(out)
        })
    }

    /// Whether the journal has `run_id`.
    pub fn has_run(&self, run_id: &str) -> Result<bool, JournalError> {
        self.with(|c| {
            Ok(
                c.query_row("SELECT 1 FROM runs WHERE id = ?1", [run_id], |_| Ok(()))
                    .optional()?
                    .is_some(),
            )
        })
    }

    fn load_steps(
        c: &Connection,
        run_id: &str,
    ) -> Result<(Vec<StepInstance>, Vec<StepRecord>), JournalError> {
        let mut st =
            c.prepare("SELECT instance, record FROM steps WHERE run_id = ?1 ORDER BY idx")?;
        let rows = st.query_map([run_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut insts = Vec::new();
        let mut recs = Vec::new();
        for row in rows {
            let (i, r) = row?;
            insts.push(serde_json::from_str::<StepInstance>(&i)?);
            recs.push(serde_json::from_str::<StepRecord>(&r)?);
        }
        for (n, (i, r)) in insts.iter().zip(&recs).enumerate() {
            if i.idx != n || r.idx != n {
                return Err(JournalError::Invalid(format!(
                    "run {run_id}: step rows are not contiguous at #{n}"
                )));
            }
        }
        Ok((insts, recs))
    }

    /// Write `steps` of `run_id` with pending records (`verb`: `INSERT`, or `INSERT OR
    /// REPLACE` for instances a run adds, which a resumed run may add again).
    fn insert_steps(
        c: &Connection,
        verb: &str,
        run_id: &str,
        steps: &[StepInstance],
        mode: Mode,
    ) -> Result<(), JournalError> {
        let sql =
            format!("{verb} INTO steps (run_id, idx, instance, record) VALUES (?1, ?2, ?3, ?4)");
        for s in steps {
            c.execute(
                &sql,
                params![
                    run_id,
                    s.idx as i64,
                    serde_json::to_string(s)?,
                    serde_json::to_string(&StepRecord::pending(s, mode))?
                ],
            )?;
        }
        Ok(())
    }

    /// One row of `runs` (the columns `sql` selects, as a tuple); `UnknownRun` when none.
    fn run_row<T>(c: &Connection, sql: &str, run_id: &str) -> Result<T, JournalError>
    where
        T: for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>,
    {
        c.query_row(sql, [run_id], |r| T::try_from(r))
            .optional()?
            .ok_or_else(|| JournalError::UnknownRun(run_id.to_string()))
    }

    /// Everything about one run.
    pub fn run(&self, run_id: &str) -> Result<RunDetail, JournalError> {
        let confirmations = self.confirmations(run_id)?;
        self.with(|c| {
            type Row = (String, String, String, String, Option<String>, i64, i64);
            let row: Row = Self::run_row(
                c,
                "SELECT spec, plan, status, state, report, created_ms, updated_ms FROM runs WHERE id = ?1",
                run_id,
            )?;
            let (_, steps) = Self::load_steps(c, run_id)?;
            let mut st = c.prepare("SELECT key FROM locks WHERE run_id = ?1 ORDER BY key")?;
            let locks = st
                .query_map([run_id], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RunDetail {
                row: RunRow {
                    id: run_id.to_string(),
                    spec: serde_json::from_str(&row.0)?,
                    status: row.2,
                    created_ms: row.5 as u64,
                    updated_ms: row.6 as u64,
                },
                plan: serde_json::from_str(&row.1)?,
                steps,
                state: serde_json::from_str(&row.3)?,
                report: row.4.map(|r| serde_json::from_str(&r)).transpose()?,
                confirmations,
                locks,
            })
        })
    }

    /// The plan, inventory and resume point of an unfinished run.
    pub fn resume_point(&self, run_id: &str) -> Result<(Plan, Inventory, Resume), JournalError> {
        self.with(|c| {
            let row: (String, String, String, String, i64) = Self::run_row(
                c,
                "SELECT plan, inventory, status, state, rolled_back FROM runs WHERE id = ?1",
                run_id,
            )?;
            if is_final(&row.2) {
                return Err(JournalError::NotResumable {
                    run: run_id.to_string(),
                    status: row.2,
                });
            }
            let (steps, records) = Self::load_steps(c, run_id)?;
            let plan: Plan = serde_json::from_str(&row.0)?;
            if records.len() != steps.len() {
                return Err(JournalError::Invalid(format!(
                    "journal of run {run_id} is damaged: {} steps but {} records",
                    steps.len(),
                    records.len()
                )));
            }
            crate::plan::check_graph(&plan.spec, &steps).map_err(|e| {
                JournalError::Invalid(format!("journal of run {run_id} is damaged: {e}"))
            })?;
            Ok((
                plan,
                serde_json::from_str(&row.1)?,
                Resume {
                    steps,
                    records,
                    state: serde_json::from_str(&row.3)?,
                    rolled_back: row.4 != 0,
                },
            ))
        })
    }

    /// Become the one executor of `run_id`, or refuse with [`JournalError::Owned`] while
    /// another live executor has it. Hold the guard for as long as the run executes.
    ///
    /// A file journal takes an OS lock (`flock`) on `<journal>.<run>.owner`: it is tied to
    /// the open file, so it works across processes and the kernel drops it when the owner
    /// dies (a `kill -9` included) — a dead owner's run can be resumed at once, with no
    /// lease to wait out. The file holds the owner's pid and host, for the refusal message.
    /// An in-memory journal (one process) keeps the set of owned runs itself.
    pub fn own(&self, run_id: &str) -> Result<RunOwner, JournalError> {
        let Some(path) = &self.path else {
            if !crate::ctx::lock(&self.owned).insert(run_id.to_string()) {
                return Err(JournalError::Owned {
                    run: run_id.to_string(),
                    owner: "this process".into(),
                });
            }
            return Ok(RunOwner {
                run: run_id.to_string(),
                inner: OwnerKind::Memory(self.owned.clone()),
            });
        };
        let safe: String = run_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{safe}.owner"));
        let owner_path = path.with_file_name(name);
        let file_err = |e: std::io::Error| JournalError::OwnerFile {
            path: owner_path.display().to_string(),
            error: e.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&owner_path)
            .map_err(file_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut who = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut who);
                return Err(JournalError::Owned {
                    run: run_id.to_string(),
                    owner: if who.trim().is_empty() {
                        "unknown".into()
                    } else {
                        who.trim().to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(file_err(e)),
        }
        use std::io::{Seek, Write};
        let me = format!(
            "pid {} on {}",
            std::process::id(),
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "this host".into())
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(me.as_bytes()))
            .map_err(file_err)?;
        Ok(RunOwner {
            run: run_id.to_string(),
            inner: OwnerKind::File(file),
        })
    }

    /// Mark a run `running` again (when it is resumed).
    pub fn mark_running(&self, run_id: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE runs SET status = 'running', updated_ms = ?2 WHERE id = ?1",
                params![run_id, now_ms() as i64],
            )?;
            Ok(())
        })
    }

    /// The journal's raw event history of a run (kind, JSON payload), oldest first.
    pub fn events(&self, run_id: &str) -> Result<Vec<(String, String)>, JournalError> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT kind, payload FROM events WHERE run_id = ?1 ORDER BY seq")?;
            let rows = st.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// Writes a run's events to the journal.
///
/// A step's result (`StepEnded`) and the run state after it (`State`: the schedules step 1b
/// cached) are committed in **one transaction**: the recorder holds the result until the
/// state arrives. A crash between the two then loses both, and the resumed run redoes the
/// (idempotent) step, instead of finding it succeeded with its cached schedule forgotten.
/// Events that are not followed by a state (skips, the last event) are written when the next
/// event comes or on [`Recorder::flush`].
///
/// A write that fails sets the recorder's [`Halt`]: the run's context carries it, so the
/// executor starts no step after the failure and the run stops `aborted`.
pub struct Recorder {
    journal: Journal,
    run_id: String,
    held: Mutex<Option<RunEvent>>,
    halt: Halt,
}

impl Recorder {
    /// Record one event (see the type's docs for the result/state pairing).
    pub fn record(&self, ev: &RunEvent) {
        let mut held = crate::ctx::lock(&self.held);
        let mut batch: Vec<RunEvent> = Vec::new();
        match ev {
            RunEvent::StepEnded(_) => {
                batch.extend(held.take());
                *held = Some(ev.clone());
            }
            RunEvent::State(_) => {
                batch.extend(held.take());
                batch.push(ev.clone());
            }
            _ => {
                batch.extend(held.take());
                batch.push(ev.clone());
            }
        }
        drop(held);
        if !batch.is_empty() {
            self.write(&batch);
        }
    }

    /// Write a held event.
    pub fn flush(&self) {
        let held = crate::ctx::lock(&self.held).take();
        if let Some(ev) = held {
            self.write(&[ev]);
        }
    }

    /// Write `batch`; once a write failed, write nothing more (a later event on disk
    /// without the earlier ones would lie about the run) and halt the run.
    fn write(&self, batch: &[RunEvent]) {
        if self.halt.reason().is_some() {
            return;
        }
        if let Err(e) = self.journal.record_all(&self.run_id, batch) {
            tracing::error!(run = %self.run_id, error = %e, "cannot write the journal: stopping the run");
            self.halt.set(e.to_string());
        }
    }

    /// Set when a write failed; give it to the run's context ([`crate::ctx::RunCtx::with_halt`]).
    pub fn halt(&self) -> Halt {
        self.halt.clone()
    }

    /// This recorder as an executor observer.
    pub fn observer(self: &Arc<Self>) -> Observer {
        let me = self.clone();
        Arc::new(move |ev: &RunEvent| me.record(ev))
    }
}

/// Status shown for a finished report (`paused` keeps the run resumable).
pub fn status_of(outcome: Outcome) -> &'static str {
    outcome.as_str()
}

/// An operator that confirms exactly the manual steps recorded as confirmed in the journal
/// (`step` confirms every instance of that step, `step:policy` one instance).
pub struct JournalOperator {
    confirmed: Vec<String>,
}

impl JournalOperator {
    /// Confirm these targets.
    pub fn new(confirmed: Vec<String>) -> Self {
        JournalOperator { confirmed }
    }

    /// Whether `inst` is confirmed.
    pub fn confirms(&self, inst: &StepInstance) -> bool {
        let step = inst.step.as_str();
        let scope = inst.policy.as_deref().or(inst.zone.as_deref());
        self.confirmed.iter().any(|t| match t.split_once(':') {
            Some((s, p)) => s == step && Some(p) == scope,
            None => t == step,
        })
    }
}

impl Operator for JournalOperator {
    fn confirm<'a>(
        &'a self,
        inst: &'a StepInstance,
        _instructions: &'a str,
    ) -> futures::future::BoxFuture<'a, bool> {
        let ok = self.confirms(inst);
        Box::pin(async move { ok })
    }
}

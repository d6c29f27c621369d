//! The config replication store: the orchestrator's config jobs (one per policy), each
//! job's run history and the last configuration each job read from its source (the cache
//! an uncontrolled failover falls back to). Real SQLite, in the journal's database file
//! (`dr`: the same file, its own tables) or in a named in-memory database (`drill`).
//!
//! **The tables are a published format** (the lab's judge reads `config_jobs` directly;
//! admins may query them): columns are only ever added.
//!
//! ```sql
//! config_jobs(source TEXT, policy TEXT, target TEXT, state TEXT, reason TEXT,
//!             updated_ms INTEGER, last_run_ms INTEGER, last_result TEXT, last_counts TEXT,
//!             PRIMARY KEY (source, policy))
//!   -- state: enabled | user_disabled | policy_disabled; times: Unix epoch milliseconds;
//!   -- last_result: succeeded | failed | from_cache | no_cache; last_counts: JSON
//!   -- {"smb_share": {"created": n, "updated": n, "deleted": n}, ...}
//! config_job_runs(id INTEGER PRIMARY KEY, source TEXT, policy TEXT, trigger TEXT,
//!                 started_ms INTEGER, ended_ms INTEGER, result TEXT, counts TEXT,
//!                 changes TEXT, detail TEXT)
//!   -- trigger: config-sync | failover:<run id>; changes: JSON list of what was created,
//!   -- updated, deleted (with the target's definition before an update or delete)
//! config_cache(source TEXT, policy TEXT, read_ms INTEGER, config TEXT,
//!              PRIMARY KEY (source, policy))
//!   -- config: JSON of the source's objects under the policy's source path
//! ```

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::diff::{Change, Counts};
use super::model::ConfigSet;
use std::collections::BTreeMap;

/// The store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("config store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("config store: bad stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("config store: unknown job state {0:?} (expected enabled, user_disabled or policy_disabled)")]
    BadState(String),
}

/// A config job's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Runs on every `dr config-sync`.
    Enabled,
    /// Stopped by an admin or by a failover (step 3b) until re-enabled (13b).
    UserDisabled,
    /// Its SyncIQ policy is disabled on the cluster (e.g. after resync-prep).
    PolicyDisabled,
}

impl JobState {
    /// The stored and reported name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Enabled => "enabled",
            JobState::UserDisabled => "user_disabled",
            JobState::PolicyDisabled => "policy_disabled",
        }
    }

    /// Parse a stored name.
    pub fn parse(s: &str) -> Result<JobState, StoreError> {
        match s {
            "enabled" => Ok(JobState::Enabled),
            "user_disabled" => Ok(JobState::UserDisabled),
            "policy_disabled" => Ok(JobState::PolicyDisabled),
            other => Err(StoreError::BadState(other.to_string())),
        }
    }
}

/// One config job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    pub source: String,
    pub policy: String,
    pub target: String,
    pub state: JobState,
    /// Who or what set the state (e.g. `failover <run id>`, `dr config-sync`).
    pub reason: Option<String>,
    pub updated_ms: i64,
    pub last_run_ms: Option<i64>,
    pub last_result: Option<String>,
    #[schema(value_type = Object)]
    pub last_counts: Option<BTreeMap<String, Counts>>,
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    pub source: String,
    pub policy: String,
    pub trigger: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub result: String,
    pub counts: BTreeMap<String, Counts>,
    pub changes: Vec<Change>,
    pub detail: String,
}

/// The store (thread-safe; one SQLite connection).
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    /// What a reader opens to see the same database (a path, or an in-memory URI).
    location: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config_jobs (
  source TEXT NOT NULL, policy TEXT NOT NULL, target TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL, reason TEXT, updated_ms INTEGER NOT NULL,
  last_run_ms INTEGER, last_result TEXT, last_counts TEXT,
  PRIMARY KEY (source, policy));
CREATE TABLE IF NOT EXISTS config_job_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, policy TEXT NOT NULL,
  trigger TEXT NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL,
  result TEXT NOT NULL, counts TEXT NOT NULL, changes TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config_cache (
  source TEXT NOT NULL, policy TEXT NOT NULL, read_ms INTEGER NOT NULL, config TEXT NOT NULL,
  PRIMARY KEY (source, policy));
";

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the connection leaves no half-written row (SQLite transactions).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An empty database with [`SCHEMA`], made once per process (`None` if it could not be).
///
/// Why: `drill` opens a fresh in-memory store for every scenario, and running the schema
/// (each CREATE TABLE parsed, compiled and run, its definition then parsed again into the
/// schema, plus `sqlite_sequence` for the AUTOINCREMENT) cost as much as everything the
/// store does afterwards. Copying this database's few pages (SQLite's backup API) makes the
/// same database — same tables, same `sqlite_master` — with none of that work.
fn schema_template() -> Option<&'static Mutex<Connection>> {
    static TEMPLATE: std::sync::OnceLock<Option<Mutex<Connection>>> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let conn = Connection::open_in_memory().ok()?;
            conn.execute_batch(SCHEMA).ok()?;
            Some(Mutex::new(conn))
        })
        .as_ref()
}

/// Give the in-memory database of `conn` the schema: a copy of [`schema_template`] when
/// the database is empty, else (a named store another connection still holds open, whose
/// tables a copy would replace; or no template) the schema run on it, which keeps what
/// exists.
fn copy_schema(conn: &mut Connection) -> Result<(), StoreError> {
    let empty: bool =
        conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM sqlite_master)", [], |r| {
            r.get(0)
        })?;
    if let Some(template) = schema_template().filter(|_| empty) {
        let template = lock(template);
        let backup = rusqlite::backup::Backup::new(&template, conn)?;
        if backup.step(-1)? == rusqlite::backup::StepResult::Done {
            return Ok(());
        }
    }
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

impl Store {
    fn init(mut conn: Connection, location: String, file: bool) -> Result<Store, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        if file {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(SCHEMA)?;
        } else {
            copy_schema(&mut conn)?;
        }
        Ok(Store {
            conn: Mutex::new(conn),
            location,
        })
    }

    /// Open (or create) the store in the database file at `path` (`dr`: the journal's).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path)?;
        Store::init(conn, path.display().to_string(), true)
    }

    /// A named in-memory store that other connections of this process can open by
    /// [`Store::location`] (a SQLite URI) while this one lives: `drill` gives each run one
    /// and its judge reads the tables from there. A name a live store of this process still
    /// holds opens that store's tables, as they are.
    pub fn memory(name: &str) -> Result<Store, StoreError> {
        let uri = format!("file:{name}?mode=memory&cache=shared");
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Store::init(conn, uri, false)
    }

    /// A private in-memory store (a run given no store: its jobs live as long as the run).
    pub fn private() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?, String::new(), false)
    }

    /// What a reader opens to see this database: a file path, or a SQLite URI (open with
    /// `SQLITE_OPEN_URI`); empty for a private store.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// One job.
    pub fn job(&self, source: &str, policy: &str) -> Result<Option<Job>, StoreError> {
        let c = lock(&self.conn);
        // Cached statements: the steps ask once per policy, and parsing the SQL each time
        // cost more than the query.
        let row = c
            .prepare_cached(
                "SELECT source, policy, target, state, reason, updated_ms, last_run_ms, last_result, last_counts
                 FROM config_jobs WHERE source = ?1 AND policy = ?2",
            )?
            .query_row(params![source, policy], row_raw)
            .optional()?;
        row.map(job_of).transpose()
    }

    /// Every job, by source and policy.
    pub fn jobs(&self) -> Result<Vec<Job>, StoreError> {
        let c = lock(&self.conn);
        let mut st = c.prepare_cached(
            "SELECT source, policy, target, state, reason, updated_ms, last_run_ms, last_result, last_counts
             FROM config_jobs ORDER BY source, policy",
        )?;
        let rows = st.query_map([], row_raw)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(job_of).collect()
    }

    /// The job of `policy`, created `enabled` when there is none.
    pub fn ensure(&self, source: &str, policy: &str, target: &str) -> Result<Job, StoreError> {
        {
            let c = lock(&self.conn);
            c.prepare_cached(
                "INSERT OR IGNORE INTO config_jobs (source, policy, target, state, reason, updated_ms)
                 VALUES (?1, ?2, ?3, 'enabled', 'created', ?4)",
            )?
            .execute(params![source, policy, target, super::now_ms()])?;
        }
        self.job(source, policy)?
            .ok_or_else(|| StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Set a job's state (creating the job if needed); whether it changed.
    pub fn set_state(
        &self,
        source: &str,
        policy: &str,
        target: &str,
        state: JobState,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let before = self.ensure(source, policy, target)?;
        if before.state == state {
            return Ok(false);
        }
        let c = lock(&self.conn);
        c.prepare_cached(
            "UPDATE config_jobs SET state = ?3, reason = ?4, updated_ms = ?5
             WHERE source = ?1 AND policy = ?2",
        )?
        .execute(params![
            source,
            policy,
            state.as_str(),
            reason,
            super::now_ms()
        ])?;
        Ok(true)
    }

    /// Record one run of a job (and its last result on the job).
    pub fn record_run(&self, run: &JobRun) -> Result<(), StoreError> {
        let counts = serde_json::to_string(&run.counts)?;
        let changes = serde_json::to_string(&run.changes)?;
        let mut c = lock(&self.conn);
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Cached statements, as in `job`: every config job run records one.
        tx.prepare_cached(
            "INSERT INTO config_job_runs (source, policy, trigger, started_ms, ended_ms, result, counts, changes, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
                run.source,
                run.policy,
                run.trigger,
                run.started_ms,
                run.ended_ms,
                run.result,
                counts,
                changes,
                run.detail
            ])?;
        tx.prepare_cached(
            "UPDATE config_jobs SET last_run_ms = ?3, last_result = ?4, last_counts = ?5
             WHERE source = ?1 AND policy = ?2",
        )?
        .execute(params![
            run.source,
            run.policy,
            run.ended_ms,
            run.result,
            counts
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// The newest `limit` runs of a job, newest first.
    pub fn runs(
        &self,
        source: &str,
        policy: &str,
        limit: usize,
    ) -> Result<Vec<JobRun>, StoreError> {
        let c = lock(&self.conn);
        let mut st = c.prepare(
            "SELECT source, policy, trigger, started_ms, ended_ms, result, counts, changes, detail
             FROM config_job_runs WHERE source = ?1 AND policy = ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![source, policy, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, String>(8)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(
                    source,
                    policy,
                    trigger,
                    started_ms,
                    ended_ms,
                    result,
                    counts,
                    changes,
                    detail,
                )| {
                    Ok(JobRun {
                        source,
                        policy,
                        trigger,
                        started_ms,
                        ended_ms,
                        result,
                        counts: serde_json::from_str(&counts)?,
                        changes: serde_json::from_str(&changes)?,
                        detail,
                    })
                },
            )
            .collect()
    }

    /// Cache the configuration a job read from its source.
    pub fn put_cache(
        &self,
        source: &str,
        policy: &str,
        read_ms: i64,
        config: &ConfigSet,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(config)?;
        let c = lock(&self.conn);
        c.prepare_cached(
            "INSERT INTO config_cache (source, policy, read_ms, config) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (source, policy) DO UPDATE SET read_ms = excluded.read_ms, config = excluded.config",
        )?
        .execute(params![source, policy, read_ms, json])?;
        Ok(())
    }

    /// The last configuration cached for a job, with when it was read (Unix ms).
    pub fn cache(
        &self,
        source: &str,
        policy: &str,
    ) -> Result<Option<(i64, ConfigSet)>, StoreError> {
        let c = lock(&self.conn);
        let row: Option<(i64, String)> = c
            .prepare_cached(
                "SELECT read_ms, config FROM config_cache WHERE source = ?1 AND policy = ?2",
            )?
            .query_row(params![source, policy], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(t, j)| Ok((t, serde_json::from_str(&j)?)))
            .transpose()
    }
}

type RawJob = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
);

fn row_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawJob> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

fn job_of(
    (source, policy, target, state, reason, updated_ms, last_run_ms, last_result, counts): RawJob,
) -> Result<Job, StoreError> {
    Ok(Job {
        source,
        policy,
        target,
        state: JobState::parse(&state)?,
        reason,
        updated_ms,
        last_run_ms,
        last_result,
        last_counts: counts.map(|c| serde_json::from_str(&c)).transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_persist_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite");
        {
            let s = Store::open(&path).unwrap();
            assert_eq!(s.ensure("a", "eng", "b").unwrap().state, JobState::Enabled);
            assert!(s
                .set_state("a", "eng", "b", JobState::UserDisabled, "failover r1")
                .unwrap());
            // Idempotent: a resumed step does not act twice.
            assert!(!s
                .set_state("a", "eng", "b", JobState::UserDisabled, "failover r1")
                .unwrap());
            s.put_cache(
                "a",
                "eng",
                42,
                &ConfigSet {
                    base: "/ifs/eng".into(),
                    dedupe_paths: vec!["/ifs/eng/x".into()],
                    ..ConfigSet::default()
                },
            )
            .unwrap();
            s.record_run(&JobRun {
                source: "a".into(),
                policy: "eng".into(),
                trigger: "config-sync".into(),
                started_ms: 1,
                ended_ms: 2,
                result: "succeeded".into(),
                counts: BTreeMap::from([(
                    "smb_share".to_string(),
                    Counts {
                        created: 1,
                        updated: 0,
                        deleted: 0,
                    },
                )]),
                changes: vec![],
                detail: "1 change".into(),
            })
            .unwrap();
        }
        let s = Store::open(&path).unwrap();
        let j = s.job("a", "eng").unwrap().unwrap();
        assert_eq!(j.state, JobState::UserDisabled);
        assert_eq!(j.reason.as_deref(), Some("failover r1"));
        assert_eq!(j.last_result.as_deref(), Some("succeeded"));
        assert_eq!(j.last_counts.unwrap()["smb_share"].created, 1);
        let (t, cfg) = s.cache("a", "eng").unwrap().unwrap();
        assert_eq!(t, 42);
        assert_eq!(cfg.dedupe_paths, vec!["/ifs/eng/x".to_string()]);
        assert_eq!(s.runs("a", "eng", 10).unwrap().len(), 1);
        assert!(s
            .set_state("a", "eng", "b", JobState::PolicyDisabled, "x")
            .unwrap());
        assert!(s.cache("a", "hr").unwrap().is_none());
        assert_eq!(s.jobs().unwrap().len(), 1);
    }

    /// A store made by copying the template has the database that running the schema
    /// makes: the same `sqlite_master` (tables, indexes, `sqlite_sequence`, their SQL).
    #[test]
    fn a_copied_schema_is_the_schema() {
        fn master(c: &Connection) -> Vec<(String, String, String, Option<String>)> {
            let mut st = c
                .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }
        let ran = Connection::open_in_memory().unwrap();
        ran.execute_batch(SCHEMA).unwrap();
        let want = master(&ran);
        assert!(want.iter().any(|(_, n, _, _)| n == "sqlite_sequence"));
        for s in [
            Store::private().unwrap(),
            Store::memory("store-test-copy").unwrap(),
        ] {
            assert_eq!(master(&lock(&s.conn)), want);
        }
        let s = Store::private().unwrap();
        let run = |p: &str| JobRun {
            source: "a".into(),
            policy: p.into(),
            trigger: "t".into(),
            started_ms: 1,
            ended_ms: 2,
            result: "succeeded".into(),
            counts: BTreeMap::new(),
            changes: vec![],
            detail: String::new(),
        };
        s.ensure("a", "eng", "b").unwrap();
        s.record_run(&run("eng")).unwrap();
        s.record_run(&run("eng")).unwrap();
        let ids: Vec<i64> = lock(&s.conn)
            .prepare("SELECT id FROM config_job_runs ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, vec![1, 2]);
    }

    /// Opening a name a live store holds keeps its rows (the schema copy is for empty
    /// databases only).
    #[test]
    fn reopening_a_live_named_store_keeps_its_rows() {
        let first = Store::memory("store-test-reopen").unwrap();
        first
            .set_state("a", "eng", "b", JobState::UserDisabled, "t")
            .unwrap();
        let second = Store::memory("store-test-reopen").unwrap();
        let jobs = second.jobs().unwrap();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(jobs[0].policy, "eng");
    }

    #[test]
    fn a_named_memory_store_is_visible_to_another_connection() {
        let s = Store::memory("store-test-visible").unwrap();
        s.set_state("a", "eng", "b", JobState::UserDisabled, "t")
            .unwrap();
        let reader = Connection::open_with_flags(
            s.location(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )
        .unwrap();
        let st: String = reader
            .query_row(
                "SELECT state FROM config_jobs WHERE policy = 'eng'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(st, "user_disabled");
    }
}

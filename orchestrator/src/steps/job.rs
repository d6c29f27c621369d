//! Start a SyncIQ job and wait for it to end.
//!
//! OneFS keeps one job per policy; a finished job disappears from `/sync/jobs` and shows up in
//! `/sync/reports`. So: note the policy's newest report ids, start the job (or adopt one of
//! the same action that is already running — a retried or resumed step must not start a second
//! one), poll until the job is gone, then read the new report to learn how it ended.
//!
//! Both report reads ask for the policy's newest [`REPORT_WINDOW`] reports only
//! (`reports_per_policy`), not its whole history: OneFS keeps up to 2000 reports per policy,
//! and a step that read them all before and after each job read ever more as the history
//! grew. The job's report is the newest of its policy (one job runs per policy at a time),
//! so it is within the window after the job; the window before it gives the ids to tell it
//! from, and, when it came back full, the end time below which a report is older history
//! the read did not reach (a report deleted meanwhile can bring such a one into the later
//! window).

use crate::ctx::StepError;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::ctx::RunCtx;
use crate::papi::{JobAction, PapiClient, SyncReport};

/// Run `action` for `policy` on the cluster of `client` and wait for its report.
///
/// The report ids seen before the job starts are journaled first (run state
/// `job_reports_before`, checkpointed), so a resumed step knows which report is its job's: a
/// job that finished while the orchestrator was down is adopted from its report, never
/// started a second time. `tag` keeps apart two steps of one run that run the same action
/// for the same policy (`presync` and `sync_data`): without it the final sync would take
/// the pre-sync's saved ids for its own and adopt the pre-sync's report.
///
/// A `run` job of the policy that is already running when a step starts it afresh (not
/// resumed) is waited for, never adopted: its snapshot may predate the lock (a pre-sync
/// that outlived its step, a scheduled run), and a final sync must carry every write made
/// before the lock. Other actions (allow-write, resync-prep, revert) change a state, so a
/// running one of the same action is adopted.
pub(crate) async fn run_job(
    ctx: &RunCtx,
    client: &PapiClient,
    policy: &str,
    action: JobAction,
    tag: Option<&str>,
) -> Result<SyncReport, StepError> {
    let opts = &ctx.plan.spec.options;
    let poll = Duration::from_millis(opts.job_poll_interval_ms.max(1));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(opts.job_timeout_ms);
    let key = match tag {
        Some(t) => format!("{}/{policy}/{}/{t}", client.cluster(), action.as_ref()),
        None => format!("{}/{policy}/{}", client.cluster(), action.as_ref()),
    };
    let saved = ctx.with_state(|s| {
        s.job_reports_before.get(&key).map(|ids| Before {
            ids: ids.iter().cloned().collect(),
            floor: s.job_reports_floor.get(&key).copied(),
        })
    });
    let resumed = saved.is_some();
    let mut before = match saved {
        Some(b) => b,
        None => remember_reports_before(ctx, client, policy, &key).await?,
    };

    // Another job of the policy (a scheduled run that started before 1b) must end first.
    // Whether one did, so the ids of the reports before ours are read again.
    let mut waited = false;
    loop {
        match client.get_job(policy).await? {
            Some(j)
                if j.action.as_deref().unwrap_or("run") == action.as_ref()
                    && (resumed || action != JobAction::Run) =>
            {
                tracing::info!(
                    cluster = client.cluster(),
                    policy,
                    action = action.as_ref(),
                    "adopting the job already running"
                );
                break;
            }
            Some(j) => {
                // A run job we do not adopt that is stuck (it would never end by itself):
                // adopting it used to fail the step at once; so does waiting for it.
                if j.action.as_deref().unwrap_or("run") == action.as_ref()
                    && matches!(j.state.as_str(), "failed" | "canceled" | "needs_attention")
                {
                    return Err(StepError::Failed(format!(
                        "a {} job for {policy} on {} is {}; resolve it on the cluster, then resume",
                        action.as_ref(),
                        client.cluster(),
                        j.state
                    )));
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(StepError::Failed(format!(
                        "{policy}: a {} job (state {}) is still running after {} ms; cannot start {}",
                        j.action.as_deref().unwrap_or("run"),
                        j.state,
                        opts.job_timeout_ms,
                        action.as_ref()
                    )));
                }
                waited = true;
                tokio::time::sleep(poll).await;
            }
            None => {
                if waited && !resumed {
                    // The job waited for left a report: not ours.
                    before = remember_reports_before(ctx, client, policy, &key).await?;
                }
                if resumed {
                    // This step started the job before the orchestrator stopped; if it has
                    // finished since, its report is the step's result.
                    if let Some(r) = find_new_report(client, policy, &before, action).await? {
                        tracing::info!(
                            cluster = client.cluster(),
                            policy,
                            action = action.as_ref(),
                            report = %r.id,
                            "adopting the job that finished while the run was stopped"
                        );
                        return conclude(r, client, policy, action);
                    }
                }
                match client.start_job(policy, action).await {
                    Ok(()) => {}
                    // A dropped connection retried after the job had started gives 409: adopt.
                    Err(e) if e.status() == Some(409) => match client.get_job(policy).await? {
                        Some(j) if j.action.as_deref().unwrap_or("run") == action.as_ref() => {}
                        _ => return Err(e.into()),
                    },
                    Err(e) => return Err(e.into()),
                }
                break;
            }
        }
    }

    let mut poller =
        super::job_poll::Poller::new(opts.job_poll_interval_ms, opts.job_poll_max_interval_ms);
    let mut wait = poller.first();

    // The job is started: from here on, losing contact leaves its outcome unknown.
    let lost = |doing: String, e: crate::papi::PapiError| {
        StepError::indeterminate(format!("lost contact {doing} on {}: {e}", client.cluster()))
    };
    let mut vanished = 0u32;
    // Whether a cancel at the deadline already found the job gone (read its report once).
    let mut cancel_raced = false;
    loop {
        // Never sleep past the deadline by more than one base interval.
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(wait.min(left.max(poll))).await;
        wait = poll;
        let job = client.get_job(policy).await.map_err(|e| {
            lost(
                format!("while the {} job for {policy} ran", action.as_ref()),
                e,
            )
        })?;
        match job {
            Some(j) => {
                vanished = 0;
                wait = poller.next(tokio::time::Instant::now(), &j);
                if matches!(j.state.as_str(), "failed" | "canceled" | "needs_attention") {
                    return Err(StepError::Failed(format!(
                        "{} job for {policy} on {} is {}",
                        action.as_ref(),
                        client.cluster(),
                        j.state
                    )));
                }
                if tokio::time::Instant::now() >= deadline {
                    // Do not leave a job running behind a step that gave up on it.
                    let cancel = client
                        .put_json(
                            &format!("sync/jobs/{}", crate::papi::enc(policy)),
                            &serde_json::json!({"state": "canceled"}),
                        )
                        .await;
                    // 404: the job ended between our read and the cancel. Its report says how;
                    // go round once more to read it instead of claiming it did not finish.
                    if !cancel_raced && matches!(&cancel, Err(e) if e.status() == Some(404)) {
                        cancel_raced = true;
                        wait = poll;
                        continue;
                    }
                    return Err(StepError::Failed(format!(
                        "{} job for {policy} on {} did not finish within {} ms (state {}); {}",
                        action.as_ref(),
                        client.cluster(),
                        opts.job_timeout_ms,
                        j.state,
                        match cancel {
                            Ok(()) => "canceled it".to_string(),
                            Err(e) => format!("cancel failed: {e}"),
                        }
                    )));
                }
            }
            None => {
                let found = find_new_report(client, policy, &before, action)
                    .await
                    .map_err(|e| {
                        lost(
                            format!("reading the {} report of {policy}", action.as_ref()),
                            e,
                        )
                    })?;
                match found {
                    Some(r) => return conclude(r, client, policy, action),
                    // A job that is neither listed nor reported: a glitch (a proxy's 404, a
                    // report not written yet). Look again before concluding anything.
                    None if vanished < 3 => vanished += 1,
                    None => {
                        return Err(StepError::indeterminate(format!(
                            "the {} job for {policy} on {} is neither running nor reported",
                            action.as_ref(),
                            client.cluster()
                        )))
                    }
                }
            }
        }
    }
}

/// How many of a policy's newest reports a job step reads before and after its job.
///
/// Four, not one: a report that ends in the second of the oldest read before the job is
/// taken for old ([`Before::is_new`]), so with one, a job that ended in the same second as
/// the policy's previous one would not be recognised; with four, four jobs of the policy
/// would have to end within one second.
const REPORT_WINDOW: usize = 4;

/// What a job step read of its policy's reports before the job started.
#[derive(Debug)]
struct Before {
    /// The ids read.
    ids: BTreeSet<String>,
    /// When the read came back full ([`REPORT_WINDOW`] reports, each with an end time):
    /// the oldest end time among them. A report not among `ids` that ended no later is
    /// older history, not a new report.
    floor: Option<i64>,
}

impl Before {
    /// From the newest reports read ([`REPORT_WINDOW`] were asked for).
    fn of(recent: &[SyncReport]) -> Before {
        let ends: Option<Vec<i64>> = recent.iter().map(|r| r.end_time).collect();
        Before {
            ids: recent.iter().map(|r| r.id.clone()).collect(),
            floor: if recent.len() >= REPORT_WINDOW {
                ends.and_then(|e| e.into_iter().min())
            } else {
                None
            },
        }
    }

    /// Whether `r` is a report that was not there before the job.
    fn is_new(&self, r: &SyncReport) -> bool {
        // An equal end time counts as old: a job of this step ends after the read, and a
        // report taken for old is looked for again, where one taken for new would be
        // concluded from.
        !self.ids.contains(&r.id) && self.floor.is_none_or(|f| r.end_time.is_none_or(|t| t > f))
    }
}

/// The report of an `action` job that is not among `before` (the newest, `reports` being
/// newest first).
fn new_report(reports: &[SyncReport], before: &Before, action: JobAction) -> Option<SyncReport> {
    reports
        .iter()
        .find(|r| before.is_new(r) && r.action.as_deref().unwrap_or("run") == action.as_ref())
        .cloned()
}

/// The new report of an `action` job of `policy`, from the newest [`REPORT_WINDOW`]; from
/// every report when the window is full and holds none: more new reports since the read
/// before the job than the window holds (a run resumed after a long stop, scheduled jobs of
/// the policy having run meanwhile), or none yet (a report not written when its job left
/// the list).
async fn find_new_report(
    client: &PapiClient,
    policy: &str,
    before: &Before,
    action: JobAction,
) -> Result<Option<SyncReport>, crate::papi::PapiError> {
    let recent = client.recent_reports(policy, REPORT_WINDOW).await?;
    if let Some(r) = new_report(&recent, before, action) {
        return Ok(Some(r));
    }
    if recent.len() < REPORT_WINDOW {
        // The window was not full: it is every report the policy has.
        return Ok(None);
    }
    Ok(new_report(&client.reports(policy).await?, before, action))
}

/// How the job ended, from its report.
fn conclude(
    r: SyncReport,
    client: &PapiClient,
    policy: &str,
    action: JobAction,
) -> Result<SyncReport, StepError> {
    if r.state == "finished" {
        return Ok(r);
    }
    Err(StepError::Failed(format!(
        "{} job for {policy} on {} ended {}{}",
        action.as_ref(),
        client.cluster(),
        r.state,
        if r.errors.is_empty() {
            String::new()
        } else {
            format!(": {}", r.errors.join("; "))
        }
    )))
}

/// Read `policy`'s newest reports on `client` and journal what the step needs of them
/// under `key` before a job starts (write-ahead): a resumed step tells its own job's report
/// from the ones before it.
async fn remember_reports_before(
    ctx: &RunCtx,
    client: &PapiClient,
    policy: &str,
    key: &str,
) -> Result<Before, StepError> {
    let before = Before::of(&client.recent_reports(policy, REPORT_WINDOW).await?);
    ctx.with_state(|s| {
        s.job_reports_before
            .insert(key.to_string(), before.ids.iter().cloned().collect());
        match before.floor {
            Some(f) => s.job_reports_floor.insert(key.to_string(), f),
            None => s.job_reports_floor.remove(key),
        };
    });
    ctx.checkpoint()?;
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, action: &str, end: Option<i64>) -> SyncReport {
        SyncReport {
            id: id.into(),
            policy_name: Some("p".into()),
            action: Some(action.into()),
            state: "finished".into(),
            start_time: end.map(|e| e - 10),
            end_time: end,
            duration: Some(10),
            errors: Vec::new(),
            bytes_transferred: None,
            sync_type: None,
        }
    }

    #[test]
    fn a_short_read_is_every_report_and_has_no_floor() {
        let recent = [
            report("2-p", "run", Some(200)),
            report("1-p", "run", Some(100)),
        ];
        let b = Before::of(&recent);
        assert_eq!(b.floor, None);
        assert_eq!(b.ids.len(), 2);
        // Any report not read before is new, however old it claims to be.
        assert!(b.is_new(&report("0-p", "run", Some(1))));
        assert!(!b.is_new(&report("1-p", "run", Some(100))));
    }

    #[test]
    fn a_full_read_has_the_oldest_end_time_as_its_floor() {
        let recent: Vec<SyncReport> = (0..4)
            .map(|i| report(&format!("{}-p", 10 - i), "run", Some(1000 - 100 * i)))
            .collect();
        let b = Before::of(&recent);
        assert_eq!(b.floor, Some(700));
        // The job's report, after the read.
        assert!(b.is_new(&report("11-p", "run", Some(1100))));
        // History older than the window, brought into a later window by a deletion.
        assert!(!b.is_new(&report("6-p", "run", Some(600))));
        // Ending in the floor's second: taken for old (looked for again, never concluded from).
        assert!(!b.is_new(&report("5-p", "run", Some(700))));
        // A report without an end time cannot be placed: not excluded.
        assert!(b.is_new(&report("12-p", "run", None)));
    }

    #[test]
    fn a_window_with_a_report_lacking_an_end_time_has_no_floor() {
        let mut recent: Vec<SyncReport> = (0..4)
            .map(|i| report(&format!("{i}-p"), "run", Some(100 * i)))
            .collect();
        recent[2].end_time = None;
        assert_eq!(Before::of(&recent).floor, None);
    }

    #[test]
    fn the_new_report_is_the_newest_new_one_of_the_action() {
        let before = Before::of(&[
            report("3-p", "run", Some(300)),
            report("2-p", "run", Some(200)),
        ]);
        let after = [
            report("5-p", "allow_write", Some(500)),
            report("4-p", "run", Some(400)),
            report("3-p", "run", Some(300)),
            report("2-p", "run", Some(200)),
        ];
        assert_eq!(
            new_report(&after, &before, JobAction::Run).map(|r| r.id),
            Some("4-p".to_string())
        );
        assert_eq!(
            new_report(&after, &before, JobAction::AllowWrite).map(|r| r.id),
            Some("5-p".to_string())
        );
        assert_eq!(new_report(&after, &before, JobAction::ResyncPrep), None);
    }
}

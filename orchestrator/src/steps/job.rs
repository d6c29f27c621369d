//! Start a SyncIQ job and wait for it to end.
//!
//! OneFS keeps one job per policy; a finished job disappears from `/sync/jobs` and shows up in
//! `/sync/reports`. So: note the policy's existing report ids, start the job (or adopt one of
//! the same action that is already running — a retried or resumed step must not start a second
//! one), poll until the job is gone, then read the new report to learn how it ended.

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
    let saved = ctx.with_state(|s| s.job_reports_before.get(&key).cloned());
    let resumed = saved.is_some();
    let mut before: BTreeSet<String> = match saved {
        Some(ids) => ids.into_iter().collect(),
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
                    let reports = client.reports(policy).await?;
                    if let Some(r) = new_report(reports, &before, action) {
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
                let reports = client.reports(policy).await.map_err(|e| {
                    lost(
                        format!("reading the {} report of {policy}", action.as_ref()),
                        e,
                    )
                })?;
                match new_report(reports, &before, action) {
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

/// The report of an `action` job that is not among `before`.
fn new_report(
    reports: Vec<SyncReport>,
    before: &BTreeSet<String>,
    action: JobAction,
) -> Option<SyncReport> {
    reports.into_iter().find(|r| {
        !before.contains(&r.id) && r.action.as_deref().unwrap_or("run") == action.as_ref()
    })
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

/// Read the ids of `policy`'s reports on `client` and journal them under `key` before a job
/// starts (write-ahead): a resumed step tells its own job's report from the ones before it.
async fn remember_reports_before(
    ctx: &RunCtx,
    client: &PapiClient,
    policy: &str,
    key: &str,
) -> Result<BTreeSet<String>, StepError> {
    let ids: BTreeSet<String> = client
        .reports(policy)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    ctx.with_state(|s| {
        s.job_reports_before
            .insert(key.to_string(), ids.iter().cloned().collect())
    });
    ctx.checkpoint()?;
    Ok(ids)
}

//! PAPI JSON of the SyncIQ model: policies, target policies, jobs, reports and settings, each
//! over the defaults of the official clients' models (the model itself renders nothing).

use serde_json::{json, Value};

use super::objects::fill_defaults;
use crate::clock::Epoch;
use crate::synciq::{Job, Policy, Report, SyncSettings, TargetPolicy};

fn opt_unix(ep: Epoch, ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |x| json!(ep.unix_s(x)))
}

/// [`policy_json`] serialised, as [`crate::policy_index::Policies::rendered`] keeps it.
pub(crate) fn policy_rendered(p: &Policy, ep: Epoch) -> crate::policy_index::Rendered {
    policy_bytes(p, ep).into()
}

/// [`policy_json`] serialised, written from a template: the ~70 fields that are the same
/// for every policy are rendered once (from the first policy's [`policy_json`], so they
/// cannot drift from it) and only the policy's own fields are written per rendering.
///
/// Why: a policy is re-rendered after every change to it (each job's start and end), and
/// building its `Value` (a key string and a hash per field) then serialising it was most of
/// the polled `GET sync/policies/{id}`.
pub(crate) fn policy_bytes(p: &Policy, ep: Epoch) -> Vec<u8> {
    static TEMPLATE: std::sync::OnceLock<Vec<Seg<PolicyField>>> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| template(&policy_json(p, ep), PolicyField::of));
    let mut out = Vec::with_capacity(2048);
    let opt = |ms: Option<i64>| ms.map(|x| ep.unix_s(x));
    fill(&mut out, template, |out, f| match f {
        PolicyField::Action => write_json(out, &p.action),
        PolicyField::Conflicted => write_json(out, &p.conflicted),
        PolicyField::Description => write_json(out, &p.description),
        PolicyField::Enabled => write_json(out, &p.enabled),
        PolicyField::HasSyncState => write_json(out, &p.last_success_ms.is_some()),
        PolicyField::Id => write_json(out, &p.id),
        PolicyField::LastJobState => write_json(out, &p.last_job_state),
        PolicyField::LastStarted => write_json(out, &opt(p.last_started_ms)),
        PolicyField::LastSuccess => write_json(out, &opt(p.last_success_ms)),
        PolicyField::Name => write_json(out, &p.name),
        PolicyField::Schedule => write_json(out, &p.schedule),
        PolicyField::SourceRootPath => write_json(out, &p.source_root_path),
        PolicyField::TargetHost => write_json(out, &p.target_host),
        PolicyField::TargetPath => write_json(out, &p.target_path),
    });
    out
}

/// The fields of [`policy_json`] whose values depend on the policy.
#[derive(Clone, Copy, Debug)]
enum PolicyField {
    Action,
    Conflicted,
    Description,
    Enabled,
    HasSyncState,
    Id,
    LastJobState,
    LastStarted,
    LastSuccess,
    Name,
    Schedule,
    SourceRootPath,
    TargetHost,
    TargetPath,
}

impl PolicyField {
    fn of(key: &str) -> Option<PolicyField> {
        Some(match key {
            "action" => PolicyField::Action,
            "conflicted" => PolicyField::Conflicted,
            "description" => PolicyField::Description,
            "enabled" => PolicyField::Enabled,
            "has_sync_state" => PolicyField::HasSyncState,
            "id" => PolicyField::Id,
            "last_job_state" => PolicyField::LastJobState,
            "last_started" => PolicyField::LastStarted,
            "last_success" => PolicyField::LastSuccess,
            "name" => PolicyField::Name,
            "schedule" => PolicyField::Schedule,
            "source_root_path" => PolicyField::SourceRootPath,
            "target_host" => PolicyField::TargetHost,
            "target_path" => PolicyField::TargetPath,
            _ => return None,
        })
    }
}

/// A rendering cut into literal bytes and the fields written per object.
enum Seg<F> {
    Lit(Vec<u8>),
    Field(F),
}

/// Cut the serialisation of object `v` at the values of the keys `field` names.
fn template<F>(v: &Value, field: impl Fn(&str) -> Option<F>) -> Vec<Seg<F>> {
    let mut segs = Vec::new();
    let mut lit = b"{".to_vec();
    if let Value::Object(m) = v {
        for (i, (k, x)) in m.iter().enumerate() {
            if i > 0 {
                lit.push(b',');
            }
            let _ = write_json(&mut lit, k.as_str());
            lit.push(b':');
            match field(k) {
                Some(f) => {
                    segs.push(Seg::Lit(std::mem::take(&mut lit)));
                    segs.push(Seg::Field(f));
                }
                None => {
                    let _ = write_json(&mut lit, x);
                }
            }
        }
    }
    lit.push(b'}');
    segs.push(Seg::Lit(lit));
    segs
}

/// Write `template` to `out`, each field hole by `field`.
fn fill<F>(
    out: &mut Vec<u8>,
    template: &[Seg<F>],
    mut field: impl FnMut(&mut Vec<u8>, &F) -> serde_json::Result<()>,
) {
    for seg in template {
        match seg {
            Seg::Lit(b) => out.extend_from_slice(b),
            // Writing into a `Vec` cannot fail.
            Seg::Field(f) => {
                let _ = field(out, f);
            }
        }
    }
}

/// A policy as `GET sync/policies` returns it.
pub(crate) fn policy_json(p: &Policy, ep: Epoch) -> Value {
    let mut v = json!({
        "accelerated_failback": false,
        "action": p.action,
        "burst_mode": false,
        "changelist": false,
        "check_integrity": true,
        "cloud_deep_copy": "deny",
        "conflicted": p.conflicted,
        "database_mirrored": false,
        "delete_quotas": true,
        "description": p.description,
        "disable_file_split": false,
        "disable_fofb": false,
        "disable_quota_tmp_dir": false,
        "disable_stf": false,
        "enable_hash_tmpdir": false,
        "enabled": p.enabled,
        "encrypted": false,
        "expected_dataloss": false,
        "file_matching_pattern": {"or_criteria": []},
        "force_interface": false,
        "has_sync_state": p.last_success_ms.is_some(),
        "id": p.id,
        "ignore_recursive_quota": false,
        "job_delay": 0,
        "last_job_state": p.last_job_state,
        "last_started": opt_unix(ep, p.last_started_ms),
        "last_success": opt_unix(ep, p.last_success_ms),
        "linked_service_policies": [],
        "log_level": "notice",
        "log_removed_files": false,
        "name": p.name,
        "next_run": Value::Null,
        "ocsp_address": "",
        "ocsp_issuer_certificate_id": "",
        "password_set": false,
        "priority": 0,
        "report_max_age": 31_536_000,
        "report_max_count": 2000,
        "restrict_target_network": false,
        "rpo_alert": 0,
        "schedule": p.schedule,
        "skip_lookup": false,
        "skip_when_source_unmodified": false,
        "snapshot_sync_existing": false,
        "snapshot_sync_pattern": "*",
        "source_exclude_directories": [],
        "source_include_directories": [],
        "source_network": Value::Null,
        "source_root_path": p.source_root_path,
        "source_snapshot_archive": false,
        "source_snapshot_expiration": 0,
        "source_snapshot_pattern": "",
        "target_certificate_id": "",
        "target_compare_initial_sync": false,
        "target_detect_modifications": true,
        "target_host": p.target_host,
        "target_path": p.target_path,
        "target_snapshot_alias": "SIQ-%{TargetPolicyName}-latest",
        "target_snapshot_archive": false,
        "target_snapshot_expiration": 0,
        "target_snapshot_pattern": "SIQ-%{TargetPolicyName}-%Y-%m-%d_%H-%M-%S",
        "workers_per_node": 3,
    });
    fill_defaults("sync_policy", &mut v);
    v
}

pub(crate) fn target_policy_json(tp: &TargetPolicy, ep: Epoch) -> Value {
    let mut v = json!({
        "failover_failback_state": tp.failover_failback_state,
        "id": tp.id,
        "last_job_state": tp.last_job_state,
        "last_source_coordinator_ip": "",
        "last_update_from_source": ep.unix_s(tp.last_update_ms as i64),
        "legacy_policy": false,
        "name": tp.name,
        "source_cluster_guid": tp.source_cluster_guid,
        "source_host": tp.source_host,
        "target_path": tp.target_path,
    });
    fill_defaults("target_policy", &mut v);
    v
}

fn policy_summary(name: &str, src: &str, host: &str, tpath: &str) -> Value {
    json!({"action": "sync", "file_matching_pattern": {"or_criteria": []}, "name": name,
           "source_exclude_directories": [], "source_include_directories": [],
           "source_root_path": src, "target_host": host, "target_path": tpath})
}

pub(crate) fn job_json(j: &Job, now: u64, ep: Epoch) -> Value {
    let frac = j.progress(now);
    let start = j.started_ms.map(|s| ep.unix_s(s as i64));
    let duration = j.started_ms.map_or(0, |s| (now.saturating_sub(s)) / 1000);
    let mut v = json!({
        "action": j.action.as_str(),
        "ads_streams_replicated": 0,
        "block_specs_replicated": 0,
        "bytes_recoverable": 0,
        "bytes_transferred": (j.changed_bytes as f64 * frac) as u64,
        "char_specs_replicated": 0,
        "committed_files": 0,
        "corrected_lins": 0,
        "dead_node": false,
        "directories_replicated": 0,
        "dirs_changed": 0,
        "dirs_deleted": 0,
        "dirs_moved": 0,
        "dirs_new": 0,
        "duration": duration,
        "encrypted": false,
        "end_time": Value::Null,
        "error": "",
        "error_checksum_files_skipped": 0,
        "error_io_files_skipped": 0,
        "error_net_files_skipped": 0,
        "errors": [],
        "failed_chunks": 0,
        "fifos_replicated": 0,
        "file_data_bytes": j.changed_bytes,
        "files_changed": j.changed_files,
        "files_linked": 0,
        "files_new": 0,
        "files_selected": j.changed_files,
        "files_transferred": (j.changed_files as f64 * frac) as u64,
        "files_unlinked": 0,
        "files_with_ads_replicated": 0,
        "flipped_lins": 0,
        "hard_links_replicated": 0,
        "hash_exceptions_fixed": 0,
        "hash_exceptions_found": 0,
        "id": j.id,
        "job_id": j.job_id,
        "lins_total": j.total_files,
        "network_bytes_to_source": 0,
        "network_bytes_to_target": (j.changed_bytes as f64 * frac) as u64,
        "new_files_replicated": 0,
        "num_retransmitted_files": 0,
        "phases": [],
        "policy": policy_summary(&j.policy_name, &j.source_root_path, &j.target, &j.target_path),
        "policy_action": "sync",
        "policy_id": j.id,
        "policy_name": j.policy_name,
        "quotas_deleted": 0,
        "regular_files_replicated": 0,
        "resynced_lins": 0,
        "retransmitted_files": [],
        "retry": 0,
        "running_chunks": 0,
        "service_report": [],
        "sockets_replicated": 0,
        "source_bytes_recovered": 0,
        "source_directories_created": 0,
        "source_directories_deleted": 0,
        "source_directories_linked": 0,
        "source_directories_unlinked": 0,
        "source_directories_visited": 0,
        "source_files_deleted": 0,
        "source_files_linked": 0,
        "source_files_unlinked": 0,
        "sparse_data_bytes": 0,
        "start_time": start,
        "state": j.state.as_str(),
        "succeeded_chunks": 0,
        "symlinks_replicated": 0,
        "sync_type": "incremental",
        "target_bytes_recovered": 0,
        "target_directories_created": 0,
        "target_directories_deleted": 0,
        "target_directories_linked": 0,
        "target_directories_unlinked": 0,
        "target_files_deleted": 0,
        "target_files_linked": 0,
        "target_files_unlinked": 0,
        "target_snapshots": [],
        "total_chunks": 0,
        "total_data_bytes": j.changed_bytes,
        "total_exported_services": Value::Null,
        "total_files": j.total_files,
        "total_network_bytes": (j.changed_bytes as f64 * frac) as u64,
        "total_phases": 0,
        "unchanged_data_bytes": j.total_bytes.saturating_sub(j.changed_bytes),
        "up_to_date_files_skipped": j.total_files.saturating_sub(j.changed_files),
        "updated_files_replicated": 0,
        "user_conflict_files_skipped": 0,
        "warnings": [],
        "workers": [],
        "worm_committed_file_conflicts": 0,
    });
    fill_defaults("sync_job", &mut v);
    v
}

/// `GET sync/jobs/{id}`'s body (`{"jobs":[<job>]}`): the bytes of [`job_json`] in its
/// envelope, written straight from the job.
///
/// Why: a job is polled every few virtual seconds by every running step, and building its
/// ~100-field `Value` (then serialising it) per poll was the largest single cost of a
/// campaign scenario. All but [`JobField`]'s fields are the same for every job, so their
/// bytes are rendered once (from the first job's [`job_json`], so they cannot drift from it)
/// and only the job's own fields are written per poll.
pub(crate) fn job_envelope_bytes(j: &Job, now: u64, ep: Epoch) -> Vec<u8> {
    static TEMPLATE: std::sync::OnceLock<Vec<Seg<JobField>>> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| template(&job_json(j, now, ep), JobField::of));
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"{\"jobs\":[");
    let frac = j.progress(now);
    let part = |n: u64| (n as f64 * frac) as u64;
    fill(&mut out, template, |out, f| match f {
        JobField::Action => write_json(out, j.action.as_str()),
        JobField::BytesTransferred
        | JobField::NetworkBytesToTarget
        | JobField::TotalNetworkBytes => write_json(out, &part(j.changed_bytes)),
        JobField::Duration => write_json(
            out,
            &j.started_ms.map_or(0, |s| (now.saturating_sub(s)) / 1000),
        ),
        JobField::FileDataBytes | JobField::TotalDataBytes => write_json(out, &j.changed_bytes),
        JobField::FilesChanged | JobField::FilesSelected => write_json(out, &j.changed_files),
        JobField::FilesTransferred => write_json(out, &part(j.changed_files)),
        JobField::Id | JobField::PolicyId => write_json(out, &j.id),
        JobField::JobId => write_json(out, &j.job_id),
        JobField::LinsTotal | JobField::TotalFiles => write_json(out, &j.total_files),
        JobField::Policy => {
            write_policy_summary(
                out,
                &j.policy_name,
                &j.source_root_path,
                &j.target,
                &j.target_path,
            );
            Ok(())
        }
        JobField::PolicyName => write_json(out, &j.policy_name),
        JobField::StartTime => write_json(out, &j.started_ms.map(|s| ep.unix_s(s as i64))),
        JobField::State => write_json(out, j.state.as_str()),
        JobField::UnchangedDataBytes => {
            write_json(out, &j.total_bytes.saturating_sub(j.changed_bytes))
        }
        JobField::UpToDateFilesSkipped => {
            write_json(out, &j.total_files.saturating_sub(j.changed_files))
        }
    });
    out.extend_from_slice(b"]}");
    out
}

fn write_json<T: serde::Serialize + ?Sized>(
    out: &mut Vec<u8>,
    v: &T,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(out, v)
}

/// [`policy_summary`] serialised.
fn write_policy_summary(out: &mut Vec<u8>, name: &str, src: &str, host: &str, tpath: &str) {
    out.extend_from_slice(
        br#"{"action":"sync","file_matching_pattern":{"or_criteria":[]},"name":"#,
    );
    let _ = write_json(out, name);
    out.extend_from_slice(
        br#","source_exclude_directories":[],"source_include_directories":[],"source_root_path":"#,
    );
    let _ = write_json(out, src);
    out.extend_from_slice(br#","target_host":"#);
    let _ = write_json(out, host);
    out.extend_from_slice(br#","target_path":"#);
    let _ = write_json(out, tpath);
    out.push(b'}');
}

/// The fields of [`job_json`] whose values depend on the job or the clock.
#[derive(Clone, Copy, Debug)]
enum JobField {
    Action,
    BytesTransferred,
    Duration,
    FileDataBytes,
    FilesChanged,
    FilesSelected,
    FilesTransferred,
    Id,
    JobId,
    LinsTotal,
    NetworkBytesToTarget,
    Policy,
    PolicyId,
    PolicyName,
    StartTime,
    State,
    TotalDataBytes,
    TotalFiles,
    TotalNetworkBytes,
    UnchangedDataBytes,
    UpToDateFilesSkipped,
}

impl JobField {
    fn of(key: &str) -> Option<JobField> {
        Some(match key {
            "action" => JobField::Action,
            "bytes_transferred" => JobField::BytesTransferred,
            "duration" => JobField::Duration,
            "file_data_bytes" => JobField::FileDataBytes,
            "files_changed" => JobField::FilesChanged,
            "files_selected" => JobField::FilesSelected,
            "files_transferred" => JobField::FilesTransferred,
            "id" => JobField::Id,
            "job_id" => JobField::JobId,
            "lins_total" => JobField::LinsTotal,
            "network_bytes_to_target" => JobField::NetworkBytesToTarget,
            "policy" => JobField::Policy,
            "policy_id" => JobField::PolicyId,
            "policy_name" => JobField::PolicyName,
            "start_time" => JobField::StartTime,
            "state" => JobField::State,
            "total_data_bytes" => JobField::TotalDataBytes,
            "total_files" => JobField::TotalFiles,
            "total_network_bytes" => JobField::TotalNetworkBytes,
            "unchanged_data_bytes" => JobField::UnchangedDataBytes,
            "up_to_date_files_skipped" => JobField::UpToDateFilesSkipped,
            _ => return None,
        })
    }
}

pub(crate) fn report_json(r: &Report, ep: Epoch) -> Value {
    let mut v = report_fields(r, ep);
    fill_defaults("sync_report", &mut v);
    v
}

/// [`report_json`] serialised, written from a template as [`policy_bytes`] is: the
/// fields every report shares (and the defaults) once, the report's own fields per report.
///
/// Why: every finished job adds a report on both sides, each rendered once when first
/// listed; building its `Value` was most of a `GET sync/reports` after a job.
pub(crate) fn report_bytes(r: &Report, ep: Epoch) -> Vec<u8> {
    static TEMPLATE: std::sync::OnceLock<Vec<Seg<ReportField>>> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| template(&report_json(r, ep), ReportField::of));
    let start = ep.unix_s(r.start_ms);
    let end = ep.unix_s(r.end_ms);
    let mut out = Vec::with_capacity(2048);
    fill(&mut out, template, |out, f| match f {
        ReportField::Action => write_json(out, r.action.as_str()),
        ReportField::BytesTransferred
        | ReportField::NetworkBytesToTarget
        | ReportField::TotalNetworkBytes => write_json(out, &r.bytes_transferred),
        ReportField::Duration => write_json(out, &(end - start).max(0)),
        ReportField::EndTime => write_json(out, &end),
        ReportField::Error => write_json(out, r.errors.first().map_or("", String::as_str)),
        ReportField::Errors => write_json(out, &r.errors),
        ReportField::FileDataBytes | ReportField::TotalDataBytes => {
            write_json(out, &r.total_data_bytes)
        }
        ReportField::FilesTransferred => write_json(out, &r.files_transferred),
        ReportField::Id => write_json(out, &r.id),
        ReportField::JobId => write_json(out, &r.job_id),
        ReportField::Policy => {
            write_policy_summary(
                out,
                &r.policy_name,
                &r.source_root_path,
                &r.target_host,
                &r.target_path,
            );
            Ok(())
        }
        ReportField::PolicyId => write_json(out, &r.policy_id),
        ReportField::PolicyName => write_json(out, &r.policy_name),
        ReportField::StartTime => write_json(out, &start),
        ReportField::State => write_json(out, r.state.as_str()),
        ReportField::SyncType => write_json(out, if r.initial { "initial" } else { "incremental" }),
        ReportField::TotalFiles => write_json(out, &r.total_files),
    });
    out
}

/// The fields of [`report_json`] whose values depend on the report.
#[derive(Clone, Copy, Debug)]
enum ReportField {
    Action,
    BytesTransferred,
    Duration,
    EndTime,
    Error,
    Errors,
    FileDataBytes,
    FilesTransferred,
    Id,
    JobId,
    NetworkBytesToTarget,
    Policy,
    PolicyId,
    PolicyName,
    StartTime,
    State,
    SyncType,
    TotalDataBytes,
    TotalFiles,
    TotalNetworkBytes,
}

impl ReportField {
    fn of(key: &str) -> Option<ReportField> {
        Some(match key {
            "action" => ReportField::Action,
            "bytes_transferred" => ReportField::BytesTransferred,
            "duration" => ReportField::Duration,
            "end_time" => ReportField::EndTime,
            "error" => ReportField::Error,
            "errors" => ReportField::Errors,
            "file_data_bytes" => ReportField::FileDataBytes,
            "files_transferred" => ReportField::FilesTransferred,
            "id" => ReportField::Id,
            "job_id" => ReportField::JobId,
            "network_bytes_to_target" => ReportField::NetworkBytesToTarget,
            "policy" => ReportField::Policy,
            "policy_id" => ReportField::PolicyId,
            "policy_name" => ReportField::PolicyName,
            "start_time" => ReportField::StartTime,
            "state" => ReportField::State,
            "sync_type" => ReportField::SyncType,
            "total_data_bytes" => ReportField::TotalDataBytes,
            "total_files" => ReportField::TotalFiles,
            "total_network_bytes" => ReportField::TotalNetworkBytes,
            _ => return None,
        })
    }
}

/// A report's own fields, before the defaults.
fn report_fields(r: &Report, ep: Epoch) -> Value {
    let start = ep.unix_s(r.start_ms);
    let end = ep.unix_s(r.end_ms);
    json!({
        "action": r.action.as_str(),
        "bytes_transferred": r.bytes_transferred,
        "dead_node": false,
        "duration": (end - start).max(0),
        "end_time": end,
        "error": r.errors.first().cloned().unwrap_or_default(),
        "errors": r.errors,
        "file_data_bytes": r.total_data_bytes,
        "files_transferred": r.files_transferred,
        "id": r.id,
        "job_id": r.job_id,
        "network_bytes_to_target": r.bytes_transferred,
        "phases": [],
        "policy": policy_summary(&r.policy_name, &r.source_root_path, &r.target_host, &r.target_path),
        "policy_id": r.policy_id,
        "policy_name": r.policy_name,
        "retransmitted_files": [],
        "service_report": [],
        "start_time": start,
        "state": r.state.as_str(),
        "sync_type": if r.initial { "initial" } else { "incremental" },
        "total_chunks": 0,
        "total_data_bytes": r.total_data_bytes,
        "total_files": r.total_files,
        "total_network_bytes": r.bytes_transferred,
        "warnings": [],
        "workers": [],
    })
}

/// A report as the target cluster keeps it (`GET sync/target/reports`): the same run seen
/// from the target, naming the cluster that ran it as `source_host`.
pub(crate) fn target_report_json(r: &Report, ep: Epoch) -> Value {
    let mut v = report_json(r, ep);
    if let Value::Object(m) = &mut v {
        m.remove("policy");
        m.remove("policy_action");
        m.insert("source_host".into(), json!(r.source_host));
        m.insert("target_path".into(), json!(r.target_path));
    }
    fill_defaults("target_report", &mut v);
    v
}

pub(crate) fn settings_json(s: &SyncSettings) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("max_concurrent_jobs".into(), json!(s.max_concurrent_jobs));
    m.insert("service".into(), json!(s.service));
    for (k, v) in &s.extra {
        m.insert(k.clone(), v.clone());
    }
    json!({ "settings": m })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synciq::{Job, JobAction, JobState};
    use proptest::prelude::*;

    fn report() -> impl Strategy<Value = Report> {
        (
            (any::<bool>(), -5_000_000i64..5_000_000, 0i64..5_000_000),
            prop::collection::vec("[a-z \"\\\\]{0,8}", 0..3),
            (0u64..1 << 40, 0u64..1000),
        )
            .prop_map(
                |((initial, start_ms, len), errors, (bytes, files))| Report {
                    id: format!("7-p\"{files}"),
                    job_id: 7,
                    policy_id: "abc".into(),
                    policy_name: format!("p{files}"),
                    action: JobAction::Run,
                    state: if errors.is_empty() {
                        JobState::Finished
                    } else {
                        JobState::Failed
                    },
                    start_ms,
                    end_ms: start_ms + len,
                    source_root_path: "/ifs/data/p".into(),
                    target_path: "/ifs/dr/p".into(),
                    target_host: "b".into(),
                    source_host: "a".into(),
                    total_files: files * 2,
                    files_transferred: files,
                    total_data_bytes: bytes,
                    bytes_transferred: bytes / 2,
                    errors,
                    initial,
                },
            )
    }

    fn job() -> impl Strategy<Value = Job> {
        (
            (0u64..1 << 40, 0u64..1 << 40, 0u64..100_000, 0u64..100_000),
            (
                prop::option::of(0u64..10_000_000),
                0u64..5_000_000,
                0u64..5_000_000,
                prop::option::of(0u64..10_000_000),
            ),
            (
                "[a-z0-9 \"\\\\é]{0,10}",
                prop::sample::select(vec![
                    JobAction::Run,
                    JobAction::ResyncPrep,
                    JobAction::AllowWrite,
                    JobAction::AllowWriteRevert,
                ]),
                prop::sample::select(vec![
                    JobState::Scheduled,
                    JobState::Running,
                    JobState::Paused,
                    JobState::Failed,
                ]),
                0u64..1000,
            ),
        )
            .prop_map(
                |(
                    (total_bytes, changed_bytes, total_files, changed_files),
                    (started_ms, work_ms, worked_ms, running_since),
                    (name, action, state, job_id),
                )| Job {
                    id: format!("id-{name}"),
                    job_id,
                    seq: job_id,
                    policy_name: name.clone(),
                    action,
                    state,
                    source: "a".into(),
                    target: format!("t{name}"),
                    source_root_path: format!("/ifs/data/{name}"),
                    target_path: format!("/ifs/dr/{name}"),
                    created_ms: 0,
                    started_ms,
                    work_ms,
                    worked_ms,
                    running_since,
                    start_checked: false,
                    fail_at_progress: None,
                    force_fail: None,
                    snapshot: crate::model::SharedSnapshot::default(),
                    total_files,
                    total_bytes,
                    changed_files,
                    changed_bytes,
                    ctx: Default::default(),
                    prev_tp_state: None,
                    mirror_id: None,
                    mirror_existing: false,
                },
            )
    }

    proptest! {
        /// The job body written from the template is the serialisation of the job's
        /// `Value` rendering in its envelope, for any job, clock and epoch (the template
        /// taken from whichever job comes first).
        #[test]
        fn job_envelope_bytes_agree_with_job_json(
            jobs in prop::collection::vec(job(), 1..4),
            now in 0u64..20_000_000,
            s in 0i64..253_402_300_799,
        ) {
            let ep = Epoch::from_unix_s(s);
            for j in &jobs {
                let want = serde_json::to_vec(&super::super::single_envelope_value(
                    "jobs",
                    job_json(j, now, ep),
                ))
                .expect("json");
                let got = job_envelope_bytes(j, now, ep);
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
            }
        }
    }

    fn policy() -> impl Strategy<Value = Policy> {
        (
            ("[a-z0-9 \"\\\\é]{0,10}", any::<bool>(), any::<bool>()),
            (
                prop::option::of(-5_000_000i64..5_000_000),
                prop::option::of(-5_000_000i64..5_000_000),
                prop::sample::select(vec![
                    JobState::Finished,
                    JobState::Running,
                    JobState::Failed,
                ]),
            ),
        )
            .prop_map(
                |((name, enabled, conflicted), (last_started_ms, last_success_ms, state))| Policy {
                    id: format!("id-{name}"),
                    name: name.clone(),
                    enabled,
                    action: if enabled {
                        "sync".into()
                    } else {
                        "copy".into()
                    },
                    source_root_path: format!("/ifs/data/{name}"),
                    target_host: format!("t{name}"),
                    target_cluster: "b".into(),
                    target_path: format!("/ifs/dr/{name}"),
                    schedule: if conflicted {
                        String::new()
                    } else {
                        name.clone()
                    },
                    description: format!("d{name}"),
                    last_job_state: state,
                    last_started_ms,
                    last_success_ms,
                    conflicted,
                    synced: crate::model::SharedSnapshot::default(),
                },
            )
    }

    proptest! {
        /// A policy written from the template is the serialisation of its `Value`
        /// rendering, for any policies and epoch (the template taken from whichever
        /// policy comes first).
        #[test]
        fn policy_bytes_agree_with_policy_json(
            policies in prop::collection::vec(policy(), 1..4),
            s in 0i64..253_402_300_799,
        ) {
            let ep = Epoch::from_unix_s(s);
            for p in &policies {
                let want = serde_json::to_vec(&policy_json(p, ep)).expect("json");
                let got = policy_bytes(p, ep);
                prop_assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
            }
        }
    }

    proptest! {
        /// The spliced bytes of a report are the serialisation of its `Value` rendering.
        #[test]
        fn report_bytes_agree_with_report_json(r in report(), s in 0i64..253_402_300_799) {
            let ep = Epoch::from_unix_s(s);
            let want = serde_json::to_vec(&report_json(&r, ep)).expect("json");
            prop_assert_eq!(report_bytes(&r, ep), want);
        }
    }
}

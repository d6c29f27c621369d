//! I4 (no data loss) and I5 (no split brain), from the clients' log, the clusters' files
//! after the run and the audit log.
//!
//! **I4.** Every write acknowledged on the source under a policy the run failed over, made
//! before the start of that policy's last successful sync, is on the target afterwards;
//! later ones are the RPO loss (the outage table's `lost` column). Writes acknowledged on
//! the copy that serves the data afterwards stay there: under a policy that did not fail
//! over, on the source; on the target, under any policy (S3: nothing that writes to a
//! writable target is undone). With the data-integrity lock in a controlled run, no write
//! is acknowledged on the source through a locked share while its lock is on.
//!
//! **I5.** DESIGN §6: "at no virtual instant are both copies of a path writable *and*
//! reachable by its client name, except after an uncontrolled failover, which the report
//! states". Every client whose data the run failed over is judged: after its policy's
//! target became writable, no write under the policy's path may be acknowledged on the
//! source.
//!
//! *Unprotected clients — the choice made here.* A client the operator left unprotected
//! (no data-integrity lock on its share, protocols left on) keeps an SMB session or NFS
//! mount it opened before the cut-over; nothing in the run can close it. DESIGN §6 I4 makes
//! the zero-loss promise only "with data-integrity on", and counts the writes after the last
//! sync as the RPO loss otherwise. So such a client may legitimately go on writing to the
//! source until the run fences the source for its policy — the end of a successful
//! `resync_prep[P]`, which makes the source copy read-only (DESIGN §3). Those writes are
//! listed as notes and counted as lost in the outage table; a write acknowledged on the
//! source after that fence is a violation. A *protected* client (an SMB/DFS client whose
//! share was under the lock at that instant, or any client while the source's protocol
//! services were off) must not get any write acknowledged on the source once the target is
//! writable. A failed `resync_prep` leaves the source unfenced: the run is `partial` and its
//! report says what is where (S3); unprotected writes then stay notes.
//!
//! *Failback after an uncontrolled failover.* The returned source answers its clients from
//! the instant it returns, before the run's first step (`fence_returned_source`) can hide it;
//! what it takes then lands on its stale copy, which its resync-prep discards. If the report
//! states that loss, such writes are notes; a write acknowledged there after the fence's
//! last change and then lost is a violation (the fence left a way in).
//!
//! Not judged: a rehearsal (no production name ever points at the target), a run that
//! failed nothing over, or one where no client's data was failed over.

use std::collections::BTreeMap;

use serde_json::Value;

use super::facts::Facts;
use super::Finding;
use crate::clients::{ClientEvent, Outage};
use crate::lab::{holding, map_path, path_under, values_under};
use crate::scenario::Protocol;

/// Above this many run policies I5 indexes the client events by path; up to it a scan per
/// policy costs less than building the index (both find the same events, in log order).
const INDEX_MIN_POLICIES: usize = 32;

/// When the snapshot of `policy`'s last successful sync in this run was taken (sim ms).
fn last_sync_snapshot_at(f: &Facts<'_>, policy: &str) -> Option<u64> {
    let entries: Vec<_> = f.audit.of("sync_data", Some(policy), None).collect();
    let finish = entries
        .iter()
        .filter(|a| a.cluster == f.report.from && a.action == "sync.job.finish" && a.result == "ok")
        .map(|a| a.t_ms)
        .max()?;
    entries
        .iter()
        .filter(|a| a.cluster == f.report.from && a.t_ms <= finish)
        .filter(|a| {
            (a.action == "sync.job.start"
                && a.detail.get("job_state").and_then(Value::as_str) == Some("running"))
                || (a.action == "sync.job.state"
                    && a.detail.get("to").and_then(Value::as_str) == Some("running"))
        })
        .map(|a| a.t_ms)
        .max()
}

/// Policy → [`last_sync_snapshot_at`] (0: none), filled as [`lost`] asks: the answer
/// depends only on the policy, and scanning the policy's audit entries for every client
/// write (thousands per run) was most of I4.
type SnapTimes = BTreeMap<String, u64>;

/// Whether an acknowledged source write is missing on the target after the run (only for
/// policies the run failed over), and the last sync's snapshot time.
fn lost(f: &Facts<'_>, e: &ClientEvent, snaps: &mut SnapTimes) -> Option<(bool, u64)> {
    let world = f.ev.world?;
    let (mapped, snap) = lost_question(f, e, snaps)?;
    Some((world.sim.read_file(&f.report.to, &mapped).is_none(), snap))
}

/// What [`lost`] asks the world about `e`: the target path its write maps to, and the last
/// sync's snapshot time (`None`: not a source write of a failed-over policy).
fn lost_question(f: &Facts<'_>, e: &ClientEvent, snaps: &mut SnapTimes) -> Option<(String, u64)> {
    if !e.ok || e.cluster.as_deref() != Some(f.report.from.as_str()) {
        return None;
    }
    let p = f.policy_of_path(e.path.as_deref()?)?;
    if !f.failed_over(&p.name) {
        return None;
    }
    let mapped = map_path(e.path.as_deref()?, &p.source_path, &p.target_path)?;
    let snap = match snaps.get(&p.name) {
        Some(&t) => t,
        None => {
            let t = last_sync_snapshot_at(f, &p.name).unwrap_or(0);
            snaps.insert(p.name.clone(), t);
            t
        }
    };
    Some((mapped, snap))
}

/// [`lost`] of every client event, by its index in the clients' log: worked out once for
/// I4 and the outage table (both asked it of every write) and with one read of the world
/// for all of them (a lock and a clock read per write were most of the cost).
pub(super) fn lost_all(f: &Facts<'_>) -> Vec<Option<(bool, u64)>> {
    let Some(world) = f.ev.world else {
        return vec![None; f.ev.clients.len()];
    };
    let mut snaps = SnapTimes::new();
    let questions: Vec<Option<(String, u64)>> =
        f.ev.clients
            .iter()
            .map(|e| lost_question(f, e, &mut snaps))
            .collect();
    let to = f.report.to.as_str();
    world.sim.read_world(|w| {
        let files = w.cluster(to).map(|c| &c.files);
        questions
            .into_iter()
            .map(|q| {
                q.map(|(mapped, snap)| (files.is_none_or(|fs| !fs.contains_key(&mapped)), snap))
            })
            .collect()
    })
}

/// The index of `e` in the clients' log, when it is one of its events (not a copy).
fn event_index(f: &Facts<'_>, e: &ClientEvent) -> Option<usize> {
    let log = f.ev.clients;
    let size = std::mem::size_of::<ClientEvent>().max(1);
    let offset = (e as *const ClientEvent as usize).wrapping_sub(log.as_ptr() as usize);
    let i = offset / size;
    (offset.is_multiple_of(size) && i < log.len() && std::ptr::eq(&log[i], e)).then_some(i)
}

/// [`lost`] of `e`, from [`Facts::lost_writes`] when `e` is an event of the log.
fn lost_of(f: &Facts<'_>, e: &ClientEvent, snaps: &mut SnapTimes) -> Option<(bool, u64)> {
    match event_index(f, e) {
        Some(i) => f.lost_writes()[i],
        None => lost(f, e, snaps),
    }
}

/// The data-integrity lock on the source's shares, from the audit log: when each share was
/// locked (`data_integrity_lock`) and when its lock came off (`rollback_lock`, whole or per
/// policy).
struct LockTimes {
    /// Source shares before the run: lower-case names by path (trailing `/` trimmed, as
    /// [`path_under`] compares). Indexed, not scanned: [`LockTimes::locked_at`] is asked
    /// for every client write, and a world has a share per policy.
    shares: BTreeMap<String, Vec<String>>,
    locked: BTreeMap<String, u64>,
    lifted: BTreeMap<String, u64>,
}

impl LockTimes {
    fn new(f: &Facts<'_>) -> LockTimes {
        let from = &f.report.from;
        // A DFS rename (`X` ↔ `igls-dfs-X`) does not make it another share.
        let dfs = f.run.options.naming.dfs_prefix.to_ascii_lowercase();
        let norm = |n: &str| {
            let l = n.to_ascii_lowercase();
            crate::lab::strip_prefix(&l, &dfs).to_string()
        };
        let mut shares: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in f
            .config_before(from)
            .and_then(|c| c.get("smb_shares").and_then(Value::as_object))
            .into_iter()
            .flat_map(|m| m.values())
        {
            let (Some(name), Some(path)) = (
                s.get("name").and_then(Value::as_str),
                s.get("path").and_then(Value::as_str),
            ) else {
                continue;
            };
            shares
                .entry(path.trim_end_matches('/').to_string())
                .or_default()
                .push(norm(name));
        }
        let mut locked = BTreeMap::new();
        let mut lifted = BTreeMap::new();
        for a in f.ev.audit.iter().filter(|a| {
            a.run.as_deref() == Some(f.report.run_id.as_str())
                && &a.cluster == from
                && a.action == "smb.share.update"
                && a.result == "ok"
        }) {
            let map = match a.step.as_deref() {
                Some("data_integrity_lock") => &mut locked,
                Some("rollback_lock") => &mut lifted,
                _ => continue,
            };
            map.entry(norm(&a.object)).or_insert(a.t_ms);
        }
        LockTimes {
            shares,
            locked,
            lifted,
        }
    }

    /// Whether a share holding `path` was under the lock at `t`.
    fn locked_at(&self, path: &str, t: u64) -> bool {
        holding(&self.shares, path).any(|n| {
            // Within one virtual millisecond the order is unknown: benefit of the doubt.
            self.locked.get(n).is_some_and(|&l| l < t) && self.lifted.get(n).is_none_or(|&u| t < u)
        })
    }
}

/// Sim ms from which the source's protocol services were off, and when they came back
/// (from the audit log: `disable_protocols` and `rollback_protocols` changes).
fn protocols_off(f: &Facts<'_>) -> Option<(u64, Option<u64>)> {
    let changes = |step: &'static str| {
        f.audit
            .of(step, None, None)
            .filter(|a| a.cluster == f.report.from && a.result == "ok")
            .map(|a| a.t_ms)
            .collect::<Vec<u64>>()
    };
    let off = changes("disable_protocols").into_iter().max()?;
    let on = changes("rollback_protocols").into_iter().min();
    Some((off, on))
}

fn protocol_of(f: &Facts<'_>, client: &str) -> Option<Protocol> {
    f.ev.scenario
        .clients
        .iter()
        .find(|c| c.name == client)
        .map(|c| c.protocol)
}

/// I4.
pub fn i4_no_data_loss(f: &Facts<'_>) -> Finding {
    let mut out = Finding::default();
    let Some(world) = f.ev.world else {
        return Finding::not_judged("no simulated world to read files from");
    };
    if f.ev.clients.is_empty() {
        return Finding::not_judged("no client wrote (no clients, or a real-time HTTP drill)");
    }
    let (from, to) = (&f.report.from, &f.report.to);
    // Failback after an uncontrolled failover: the returned source answers its clients from
    // the instant it returns, before the run's first step can fence it; what it takes then
    // is on its stale copy, which its resync-prep discards (the report says so). Nothing the
    // run does can prevent that, so the judge holds the run to account only for writes
    // acknowledged there after the fence's last change.
    let stated = f
        .report
        .warnings
        .iter()
        .any(|w| w.contains("discards what it wrote"));
    // The window opens when the returned source came back for the run (just before its
    // discovery). A write it took earlier (it came back while the uncontrolled failover's
    // clients still ran) is still flagged: that loss happened outside any run that could
    // state it.
    let run_start =
        f.ev.returned_at_ms
            .or(f.ev.run_offset_ms)
            .unwrap_or(u64::MAX);
    let fenced_at = (!f.returned.is_empty() && stated).then(|| {
        f.audit
            .of("fence_returned_source", None, None)
            .map(|a| a.t_ms)
            .max()
            .unwrap_or(0)
    });
    // Worked out before the world is read below (it reads the world itself).
    let lost_writes = f.lost_writes();
    // One read of the world for every file asked about (the loop asks nothing else of it).
    world.sim.read_world(|w| {
    let exists = |cluster: &str, path: &str| {
        w.cluster(cluster).is_some_and(|c| c.files.contains_key(path))
    };
    for (i, e) in f.ev.clients.iter().enumerate().filter(|(_, e)| e.ok) {
        let Some(path) = e.path.as_deref() else {
            continue;
        };
        let on_source = e.cluster.as_deref() == Some(from.as_str());
        let on_target = e.cluster.as_deref() == Some(to.as_str());
        if on_source {
            if let Some((missing, snap)) = lost_writes[i] {
                out.judged += 1;
                if missing && e.t_ms < snap {
                    out.violations.push(format!(
                        "{} wrote {path} on {from} at {} ms, before the last sync's snapshot ({snap} ms), and it is not on {to}",
                        e.client, e.t_ms
                    ));
                }
            } else if f.policy_of_path(path).is_some() {
                // Its policy did not fail over: the source still serves it.
                out.judged += 1;
                if !exists(from, path) {
                    out.violations.push(format!(
                        "{} wrote {path} on {from} at {} ms; its policy did not fail over, yet the write is gone from {from}",
                        e.client, e.t_ms
                    ));
                }
            }
        } else if on_target
            && f.policies
                .values()
                .any(|p| p.known && path_under(path, &p.target_path))
            && !f.run.rehearsal()
        {
            out.judged += 1;
            if fenced_at.is_some_and(|t| e.t_ms >= run_start && e.t_ms <= t) {
                if !exists(to, path) {
                    out.notes.push(format!(
                        "{} wrote {path} on {to} at {} ms, before the run fenced the returned source: resync-prep there discarded it (stated in the report)",
                        e.client, e.t_ms
                    ));
                }
            } else if !exists(to, path) {
                out.violations.push(if f.returned.is_empty() {
                    format!(
                        "{} wrote {path} on {to} at {} ms, after the cut-over, and the write is gone (S3: nothing is undone once the target is writable)",
                        e.client, e.t_ms
                    )
                } else {
                    // Failback after an uncontrolled failover: the returned source took
                    // the write before it was fenced, and its resync-prep discarded it.
                    format!(
                        "{} wrote {path} on {to} at {} ms, and the write is gone: {to} is the returned source of an uncontrolled failover, it took the write while it still answered the client, and resync-prep there discarded it",
                        e.client, e.t_ms
                    )
                });
            }
        }
    }
    });
    if f.run.controlled && f.run.options.data_integrity {
        let lock = LockTimes::new(f);
        if !lock.locked.is_empty() {
            for e in f.ev.clients.iter().filter(|e| {
                e.ok && e.cluster.as_deref() == Some(from.as_str())
                    && matches!(
                        protocol_of(f, &e.client),
                        Some(Protocol::Smb | Protocol::Dfs)
                    )
            }) {
                let Some(path) = e.path.as_deref() else {
                    continue;
                };
                if f.policy_of_path(path).is_none() {
                    continue;
                }
                out.judged += 1;
                if lock.locked_at(path, e.t_ms) {
                    out.violations.push(format!(
                        "{} had a write of {path} acknowledged on {from} at {} ms through a share under the data-integrity lock",
                        e.client, e.t_ms
                    ));
                }
            }
        }
    }
    if out.judged == 0 {
        out.not_judged =
            Some("no acknowledged client write under the run's policies to judge".into());
    }
    out
}

/// I5.
pub fn i5_no_split_brain(f: &Facts<'_>) -> Finding {
    let mut out = Finding::default();
    if f.run.rehearsal() {
        return Finding::not_judged(
            "a rehearsal: the target is writable only for test clients; production names stay on the source",
        );
    }
    if !f.run.controlled {
        out.judged += 1;
        let stated = f.report.warnings.iter().any(|w| {
            let w = w.to_ascii_lowercase();
            w.contains("both") && w.contains("writable")
        });
        if stated {
            out.notes.push(
                "uncontrolled failover: both copies may be writable until the source returns, as the report states"
                    .into(),
            );
        } else {
            out.violations.push(
                "uncontrolled failover, but the report does not state that both copies may be writable"
                    .into(),
            );
        }
        return out;
    }
    if f.ev.clients.is_empty() {
        return Finding::not_judged("no client wrote (no clients, or a real-time HTTP drill)");
    }
    let from = &f.report.from;
    let to = &f.report.to;
    let lock = LockTimes::new(f);
    let protocols = protocols_off(f);
    let mut any_failed_over = false;
    // Each writing client's run policy, worked out once (it looks the client's share up
    // among all of the source's; per policy it made the rule quadratic).
    let configured: Vec<(&str, Option<String>)> =
        f.ev.scenario
            .clients
            .iter()
            .filter(|c| c.writes_per_minute > 0)
            .map(|c| (c.name.as_str(), f.client_data(c).policy))
            .collect();
    // Client events by path, so that each policy reads only the events under its source
    // path (a scan of every event per policy was quadratic). With a handful of policies (a
    // campaign's worlds) the scan costs less than building the index.
    let indexed = f.policies.len() > INDEX_MIN_POLICIES;
    let mut by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    if indexed {
        for (i, e) in f.ev.clients.iter().enumerate() {
            if let Some(x) = e.path.as_deref() {
                by_path.entry(x).or_default().push(i);
            }
        }
    }
    for p in f.policies.values().filter(|p| p.known) {
        let Some(t_w) = f.writes_enabled_at(&p.name) else {
            continue;
        };
        any_failed_over = true;
        // The events under the policy's source path, in log order.
        let under: Vec<&ClientEvent> = if indexed {
            let mut under: Vec<usize> = values_under(&by_path, &p.source_path)
                .flatten()
                .copied()
                .collect();
            under.sort_unstable();
            under.into_iter().map(|i| &f.ev.clients[i]).collect()
        } else {
            f.ev.clients
                .iter()
                .filter(|e| {
                    e.path
                        .as_deref()
                        .is_some_and(|x| path_under(x, &p.source_path))
                })
                .collect()
        };
        // The end of a successful resync_prep fences the source (DESIGN §3): its job's
        // successful finish in the audit log.
        let fence = f
            .report
            .of_policy("resync_prep", &p.name)
            .filter(|s| s.status.succeeded())
            .and_then(|_| {
                f.audit
                    .of("resync_prep", Some(&p.name), None)
                    .filter(|a| a.action == "sync.job.finish" && a.result == "ok")
                    .map(|a| a.t_ms)
                    .max()
            });
        // Clients whose data this is: by their configured path, or by a write under it.
        let mut clients: Vec<String> = configured
            .iter()
            .filter(|(_, policy)| policy.as_deref() == Some(p.name.as_str()))
            .map(|(name, _)| name.to_string())
            .collect();
        for e in &under {
            if !clients.contains(&e.client) {
                clients.push(e.client.clone());
            }
        }
        for c in &clients {
            out.judged += 1;
            let smb = matches!(protocol_of(f, c), Some(Protocol::Smb | Protocol::Dfs));
            let mut unprotected_writes = 0usize;
            for e in under.iter().filter(|e| {
                &e.client == c
                    && e.ok
                    && e.cluster.as_deref() == Some(from.as_str())
                    && e.t_ms > t_w
            }) {
                let path = e.path.as_deref().unwrap_or_default();
                let locked = smb && lock.locked_at(path, e.t_ms);
                let off =
                    protocols.is_some_and(|(a, b)| a <= e.t_ms && b.is_none_or(|b| e.t_ms < b));
                if locked || off {
                    out.violations.push(format!(
                        "{c} wrote {path} on {from} at {} ms while {}'s target on {to} was writable (since {t_w} ms), although {}",
                        e.t_ms,
                        p.name,
                        if locked { "its share was under the data-integrity lock" } else { "the source's protocols were off" }
                    ));
                } else if fence.is_some_and(|fence| e.t_ms > fence) {
                    out.violations.push(format!(
                        "{c} wrote {path} on {from} at {} ms, after resync_prep[{}] fenced {from} ({} ms) — both copies writable",
                        e.t_ms,
                        p.name,
                        fence.unwrap_or_default()
                    ));
                } else {
                    unprotected_writes += 1;
                }
            }
            if unprotected_writes > 0 {
                out.notes.push(format!(
                    "{c}: {unprotected_writes} write(s) acknowledged on {from} after {}'s target became writable, before the source was fenced; the client was unprotected (no lock, protocols on): RPO loss, not split brain (DESIGN I4)",
                    p.name
                ));
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some(if any_failed_over {
            "no client's data was failed over".into()
        } else {
            "no policy's target became writable in this run".into()
        });
    }
    out
}

/// Per-client outage windows and lost writes.
pub fn client_outages(f: &Facts<'_>) -> Vec<Outage> {
    let snaps = std::cell::RefCell::new(SnapTimes::new());
    let is_lost = |e: &ClientEvent| {
        lost_of(f, e, &mut snaps.borrow_mut()).is_some_and(|(missing, _)| missing)
    };
    let tail_from_ms = f.ev.samples.and_then(|s| s.after.as_ref()).map(|a| a.t_ms);
    crate::clients::outages(
        f.ev.clients,
        &f.report.from,
        &f.report.to,
        tail_from_ms,
        &is_lost,
    )
}

//! I6 (SPN uniqueness) and I7 (access, whatever the outcome).
//!
//! **I6.** No SPN on two machine accounts at the end — nor, in zone modes, at any step end
//! (DESIGN §6) — other than collisions that existed before the run or that an injected
//! `spn_collision` fault planted (validation's and the fault's, not the run's).
//!
//! **I7.** At the end of every run, whatever its outcome, each client whose data the run
//! moved or should have left in place reaches a writable copy by its old name: a client
//! whose policy failed over reaches the target; one whose policy did not (a failed chain, a
//! held zone gate, a blocked run), or whose data the run does not cover (another pool of
//! the zone in IP Pool mode, another zone), still reaches the copy it used before the run.
//! The report's `unavailable` list excuses the clients of the data it names; the report
//! must name the data the documented rules leave unavailable (safety-rules.md: SyncIQ-mode
//! networking that failed after `allow_write`; an uncontrolled run's source data). A
//! client whose failure an injected fault still in force at the end explains (its cluster
//! taken down, AD unreachable, a planted SPN collision) is not judged, and the result says
//! so; a paused run excuses the clients of data it failed over (its names wait for the
//! operator). A rehearsal must not disturb any client: every write succeeds on the source.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::facts::Facts;
use super::model::is_networking;
use super::report::{Status, StepView};
use super::Finding;
use crate::clients::ClientEvent;
use crate::scenario::{ClientSpec, Protocol};

/// Every SPN an `spn_collision` fault planted: (SPN, account, when), both lower-case.
fn spn_plants<'a>(f: &'a Facts<'_>) -> impl Iterator<Item = (String, String, u64)> + 'a {
    f.ev.audit
        .iter()
        .filter(|a| a.action == "ad.spn_plant" && a.result == "ok")
        .filter_map(|a| {
            let spn = a.detail.get("spn").and_then(Value::as_str)?;
            Some((
                spn.to_ascii_lowercase(),
                a.object.to_ascii_lowercase(),
                a.t_ms,
            ))
        })
}

/// SPNs an `spn_collision` fault planted (lower-case) → the accounts it planted them on
/// (lower-case).
fn planted_spns(f: &Facts<'_>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (spn, account, _) in spn_plants(f) {
        out.entry(spn).or_default().insert(account);
    }
    out
}

/// I6.
pub fn i6_spn_unique(f: &Facts<'_>) -> Finding {
    let Some(world) = f.ev.world else {
        return Finding::not_judged("no simulated world");
    };
    let Some(domain) = world.sim.ad_domain() else {
        return Finding::not_judged("the world has no AD domain");
    };
    let mut out = Finding::default();
    let planted = planted_spns(f);
    let before =
        f.ev.samples
            .and_then(|s| s.before.as_ref())
            .map(|b| b.spn_collisions.clone())
            .unwrap_or_default();
    let ours = |spn: &str| {
        let l = spn.to_ascii_lowercase();
        !before.contains_key(&l) && !planted.contains_key(&l)
    };
    out.judged += domain
        .accounts
        .values()
        .map(|a| a.spns.len())
        .sum::<usize>();
    for (spn, owners) in domain.collisions() {
        if ours(&spn) {
            out.violations
                .push(format!("at the end, {spn} is on {}", owners.join(" and ")));
        }
    }
    if f.run.zone_mode() {
        let mut seen = BTreeSet::new();
        for s in f.ev.samples.map(|s| s.steps.as_slice()).unwrap_or_default() {
            out.judged += 1;
            for (spn, owners) in s.spn_collisions.iter() {
                if ours(spn) && seen.insert(spn.clone()) {
                    out.violations.push(format!(
                        "after {}{}, {spn} was on {}",
                        s.step,
                        s.policy
                            .as_deref()
                            .or(s.zone.as_deref())
                            .map(|x| format!("[{x}]"))
                            .unwrap_or_default(),
                        owners.join(" and ")
                    ));
                }
            }
        }
    }
    if out.judged == 0 {
        out.not_judged = Some("no SPN on any machine account".into());
    }
    out
}

/// Why a client's failure to reach `cluster` is not the run's doing: `cluster` is down at
/// the end because of an injected `cluster_down`, or AD cannot issue the client a ticket
/// because of an injected fault still in force (AD unreachable; a planted SPN collision
/// that would not exist but for the plant).
fn excused_by_fault(
    f: &Facts<'_>,
    client: &ClientSpec,
    last: &ClientEvent,
    cluster: &str,
) -> Option<String> {
    let world = f.ev.world?;
    if !world.sim.is_up(cluster) {
        let injected =
            f.ev.audit
                .iter()
                .rev()
                .find(|a| {
                    a.cluster == cluster && (a.action == "cluster.down" || a.action == "cluster.up")
                })
                .is_some_and(|a| a.action == "cluster.down" && a.actor == "fault");
        if injected {
            return Some(format!(
                "{cluster} is down at the end (an injected cluster_down fault is still in force)"
            ));
        }
    }
    if client.protocol != Protocol::Smb {
        return None; // only SMB sessions by name use Kerberos (NFS: AUTH_SYS; DFS: referral)
    }
    if !last
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("Kerberos:"))
    {
        return None; // a failure in an open session is the run's to answer for
    }
    let domain = world.sim.ad_domain()?;
    if !domain.reachable {
        let injected =
            f.ev.audit
                .iter()
                .any(|a| a.action == "ad.unreachable" && a.actor == "fault");
        return Some(format!(
            "AD domain {} is unreachable at the end{}, so no SMB client gets a Kerberos ticket",
            domain.name,
            if injected {
                " (an injected ad_unreachable fault is still in force)"
            } else {
                ""
            }
        ));
    }
    let (host, _, _) = sim_ad_dns::dfs::parse_unc(&client.path)?;
    let spn = format!("HOST/{host}");
    let planted = planted_spns(f);
    let on = planted.get(&spn.to_ascii_lowercase())?;
    let owners: BTreeSet<String> = domain
        .owners(&spn)
        .iter()
        .map(|o| o.to_ascii_lowercase())
        .collect();
    if owners.len() < 2 || owners.is_disjoint(on) {
        return None;
    }
    // Without the plant the SPN would be on the serving cluster's account alone (or
    // nowhere): the collision is the fault's. An SPN left on another account is the run's.
    let account = world.machine_account(cluster).to_ascii_lowercase();
    let rest: Vec<&String> = owners.difference(on).collect();
    rest.iter().all(|o| **o == account).then(|| {
        format!(
            "{spn} is also on {} because an spn_collision fault planted it there, so Kerberos fails for it",
            on.iter().cloned().collect::<Vec<_>>().join(" and ")
        )
    })
}

/// When injected faults that break Kerberos for SMB clients first took effect, read from
/// the audit log once (a rehearsal asks for every disturbed write of its clients).
#[derive(Default)]
struct KerberosFaults {
    /// The first `ad_unreachable` fault.
    ad_unreachable_ms: Option<u64>,
    /// Lower-case SPN → when an `spn_collision` fault first planted it.
    planted_ms: BTreeMap<String, u64>,
    /// Lower-case SPN → when a configuration write (`ad.spns.update`) first added it.
    added_ms: BTreeMap<String, u64>,
}

impl KerberosFaults {
    fn of(f: &Facts<'_>) -> KerberosFaults {
        let mut k = KerberosFaults {
            ad_unreachable_ms: f
                .ev
                .audit
                .iter()
                .find(|a| a.action == "ad.unreachable" && a.actor == "fault")
                .map(|a| a.t_ms),
            ..KerberosFaults::default()
        };
        for (spn, _, t) in spn_plants(f) {
            k.planted_ms.entry(spn).or_insert(t);
        }
        for a in f.ev.audit.iter().filter(|a| a.action == "ad.spns.update") {
            let added = a.detail.get("added").and_then(Value::as_array);
            for spn in added.into_iter().flatten().filter_map(Value::as_str) {
                k.added_ms.entry(spn.to_ascii_lowercase()).or_insert(a.t_ms);
            }
        }
        k
    }

    /// Why a production SMB client's Kerberos failure `e` during a rehearsal is an
    /// injected fault's doing, not the rehearsal's: AD was made unreachable by an
    /// `ad_unreachable` fault before it; or the client's name `HOST/<host>` is on more
    /// than one account because an `spn_collision` fault planted it on one of them before
    /// it, and no configuration write of the run added that SPN by then (a rehearsal adds
    /// only its test alias's SPNs: had it put the production name's SPN on the target's
    /// account too, that is its fault however the plant lies).
    fn excuse(&self, c: &ClientSpec, e: &ClientEvent) -> Option<String> {
        if c.protocol != Protocol::Smb {
            return None;
        }
        let err = e.error.as_deref()?.strip_prefix("Kerberos:")?;
        let by_then = |t: Option<&u64>| t.is_some_and(|&t| t <= e.t_ms);
        if err.contains("unreachable") {
            return by_then(self.ad_unreachable_ms.as_ref())
                .then(|| "an injected ad_unreachable fault made AD unreachable".to_string());
        }
        let (host, _, _) = sim_ad_dns::dfs::parse_unc(&c.path)?;
        let spn = format!("HOST/{host}");
        if !err.contains(&spn) {
            return None;
        }
        let key = spn.to_ascii_lowercase();
        (by_then(self.planted_ms.get(&key)) && !by_then(self.added_ms.get(&key)))
            .then(|| format!("an injected spn_collision fault planted {spn} on a second account"))
    }
}

/// The data the documented rules say the report must list as unavailable, with why
/// (safety-rules.md, "Unavailable data"), judged from the statuses and the run's zones:
/// * *toward(P)*: P's names lead to the target — DFS mode: `dfs_rename_shares[P]` succeeded
///   and `rollback_dfs_rename_shares[P]` did not; manual networking: the bare
///   `move_smartconnect_to_target` was confirmed; else the `move_smartconnect_to_target[Z]`
///   of P's zone succeeded and its `rollback_move_smartconnect_to_target[Z]` did not (no
///   instance for P's zone: unknown);
/// * *usable(P)*: toward(P) and (not DFS mode) `add_target_spns` and `repoint_dns` of the
///   same zone (or the bare ones) ok too — an uncontrolled run's skipped source-side
///   networking does not matter, the target answering alone is enough.
///
/// P is owed when an S3 undo instance of its zone did not succeed; when it failed over
/// (`allow_write[P]` succeeded) and not usable(P); when it did not fail over and toward(P),
/// or the run is uncontrolled, or the lock is still on, or the protocols are still off.
fn owed_unavailable(f: &Facts<'_>) -> BTreeMap<String, String> {
    let mut owed: BTreeMap<String, String> = BTreeMap::new();
    let (from, to) = (&f.report.from, &f.report.to);
    let done = |step: &str, p: Option<&str>, z: Option<&str>| {
        f.report.find_all(step, p, z).any(|s| s.status.succeeded())
    };
    let manual = f.run.manual_networking();
    // The networking instance of a step serving a policy: its zone's, or the bare one.
    let net = |step: &str, p: &str| -> Option<&StepView> {
        if manual {
            return f.report.find(step, None, None);
        }
        let zone = f.zone_of_policy(p)?;
        f.report.find(step, None, Some(zone))
    };
    // toward(P): Some(true/false), None = unknown (no instance for P's zone).
    let toward = |p: &str| -> Option<bool> {
        if f.run.dfs() {
            return Some(
                done("dfs_rename_shares", Some(p), None)
                    && !done("rollback_dfs_rename_shares", Some(p), None),
            );
        }
        let mv = net("move_smartconnect_to_target", p)?;
        if manual {
            return Some(matches!(mv.status, Status::Manual { confirmed: true }));
        }
        if matches!(mv.status, Status::NotApplicable { .. }) {
            return None;
        }
        Some(
            mv.status.succeeded()
                && !done(
                    "rollback_move_smartconnect_to_target",
                    None,
                    mv.zone.as_deref(),
                ),
        )
    };
    let usable = |p: &str| -> bool {
        toward(p) == Some(true)
            && (f.run.dfs()
                || ["add_target_spns", "repoint_dns"]
                    .iter()
                    .all(|n| net(n, p).is_some_and(|s| s.status.ok())))
    };
    let lock_on = f
        .report
        .find("data_integrity_lock", None, None)
        .is_some_and(|s| s.status.succeeded() || s.status.failed());
    let protocols_off = f
        .report
        .find("disable_protocols", None, None)
        .is_some_and(|s| s.status.succeeded() || s.status.failed());
    // Each zone's first S3 undo instance (in report order) that did not succeed, found in
    // one pass: a scan of every step per policy was quadratic on 1000-policy runs.
    let mut undo_stopped: BTreeMap<&str, &StepView> = BTreeMap::new();
    for s in &f.report.steps {
        if let Some(z) = s.zone.as_deref() {
            if s.policy.is_none()
                && s.step.strip_prefix("rollback_").is_some_and(is_networking)
                && !s.status.succeeded()
            {
                undo_stopped.entry(z).or_insert(s);
            }
        }
    }
    for p in f.policies.keys() {
        let mut why = |w: String| {
            owed.entry(p.clone()).or_insert(w);
        };
        // An S3 undo instance of P's zone did not succeed: the undo stopped half-way.
        if let Some(z) = f.zone_of_policy(p) {
            if let Some(u) = undo_stopped.get(z) {
                why(format!(
                    "the undo of its zone's networking did not complete ({} {})",
                    u.label(),
                    u.status.name()
                ));
            }
        }
        if f.report.succeeded("allow_write", p) {
            if !usable(p) {
                why(match toward(p) {
                    None => format!("writable only on {to}, but no pool mapping moves its names"),
                    Some(false) if f.run.dfs() => {
                        format!("writable only on {to}, but its DFS shares still refer to {from}")
                    }
                    _ => format!("writable only on {to}, but its names do not lead there"),
                });
            }
            continue;
        }
        if toward(p) == Some(true) {
            why(if f.run.dfs() {
                format!("not failed over, but its DFS shares refer to {to}")
            } else {
                format!("not failed over, but its names lead to {to}")
            });
        }
        if !f.run.controlled {
            why(format!(
                "not failed over, and {from} is unreachable (uncontrolled run)"
            ));
        }
        if lock_on && !done("rollback_lock", None, None) && !done("rollback_lock", Some(p), None) {
            why(format!(
                "not failed over, and the lock is still on its shares on {from}"
            ));
        }
        if protocols_off && !done("rollback_protocols", None, None) {
            why(format!(
                "not failed over, and SMB/NFS are still off on {from}"
            ));
        }
    }
    owed
}

/// I7.
pub fn i7_access(f: &Facts<'_>) -> Finding {
    let scn = f.ev.scenario;
    let mut out = Finding::default();
    let (from, to) = (&f.report.from, &f.report.to);
    // The report names what the documented rules leave unavailable.
    if !f.run.rehearsal() {
        let owed = owed_unavailable(f);
        for (p, why) in owed {
            out.judged += 1;
            if !f.report.names_unavailable(&p) {
                out.violations.push(format!(
                    "the data of {p} has no writable copy reachable by its name ({why}) but the report does not list it as unavailable"
                ));
            }
        }
    }
    let active: Vec<&ClientSpec> = scn
        .clients
        .iter()
        .filter(|c| c.writes_per_minute > 0)
        .collect();
    if active.is_empty() || f.ev.clients.is_empty() {
        if out.judged == 0 {
            out.not_judged = Some("no client wrote (no clients, or a real-time HTTP drill)".into());
        }
        return out;
    }
    if f.run.rehearsal() {
        rehearsal_test_clients(f, &active, &mut out);
        // A rehearsal must not interrupt production.
        let production: BTreeSet<&str> = active
            .iter()
            .filter(|c| !c.test)
            .map(|c| c.name.as_str())
            .collect();
        out.judged += production.len();
        // An injected outage of the source is not the rehearsal's doing: production
        // clients are judged up to the first time a fault took the source down.
        let source_down_ms =
            f.ev.audit
                .iter()
                .find(|a| a.cluster == *from && a.action == "cluster.down" && a.actor == "fault")
                .map(|a| a.t_ms);
        if let Some(t) = source_down_ms {
            out.notes.push(format!(
                "production clients judged until {t} ms, when an injected fault took {from} down"
            ));
        }
        let kerberos = KerberosFaults::of(f);
        let mut excused: BTreeMap<&str, String> = BTreeMap::new();
        for e in f.ev.clients.iter().filter(|e| {
            production.contains(e.client.as_str())
                && source_down_ms.is_none_or(|t| e.t_ms < t)
                && (!e.ok || e.cluster.as_deref() != Some(from.as_str()))
        }) {
            if let Some(why) = active
                .iter()
                .find(|c| c.name == e.client)
                .and_then(|c| kerberos.excuse(c, e))
            {
                excused.entry(e.client.as_str()).or_insert(why);
                continue;
            }
            out.violations.push(format!(
                "{} was disturbed by the rehearsal at {} ms: {}",
                e.client,
                e.t_ms,
                e.error.as_deref().unwrap_or("write went to the target")
            ));
        }
        for (client, why) in excused {
            out.notes.push(format!(
                "{client}'s Kerberos failures not blamed on the rehearsal: {why}"
            ));
        }
        return out;
    }
    let run_start = f.ev.samples.and_then(|s| s.before.as_ref()).map(|b| b.t_ms);
    let paused = f.report.outcome == "paused";
    for c in active {
        let data = f.client_data(c);
        let mine: Vec<&ClientEvent> = f.ev.clients.iter().filter(|e| e.client == c.name).collect();
        // Where its data should be served from at the end: the target when its policy failed
        // over (`allow_write[P]` succeeded, safety-rules.md "Unavailable data"; an
        // allow_write whose outcome is unknown counts as not failed over — its zone's names
        // go back home), else where it was before.
        let home = mine
            .iter()
            .rfind(|e| e.ok && run_start.is_none_or(|t| e.t_ms <= t))
            .and_then(|e| e.cluster.clone());
        let expected = match &data.policy {
            Some(p) if f.report.succeeded("allow_write", p) => Some(to.clone()),
            Some(_) => Some(from.clone()),
            None => home.clone(),
        };
        let Some(expected) = expected else {
            out.notes.push(format!(
                "{} not judged: it reached no copy before the run and its data is not under the run's policies",
                c.name
            ));
            continue;
        };
        if let Some(p) = &data.policy {
            if let Some(u) = f.report.unavailable.iter().find(|u| &u.policy == p) {
                out.notes.push(format!(
                    "{} not judged: the report names {p}'s data unavailable ({})",
                    c.name, u.reason
                ));
                continue;
            }
            if paused && f.failed_over(p) {
                out.notes.push(format!(
                    "{} not judged: the run is paused waiting for an operator (its report lists what waits)",
                    c.name
                ));
                continue;
            }
        }
        let Some(last) = mine.last() else {
            out.judged += 1;
            out.violations.push(format!("{} never wrote", c.name));
            continue;
        };
        if last.ok && last.cluster.as_deref() == Some(expected.as_str()) {
            out.judged += 1;
            continue;
        }
        if let Some(why) = excused_by_fault(f, c, last, &expected) {
            out.notes.push(format!("{} not judged: {why}", c.name));
            continue;
        }
        out.judged += 1;
        let whose = match &data.policy {
            Some(p) if f.report.succeeded("allow_write", p) => format!("{p} failed over"),
            Some(p) => format!("{p} did not fail over"),
            None => "its data is not in the run".to_string(),
        };
        // What the report says went wrong in restoring access, to point at the cause.
        let failed_rollbacks: Vec<String> = f
            .report
            .steps
            .iter()
            .filter(|s| s.step.starts_with("rollback_") && s.status.failed())
            .map(|s| s.label())
            .collect();
        out.violations.push(format!(
            "{} ({:?} {}) cannot reach its data on {expected} ({whose}; outcome {}): last write {}{}",
            c.name,
            c.protocol,
            c.path,
            f.report.outcome,
            match (&last.ok, &last.error) {
                (true, _) => format!("went to {}", last.cluster.as_deref().unwrap_or("?")),
                (false, Some(err)) => format!("failed: {err}"),
                (false, None) => "failed".into(),
            },
            if failed_rollbacks.is_empty() {
                String::new()
            } else {
                format!(
                    "; the report has {} failed but does not name this data unavailable",
                    failed_rollbacks.join(", ")
                )
            }
        ));
    }
    if out.judged == 0 && out.violations.is_empty() {
        out.not_judged = Some(if out.notes.is_empty() {
            "no client to judge".into()
        } else {
            "every client was excused (see the notes)".into()
        });
    }
    out
}

/// A rehearsal's test clients (DESIGN §2 "Rehearsal"): each reached a writable target copy
/// while the rehearsal's allow-write held (at least one acknowledged write on the target),
/// unless the report shows why it could not: the `verify_test_access` of its data's zone
/// did not succeed, or its own policy's `allow_write` did not (the zone's check passes when
/// any policy of the zone is usable); and after the run none of what it wrote is left on
/// the target (`allow_write_revert` of its policy put the copy back to the last sync),
/// unless the report says that revert did not succeed (then the target keeps the test
/// writes until the admin reverts it, as the step's recovery says).
fn rehearsal_test_clients(f: &Facts<'_>, active: &[&ClientSpec], out: &mut Finding) {
    let to = f.report.to.as_str();
    let world = f.ev.world;
    for c in active.iter().filter(|c| c.test) {
        let mine: Vec<&ClientEvent> = f.ev.clients.iter().filter(|e| e.client == c.name).collect();
        let policy = f.client_data(c).policy;
        let Some(policy) = policy else {
            out.notes.push(format!(
                "test client {} not judged: its path is under no run policy",
                c.name
            ));
            continue;
        };
        let zone_verified = f.zone_of_policy(&policy).is_some_and(|z| {
            f.report
                .find("verify_test_access", None, Some(z))
                .is_some_and(|s| s.status.succeeded())
        });
        let verified = zone_verified && f.report.succeeded("allow_write", &policy);
        let reverted = f.report.succeeded("allow_write_revert", &policy);
        if !reverted
            && mine
                .iter()
                .any(|e| e.ok && e.cluster.as_deref() == Some(to))
        {
            out.notes.push(format!(
                "test client {}'s writes on {to} not judged after the run: allow_write_revert[{policy}] did not succeed, as the report says",
                c.name
            ));
        }
        out.judged += 1;
        let reached = mine
            .iter()
            .any(|e| e.ok && e.cluster.as_deref() == Some(to));
        if verified && !reached {
            out.violations.push(format!(
                "test client {} never reached a writable copy on {to}, though the rehearsal verified test access",
                c.name
            ));
        }
        if let Some(world) = world {
            for e in mine
                .iter()
                .filter(|_| reverted)
                .filter(|e| e.ok && e.cluster.as_deref() == Some(to))
            {
                let Some(path) = e.path.as_deref() else {
                    continue;
                };
                if world.sim.read_file(to, path).is_some() {
                    out.violations.push(format!(
                        "test client {}'s write {path} is still on {to} after the rehearsal (allow_write_revert must restore the target)",
                        c.name
                    ));
                }
            }
        }
    }
}

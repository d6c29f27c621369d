"""Conformance: the documented OneFS SyncIQ failover / failback sequence, driven by Dell's
isilon-sdk alone (no code of this project on the client side), asserting every record on both
clusters at every step (DESIGN.md §3):

  run → allow_write (target) → resync_prep (source) → mirror run → failback (allow_write of
  the mirror on the source, resync_prep of the mirror on the target) → rehearsal (run,
  allow_write, allow_write_revert).

The records automation scripts poll (EMC CoprHD polls the target's record for
`resync_policy_created`) must move exactly as on a real cluster:

* resync_prep of P (prod → dr): P disabled on prod; `P_mirror` created on dr; prod gets a
  local target record for `P_mirror` in `writes_disabled`; dr's record for P goes
  `writes_enabled → creating_resync_policy → resync_policy_created`.
* failback mirrors it: prod's record for `P_mirror` → `writes_enabled` → `resync_policy_created`,
  dr's record for P back to `writes_disabled`, P re-enabled on prod, `P_mirror` disabled.

Each run uses its own policy and paths, so it does not disturb the other tests' objects.
"""
import email.utils
import time
import uuid

import pytest

CREATING = "creating_resync_policy"
CREATED = "resync_policy_created"
ENABLED = "writes_enabled"
DISABLED = "writes_disabled"


def uniq(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


class Side:
    """One cluster seen through the SDK's SyncApi."""

    def __init__(self, name, client):
        self.name = name
        self.mod, self.api = client
        self.s = self.mod.SyncApi(self.api)

    def record(self, policy):
        """The failover_failback_state of this cluster's target record for `policy`, or None."""
        try:
            return self.s.get_target_policy(policy).policies[0].failover_failback_state
        except self.mod.rest.ApiException as e:
            if e.status == 404:
                return None
            raise

    def policy(self, name):
        try:
            return self.s.get_sync_policy(name).policies[0]
        except self.mod.rest.ApiException as e:
            if e.status == 404:
                return None
            raise

    def job(self, policy, action):
        # A run is a job without an action (the SDK's enum has no "run").
        kw = {} if action == "run" else {"action": action}
        self.s.create_sync_job(self.mod.SyncJobCreateParams(id=policy, **kw))

    def job_running(self, policy):
        try:
            self.s.get_sync_job(policy)
            return True
        except self.mod.rest.ApiException as e:
            if e.status == 404:
                return False
            raise

    def wait_job(self, policy, watch=None, timeout=30):
        """Wait until `policy`'s job has ended; `watch()` is sampled meanwhile."""
        seen = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            if watch is not None:
                seen.append(watch())
            if not self.job_running(policy):
                if watch is not None:
                    seen.append(watch())
                return seen
            time.sleep(0.02)
        raise AssertionError("%s: job for %s did not end" % (self.name, policy))

    def date_header_s(self):
        """The Unix time of the `Date` header of the last response this client received."""
        resp = self.api.last_response
        return int(email.utils.parsedate_to_datetime(resp.getheader("Date")).timestamp())


def states(prod, dr, policy, mirror):
    """Every record of the pair: (prod's record for mirror, dr's record for policy)."""
    return {"prod:%s" % mirror: prod.record(mirror), "dr:%s" % policy: dr.record(policy)}


def in_order(seen, allowed):
    """`seen` (with repeats) follows `allowed` in order, without going back."""
    idx = [allowed.index(s) for s in seen]
    return idx == sorted(idx)


def test_failover_failback_rehearsal_sequence(prod, dr):
    P = uniq("wf")
    M = P + "_mirror"
    a, b = Side("prod", prod), Side("dr", dr)
    src_path, tgt_path = "/ifs/data/%s" % P, "/ifs/data/%s-dr" % P
    a.s.create_sync_policy(a.mod.SyncPolicyCreateParams(
        name=P, action="sync", source_root_path=src_path, target_host="dr",
        target_path=tgt_path, enabled=True))
    try:
        assert states(a, b, P, M) == {"prod:" + M: None, "dr:" + P: None}

        # 1. The first run creates dr's record for P, read-only.
        a.job(P, "run")
        a.wait_job(P)
        p = a.policy(P)
        assert p.enabled and p.last_job_state == "finished"
        assert states(a, b, P, M) == {"prod:" + M: None, "dr:" + P: DISABLED}
        # One clock: the run's times are Unix seconds consistent with the Date header.
        rep = a.s.get_sync_reports(policy_name=P).reports[0]
        now = a.date_header_s()
        assert rep.state == "finished"
        assert rep.start_time <= rep.end_time <= now + 1 and now - rep.end_time < 120
        assert 0 <= now - p.last_success < 120, (now, p.last_success)
        # The target keeps its own report of the run.
        trep = b.s.get_target_reports(policy_name=P).reports
        assert trep and trep[0].state == "finished" and trep[0].source_host == "prod"
        assert b.s.get_target_report(trep[0].id).reports[0].policy_name == P

        # 2. allow_write on the target: dr's record writes_enabled; the source may not run.
        b.job(P, "allow_write")
        b.wait_job(P)
        assert states(a, b, P, M) == {"prod:" + M: None, "dr:" + P: ENABLED}
        with pytest.raises(a.mod.rest.ApiException) as e:
            a.job(P, "run")
        assert e.value.status == 409

        # 3. resync_prep on the source.
        a.job(P, "resync_prep")
        seen = a.wait_job(P, watch=lambda: b.record(P))
        assert in_order(seen, [ENABLED, CREATING, CREATED]), seen
        assert seen[-1] == CREATED
        assert states(a, b, P, M) == {"prod:" + M: DISABLED, "dr:" + P: CREATED}
        assert a.policy(P).enabled is False
        m = b.policy(M)
        assert m is not None and m.enabled
        assert (m.source_root_path, m.target_path) == (tgt_path, src_path)
        tp = a.s.get_target_policy(M).policies[0]
        assert tp.source_host == "dr" and tp.target_path == src_path

        # 4. The mirror runs dr → prod; prod's record for it stays read-only.
        b.job(M, "run")
        b.wait_job(M)
        assert b.policy(M).last_job_state == "finished"
        assert states(a, b, P, M) == {"prod:" + M: DISABLED, "dr:" + P: CREATED}
        trep = a.s.get_target_reports(policy_name=M).reports
        assert trep and trep[0].state == "finished" and trep[0].source_host == "dr"

        # 5. Failback: allow_write of the mirror on prod, then resync_prep of it on dr.
        a.job(M, "allow_write")
        a.wait_job(M)
        assert states(a, b, P, M) == {"prod:" + M: ENABLED, "dr:" + P: CREATED}
        b.job(M, "resync_prep")
        seen = b.wait_job(M, watch=lambda: a.record(M))
        assert in_order(seen, [ENABLED, CREATING, CREATED]), seen
        assert states(a, b, P, M) == {"prod:" + M: CREATED, "dr:" + P: DISABLED}
        assert a.policy(P).enabled is True
        assert b.policy(M).enabled is False

        # 6. Rehearsal: sync, make the target writable for a test, revert it.
        a.job(P, "run")
        a.wait_job(P)
        assert a.policy(P).last_job_state == "finished"
        b.job(P, "allow_write")
        b.wait_job(P)
        assert states(a, b, P, M) == {"prod:" + M: CREATED, "dr:" + P: ENABLED}
        assert a.policy(P).enabled is True
        b.job(P, "allow_write_revert")
        b.wait_job(P)
        assert states(a, b, P, M) == {"prod:" + M: CREATED, "dr:" + P: DISABLED}
    finally:
        for side, pol in ((a, P), (b, M)):
            if side.policy(pol) is not None:
                side.s.delete_sync_policy(pol, local_only=True)
        for side, rec in ((b, P), (a, M)):
            if side.record(rec) is not None:
                side.s.delete_target_policy(rec, force=True)


def test_local_and_unknown_target_hosts(prod):
    """`target_host` as OneFS treats it: a local target works; an unknown host is accepted at
    creation and the job fails with a connection error in its report."""
    a = Side("prod", prod)
    local, far = uniq("loc"), uniq("far")
    a.s.create_sync_policy(a.mod.SyncPolicyCreateParams(
        name=local, action="sync", source_root_path="/ifs/data/eng", target_host="localhost",
        target_path="/ifs/backup/" + local, enabled=True))
    a.s.create_sync_policy(a.mod.SyncPolicyCreateParams(
        name=far, action="sync", source_root_path="/ifs/data/eng",
        target_host="dr-site.example.com", target_path="/ifs/data/" + far, enabled=True))
    try:
        for name in (local, far):
            a.job(name, "run")
        for name in (local, far):
            a.wait_job(name)
        assert a.policy(local).last_job_state == "finished"
        assert a.record(local) == DISABLED
        assert a.policy(far).last_job_state == "failed"
        rep = a.s.get_sync_reports(policy_name=far).reports[0]
        assert rep.state == "failed" and "dr-site.example.com" in rep.errors[0]
    finally:
        for name in (local, far):
            a.s.delete_sync_policy(name, local_only=True)
        if a.record(local) is not None:
            a.s.delete_target_policy(local, force=True)

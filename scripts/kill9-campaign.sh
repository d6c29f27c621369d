#!/usr/bin/env bash
# kill -9 campaign against a real `dr failover` process talking HTTP to `drill serve` worlds.
#
# For each failover mode (synciq-policy, dfs, access-zone, ip-pool) a library scenario is served
# by `drill serve` (a copy in a temp dir with small SyncIQ job costs and a PAPI latency, so a
# run takes a few seconds of real time and kills land inside steps, not only between them):
#
#   1. baseline: a fresh world, `dr failover --json` uninterrupted; its end state is recorded:
#      the report (outcome, every step's status, cached schedules, warnings) and the world
#      read back over PAPI (SyncIQ policies, target policies, reports, jobs, settings, SMB
#      shares, NFS exports/aliases, quotas, snapshot schedules, zones, pools, the AD
#      provider's SPNs) and the site DNS (NS and A answers over UDP), without times or ids.
#   2. control: a second uninterrupted run on a fresh world must equal the baseline (checks
#      that the comparison is free of run-to-run noise).
#   3. kill points: a fresh world and journal, `dr failover` started, `kill -9` of the dr
#      process at a kill point, then `dr resume RUN` until the run ends; its end state must
#      equal the baseline's. Kill points alternate between "after K steps ended" (the journal
#      is polled with `dr status RUN --json`) and "T ms after start" (inside steps, including
#      SyncIQ jobs in flight), spread over the baseline run. Every fourth kill point also
#      kills the first `dr resume` (kill -9) before resuming again. A time point the run
#      outlived (dr ended before the kill) is reported as "missed", not counted, and tried
#      again at half the time.
#
# A SyncIQ job that finished before the kill and was run again shows up as an extra SyncIQ
# report (same cluster, policy, action and state) over the baseline's; a finished step run
# again shows up as a changed journal record (status or event sequence numbers) of a step the
# journal had finished at the kill. Both are counted as "re-ran".
#
# Usage: scripts/kill9-campaign.sh [--no-build] [--kills N] [--modes LIST] [--keep DIR]
#   --kills N      kill points per mode (default 10; the issue asks for >= 30 over 4 modes)
#   --modes LIST   comma-separated subset of synciq-policy,dfs,access-zone,ip-pool
#   --no-build     use target/release/{dr,drill} as they are
#   --keep DIR     keep every run's files (serve output, journal, reports, diffs) in DIR
# Exit 0 when every kill point converged and no finished job or step was re-run; 1 otherwise;
# 2 on a harness error (a baseline that does not succeed, a control run that differs, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

KILLS=10
MODES=synciq-policy,dfs,access-zone,ip-pool
BUILD=1
KEEP=
while [ $# -gt 0 ]; do
  case $1 in
    --kills) KILLS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kill9-campaign: unknown argument $1" >&2; exit 2 ;;
  esac
done

BIN=$ROOT/target/release
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kill9-campaign.XXXXXX")
# The background processes alive right now (each is waited for, and forgotten, when it ends,
# so the trap never signals a recycled pid).
SERVE_PID= DR_PID=
cleanup() {
  local p
  for p in $DR_PID $SERVE_PID; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$KEEP" ]; then
    mkdir -p "$KEEP" && cp -a "$WORK"/. "$KEEP"/ && echo "kill9-campaign: files kept in $KEEP"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "kill9-campaign: $*" >&2; exit 2; }
now_ms() { date +%s%3N; }

if [ "$BUILD" = 1 ]; then
  cargo build --release --bin dr --bin drill >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log" >&2; die "cargo build failed"; }
fi
[ -x "$BIN/dr" ] && [ -x "$BIN/drill" ] || die "no $BIN/dr or $BIN/drill (build first)"

# ---------------------------------------------------------------------------------------------
# The python side: read a world over PAPI and DNS, summarize reports, compare end states.
K9=$WORK/k9.py
cat >"$K9" <<'PYEOF'
import base64, json, random, socket, struct, sys, urllib.error, urllib.request
from collections import Counter

# Timing / bookkeeping keys (as scenarios/src/crash.rs normalized_world): times, durations,
# job progress, generated ids and sequence numbers that depend on how concurrent steps raced.
DROP = {"last_started", "last_success", "duration", "time", "running_since", "progress", "id",
        "job_id", "seq", "mirror_id", "policy_id", "next_job_id", "next_seq", "audit_len",
        "faults", "last_update_from_source", "resume"}

def drop_key(k):
    return k in DROP or k.endswith("_ms") or k.endswith("_time")

def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in sorted(v.items()) if not drop_key(k)}
    if isinstance(v, list):
        xs = [norm(x) for x in v]
        # Lists of named objects become maps by name (or path), so a diff names the object.
        for key in ("name", "path"):
            ks = [x.get(key) for x in xs if isinstance(x, dict)]
            if xs and len(ks) == len(xs) and all(isinstance(k, str) for k in ks) and len(set(ks)) == len(ks):
                return {f"{key}={x[key]}": x for x in xs}
        return sorted(xs, key=lambda x: json.dumps(x, sort_keys=True))
    return v

def get(url, user, pw, path):
    req = urllib.request.Request(url + path)
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return {"http_error": e.code}

def served(serve_out):
    cl, dns = [], None
    for line in open(serve_out):
        f = line.split()
        if not f:
            continue
        if f[0] == "dns":
            dns = f[1]
        else:
            cl.append((f[0], f[1], f[2].split("=", 1)[1], f[3].split("=", 1)[1]))
    return cl, dns

# A minimal DNS client: one question over UDP, every record of the answer as "name type value".
def qname(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.rstrip(".").split(".")) + b"\0"

def read_name(msg, off):
    labels, jumped, end = [], False, off
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            jumped, off = True, struct.unpack(">H", msg[off:off + 2])[0] & 0x3FFF
            continue
        if n == 0:
            return ".".join(labels).lower(), (end if jumped else off + 1)
        labels.append(msg[off + 1:off + 1 + n].decode())
        off += 1 + n

def dns_query(server, name, qtype):
    host, port = server.rsplit(":", 1)
    pkt = struct.pack(">HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 0) + qname(name) \
        + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(pkt, (host, int(port)))
        msg, _ = s.recvfrom(65535)
    finally:
        s.close()
    _, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = read_name(msg, off)
        off += 4
    recs = []
    for _ in range(an + ns + ar):
        rname, off = read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            val = socket.inet_ntoa(msg[off:off + 4])
        elif rtype in (2, 5):
            val = read_name(msg, off)[0]
        else:
            val = f"type{rtype}"
        recs.append(f"{rname} {rtype} {val}")
        off += rdlen
    return {"rcode": flags & 0xF, "records": sorted(recs)}

def snapshot(serve_out, dns_names, out):
    world, reports = {}, {}
    cl, dns = served(serve_out)
    for name, url, user, pw in cl:
        ver = get(url, user, pw, "/platform/latest")["latest"]
        p = lambda r: f"/platform/{ver}/{r}"
        c = {}
        for r in ("sync/policies", "sync/target/policies", "sync/settings", "sync/jobs",
                  "protocols/smb/settings/global", "protocols/nfs/settings/global",
                  "quota/quotas", "snapshot/schedules", "zones", "network/pools",
                  "auth/providers/ads"):
            c[r] = get(url, user, pw, p(r))
        for z in [z["name"] for z in c["zones"].get("zones", [])] or ["System"]:
            for r in ("protocols/smb/shares", "protocols/nfs/exports", "protocols/nfs/aliases"):
                c[f"{r}?zone={z}"] = get(url, user, pw, p(f"{r}?zone={z}"))
        rs = get(url, user, pw, p("sync/reports?limit=100000")).get("reports", [])
        cnt = Counter(f"{r.get('policy_name')} {r.get('action')} {r.get('state')}" for r in rs)
        reports[name] = dict(sorted(cnt.items()))
        # The world keeps the distinct kinds of SyncIQ report; repeats are counted apart.
        c["sync/reports (distinct)"] = sorted(cnt)
        world[name] = norm(c)
    if dns and dns_names:
        d = {}
        for n in dns_names.split(","):
            for qt, qn in ((2, "NS"), (1, "A")):
                try:
                    d[f"{n} {qn}"] = dns_query(dns, n, qt)
                except OSError as e:
                    d[f"{n} {qn}"] = f"error: {e}"
        world["site-dns"] = d
    json.dump({"world": world, "reports": reports}, open(out, "w"), indent=1, sort_keys=True)

def summarize(report, out):
    r = json.load(open(report))
    steps = []
    for s in r["steps"]:
        scope = s.get("policy") or s.get("zone")
        st = {k: v for k, v in s.items() if k in ("status", "reason", "confirmed")}
        steps.append(f"#{s['idx']} {s['step']}" + (f"[{scope}]" if scope else "") + ": "
                     + json.dumps(st, sort_keys=True))
    json.dump({"outcome": r["outcome"], "steps": steps, "cached_schedules": r.get("cached_schedules"),
               "warnings": r.get("warnings"), "unavailable": r.get("unavailable")},
              open(out, "w"), indent=1, sort_keys=True)

def finished(s):
    return s.get("status") not in ("pending", "running") and not (
        s.get("status") == "manual" and not s.get("confirmed"))

def done_steps(status_json, out):
    d = json.load(open(status_json))
    done = {str(s["idx"]): {k: s.get(k) for k in ("step", "policy", "zone", "status", "start_seq", "end_seq")}
            for s in d.get("steps", []) if finished(s)}
    json.dump({"run_status": d.get("status"), "done": done}, open(out, "w"), indent=1, sort_keys=True)

def count(what, f):
    d = json.load(open(f))
    if what == "finished":   # steps that did something (not_applicable ones end at once)
        print(sum(1 for s in d["steps"] if finished(s) and s.get("status") != "not_applicable"))
    elif what == "status":
        print(d.get("status", "?"))
    elif what == "running":  # the steps in flight, as step[policy or zone]
        r = [s["step"] + (f"[{s.get('policy') or s.get('zone')}]" if s.get("policy") or s.get("zone") else "")
             for s in d["steps"] if s.get("status") == "running"]
        print(", ".join(r) or "none")

def diff(a, b, path, out):
    if type(a) is not type(b):
        out.append(f"{path}: baseline {json.dumps(a)[:300]} != resumed {json.dumps(b)[:300]}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}/{k}: only after resume: {json.dumps(b[k])[:300]}")
            elif k not in b:
                out.append(f"{path}/{k}: only in baseline: {json.dumps(a[k])[:300]}")
            else:
                diff(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and all(isinstance(x, str) for x in a + b):
        for x in sorted(set(a) - set(b)):
            out.append(f"{path}: only in baseline: {x}")
        for x in sorted(set(b) - set(a)):
            out.append(f"{path}: only after resume: {x}")
    elif a != b:
        out.append(f"{path}: baseline {json.dumps(a)[:300]} != resumed {json.dumps(b)[:300]}")

def compare(base, got):
    bw, gw = json.load(open(f"{base}/world.json")), json.load(open(f"{got}/world.json"))
    diffs = []
    diff(json.load(open(f"{base}/summary.json")), json.load(open(f"{got}/summary.json")), "report", diffs)
    diff(bw["world"], gw["world"], "world", diffs)
    # A SyncIQ job run again: an extra report of the same cluster, policy, action and state.
    rerun = []
    for c in sorted(set(bw["reports"]) | set(gw["reports"])):
        b, g = bw["reports"].get(c, {}), gw["reports"].get(c, {})
        for k in sorted(set(b) | set(g)):
            if g.get(k, 0) > b.get(k, 0):
                rerun.append(f"{c}: '{k}' x{g.get(k, 0)} (baseline x{b.get(k, 0)})")
            elif g.get(k, 0) < b.get(k, 0):
                diffs.append(f"reports/{c}: '{k}' x{g.get(k, 0)} < baseline x{b.get(k, 0)}")
    # A step the journal had finished at a kill keeps its record: it was not run again.
    redone, ndone = [], 0
    final = {str(s["idx"]): s for s in json.load(open(f"{got}/report.json"))["steps"]}
    for n, f in enumerate(("done_at_kill.json", "done_at_kill2.json")):
        try:
            done = json.load(open(f"{got}/{f}"))["done"]
        except FileNotFoundError:
            continue
        for idx, s in sorted(done.items(), key=lambda x: int(x[0])):
            if n == 0 and s["status"] != "not_applicable":
                ndone += 1
            f = final.get(idx, {})
            was = (s["status"], s["start_seq"], s["end_seq"])
            now = (f.get("status"), f.get("start_seq"), f.get("end_seq"))
            if was != now:
                scope = s.get("policy") or s.get("zone") or "-"
                redone.append(f"#{idx} {s['step']}[{scope}]: at kill {n + 1} {was}, final {now}")
    print(json.dumps({"diffs": diffs, "rerun_jobs": rerun, "redone_steps": redone, "done_at_kill": ndone}))

def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False

def poll(dr, config, journal, pid, k, timeout_ms):
    """Wait until the journal shows K finished steps of the run, PID is gone or the timeout."""
    import os, subprocess, time
    base = [dr, "--config", config, "--journal", journal, "status"]
    end, run = time.monotonic() + int(timeout_ms) / 1000, None
    while alive(pid) and time.monotonic() < end:
        try:
            if run is None and os.path.exists(journal):
                runs = json.loads(subprocess.run(base + ["--json"], capture_output=True).stdout or b"[]")
                run = runs[0]["id"] if runs else None
            if run is not None:
                d = json.loads(subprocess.run(base + [run, "--json"], capture_output=True).stdout)
                if sum(1 for s in d["steps"] if finished(s) and s.get("status") != "not_applicable") >= int(k):
                    return
        except (ValueError, KeyError, IndexError):
            pass
        time.sleep(0.005)

cmd, args = sys.argv[1], sys.argv[2:]
{"snapshot": snapshot, "report": summarize, "done_steps": done_steps, "compare": compare,
 "count": count, "poll": poll}[cmd](*args)
PYEOF
k9() { python3 "$K9" "$@"; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---------------------------------------------------------------------------------------------
# Modes: library scenario, run spec (the `run:` section `dr failover --spec` reads) and the
# SmartConnect names whose DNS answers are part of the end state.
COSTS='  costs: {job_start_latency_ms: 300, allow_write_ms: 800, allow_write_revert_ms: 800, resync_prep_ms: 1200, papi_latency_ms: 15}'
scenario_of() {
  case $1 in
    synciq-policy) echo synciq-happy-3 ;;
    dfs) echo dfs-happy ;;
    access-zone) echo az-happy-single ;;
    ip-pool) echo ippool-happy ;;
  esac
}
dns_names_of() {
  case $1 in
    access-zone) echo finance.corp.example,fin.corp.example,finance-dr.corp.example ;;
    ip-pool) echo build.corp.example,src.corp.example,build-dr.corp.example ;;
    *) echo "" ;;
  esac
}
write_spec() {
  case $1 in
    synciq-policy) cat <<'EOF'
kind: failover
mode: synciq-policy
from: boston
to: denver
policies: [eng, hr, ops]
options: {job_poll_interval_ms: 100}
EOF
    ;;
    dfs) cat <<'EOF'
kind: failover
mode: dfs
from: prod
to: dr
options: {data_integrity: true, job_poll_interval_ms: 100}
EOF
    ;;
    access-zone) cat <<'EOF'
kind: failover
mode: access-zone
from: prod
to: dr
zone: finance
pool_mappings:
  - {source: prod/groupnet0.subnet0.finance, target: dr/groupnet0.subnet0.finance-dr}
options: {data_integrity: true, disable_protocols: false, quotas: true, networking: auto, job_poll_interval_ms: 100}
EOF
    ;;
    ip-pool) cat <<'EOF'
kind: failover
mode: ip-pool
from: boston
to: denver
pool: groupnet0.subnet0.build
pool_mappings:
  - {source: boston/groupnet0.subnet0.build, target: denver/groupnet0.subnet0.build-dr, policies: [eng-artifacts]}
options: {data_integrity: true, networking: auto, job_poll_interval_ms: 100}
EOF
    ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# One world: `drill serve` on a fresh port range, dr.yaml from its printed lines.
NEXT_PORT=$((21000 + RANDOM % 2000 * 4))
start_world() { # DIR SCENARIO_COPY
  local dir=$1 scn=$2 port
  mkdir -p "$dir"
  for _ in 1 2 3 4 5; do
    port=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 4))
    "$BIN/drill" serve "$scn" --port "$port" >"$dir/serve.out" 2>"$dir/serve.err" &
    SERVE_PID=$!
    for _ in $(seq 1 100); do
      grep -q '^dns ' "$dir/serve.out" 2>/dev/null && break
      kill -0 "$SERVE_PID" 2>/dev/null || break
      sleep 0.05
    done
    grep -q '^dns ' "$dir/serve.out" && break
    stop_world
  done
  grep -q '^dns ' "$dir/serve.out" || die "drill serve $scn did not start: $(cat "$dir/serve.err")"
  {
    echo "clusters:"
    while read -r name url user pass; do
      [ "$name" = dns ] && continue
      local var
      var="K9_PW_$(echo "$name" | tr 'a-z-' 'A-Z_')"
      export "$var=${pass#password=}"
      echo "  - {name: $name, url: \"$url\", user: ${user#user=}, password_env: $var}"
    done <"$dir/serve.out"
    echo "dns: {server: \"$(awk '/^dns /{print $2}' "$dir/serve.out")\"}"
  } >"$dir/dr.yaml"
}
stop_world() {
  [ -n "$SERVE_PID" ] || return 0
  kill "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  SERVE_PID=
}
DR() { # DIR ARGS...: dr with that world's config and journal
  local dir=$1; shift
  "$BIN/dr" --config "$dir/dr.yaml" --journal "$dir/journal.sqlite" "$@"
}
# The end state of the run in DIR whose JSON report is DIR/report.json.
end_state() { # DIR MODE
  k9 report "$1/report.json" "$1/summary.json"
  k9 snapshot "$1/serve.out" "$(dns_names_of "$2")" "$1/world.json"
}
run_id_of() { # DIR: the run the journal holds (empty if none)
  [ -f "$1/journal.sqlite" ] || { echo ""; return; }
  DR "$1" status --json 2>/dev/null | jget '" ".join(r["id"] for r in d)' 2>/dev/null || echo ""
}

# ---------------------------------------------------------------------------------------------
declare -A TRIED KILLS9 CONV DIVG RERAN MISSED
TOTAL_DIV=0 TOTAL_RERUN=0
START=$(now_ms)
echo "kill9-campaign: $BIN/dr vs drill serve; $KILLS kill points per mode; work dir $WORK"

for mode in ${MODES//,/ }; do
  scn=$(scenario_of "$mode")
  [ -n "$scn" ] || die "unknown mode $mode"
  md=$WORK/$mode
  mkdir -p "$md"
  sed "/^world:/a\\$COSTS" "scenarios/library/$scn.yaml" >"$md/scenario.yaml"
  grep -q 'papi_latency_ms: 15' "$md/scenario.yaml" || die "could not add costs to $scn"
  write_spec "$mode" >"$md/spec.yaml"
  TRIED[$mode]=0 KILLS9[$mode]=0 CONV[$mode]=0 DIVG[$mode]=0 RERAN[$mode]=0 MISSED[$mode]=0

  # 1. Baseline and 2. control: uninterrupted runs.
  for b in baseline control; do
    d=$md/$b
    start_world "$d" "$md/scenario.yaml"
    t0=$(now_ms)
    rc=0
    timeout 120 "$BIN/dr" --config "$d/dr.yaml" --journal "$d/journal.sqlite" failover \
      --spec "$md/spec.yaml" --json >"$d/report.json" 2>"$d/dr.err" || rc=$?
    dur=$(($(now_ms) - t0))
    [ -s "$d/report.json" ] || die "$mode $b: no report (rc $rc): $(cat "$d/dr.err")"
    end_state "$d" "$mode"
    stop_world
    outcome=$(jget 'd["outcome"]' <"$d/report.json")
    [ "$outcome" = succeeded ] || die "$mode $b ($scn) ended $outcome, not succeeded"
    if [ $b = baseline ]; then
      BASE_MS=$dur   # (the shorter of the two uninterrupted runs: the machine may be loaded)
      BASE_STEPS=$(k9 count finished "$d/report.json")
      reports=$(jget 'sum(sum(c.values()) for c in d["reports"].values())' <"$d/world.json")
      echo "[$mode] baseline ($scn): $outcome in ${dur} ms, $BASE_STEPS steps acted or checked, $reports SyncIQ reports on the clusters"
    else
      v=$(k9 compare "$md/baseline" "$d")
      n=$(echo "$v" | jget 'len(d["diffs"]) + len(d["rerun_jobs"])')
      if [ "$n" != 0 ]; then
        echo "$v" | jget '"\n".join(d["diffs"] + d["rerun_jobs"])' >&2
        die "$mode control run differs from the baseline: the comparison is not deterministic"
      fi
      echo "[$mode] control run: equal to the baseline (${dur} ms)"
      [ "$dur" -ge "$BASE_MS" ] || BASE_MS=$dur
    fi
  done

  # 3. Kill points: even ones after K steps ended, odd ones at a time T (both spread over
  #    the baseline run), K and T from 1/(n+1) .. n/(n+1) of the run.
  nstep=$(((KILLS + 1) / 2)) ntime=$((KILLS / 2))
  for i in $(seq 0 $((KILLS - 1))); do
    kp=$md/kill-$i
    j=$((i / 2 + 1))
    if [ $((i % 2)) = 0 ]; then
      k=$(((BASE_STEPS * j + nstep / 2) / (nstep + 1)))
      [ "$k" -ge 1 ] || k=1
      point="after $k steps ended"
    else
      t=$((BASE_MS * j / (ntime + 1)))
      point="at ${t} ms"
    fi
    # A time point the run outlived (the machine can be slower than at the baseline) is
    # tried again at half the time, twice at most.
    for attempt in 1 2 3; do
      rm -rf "$kp"
      start_world "$kp" "$md/scenario.yaml"
      t0=$(now_ms)
      "$BIN/dr" --config "$kp/dr.yaml" --journal "$kp/journal.sqlite" failover \
        --spec "$md/spec.yaml" --json >"$kp/first.json" 2>"$kp/first.err" &
      DR_PID=$!
      if [ $((i % 2)) = 0 ]; then
        # Poll the journal (`dr status RUN --json`) until K steps ended, at most 60 s.
        k9 poll "$BIN/dr" "$kp/dr.yaml" "$kp/journal.sqlite" "$DR_PID" "$k" 60000
      else
        while kill -0 "$DR_PID" 2>/dev/null && [ $(($(now_ms) - t0)) -lt "$t" ]; do sleep 0.01; done
      fi
      killed_at=$(($(now_ms) - t0))
      kill -9 "$DR_PID" 2>/dev/null || true
      rc=0
      wait "$DR_PID" 2>/dev/null || rc=$?
      DR_PID=
      [ "$rc" = 137 ] && break
      MISSED[$mode]=$((MISSED[$mode] + 1))
      echo "[$mode] kill $((i + 1))/$KILLS $point: missed (dr ended with $rc before the kill)"
      stop_world
      [ $((i % 2)) = 1 ] || break
      t=$((t / 2))
      point="at ${t} ms"
    done
    [ "$rc" = 137 ] || continue
    run=$(run_id_of "$kp")
    TRIED[$mode]=$((TRIED[$mode] + 1))
    KILLS9[$mode]=$((KILLS9[$mode] + 1))
    : >"$kp/report.json"
    if [ -z "$run" ]; then
      # Killed before the run reached the journal (during discovery): nothing to resume, the
      # operator starts it again.
      state="not yet journaled"
      timeout 120 "$BIN/dr" --config "$kp/dr.yaml" --journal "$kp/journal.sqlite" failover \
        --spec "$md/spec.yaml" --json >"$kp/report.json" 2>"$kp/resume.err" || true
      resumes="started again"
    else
      DR "$kp" status "$run" --json >"$kp/at_kill.json"
      k9 done_steps "$kp/at_kill.json" "$kp/done_at_kill.json"
      state="$(k9 count finished "$kp/at_kill.json") steps ended, in flight: $(k9 count running "$kp/at_kill.json")"
      nres=0 extra=
      if [ $((i % 4)) = 3 ]; then
        # Every fourth kill point kills the first `dr resume` too, after 40 % of what the
        # baseline run had left at the first kill (at least 300 ms).
        t2=$(((BASE_MS - killed_at) * 4 / 10))
        [ "$t2" -ge 300 ] || t2=300
        "$BIN/dr" --config "$kp/dr.yaml" --journal "$kp/journal.sqlite" resume "$run" \
          --json >"$kp/report.json" 2>>"$kp/resume.err" &
        DR_PID=$!
        t1=$(now_ms)
        while kill -0 "$DR_PID" 2>/dev/null && [ $(($(now_ms) - t1)) -lt "$t2" ]; do
          sleep 0.01
        done
        kill -9 "$DR_PID" 2>/dev/null || true
        rc=0
        wait "$DR_PID" 2>/dev/null || rc=$?
        DR_PID=
        nres=1
        if [ "$rc" = 137 ]; then
          KILLS9[$mode]=$((KILLS9[$mode] + 1))
          DR "$kp" status "$run" --json >"$kp/at_kill2.json"
          k9 done_steps "$kp/at_kill2.json" "$kp/done_at_kill2.json"
          extra=", the 1st resume killed -9 too at $(($(now_ms) - t1)) ms ($(k9 count finished "$kp/at_kill2.json") steps ended, in flight: $(k9 count running "$kp/at_kill2.json"))"
          : >"$kp/report.json"
        else
          extra=", the 1st resume ended before its kill"
        fi
      fi
      # Resume until the run ends (a resume that errors out is retried, at most 3 times).
      # Only running or paused runs can be resumed: a kill that came after the journal had
      # recorded the end of the run (but before dr printed the report) leaves an ended run,
      # whose report is then read from the journal (`dr status RUN --json`).
      while [ ! -s "$kp/report.json" ] && [ "$nres" -lt 4 ]; do
        DR "$kp" status "$run" --json >"$kp/status.json" 2>/dev/null || true
        rs=$(k9 count status "$kp/status.json" 2>/dev/null || echo "?")
        if [ "$rs" != running ] && [ "$rs" != paused ] && [ "$rs" != "?" ]; then
          jget 'json.dumps(d["report"])' <"$kp/status.json" >"$kp/report.json"
          extra="$extra; the run had ended ($rs) before that kill, report read from the journal"
          break
        fi
        nres=$((nres + 1))
        timeout 120 "$BIN/dr" --config "$kp/dr.yaml" --journal "$kp/journal.sqlite" resume "$run" \
          --json >"$kp/report.json" 2>>"$kp/resume.err" || true
      done
      resumes="resumed ${nres}x$extra"
    fi
    if [ ! -s "$kp/report.json" ]; then
      DIVG[$mode]=$((DIVG[$mode] + 1))
      TOTAL_DIV=$((TOTAL_DIV + 1))
      echo "[$mode] kill $((i + 1))/$KILLS $point (killed at ${killed_at} ms; $state): $resumes: NO REPORT — DIVERGED: $(tail -3 "$kp/resume.err")"
      stop_world
      continue
    fi
    end_state "$kp" "$mode"
    stop_world
    v=$(k9 compare "$md/baseline" "$kp")
    echo "$v" >"$kp/verdict.json"
    outcome=$(jget 'd["outcome"]' <"$kp/report.json")
    ndiff=$(echo "$v" | jget 'len(d["diffs"])')
    nrerun=$(echo "$v" | jget 'len(d["rerun_jobs"]) + len(d["redone_steps"])')
    verdict=CONVERGED
    if [ "$ndiff" != 0 ]; then
      verdict="DIVERGED ($ndiff differences)"
      DIVG[$mode]=$((DIVG[$mode] + 1))
      TOTAL_DIV=$((TOTAL_DIV + 1))
    else
      CONV[$mode]=$((CONV[$mode] + 1))
    fi
    if [ "$nrerun" != 0 ]; then
      verdict="$verdict; RE-RAN A FINISHED JOB/STEP"
      RERAN[$mode]=$((RERAN[$mode] + 1))
      TOTAL_RERUN=$((TOTAL_RERUN + 1))
    fi
    echo "[$mode] kill $((i + 1))/$KILLS $point (killed at ${killed_at} ms; $state): $resumes → $outcome: $verdict"
    if [ "$verdict" != CONVERGED ]; then
      echo "$v" | jget '"\n".join("    " + x for x in d["diffs"] + d["rerun_jobs"] + d["redone_steps"])'
    fi
  done
done

# ---------------------------------------------------------------------------------------------
echo
echo "kill9-campaign summary ($(( ($(now_ms) - START) / 1000 )) s):"
printf '  %-14s %11s %8s %10s %9s %7s %7s\n' mode kill-points kill-9s converged diverged re-ran missed
tt=0 tk=0 tc=0
for mode in ${MODES//,/ }; do
  printf '  %-14s %11s %8s %10s %9s %7s %7s\n' "$mode" "${TRIED[$mode]}" "${KILLS9[$mode]}" \
    "${CONV[$mode]}" "${DIVG[$mode]}" "${RERAN[$mode]}" "${MISSED[$mode]}"
  tt=$((tt + TRIED[$mode])) tk=$((tk + KILLS9[$mode])) tc=$((tc + CONV[$mode]))
done
printf '  %-14s %11s %8s %10s %9s %7s\n' total "$tt" "$tk" "$tc" "$TOTAL_DIV" "$TOTAL_RERUN"
[ "$TOTAL_DIV" = 0 ] && [ "$TOTAL_RERUN" = 0 ] || exit 1

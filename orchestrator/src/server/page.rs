//! The live page at `/`: the runs in the journal and the selected run's step tree and
//! timeline, updating over the run's event stream, for the people watching a DR event.
//!
//! Plain HTML with a little inline JavaScript: no build step, no external resource (a
//! Content-Security-Policy forbids any). The page itself holds no data, so it is served
//! without a token; everything it shows comes from `/api/v1` with the bearer token the
//! viewer types in. Why not `EventSource`: it cannot send an `Authorization` header, and a
//! token in a URL ends up in logs and history. So the page reads the same server-sent event
//! stream with `fetch` (which sends the header) and parses it itself. The token lives only
//! in the page's memory (a reload asks again); a viewer token is enough.
//!
//! Hooks for checks: `#runs tr[data-run-id][data-status]`, `#run-status[data-status]`,
//! `#steps tr[data-idx][data-step][data-policy][data-status]`.

use axum::http::header;
use axum::response::IntoResponse;

/// The CSP of the page: inline script and style only, API calls to this origin only.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// `GET /`: the live page.
pub async fn live_page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        PAGE,
    )
}

/// The page.
pub const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>dr: live runs</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:20px;margin:0 0 10px}h2{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 7px;text-align:left;vertical-align:top}
th{background:#f5f5f5}#runs tr{cursor:pointer}#runs tr.sel{background:#e3f2fd}
.badge{display:inline-block;padding:0 7px;border-radius:9px;color:#fff;font-size:12px}
.s-succeeded{background:#2e7d32}.s-failed{background:#c62828}.s-skipped{background:#ef6c00}
.s-running{background:#1565c0}.s-manual{background:#6a1b9a}.s-not_applicable{background:#9e9e9e}
.s-pending,.s-other{background:#bdbdbd}.s-partial{background:#ef6c00}.s-blocked,.s-aborted{background:#c62828}
.s-paused{background:#6a1b9a}.s-interrupted{background:#6a1b9a}
.lane{position:relative;width:320px;height:12px;background:#fafafa}
.lane div{position:absolute;top:1px;height:10px;min-width:2px;border-radius:2px}
#msg{color:#c62828}.muted{color:#666}
</style></head>
<body>
<h1>dr: live runs</h1>
<form id="login" onsubmit="return false">
<label>API token <input id="token" type="password" autocomplete="off" size="40"></label>
<button id="connect" type="submit">Connect</button>
<span class="muted">kept in this page only; a viewer token is enough</span>
</form>
<p id="msg"></p>
<h2>Runs</h2>
<table id="runs"><thead><tr><th>run</th><th>kind</th><th>mode</th><th>from → to</th><th>status</th></tr></thead><tbody></tbody></table>
<h2>Run <span id="run-id" class="muted">(none selected)</span> <span id="run-status" data-status=""></span></h2>
<p id="counts" class="muted"></p>
<table id="steps"><thead><tr><th>seed</th><th>step</th><th>scope</th><th>status</th><th>reason</th><th>timeline</th></tr></thead><tbody></tbody></table>
<script>
"use strict";
let token = "", selected = null, streamAbort = null, steps = new Map(), pollTimer = null;
const $ = (s) => document.querySelector(s);
function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "data") for (const [dk, dv] of Object.entries(v)) e.dataset[dk] = dv;
    else if (k === "class") e.className = v;
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
}
function badge(s) { return el("span", {class: "badge s-" + (/^[a-z_]+$/.test(s) ? s : "other"), textContent: s}); }
function msg(t) { $("#msg").textContent = t || ""; }
async function api(path, opts) {
  const r = await fetch("/api/v1" + path, Object.assign({headers: {Authorization: "Bearer " + token}}, opts || {}));
  if (r.status === 401) throw new Error("the token was refused (401)");
  return r;
}
function reasonOf(s) {
  if (s.error) return s.error;
  if (s.reason && typeof s.reason === "object") {
    const r = s.reason, extra = Object.entries(r).filter(([k]) => k !== "kind").map(([k, v]) => k + "=" + (Array.isArray(v) ? v.join(",") : v));
    return r.kind + (extra.length ? "(" + extra.join(" ") + ")" : "");
  }
  if (typeof s.reason === "string") return s.reason;
  if (s.instructions) return (s.confirmed ? "confirmed: " : "waiting: ") + s.instructions;
  return s.detail || "";
}
async function loadRuns() {
  try {
    const r = await api("/runs");
    if (!r.ok) { msg("runs: HTTP " + r.status); return; }
    const runs = await r.json(), body = $("#runs tbody");
    body.replaceChildren(...runs.map((x) => {
      const tr = el("tr", {data: {runId: x.id, status: x.status}},
        el("td", {textContent: x.id}), el("td", {textContent: (x.spec && x.spec.kind) || ""}),
        el("td", {textContent: (x.spec && x.spec.mode) || ""}),
        el("td", {textContent: x.spec ? x.spec.from + " → " + x.spec.to : ""}), el("td", {}, badge(x.status)));
      if (x.id === selected) tr.className = "sel";
      tr.onclick = () => select(x.id);
      return tr;
    }));
    if (!selected && runs.length) {
      const want = decodeURIComponent((location.hash.match(/run=([^&]+)/) || [])[1] || "");
      const pick = runs.find((x) => x.id === want) || runs.find((x) => x.status === "running") || runs[0];
      select(pick.id);
    }
    msg("");
  } catch (e) { msg(String(e.message || e)); }
}
function setStatus(s) { const e = $("#run-status"); e.dataset.status = s; e.replaceChildren(badge(s)); }
function draw() {
  const all = [...steps.values()].sort((a, b) => a.idx - b.idx);
  let end = 1;
  for (const s of all) end = Math.max(end, s.end_ms || 0, s.start_ms || 0);
  const counts = {};
  const rows = all.map((s) => {
    counts[s.status] = (counts[s.status] || 0) + 1;
    const lane = el("div", {class: "lane"});
    if (s.start_ms != null) {
      const stop = s.end_ms != null ? s.end_ms : end;
      const bar = el("div", {class: "s-" + s.status});
      bar.style.left = (100 * s.start_ms / end) + "%";
      bar.style.width = (100 * Math.max(0, stop - s.start_ms) / end) + "%";
      lane.append(bar);
    }
    return el("tr", {data: {idx: String(s.idx), step: s.step, policy: s.policy || "", zone: s.zone || "", status: s.status}},
      el("td", {textContent: s.seed_no}), el("td", {textContent: s.step}),
      el("td", {textContent: s.policy ? "policy " + s.policy : s.zone ? "zone " + s.zone : "run"}),
      el("td", {}, badge(s.status)), el("td", {textContent: reasonOf(s)}), el("td", {}, lane));
  });
  $("#steps tbody").replaceChildren(...rows);
  $("#counts").textContent = all.length + " step instances: " + Object.entries(counts).map(([k, n]) => k + " " + n).join(", ");
}
async function reload(id) {
  const r = await api("/runs/" + encodeURIComponent(id));
  if (!r.ok) { msg("run " + id + ": HTTP " + r.status); return; }
  const d = await r.json();
  if (id !== selected) return;
  // A stopped run's journal is the final word; while it runs, a reply can be older than
  // the events that arrived meanwhile, so it only moves an instance forward.
  if (d.row.status === "running") merge(d.steps); else steps = new Map(d.steps.map((s) => [s.idx, s]));
  setStatus(d.row.status);
  draw();
}
// pending → running → over: an instance never goes back within one stream.
const rank = (s) => s.status === "pending" ? 0 : s.status === "running" ? 1 : 2;
function merge(list) {
  for (const s of list) { const old = steps.get(s.idx); if (!old || rank(s) >= rank(old)) steps.set(s.idx, s); }
}
function onEvent(id, type, data) {
  if (id !== selected) return;
  let ev;
  try { ev = JSON.parse(data); } catch (_) { return; }
  if (type === "snapshot") { steps = new Map(ev.steps.map((s) => [s.idx, s])); setStatus(ev.status); draw(); }
  else if (type === "step_started" || type === "step_ended") { merge([ev.step]); if ($("#run-status").dataset.status !== "running" && type === "step_started") setStatus("running"); draw(); }
  else if (type === "steps_added" || type === "lagged") { reload(id); }
  else if (type === "end") { setStatus(ev.status); reload(id); loadRuns(); }
}
async function stream(id) {
  if (streamAbort) streamAbort.abort();
  const ctl = new AbortController();
  streamAbort = ctl;
  let ended = false;
  try {
    const r = await api("/runs/" + encodeURIComponent(id) + "/events", {signal: ctl.signal});
    if (!r.ok) { msg("events: HTTP " + r.status); return; }
    const reader = r.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buf += dec.decode(value, {stream: true}).replace(/\r\n?/g, "\n");
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
        let type = "message", data = [];
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const i = line.indexOf(":"), k = i < 0 ? line : line.slice(0, i), v = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (k === "event") type = v; else if (k === "data") data.push(v);
        }
        if (data.length) { if (type === "end") ended = true; onEvent(id, type, data.join("\n")); }
      }
    }
  } catch (e) { if (e.name !== "AbortError") msg(String(e.message || e)); }
  // The stream can drop (proxy, server restart): follow the run again while it is selected.
  if (!ended && selected === id && streamAbort === ctl) setTimeout(() => { if (selected === id) stream(id); }, 2000);
}
function select(id) {
  selected = id;
  $("#run-id").textContent = id;
  for (const tr of document.querySelectorAll("#runs tr[data-run-id]")) tr.className = tr.dataset.runId === id ? "sel" : "";
  steps = new Map(); draw();
  stream(id);
}
$("#connect").onclick = () => {
  token = $("#token").value.trim();
  if (!token) { msg("enter an API token"); return; }
  selected = null;
  loadRuns();
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = setInterval(loadRuns, 3000);
};
</script>
</body></html>
"##;

#[cfg(test)]
mod tests {
    use super::PAGE;

    #[test]
    fn page_loads_nothing_from_elsewhere_and_keeps_the_token_out_of_urls() {
        for banned in [
            "http://",
            "https://",
            "src=",
            "EventSource",
            "localStorage",
            "?token",
        ] {
            assert!(!PAGE.contains(banned), "{banned}");
        }
        assert!(PAGE.contains("Authorization: \"Bearer \" + token"));
        assert!(PAGE.contains("/events"));
    }
}

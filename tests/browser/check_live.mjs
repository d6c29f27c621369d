// Drive the `dr serve` live page in headless Chromium while a failover runs: connect with a
// viewer token typed into the page, start a failover over REST with an operator token,
// select the run, and record every step row the page draws. Passes when some step instance
// was seen `running` and then `succeeded`, the page shows the run's end status, and its
// final rows match the run's JSON report. Saves a screenshot.
// Usage: BASE=http://127.0.0.1:PORT DR_OPERATOR_TOKEN=.. DR_VIEWER_TOKEN=.. \
//        node check_live.mjs BODY.json SCREENSHOT.png
import { readFileSync } from "node:fs";
import { launch, fail } from "./lib.mjs";

const [bodyFile, png] = process.argv.slice(2);
const base = process.env.BASE, op = process.env.DR_OPERATOR_TOKEN, viewer = process.env.DR_VIEWER_TOKEN;
if (!png || !base || !op || !viewer) fail("usage: BASE=.. DR_OPERATOR_TOKEN=.. DR_VIEWER_TOKEN=.. check_live.mjs BODY.json SCREENSHOT.png");
const deadline = Date.now() + 120_000;

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const urls = [];
  page.on("request", (r) => urls.push(r.url()));
  await page.goto(base + "/", { waitUntil: "load" });
  // Record every (idx, status) the step table shows, in order, as the page redraws it.
  await page.evaluate(() => {
    window.__seen = [];
    const note = (tr) => window.__seen.push([+tr.dataset.idx, tr.dataset.status]);
    new MutationObserver((ms) => {
      for (const m of ms) for (const n of m.addedNodes) if (n.dataset && n.dataset.idx !== undefined) note(n);
    }).observe(document.querySelector("#steps tbody"), { childList: true });
  });
  await page.fill("#token", viewer);
  await page.click("#connect");

  const start = await fetch(base + "/api/v1/failover", {
    method: "POST",
    headers: { Authorization: "Bearer " + op, "Content-Type": "application/json" },
    body: readFileSync(bodyFile, "utf8"),
  });
  const acc = await start.json();
  if (start.status !== 202 || !acc.id) fail("failover not accepted: " + JSON.stringify(acc));
  const id = acc.id;
  // As a person would: wait for the run in the list (the page polls), then click it.
  await page.evaluate(() => loadRuns());
  const row = page.locator(`#runs tr[data-run-id="${id}"]`);
  await row.waitFor({ timeout: 10_000 });
  await row.click();
  const endStatus = await page.waitForFunction(
    () => {
      const s = document.querySelector("#run-status").dataset.status;
      return ["succeeded", "partial", "failed", "blocked", "aborted", "paused"].includes(s) && s;
    },
    null, { timeout: Math.max(1000, deadline - Date.now()), polling: 100 },
  ).then((h) => h.jsonValue());
  // Let the final reload after `end` land.
  await page.waitForTimeout(500);
  await page.screenshot({ path: png, fullPage: true });
  const seen = await page.evaluate(() => window.__seen);
  const rows = await page.evaluate(() => [...document.querySelectorAll("#steps tr[data-idx]")].map((t) => [+t.dataset.idx, t.dataset.step, t.dataset.policy, t.dataset.status]));

  const report = await (await fetch(`${base}/api/v1/runs/${id}/report`, { headers: { Authorization: "Bearer " + viewer } })).json();
  if (endStatus !== report.outcome) fail(`page shows ${endStatus}, report says ${report.outcome}`);
  const transitions = new Map();
  for (const [idx, st] of seen) {
    const l = transitions.get(idx) || [];
    if (l[l.length - 1] !== st) l.push(st);
    transitions.set(idx, l);
  }
  const live = [...transitions].filter(([, l]) => l.includes("running") && l.indexOf("succeeded") > l.indexOf("running") && l.indexOf("running") >= 0);
  if (!live.length) fail("no step was seen running and then succeeded: " + JSON.stringify([...transitions]));
  if (rows.length !== report.steps.length) fail(`page has ${rows.length} rows, report ${report.steps.length} instances`);
  for (const s of report.steps) {
    const r = rows.find((r) => r[0] === s.idx);
    if (!r || r[1] !== s.step || r[2] !== (s.policy || "") || r[3] !== s.status) fail(`row ${s.idx}: ${JSON.stringify(r)} vs ${s.step}[${s.policy || ""}] ${s.status}`);
  }
  const leaked = urls.filter((u) => u.includes(op) || u.includes(viewer));
  if (leaked.length) fail("a token appeared in a URL");
  const foreign = urls.filter((u) => !u.startsWith(base));
  if (foreign.length) fail("the page fetched " + foreign.join(", "));
  const names = live.slice(0, 3).map(([idx]) => { const s = report.steps.find((x) => x.idx === idx); return `${s.step}[${s.policy || s.zone || "run"}]`; });
  console.log(`live page check: run ${id} ${endStatus}; ${live.length} step instances seen running then succeeded (e.g. ${names.join(", ")}); ` +
    `${rows.length} rows match the report; screenshot ${png}`);
} finally {
  await browser.close();
}

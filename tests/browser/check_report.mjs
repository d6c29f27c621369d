// Open a drill run's HTML report in headless Chromium, screenshot it, and check the DOM
// against the run's JSON report: every step instance is a row with its status, every
// executed instance a bar of the timeline, every failed or skipped step has a guidance
// card, and the page asked for nothing over the network.
// Usage: node check_report.mjs REPORT.html RESULT.json SCREENSHOT.png
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { launch, fail } from "./lib.mjs";

const [html, resultJson, png] = process.argv.slice(2);
if (!png) fail("usage: check_report.mjs REPORT.html RESULT.json SCREENSHOT.png");
const results = JSON.parse(readFileSync(resultJson, "utf8"));
const report = (Array.isArray(results) ? results[0] : results).report;

const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
const requests = [];
page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
await page.screenshot({ path: png, fullPage: true });
const dom = await page.evaluate(() => ({
  rows: [...document.querySelectorAll("#steps tr[data-idx]")].map((t) => ({
    idx: +t.dataset.idx, step: t.dataset.step, policy: t.dataset.policy, status: t.dataset.status,
    visible: t.getBoundingClientRect().height > 0,
  })),
  rects: [...document.querySelectorAll("svg#timeline rect[data-step]")].map((r) => ({
    idx: +r.dataset.idx, status: r.dataset.status, width: r.getBBox().width,
  })),
  cards: [...document.querySelectorAll("#guidance .card")].map((c) => ({
    step: c.dataset.step, status: c.dataset.status,
    impact: c.querySelector(".impact")?.textContent || "",
    risk: c.querySelector(".data-loss-risk")?.textContent || "",
    recovery: c.querySelector(".recovery")?.textContent || "",
  })),
  outcome: document.querySelector("#outcome")?.dataset.outcome,
}));
await browser.close();

if (requests.length) fail("the report fetched " + requests.join(", "));
if (dom.outcome !== report.outcome) fail(`outcome ${dom.outcome}, report says ${report.outcome}`);
const byIdx = new Map(dom.rows.map((r) => [r.idx, r]));
for (const s of report.steps) {
  const r = byIdx.get(s.idx);
  if (!r) fail(`step instance ${s.idx} ${s.step}[${s.policy || ""}] has no row`);
  if (r.step !== s.step || r.policy !== (s.policy || "") || r.status !== s.status)
    fail(`row ${s.idx}: ${JSON.stringify(r)} but the report has ${s.step}[${s.policy || ""}] ${s.status}`);
  if (!r.visible) fail(`row ${s.idx} is not displayed`);
}
if (dom.rows.length !== report.steps.length) fail(`${dom.rows.length} rows for ${report.steps.length} instances`);
const executed = report.steps.filter((s) => s.start_ms != null && s.end_ms != null);
if (dom.rects.length !== executed.length) fail(`timeline has ${dom.rects.length} bars for ${executed.length} executed instances`);
for (const r of dom.rects) if (!(r.width > 0)) fail(`timeline bar ${r.idx} is not drawn`);
for (const s of report.steps.filter((s) => s.status === "failed" || s.status === "skipped")) {
  const c = dom.cards.find((c) => c.step === s.step && c.status === s.status);
  if (!c || !c.impact || !c.risk || !c.recovery) fail(`${s.status} ${s.step} has no impact / data-loss risk / recovery card`);
}
console.log(`report check: ${dom.rows.length} step rows with their status, ${dom.rects.length} timeline bars, ` +
  `${dom.cards.length} guidance cards, outcome ${dom.outcome}; screenshot ${png}`);

// Shared helpers of the browser checks: launch Debian's Chromium headless through
// playwright-core (no browser download), fail with a message.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // Root in CI containers has no user namespace for the sandbox.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

export function fail(msg) {
  console.error("browser check FAILED: " + msg);
  process.exit(1);
}

#!/usr/bin/env bash
# Install what the browser checks need, idempotently: Debian's Chromium (as root, or with
# sudo when there is one) and playwright-core (pinned in package.json / package-lock.json,
# driving that Chromium; it downloads no browser of its own). Usable by CI and by hand.
# Exit 0 when both are there; exit 1 with a clear message when they cannot be had.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "browser: chromium is missing and we are not root (no sudo): apt-get install chromium" >&2; exit 1; }
    sudo="sudo -n"
  fi
  export DEBIAN_FRONTEND=noninteractive
  { $sudo apt-get install -y -qq chromium || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium; }; } \
    >/dev/null 2>&1 || { echo "browser: could not install Debian's chromium (apt-get install chromium)" >&2; exit 1; }
fi
command -v node >/dev/null 2>&1 || { echo "browser: node is missing (install nodejs and npm)" >&2; exit 1; }
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent) \
    || { echo "browser: npm ci (playwright-core) failed" >&2; exit 1; }
fi
echo "browser: $(chromium --version 2>/dev/null | head -1); playwright-core $(node -p "require('$here/node_modules/playwright-core/package.json').version")"

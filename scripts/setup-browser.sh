#!/usr/bin/env bash
# Installs what the browser tests drive: Debian's chromium when /usr/bin/chromium is missing,
# and Playwright's Python package in .venv when it is missing. Playwright's own browser
# downloads (`playwright install`) are never used. Idempotent and quiet; installing chromium
# needs root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.65.2"  # keep in step with pyproject.toml's dev extras

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup-browser: run as root to install chromium" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup-browser: installing chromium (apt-get)" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium \
    >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup-browser: .venv is missing: run bash scripts/setup.sh first" >&2
  exit 1
fi
if ! .venv/bin/python -c 'import playwright.sync_api' 2>/dev/null; then
  echo "setup-browser: installing playwright ${PLAYWRIGHT_VERSION} into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    "playwright==${PLAYWRIGHT_VERSION}"
fi

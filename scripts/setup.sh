#!/usr/bin/env bash
# Installs everything feedbackctl needs on a fresh machine (Debian, Python 3.11, Node 20):
# the project venv (.venv) with the CLI, the Lambdas and the dev tools, checkov in its own
# venv, and — once they exist — the SPA's npm packages and build and the test browser.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.feedbackctl-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages (.[dev])" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi

if [ -f scripts/setup-checkov.sh ]; then
  bash scripts/setup-checkov.sh
fi

if [ -f frontend/package.json ] && [ -f scripts/setup-frontend.sh ]; then
  bash scripts/setup-frontend.sh
fi
echo "setup: done" >&2

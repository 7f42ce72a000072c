#!/usr/bin/env bash
# Installs the web app's npm packages and builds it into frontend/dist, each only when needed:
# `npm ci` when node_modules is missing or older than package-lock.json, and a build when the
# sources changed since the last build (the source hash `feedbackctl deploy` checks, kept in
# frontend/dist/.build-hash). Idempotent and quiet: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-frontend: node and npm are needed: install Node.js 20 (>= 20.19) with npm" >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
              process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "setup-frontend: Node.js $(node --version) is too old for Vite 8: use >= 20.19 or >= 22.12" >&2
  exit 1
fi

if [ ! -f frontend/node_modules/.package-lock.json ] \
  || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  echo "setup-frontend: installing npm packages (npm ci)" >&2
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

if [ -x .venv/bin/python ] && .venv/bin/python -c 'import feedbackctl.site' 2>/dev/null; then
  # The build-if-changed rule `feedbackctl deploy` uses, so a deploy after set-up rebuilds nothing.
  .venv/bin/python - <<'PY'
import sys
from pathlib import Path

from feedbackctl.errors import FeedbackctlError
from feedbackctl.site import build_site

try:
    build = build_site(Path("frontend"))
except FeedbackctlError as error:
    sys.exit(f"setup-frontend: {error}")
if build.action == "built":
    sys.stderr.write("setup-frontend: web app built into frontend/dist\n")
PY
else
  echo "setup-frontend: building the web app (npm run build)" >&2
  (cd frontend && npm run build --silent >&2)
fi

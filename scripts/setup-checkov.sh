#!/usr/bin/env bash
# Installs checkov into its own virtualenv, .venv-checkov, beside the project's .venv.
# checkov pins many libraries (boto3 among them) that would fight moto in the main venv,
# so `feedbackctl validate` spawns it from here. Idempotent: a second run with the pinned
# version already installed does nothing.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv-checkov"
PYTHON="${PYTHON:-python3}"

installed_version() {
    "${VENV}/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' \
        2>/dev/null || true
}

if [[ -x "${VENV}/bin/checkov" && "$(installed_version)" == "${CHECKOV_VERSION}" ]]; then
    echo "checkov ${CHECKOV_VERSION} already installed in ${VENV}"
    exit 0
fi

if [[ ! -x "${VENV}/bin/python" ]]; then
    "${PYTHON}" -m venv "${VENV}"
fi
"${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "checkov==${CHECKOV_VERSION}"
echo "checkov $(installed_version) installed in ${VENV}"

#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its dev extra. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
# The dashboard notebook runs on this interpreter's kernel.
.venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null

#!/usr/bin/env bash
# One command for a fresh machine: install, lint, run the tests, then materialize the whole
# graph headless on the sample data in a throw-away data folder and DAGSTER_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install_browser.sh || echo "chromium not installed: the browser test will be skipped"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/dg check defs
.venv/bin/python -m pytest -q
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
PLAYLIST_ASSETS_HOME="$scratch/data" DAGSTER_HOME="$scratch/dagster_home" bash scripts/materialize_all.sh
echo "== headless materialization of the whole graph succeeded"
bash scripts/test_service.sh

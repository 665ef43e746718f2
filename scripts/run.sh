#!/usr/bin/env bash
# One command for a fresh machine: install, materialize the whole graph on the embedded
# defaults, then serve the UI with `dagster dev` (webserver + daemon: schedule and sensor on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PLAYLIST_ASSETS_HOME=${PLAYLIST_ASSETS_HOME:-$PWD/.data}
export DAGSTER_HOME=${DAGSTER_HOME:-$PLAYLIST_ASSETS_HOME/dagster_home}
bash scripts/materialize_all.sh
exec .venv/bin/dagster dev -m playlist_assets.definitions -h "${DAGSTER_HOST:-127.0.0.1}" -p "${DAGSTER_PORT:-3000}"

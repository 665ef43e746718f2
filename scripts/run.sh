#!/usr/bin/env bash
# One command for a fresh machine: install, materialize the whole graph on the embedded
# defaults, then serve the UI with `dagster dev` (webserver + daemon: schedule and sensor on).
# On the embedded defaults an `mlflow ui` runs beside it on 127.0.0.1, so the MLflow links in
# asset metadata open; it stops when `dagster dev` stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PLAYLIST_ASSETS_HOME=${PLAYLIST_ASSETS_HOME:-$PWD/.data}
export DAGSTER_HOME=${DAGSTER_HOME:-$PLAYLIST_ASSETS_HOME/dagster_home}
mlflow_pid=""
if [[ -z "${MLFLOW_TRACKING_URI:-}" ]]; then
  MLFLOW_UI_PORT=${MLFLOW_UI_PORT:-5000}
  export MLFLOW_UI_URL=${MLFLOW_UI_URL:-http://127.0.0.1:$MLFLOW_UI_PORT}
  mkdir -p "$PLAYLIST_ASSETS_HOME/mlflow/artifacts"
  # Its own process group (setsid), so stopping it also stops its server workers.
  setsid .venv/bin/mlflow ui --host 127.0.0.1 --port "$MLFLOW_UI_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$PLAYLIST_ASSETS_HOME/mlflow/mlflow.db" \
    --default-artifact-root "$PLAYLIST_ASSETS_HOME/mlflow/artifacts" \
    >"$PLAYLIST_ASSETS_HOME/mlflow/ui.log" 2>&1 &
  mlflow_pid=$!
  trap '[[ -n "$mlflow_pid" ]] && kill -- "-$mlflow_pid" 2>/dev/null || true' EXIT INT TERM
  echo "MLflow UI: $MLFLOW_UI_URL (log: $PLAYLIST_ASSETS_HOME/mlflow/ui.log)"
fi
bash scripts/materialize_all.sh
# Not exec: the trap above must outlive dagster dev to stop the MLflow UI with it.
.venv/bin/dagster dev -m playlist_assets.definitions -h "${DAGSTER_HOST:-127.0.0.1}" -p "${DAGSTER_PORT:-3000}"

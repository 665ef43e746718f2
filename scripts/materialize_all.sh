#!/usr/bin/env bash
# Materialize the whole asset graph headless: every unpartitioned asset in one run, then one
# hourly partition of the feed (new_tracks -> feature_drift), then the dashboard, last, so its
# report includes that partition. Uses $DAGSTER_HOME (created, with
# the project's dagster.yaml, if it has none) and $PLAYLIST_ASSETS_HOME (default .data).
set -euo pipefail
cd "$(dirname "$0")/.."
export PLAYLIST_ASSETS_HOME=${PLAYLIST_ASSETS_HOME:-$PWD/.data}
export DAGSTER_HOME=${DAGSTER_HOME:-$PLAYLIST_ASSETS_HOME/dagster_home}
export GX_ANALYTICS_ENABLED=false
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
PARTITION=${PARTITION:-2026-11-01-00:00}
DAGSTER=.venv/bin/dagster
echo "== materialize: unpartitioned graph (data: $PLAYLIST_ASSETS_HOME, DAGSTER_HOME: $DAGSTER_HOME)"
$DAGSTER asset materialize -m playlist_assets.definitions --select 'not tag:cadence=hourly and not key:dashboard'
echo "== materialize: hourly partition $PARTITION"
$DAGSTER asset materialize -m playlist_assets.definitions --select 'tag:cadence=hourly' --partition "$PARTITION"
echo "== materialize: dashboard"
$DAGSTER asset materialize -m playlist_assets.definitions --select 'key:dashboard'

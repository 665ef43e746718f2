#!/bin/sh
# Every container of the image: put the instance config ($DAGSTER_INSTANCE_CONFIG, the embedded
# SQLite one by default, dagster.postgres.yaml for the service shapes) into $DAGSTER_HOME, then
# run the command. Copied on every start so a new image's config wins over an old volume's.
set -eu
mkdir -p "$DAGSTER_HOME"
cp "$DAGSTER_INSTANCE_CONFIG" "$DAGSTER_HOME/dagster.yaml"
exec "$@"

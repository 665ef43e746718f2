#!/usr/bin/env bash
# CI: the service shapes, for real on this machine (root, Debian packages).
#   1. the production profile end to end (scripts/serve.sh; pytest -m service)
#   2. the container image: built from a local debootstrap base and smoke-tested (test_image.sh)
# Installs what it needs from Debian if missing: postgresql, nginx (the door), podman (+ runc),
# debootstrap. Packages' services are not started by the install (policy-rc.d): the profile runs
# its own Postgres and nginx, and nothing else may listen.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "== service: apt-get install ${need[*]}"
  policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  [ -z "$policy" ] || rm -f "$policy"
fi
export GX_ANALYTICS_ENABLED=false

echo "== service: production profile end to end (pytest -m service)"
SERVICE_TEST_HOURS=${SERVICE_TEST_HOURS:-48} .venv/bin/python -m pytest -q -m service -s -p no:cacheprovider \
  playlist_assets_tests/service/test_service.py
echo "== service: container image"
bash scripts/test_image.sh
echo "== service: all checks passed in $((SECONDS - t0)) s"

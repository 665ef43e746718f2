#!/usr/bin/env bash
# Build the container image and smoke-test it, offline apart from this machine's package mirrors.
#
# 1. A base image like python:3.11-slim (which cannot be pulled here): debootstrap minbase
#    bookworm with python3 + venv, from the Debian mirror apt already uses, `podman import`ed.
#    Cached in podman's image store (rebuilt only when missing, or with REBUILD_BASE=1).
# 2. `podman build --network=host` of the Dockerfile with that base as BASE_IMAGE, pip's config,
#    certificate bundle and local find-links / file indexes of this machine mounted at build time
#    only (nothing of them lands in the image; no registry host is named here).
# 3. Run it, wait for /server_info, ask GraphQL whether the daemon and the code location are
#    healthy, materialize the whole graph inside the container, stop it and check it is gone.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/playlist-assets:latest}
BASE_IMAGE=${BASE_IMAGE:-localhost/playlist-assets-base:bookworm}
PORT=${IMAGE_TEST_PORT:-3390}
NAME=playlist-assets-smoke-$$
work=$(mktemp -d)
t0=$(date +%s)
say() { echo "== image: $* ($(($(date +%s) - t0)) s)"; }

# This machine's podman: runc, cgroupfs, file events, ulimits within the hard limits.
# (runc here cannot set a limit up to the hard limit itself: ask for at most 4096.)
lim() { local hard; hard=$(ulimit -H"$1"); [ "$hard" = unlimited ] || [ "$hard" -gt "$2" ] && hard=$2; echo "$hard:$hard"; }
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(lim n 4096)", "nproc=$(lim u 4096)"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$work/containers.conf"

cleanup() {
  podman rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
  podman volume rm -f "$NAME-data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The first Debian archive URI apt uses (not the security one).
debian_mirror() {
  {
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' || true
  } 2>/dev/null | grep -E '/debian/?$' | head -1
}

build_base() {
  local mirror rootfs
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { echo "image: no Debian mirror found in apt's sources" >&2; exit 1; }
  rootfs="$work/rootfs"
  say "debootstrap minbase bookworm from apt's mirror"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Debian's Python is externally managed: the image's pip is a venv's, first on PATH.
  chroot "$rootfs" python3 -m venv /opt/venv
  chroot "$rootfs" sh -c 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin'
  tar -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

if [ "${REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE_IMAGE"; then
  build_base
  say "base image $BASE_IMAGE imported"
else
  say "base image $BASE_IMAGE cached"
fi
[ "${BASE_ONLY:-0}" = 1 ] && exit 0

# pip's configuration of this machine, merged (files + PIP_* environment) into one file mounted
# at build time only, with every local path it names (certificate, constraints, find-links and
# file:// indexes) mounted read-only at the same path.
pip_conf=$work/pip.conf
mounts=(-v "$pip_conf:/etc/pip.conf:ro")
echo "[global]" >"$pip_conf"
declare -A seen=()
while IFS= read -r line; do
  key=${line%%=*}
  key=${key#*.}
  value=${line#*=}
  value=${value#\'}
  value=${value%\'}
  [ -z "${seen[$key]:-}" ] || continue
  seen[$key]=1
  echo "$key = $value" >>"$pip_conf"
  for item in $value; do
    path=${item#file://}
    # A file:// index's pages link to files beside it: mount the folder holding the index.
    [ "$path" = "$item" ] || path=$(dirname "${path%/}")
    if [ "${path:0:1}" = / ] && [ -e "$path" ]; then mounts+=(-v "$path:$path:ro"); fi
  done
done < <(pip config list 2>/dev/null | sort -r) # ":env:" sorts after "global.": env wins

say "building $IMAGE"
build_t0=$(date +%s)
podman build --network=host --format docker --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  "${mounts[@]}" -t "$IMAGE" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
build_s=$(($(date +%s) - build_t0))
say "built $IMAGE in ${build_s} s ($(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"

# What real Docker would trip on, checked on the image itself.
[ "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = app ] || { echo "image: runs as root" >&2; exit 1; }
[ -n "$(podman image inspect "$IMAGE" --format '{{.Config.Healthcheck}}')" ] || { echo "image: no HEALTHCHECK" >&2; exit 1; }
podman run --rm --network=none --health-interval=disable --entrypoint sh "$IMAGE" -c '
  set -e
  [ "$(stat -c %U /data)" = app ] || { echo "image: /data not owned by app"; exit 1; }
  [ ! -e dagster.yaml ] && [ ! -e playlist_assets ] || { echo "image: config or source in the working dir"; exit 1; }
  ! ls -d /tmp/build /tmp/dist /build 2>/dev/null | grep . || { echo "image: build leftovers"; exit 1; }
  python -c "import playlist_assets, sys; assert \"site-packages\" in playlist_assets.__file__, playlist_assets.__file__"
  # The door: the image renders its nginx.conf and its nginx accepts it, as user app.
  mkdir -p /data/service/logs /data/service/run/nginx
  playlist-assets service nginx-conf --listen 0.0.0.0 >/data/service/run/nginx/nginx.conf
  nginx -t -q -c /data/service/run/nginx/nginx.conf -p /data/service/run/nginx -e stderr
' || exit 1

# Run it as a user would (host network: no bridge needed; no systemd here to time healthchecks,
# so the HEALTHCHECK is run by hand below).
run_t0=$(date +%s)
podman run -d --name "$NAME" --network=host -e DAGSTER_WEBSERVER_PORT="$PORT" --health-interval=disable \
  -v "$NAME-data:/data" "$IMAGE" dagster dev -h 127.0.0.1 -p "$PORT" -w /opt/playlist_assets/workspace.yaml >/dev/null
python3 - "$PORT" <<'PY' || { podman logs --tail 30 "$NAME" >&2; exit 1; }
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.time() + 300

def graphql(query):
    req = urllib.request.Request(f"{base}/graphql", json.dumps({"query": query}).encode(),
                                 {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=20))["data"]

while True:  # the webserver answers, the code location loaded, every daemon heartbeats
    try:
        urllib.request.urlopen(f"{base}/server_info", timeout=5)
        entries = graphql("{ workspaceOrError { ... on Workspace { locationEntries { name "
                          "locationOrLoadError { __typename ... on PythonError { message } } } } } }")
        locations = {e["name"]: e["locationOrLoadError"] for e in entries["workspaceOrError"]["locationEntries"]}
        daemons = graphql("{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required } } } }")
        statuses = daemons["instance"]["daemonHealth"]["allDaemonStatuses"]
        unhealthy = [s["daemonType"] for s in statuses if s["required"] and not s["healthy"]]
        loaded = (locations.get("playlist_assets") or {}).get("__typename") == "RepositoryLocation"
        if (locations.get("playlist_assets") or {}).get("__typename") == "PythonError":
            sys.exit(f"image: code location failed to load: {locations['playlist_assets']['message']}")
        if loaded and statuses and not unhealthy:
            print(f"code location loaded; daemons healthy: {', '.join(s['daemonType'] for s in statuses)}")
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit(f"image: not healthy after 300 s (locations or daemons not ready)")
    time.sleep(2)
PY
healthy_s=$(($(date +%s) - run_t0))
say "container healthy ${healthy_s} s after start"
podman healthcheck run "$NAME" >/dev/null || { echo "image: its HEALTHCHECK fails on a healthy container" >&2; exit 1; }

say "materializing the graph inside the container"
podman exec "$NAME" dagster asset materialize -m playlist_assets.definitions \
  --select 'not tag:cadence=hourly' >"$work/materialize.log" 2>&1 ||
  { tail -30 "$work/materialize.log" >&2; exit 1; }
podman exec "$NAME" dagster asset materialize -m playlist_assets.definitions \
  --select 'tag:cadence=hourly' --partition 2026-11-01-00:00 >>"$work/materialize.log" 2>&1 ||
  { tail -30 "$work/materialize.log" >&2; exit 1; }
grep -q RUN_SUCCESS "$work/materialize.log" || { echo "image: no successful run" >&2; exit 1; }

podman stop -t 30 "$NAME" >/dev/null
code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
[ "$code" != 137 ] || { echo "image: the container had to be killed (no clean stop in 30 s)" >&2; exit 1; }
podman rm "$NAME" >/dev/null
podman volume rm "$NAME-data" >/dev/null
! podman ps -a --format '{{.Names}}' | grep -qx "$NAME" || { echo "image: container left behind" >&2; exit 1; }
say "image OK: build ${build_s} s, start to healthy ${healthy_s} s, stopped cleanly (exit $code)"

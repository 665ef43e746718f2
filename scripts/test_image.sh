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

IMAGE=${IMAGE:-localhost/playlist-assets:test}
BASE_IMAGE=${BASE_IMAGE:-localhost/playlist-assets-base:bookworm}
PORT=${IMAGE_TEST_PORT:-3390}
NAME=playlist-assets-smoke-$$
work=$(mktemp -d)
t0=$(date +%s)
say() { echo "== image: $* ($(($(date +%s) - t0)) s)"; }

# This machine's podman: runc, cgroupfs, file events, ulimits within the hard limits.
cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$(ulimit -Hu):$(ulimit -Hu)"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$work/containers.conf"

cleanup() {
  podman rm -f -t 5 "$NAME" >/dev/null 2>&1 || true
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

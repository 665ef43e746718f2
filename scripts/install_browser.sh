#!/usr/bin/env bash
# Debian's chromium and chromium-driver for the dashboard's browser test (Playwright drives
# /usr/bin/chromium; no browser download from Playwright's CDN). Does nothing when both exist.
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v chromedriver >/dev/null 2>&1; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser.sh: apt-get not found; install chromium and chromium-driver with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install_browser.sh: run as root (or install sudo) to apt-get install chromium chromium-driver" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"

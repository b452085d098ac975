#!/usr/bin/env bash
# Installs the system packages a fresh Debian/Ubuntu machine needs: Python's venv module, a C
# compiler (the engine builds its optional compiled kernels with it at first use), and
# the shared libraries Qt loads even when rendering offscreen. Safe to run twice.
set -euo pipefail
command -v apt-get >/dev/null 2>&1 || exit 0
SUDO=""
if [ "$(id -u)" != "0" ]; then
  command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to apt-get install" >&2; exit 0; }
  SUDO="sudo"
fi
packages="python3-venv gcc libc6-dev libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
  libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0
  libxcb-randr0 libxcb-render-util0 libxcb-image0"
missing=""
for p in $packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

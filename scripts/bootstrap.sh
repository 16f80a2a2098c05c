#!/usr/bin/env bash
# Installs what the app needs on a fresh Debian machine: Qt's system libraries and the app's venv.
# Idempotent: a second run only checks.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/scripts/lib.sh"

QT_RUNTIME_PACKAGES=(
  libgl1 libegl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6
  libglib2.0-0 libdbus-1-3 fonts-dejavu-core
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0
  libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0 libxcb-xkb1
)
ensure_apt_packages "${QT_RUNTIME_PACKAGES[@]}"

VENV="$REPO/.venv"
STAMP="$VENV/.hybridview-installed"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating the app venv in $VENV"
  python3 -m venv "$VENV"
fi
if [[ ! -f "$STAMP" || "$REPO/pyproject.toml" -nt "$STAMP" ]]; then
  log "installing hybridview and its test tools into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$REPO[test]"
  touch "$STAMP"
fi

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
LOCKS=("$REPO/requirements/test.lock" "$REPO/requirements/app.lock")
# The stamp holds a digest of what the install came from: a new lock or pyproject.toml reinstalls.
WANT="$(cat "$REPO/pyproject.toml" "${LOCKS[@]}" | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating the app venv in $VENV"
  python3 -m venv "$VENV"
fi
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
  log "installing the locked dependencies (requirements/test.lock) and hybridview into $VENV"
  # The test lock is the app's lock plus its test tools, pinned with hashes (refresh: scripts/lock.sh).
  "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$REPO/requirements/test.lock"
  # The project itself, built by the locked setuptools: no download, no dependency left to resolve.
  # Its build backend's warnings (the editable mapping of resources/) are shown only if it fails.
  if ! out="$("$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$REPO" 2>&1)"; then
    printf '%s\n' "$out" >&2
    exit 1
  fi
  printf '%s\n' "$WANT" >"$STAMP"
fi

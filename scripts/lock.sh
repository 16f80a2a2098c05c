#!/usr/bin/env bash
# Refreshes the hashed locks in requirements/ from pyproject.toml's ranges and requirements/test.in.
# Keeps every pin that still fits; `bash scripts/lock.sh --upgrade` takes the newest releases,
# `--upgrade-package NAME` one package's (arguments go to `uv pip compile`).
# Then run `bash scripts/test.sh`: bootstrap.sh reinstalls .venv from the new lock.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$REPO/scripts/lib.sh"
cd "$REPO"

UV_VERSION="0.13.8"
TOOLS="${XDG_CACHE_HOME:-$HOME/.cache}/hybridview/lock-venv"
if [[ "$("$TOOLS/bin/uv" --version 2>/dev/null)" != "uv $UV_VERSION"* ]]; then
  log "installing uv $UV_VERSION into $TOOLS"
  python3 -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet "uv==$UV_VERSION"
fi

# Universal (every OS and Python >= 3.11, with markers), hashes for every file of each release.
compile=("$TOOLS/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes
  --custom-compile-command "bash scripts/lock.sh")
# The test lock: the app, its [test] extra and test.in (PyInstaller, pipx, the build backend).
"${compile[@]}" pyproject.toml --extra test requirements/test.in -o requirements/test.lock "$@"
# The app's runtime lock: the same pins, for the bundle and for pipx users.
"${compile[@]}" pyproject.toml -c requirements/test.lock -o requirements/app.lock "$@"
log "locks written: requirements/test.lock, requirements/app.lock"

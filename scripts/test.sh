#!/usr/bin/env bash
# Set up everything (app venv, Nova peer venv, vCenter simulator) and run every check and test.
# Extra arguments go to pytest, e.g. -m "not nova_peer".
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
source scripts/lib.sh
ensure_apt_packages desktop-file-utils appstream binutils  # the desktop metadata validators; strip, for the bundle
bash scripts/bootstrap.sh
bash scripts/nova-peer-venv.sh
bash scripts/vcsim-build.sh
export QT_QPA_PLATFORM=offscreen
echo "== ruff"; .venv/bin/ruff check hybridview tests bench
echo "== mypy (strict)"; .venv/bin/mypy
echo "== import contracts"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/python -m pytest "$@"

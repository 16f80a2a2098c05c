#!/usr/bin/env bash
# Set up (if needed) and open hybridview on the built-in demo estate.
# Extra arguments go to the app, e.g. --scenario esxi-host-down.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$REPO/scripts/bootstrap.sh"
exec "$REPO/.venv/bin/hybridview" --demo "$@"

#!/usr/bin/env bash
# Create (once) the venv that runs the in-process Nova test peer.
# The peer venv is kept apart from the app venv: Nova pins its own
# oslo/SQLAlchemy stack. A stamp file makes a second run a no-op.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NOVA_PEER_VENV:-$REPO/.peers/nova-venv}"
PYTHON="${PYTHON:-python3}"

# Pinned ranges; change this list and the stamp changes with it.
REQUIREMENTS=(
  "nova>=34,<35"
  "openstack-placement>=16,<17"
  "SQLAlchemy<2.1"
  "oslotest"
  "testtools"
  "fixtures"
  "wsgi-intercept"
)

STAMP="$VENV/.hybridview-nova-peer.stamp"
WANT="$(printf '%s\n' "${REQUIREMENTS[@]}")"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]]; then
  exit 0
fi

mkdir -p "$(dirname "$VENV")"
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "${REQUIREMENTS[@]}"
# Fail here, not in the tests, if the functional test tree is missing.
"$VENV/bin/python" -c "import nova.tests.functional.integrated_helpers, placement"
printf '%s\n' "$WANT" > "$STAMP"
echo "nova peer venv ready: $VENV"

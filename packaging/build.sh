#!/usr/bin/env bash
# Builds the self-contained one-folder bundle with PyInstaller: DIST/hybridview/hybridview.
# Usage: bash packaging/build.sh [DIST [WORK]]   (defaults: dist/ and build/pyinstaller/ in the repository)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$(realpath -m "${1:-$REPO/dist}")"
WORK="$(realpath -m "${2:-$REPO/build/pyinstaller}")"
PYINSTALLER="$REPO/.venv/bin/pyinstaller"

if [[ ! -x "$PYINSTALLER" ]]; then
  echo "build.sh: $PYINSTALLER is missing: run 'bash scripts/bootstrap.sh' (it installs the test lock)" >&2
  exit 1
fi
mkdir -p "$DIST"
started=$SECONDS
"$PYINSTALLER" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" "$REPO/packaging/pyinstaller/hybridview.spec"

BUNDLE="$DIST/hybridview"
# Only the Qt libraries the app uses may travel: a new import of another Qt module must be a choice.
unexpected="$(find "$BUNDLE" -name 'libQt6*.so*' -printf '%f\n' \
  | grep -v -E '^libQt6(Core|Gui|Widgets|Svg|DBus|XcbQpa)\.so' || true)"
if [[ -n "$unexpected" ]]; then
  echo "build.sh: unexpected Qt libraries in the bundle:" >&2
  echo "$unexpected" >&2
  exit 1
fi
# Smoke check: the bundle answers on its own (the demo estate, no display).
QT_QPA_PLATFORM=offscreen "$BUNDLE/hybridview" status --demo >/dev/null || [[ $? -le 2 ]]
echo "built $BUNDLE in $((SECONDS - started)) s ($(du -sh "$BUNDLE" | cut -f1))"

#!/usr/bin/env bash
# Build (once) the vCenter simulator test peer from Debian packages, offline.
# Installs golang-go + govmomi sources via apt if missing, then builds
# tests/peers/vcsim/launcher in GOPATH mode. Rebuilds only when a .go file of the
# launcher is newer than the binary (or FORCE=1).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$REPO/tests/peers/vcsim/launcher"
OUT_DIR="$REPO/.peers/vcsim"
BIN="$OUT_DIR/hybridview-vcsim"
PACKAGES=(golang-go golang-github-vmware-govmomi-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

newer=""
[[ -x "$BIN" ]] && newer="$(find "$SRC" -name '*.go' -newer "$BIN" -print -quit)"
if [[ -x "$BIN" && -z "$newer" && "${FORCE:-0}" != 1 ]]; then
  echo "vcsim peer up to date: $BIN"
  exit 0
fi

mkdir -p "$OUT_DIR"
# GOPATH mode against the Debian-packaged sources; never touches the network.
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS=""
export GOCACHE="${GOCACHE:-$OUT_DIR/go-cache}"
start=$EPOCHREALTIME
(cd "$SRC" && go build -trimpath -o "$BIN.tmp" .)
mv -f "$BIN.tmp" "$BIN"
end=$EPOCHREALTIME
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
echo "built $BIN in ${elapsed}s ($(go version | cut -d' ' -f3))"

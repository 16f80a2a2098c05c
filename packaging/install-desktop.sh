#!/usr/bin/env bash
# Install (or --uninstall) hybridview's menu entry, AppStream metainfo and icons for the current user,
# under ${XDG_DATA_HOME:-~/.local/share}: applications/, metainfo/, icons/hicolor/<size>/apps/.
#   bash packaging/install-desktop.sh [--exec PATH] [--uninstall]
# Exec= is --exec, else `hybridview` on PATH, else the repo's .venv/bin/hybridview, else a bundle in dist/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
APP_ID="io.github.hybridview.HybridView"
SIZES=(16 22 24 32 48 64 128 256 512)
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"

usage() { sed -n '2,5s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "install-desktop: $*" >&2; exit 1; }

EXEC="" UNINSTALL=0
while (($#)); do
    case "$1" in
        --exec) (($# >= 2)) || die "--exec needs a path"; EXEC="$2"; shift 2 ;;
        --exec=*) EXEC="${1#--exec=}"; shift ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

# Every installed file, relative to $DATA.
files() {
    echo "applications/$APP_ID.desktop"
    echo "metainfo/$APP_ID.metainfo.xml"
    for size in "${SIZES[@]}"; do echo "icons/hicolor/${size}x${size}/apps/$APP_ID.png"; done
    echo "icons/hicolor/scalable/apps/$APP_ID.svg"
}

# Refresh the caches a desktop reads, when their tools are installed; never fail on them.
refresh() {
    if [[ -d "$DATA/applications" ]] && command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$DATA/applications" || true
    fi
    if [[ -d "$DATA/icons/hicolor" ]] && command -v gtk-update-icon-cache >/dev/null; then
        gtk-update-icon-cache -q -f -t "$DATA/icons/hicolor" || true
    fi
}

find_exec() {
    local candidate
    if [[ -n "$EXEC" ]]; then
        candidate="$EXEC"
        [[ "$candidate" == */* ]] || candidate="$(command -v -- "$candidate")" || die "--exec $EXEC: not on PATH"
    elif candidate="$(command -v hybridview)"; then :
    elif [[ -x "$REPO/.venv/bin/hybridview" ]]; then candidate="$REPO/.venv/bin/hybridview"
    elif [[ -x "$REPO/dist/hybridview/hybridview" ]]; then candidate="$REPO/dist/hybridview/hybridview"
    else die "no hybridview found (PATH, $REPO/.venv, $REPO/dist/hybridview): pass --exec PATH"
    fi
    [[ -f "$candidate" && -x "$candidate" ]] || die "$candidate is not an executable file"
    candidate="$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"
    echo "$candidate"
}

# A path as one Exec= argument (Desktop Entry spec, "The Exec key"): quoted when needed, then escaped as a string.
exec_arg() {
    local arg="$1"
    if [[ ! "$arg" =~ ^[A-Za-z0-9_./+:@-]+$ ]]; then
        arg="${arg//\\/\\\\}"; arg="${arg//\"/\\\"}"; arg="${arg//\`/\\\`}"; arg="${arg//\$/\\\$}"
        arg="\"$arg\""
    fi
    arg="${arg//\\/\\\\}"
    echo "${arg//%/%%}"
}

if ((UNINSTALL)); then
    while read -r rel; do rm -f -- "$DATA/$rel"; done < <(files)
    refresh
    echo "install-desktop: removed $APP_ID from $DATA"
    exit 0
fi

for size in "${SIZES[@]}"; do
    [[ -f "$HERE/icons/hicolor/${size}x${size}/apps/$APP_ID.png" ]] \
        || die "missing icon ${size}x${size}: run .venv/bin/python packaging/make_icons.py"
done
exe="$(find_exec)"
install -d "$DATA/applications" "$DATA/metainfo"
while IFS= read -r line; do
    if [[ "$line" == Exec=* ]]; then
        printf 'Exec=%s\nTryExec=%s\n' "$(exec_arg "$exe")" "${exe//\\/\\\\}"
    else
        printf '%s\n' "$line"
    fi
done < "$HERE/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop.tmp"
chmod 644 "$DATA/applications/$APP_ID.desktop.tmp"
mv -f "$DATA/applications/$APP_ID.desktop.tmp" "$DATA/applications/$APP_ID.desktop"
install -m 644 "$HERE/$APP_ID.metainfo.xml" "$DATA/metainfo/$APP_ID.metainfo.xml"
while read -r rel; do
    [[ "$rel" == icons/* ]] || continue
    install -D -m 644 "$HERE/$rel" "$DATA/$rel"
done < <(files)
refresh
echo "install-desktop: installed $APP_ID into $DATA (Exec=$exe)"

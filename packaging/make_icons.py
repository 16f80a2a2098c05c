"""Render the hicolor icon set of the desktop entry from resources/icons/hybridview.svg.

    .venv/bin/python packaging/make_icons.py [--out DIR]

writes DIR/hicolor/<N>x<N>/apps/<APP_ID>.png for every size in SIZES and
DIR/hicolor/scalable/apps/<APP_ID>.svg (default DIR: packaging/icons, committed).
Re-run it whenever the SVG changes; tests/packaging/test_desktop_metadata.py checks the set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

APP_ID = "io.github.hybridview.HybridView"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
HERE = Path(__file__).resolve().parent
SVG = HERE.parent / "resources" / "icons" / "hybridview.svg"


def render(svg: Path, out: Path) -> list[Path]:
    """Every file of the set, written under out/hicolor."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: cannot read {svg}")
    written: list[Path] = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):
            raise SystemExit(f"make_icons: cannot write {path}")
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--svg", type=Path, default=SVG, help="source SVG (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE / "icons", help="output folder (default: %(default)s)")
    args = parser.parse_args()
    for path in render(args.svg, args.out):
        sys.stdout.write(f"{path}\n")


if __name__ == "__main__":
    main()

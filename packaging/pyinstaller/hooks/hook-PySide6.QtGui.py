# Overrides PyInstaller's hook for PySide6.QtGui, which takes every plugin type QtGui can load (Wayland,
# EGL FS, VNC, GTK theme, virtual keyboard...) and with them QtNetwork, QtQml, QtQuick, GTK and more.
# hybridview keeps the plugins it uses; nothing else reaches PyInstaller's dependency analysis.
from pathlib import Path

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

QT_PLUGINS = {
    "platforms/libqxcb.so",  # an X11 desktop (and XWayland)
    "platforms/libqoffscreen.so",  # headless: screenshot, tests
    "xcbglintegrations/libqxcb-glx-integration.so",
    "xcbglintegrations/libqxcb-egl-integration.so",
    "iconengines/libqsvgicon.so",  # the icons are SVG
    "imageformats/libqsvg.so",
    "platforminputcontexts/libcomposeplatforminputcontextplugin.so",  # dead keys in text fields
    "platforminputcontexts/libibusplatforminputcontextplugin.so",
}

hiddenimports, _binaries, _datas = add_qt6_dependencies(__file__)
binaries = [
    (src, dest) for src, dest in _binaries if f"{Path(dest).name}/{Path(src).name}" in QT_PLUGINS
]
datas = [(src, dest) for src, dest in _datas if Path(dest).name != "translations"]

"""What the window remembers between sessions, in ``QSettings``: its geometry and dock
layout, the recent project files, and the last folder a file dialog looked in.

Keys live under ``LayerCanvas/LayerCanvas`` (organisation/application). Tests and scripts
pass their own ``QSettings`` (an INI file in a temporary folder) so they never touch the
user's.

:func:`data_dir` is where LayerCanvas keeps files of its own (autosaved recovery copies):
the platform's app data folder, or ``$LAYERCANVAS_DATA_DIR`` when that is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings, QStandardPaths

__all__ = ["DATA_DIR_ENV", "MAX_RECENT", "AppSettings", "data_dir", "default_settings"]

MAX_RECENT = 10
ORGANIZATION = "LayerCanvas"
APPLICATION = "LayerCanvas"

_GEOMETRY = "window/geometry"
_STATE = "window/state"
_RECENT = "files/recent"
_LAST_DIR = "files/last_dir"

#: Overrides the app data folder (tests point it at a temporary folder).
DATA_DIR_ENV = "LAYERCANVAS_DATA_DIR"


def data_dir() -> Path:
    """The folder for LayerCanvas's own files: ``$LAYERCANVAS_DATA_DIR`` if set, else
    ``QStandardPaths.AppDataLocation`` (``~/.local/share/LayerCanvas/LayerCanvas`` on Linux).
    Not created here; writers create what they need."""
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    kind = QStandardPaths.StandardLocation
    names = (QCoreApplication.organizationName(), QCoreApplication.applicationName())
    if names == (ORGANIZATION, APPLICATION):
        location = QStandardPaths.writableLocation(kind.AppDataLocation)
        if location:
            return Path(location)
    # Before run_gui names the application (scripts, tests), AppDataLocation would be a
    # shared folder; use the same place it gives once the names are set.
    generic = QStandardPaths.writableLocation(kind.GenericDataLocation) or str(Path.home())
    return Path(generic) / ORGANIZATION / APPLICATION


def default_settings() -> QSettings:
    """The user's settings store (the platform's usual place)."""
    ini, user = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    return QSettings(ini, user, ORGANIZATION, APPLICATION)


class AppSettings:
    """Typed access to the few settings LayerCanvas keeps."""

    def __init__(self, store: QSettings | None = None):
        self.store = store if store is not None else default_settings()

    # -- window -----------------------------------------------------------------------------------

    def geometry(self) -> QByteArray | None:
        return _bytes(self.store.value(_GEOMETRY))

    def window_state(self) -> QByteArray | None:
        return _bytes(self.store.value(_STATE))

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue(_GEOMETRY, geometry)
        self.store.setValue(_STATE, state)
        self.store.sync()

    # -- recent files -----------------------------------------------------------------------------

    def recent_files(self) -> list[Path]:
        """Most recent first; files that no longer exist are left out."""
        value = self.store.value(_RECENT) or []
        if isinstance(value, str):  # QSettings gives a bare string for a one-item list
            value = [value]
        paths = []
        for item in value:
            path = Path(str(item))
            if path.is_file() and path not in paths:
                paths.append(path)
        return paths[:MAX_RECENT]

    def add_recent_file(self, path: str | os.PathLike) -> list[Path]:
        """Put ``path`` first in the recent list; returns the new list."""
        path = Path(path).resolve()
        paths = [path] + [p for p in self.recent_files() if p.resolve() != path]
        self.store.setValue(_RECENT, [str(p) for p in paths[:MAX_RECENT]])
        self.store.sync()
        return paths[:MAX_RECENT]

    def remove_recent_file(self, path: str | os.PathLike) -> None:
        gone = Path(path).resolve()
        paths = [p for p in self.recent_files() if p.resolve() != gone]
        self.store.setValue(_RECENT, [str(p) for p in paths])
        self.store.sync()

    def clear_recent_files(self) -> None:
        self.store.setValue(_RECENT, [])
        self.store.sync()

    # -- dialogs ----------------------------------------------------------------------------------

    def last_directory(self) -> Path:
        value = self.store.value(_LAST_DIR)
        path = Path(str(value)) if value else Path.home()
        return path if path.is_dir() else Path.home()

    def set_last_directory(self, path: str | os.PathLike) -> None:
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        self.store.setValue(_LAST_DIR, str(folder))


def _bytes(value) -> QByteArray | None:
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None

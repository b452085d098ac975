"""Recovery copies of unsaved projects: written by the autosaver, offered after a crash.

A recovery file (``<data dir>/recovery/<key>.lcrecover``) is a project file's JSON inside a
small envelope::

    {"format": "layercanvas-recovery", "version": 1,
     "original": "/home/me/net.lcproj" or "untitled", "saved": "2026-12-04T15:30:00+00:00",
     "project": {"format": "layercanvas-project", "version": 1, ...}}

It is read as project files are: bounded (:func:`engine.safe_files.read_bounded` through
``read_json_file``), then the envelope is checked here and the project by
:meth:`engine.graph.project.Project.from_json` (its migrations included). A file that fails
any check is moved to ``recovery/corrupt/`` and reported once, by
:meth:`RecoveryStore.scan`; it never stops the app.

Each running window holds a ``QLockFile`` (``<key>.lock``) for the copy it writes, so a
second LayerCanvas started meanwhile does not offer another one's live work; the lock of a
killed process is stale and the copy is offered. Writes are atomic
(:func:`engine.safe_files.write_text_atomic`) and never go near the user's own file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLockFile

from engine.graph.project import MAX_PROJECT_BYTES, Project, ProjectError, read_json_file
from engine.safe_files import write_text_atomic

__all__ = [
    "RECOVERY_FORMAT",
    "RECOVERY_VERSION",
    "RecoveryEntry",
    "RecoveryStore",
    "dumps_envelope",
    "envelope",
]

RECOVERY_FORMAT = "layercanvas-recovery"
RECOVERY_VERSION = 1
SUFFIX = ".lcrecover"
UNTITLED = "untitled"
#: A project plus a few envelope keys.
MAX_RECOVERY_BYTES = MAX_PROJECT_BYTES + 64 * 1024


def envelope(project_json: dict[str, Any], original: Path | None, saved: datetime) -> dict:
    """The recovery file's content for a project snapshot (``Project.to_json()``)."""
    return {
        "format": RECOVERY_FORMAT,
        "version": RECOVERY_VERSION,
        "original": str(original) if original is not None else UNTITLED,
        "saved": saved.isoformat(timespec="seconds"),
        "project": project_json,
    }


@dataclass
class RecoveryEntry:
    """A checked recovery file: what to show in the dialog and the project to open."""

    path: Path
    project: Project
    original: Path | None  # None: the project had never been saved
    saved: datetime

    @property
    def name(self) -> str:
        return self.project.name

    @property
    def key(self) -> str:
        return self.path.stem


class RecoveryStore:
    """The recovery folder: write, remove, scan (checking and setting aside bad files)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.corrupt_dir = self.root / "corrupt"
        self._locks: dict[str, QLockFile] = {}

    def new_key(self) -> str:
        """A key for a new copy (one per open project per process)."""
        return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def path_for(self, key: str) -> Path:
        return self.root / f"{key}{SUFFIX}"

    # -- the running app's own copies ------------------------------------------------------------

    def claim(self, key: str) -> None:
        """Hold ``key``'s lock for as long as this process writes that copy (idempotent)."""
        if key in self._locks:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # the write will fail too, and say why
        lock = QLockFile(str(self.root / f"{key}.lock"))
        lock.setStaleLockTime(0)  # stale only when its process is gone, never by age
        if lock.tryLock(0):
            self._locks[key] = lock

    def write(self, key: str, text: str) -> Path:
        """Write a serialised envelope atomically (safe to call from a worker thread once
        :meth:`claim` ran on the owner's thread)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path_for(key)
        write_text_atomic(path, text)
        return path

    def remove(self, key: str) -> None:
        """Delete ``key``'s copy and give up its lock (nothing to do when there is none)."""
        with contextlib.suppress(OSError):
            self.path_for(key).unlink()
        lock = self._locks.pop(key, None)
        if lock is not None:
            lock.unlock()

    # -- after a crash ---------------------------------------------------------------------------

    def scan(self) -> tuple[list[RecoveryEntry], list[str]]:
        """The copies left by processes that are gone, newest first, and one message per
        bad file found (each moved to ``corrupt/`` so it is reported only this once)."""
        entries: list[RecoveryEntry] = []
        problems: list[str] = []
        try:
            if not self.root.is_dir():
                return entries, problems
            paths = sorted(self.root.glob(f"*{SUFFIX}"))
        except OSError as err:  # an unreadable folder must not stop the app
            return entries, [f"{self.root}: cannot list it ({err.strerror or err})"]
        for path in paths:
            try:
                if path.stem in self._locks or not self._orphaned(path.stem):
                    continue  # ours, or another running LayerCanvas's
                entries.append(self.read(path))
            except OSError as err:
                problems.append(f"{path.name}: cannot read it ({err.strerror or err})")
            except ProjectError as err:
                where = f" at {err.key}" if err.key else ""
                problems.append(self._set_aside_text(path, f"{where}: {err.problem}"))
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as err:
                # The project loader names every problem it knows; anything else it raises
                # on a damaged file is still a damaged file, not a reason not to start.
                problems.append(self._set_aside_text(path, f": damaged ({type(err).__name__})"))
        entries.sort(key=lambda e: e.saved, reverse=True)
        return entries, problems

    def read(self, path: str | os.PathLike) -> RecoveryEntry:
        """Read and check one recovery file; raises ``ProjectError`` (file, key, problem)."""
        path = Path(path)
        data = read_json_file(path, MAX_RECOVERY_BYTES, "recovery file")
        if not isinstance(data, dict) or data.get("format") != RECOVERY_FORMAT:
            raise ProjectError(
                path, "format", f'not a recovery file (expected "{RECOVERY_FORMAT}")'
            )
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ProjectError(path, "version", f"expected a whole number ≥ 1, got {version!r}")
        if version > RECOVERY_VERSION:
            raise ProjectError(
                path,
                "version",
                f"written by a newer LayerCanvas (recovery format {version}; this one reads "
                f"up to {RECOVERY_VERSION})",
            )
        original = data.get("original")
        if not isinstance(original, str) or not original:
            raise ProjectError(path, "original", 'expected the project\'s path or "untitled"')
        saved_text = data.get("saved")
        try:
            saved = datetime.fromisoformat(saved_text)
        except (TypeError, ValueError):
            raise ProjectError(path, "saved", f"expected an ISO time, got {saved_text!r}") from None
        if saved.tzinfo is None:
            saved = saved.replace(tzinfo=UTC)
        if "project" not in data:
            raise ProjectError(path, "project", "missing: the recovered project")
        try:
            project = Project.from_json(data["project"], file=path)
        except ProjectError as err:
            key = f"project.{err.key}" if err.key else "project"
            raise ProjectError(path, key, err.problem) from None
        original_path = None if original == UNTITLED else Path(original)
        # Relative data and weights paths start where the user's file is, as when it is opened.
        project.path = original_path
        return RecoveryEntry(path, project, original_path, saved)

    def discard(self, entry: RecoveryEntry) -> None:
        """Delete a copy the user declined (or recovered, once its new copy is written)."""
        with contextlib.suppress(OSError):
            entry.path.unlink()
        self._release_stale_lock(entry.key)

    # -- helpers ---------------------------------------------------------------------------------

    def _orphaned(self, key: str) -> bool:
        """True when no live process holds ``key``'s lock (taking and dropping it to see)."""
        lock_path = self.root / f"{key}.lock"
        if not lock_path.exists():
            return True
        lock = QLockFile(str(lock_path))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            return False
        lock.unlock()  # removes the (now stale-free) lock file
        return True

    def _release_stale_lock(self, key: str) -> None:
        if key in self._locks:
            return
        with contextlib.suppress(OSError):
            (self.root / f"{key}.lock").unlink()

    def _set_aside_text(self, path: Path, problem: str) -> str:
        moved = self._set_aside(path)
        where = f" (moved to {moved.parent})" if moved is not None else ""
        return f"{path.name}{problem}{where}"

    def _set_aside(self, path: Path) -> Path | None:
        """Move a bad file to ``corrupt/`` (a name that is free there); None if that fails
        (the file is then left in place and reported again next time)."""
        try:
            self.corrupt_dir.mkdir(parents=True, exist_ok=True)
            target = self.corrupt_dir / path.name
            n = 1
            while target.exists():
                target = self.corrupt_dir / f"{path.stem}-{n}{path.suffix}"
                n += 1
            shutil.move(str(path), target)
        except OSError:
            return None
        self._release_stale_lock(path.stem)
        return target


def dumps_envelope(data: dict[str, Any]) -> str:
    """Compact JSON: a recovery copy is read by the app, not by people."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

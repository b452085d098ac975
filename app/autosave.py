"""Autosave: a recovery copy of the open project, 30 s after a change and on every Train.

The copy goes to :class:`app.recovery_store.RecoveryStore` (the app data folder), never to
the user's file. The UI thread only takes the snapshot (``Project.to_json()`` and compact
JSON: a few milliseconds for a 300-node project, see ``benchmarks/bench_autosave.py``); the
disk write runs on one worker thread, so writes and removals happen in the order they were
asked for and a slow disk never stalls the window.

When the project becomes clean (saved, or undone back to its saved state) or is closed on
purpose, its copy is removed: only unsaved work is ever offered back.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from app.editing import EditorDocument
from app.recovery_store import RecoveryStore, dumps_envelope, envelope

__all__ = ["AUTOSAVE_INTERVAL_MS", "Autosaver"]

AUTOSAVE_INTERVAL_MS = 30_000


class Autosaver(QObject):
    """Keeps a recovery copy of one editor at a time; see the module docstring.

    Signals:
        saved(object): a copy was written (its ``Path``), on the UI thread.
        failed(str): a copy could not be written (the reason).
    """

    saved = Signal(object)
    failed = Signal(str)
    _done = Signal(object, object)  # (path or None, error text or None), from the worker

    def __init__(
        self,
        store: RecoveryStore,
        interval_ms: int = AUTOSAVE_INTERVAL_MS,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.store = store
        self.editor: EditorDocument | None = None
        self.key: str | None = None
        self.last_snapshot_ms: float | None = None  # UI-thread time of the last snapshot
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.save_now)
        # Made on the first write and shut down on close, so a closed window leaves no
        # thread behind; a window closed and shown again makes a new one.
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[Future] = []
        self._done.connect(self._on_done)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    @property
    def scheduled(self) -> bool:
        """True while a change waits for its autosave."""
        return self._timer.isActive()

    def attach(self, editor: EditorDocument | None) -> None:
        """Follow ``editor`` (the window's new project). The previous project's copy is
        removed: the window only replaces a project once its work is saved or discarded."""
        if self.editor is not None:
            self.editor.undo_stack.indexChanged.disconnect(self._on_change)
            self.editor.modifiedChanged.disconnect(self._on_modified)
            self.discard()
        self.editor = editor
        self.key = self.store.new_key()
        if editor is not None:
            editor.undo_stack.indexChanged.connect(self._on_change)
            editor.modifiedChanged.connect(self._on_modified)
            if editor.modified:  # a recovered project: keep it safe at once
                self.save_now()

    def save_now(self) -> bool:
        """Snapshot the project now and queue its write; False when there is nothing unsaved."""
        self._timer.stop()
        editor = self.editor
        if editor is None or not editor.modified:
            return False
        started = time.perf_counter()
        text = dumps_envelope(
            envelope(editor.project.to_json(), editor.path, datetime.now(UTC).astimezone())
        )
        self.last_snapshot_ms = (time.perf_counter() - started) * 1000
        key = self.key
        self.store.claim(key)
        self._submit(self._write, key, text)
        return True

    def discard(self) -> None:
        """Remove the current project's copy (saved, cleanly closed, or replaced)."""
        self._timer.stop()
        if self.key is not None:
            self._submit(self._remove, self.key)

    def wait(self, timeout: float | None = 10.0) -> None:
        """Block until every queued write and removal is done (closing, tests)."""
        for future in list(self._pending):
            future.result(timeout)
        self._pending = [f for f in self._pending if not f.done()]

    def close(self) -> None:
        """On a clean close: drop the copy, finish the queue and end the worker thread (a
        window closed and shown again keeps autosaving, on a new one)."""
        self.discard()
        self.wait()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- internals --------------------------------------------------------------------------------

    def _on_change(self, _index: int) -> None:
        # The first change after a save arms the timer; later ones ride on it, so a steady
        # stream of edits still gets a copy every interval, never older than one interval.
        if self.editor is not None and self.editor.modified and not self._timer.isActive():
            self._timer.start()

    def _on_modified(self, modified: bool) -> None:
        if not modified:
            self.discard()

    def _submit(self, fn, *args) -> None:
        self._pending = [f for f in self._pending if not f.done()]
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pending.append(self._executor.submit(fn, *args))

    def _write(self, key: str, text: str) -> None:
        try:
            path = self.store.write(key, text)
        except OSError as err:
            self._done.emit(None, f"{self.store.path_for(key)}: {err.strerror or err}")
            return
        self._done.emit(path, None)

    def _remove(self, key: str) -> None:
        self.store.remove(key)

    def _on_done(self, path: Path | None, error: str | None) -> None:
        if error is not None:
            self.failed.emit(error)
        else:
            self.saved.emit(path)

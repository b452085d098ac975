"""Run files written off the training thread: an ordered, coalescing background writer.

Each write is an atomic replace with an fsync (``engine.safe_files``), several milliseconds
apiece; after every epoch a run writes its record and ``last.lcmodel`` (and ``best.lcmodel``
when it improves). Done on the training thread that cost a short digits run in the app a
third of its time. Here the training thread only takes the snapshot (the bytes to write)
and one worker thread puts it on disk.

Writes happen in the order they were asked for (the weights before the record that names
them). A file asked for again before its previous write started is written once, with the
newest bytes: a fast run writes fewer files, never older ones. :meth:`RunWriter.flush`
waits until everything asked for is on disk (the end of training, an interruption), and the
worker thread ends with it; the next write starts a new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

__all__ = ["RunWriter"]


class RunWriter:
    """Writes ``(path, payload)`` jobs with ``write(path, payload)`` on one worker thread.

    ``on_error(path, error)`` is called (on the worker) when a write raises ``OSError``,
    ``ValueError`` or ``TypeError``; later jobs still run and decide for themselves.
    """

    def __init__(self, on_error: Callable[[Path, Exception], None]):
        self._on_error = on_error
        self._lock = threading.Lock()
        self._latest: dict[Path, tuple[Callable, object]] = {}
        self._pending: list[Future] = []
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, path: Path, write: Callable[[Path, object], None], payload) -> None:
        """Ask for ``write(path, payload)``; replaces a not-yet-started write of ``path``."""
        with self._lock:
            queued = path in self._latest
            self._latest[path] = (write, payload)
            if queued:
                return  # the job already queued for this path writes the newest payload
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="run-writer")
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._executor.submit(self._run, path))

    def flush(self) -> None:
        """Block until every write asked for is done, then end the worker thread."""
        with self._lock:
            pending, executor = list(self._pending), self._executor
            self._pending, self._executor = [], None
        for future in pending:
            future.result()
        if executor is not None:
            executor.shutdown(wait=True)

    def _run(self, path: Path) -> None:
        with self._lock:
            write, payload = self._latest.pop(path)
        try:
            write(path, payload)
        except (OSError, ValueError, TypeError) as err:
            self._on_error(path, err)

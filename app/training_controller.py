"""Training in the window: a worker ``QThread`` runs ``fit``; Qt signals report back.

DESIGN.md, "The app": the UI thread never runs a training step. :class:`TrainingController`
takes a *snapshot* of the project when Train is pressed (later edits do not touch the run),
and a worker thread builds the model with :func:`engine.graph.session.prepare_training`,
runs ``model.fit`` with a :class:`QtReportingCallback`, and finally predicts the validation
split for the confusion matrix and the sample grid. The callback turns the engine's hooks
into Qt signals, which Qt queues to the UI thread:

* ``started(RunInfo)`` once the model and data are ready;
* ``batch_end(BatchUpdate)`` with the per-batch losses since the last update, progress,
  samples/s and ETA — batched so the UI gets at most :data:`BATCH_SIGNAL_HZ` updates a
  second however fast the batches are;
* ``epoch_end(int, dict)`` with the epoch's logs (``loss``, metrics, ``val_*``, rate);
* then exactly one of ``finished(TrainingResult)`` (all epochs done), ``stopped(
  TrainingResult)`` (the user pressed Stop; the model trained so far is kept) or
  ``failed(str)`` (a message a user understands: invalid graph, unreadable data, a run
  that diverged — which batch, and that the weights from before it were kept — never a
  traceback; unexpected errors write theirs to a log file and name it).

Pause and stop are flags the worker checks between batches: pause blocks it on a
``threading.Event`` inside ``on_train_batch_end``; stop sets ``model.stop_training`` (and
releases a paused worker). The last trained model stays available (:attr:`model`,
:meth:`predict_function`) for export, evaluation and the sketchpad, and other slow jobs on
it (evaluation, ONNX export) run in the same kind of worker through :meth:`run_task`.

The engine's autodiff recording flag is process-global, so nothing here calls the model
from the UI thread while a worker runs: :attr:`busy` says when it may.

The pieces: :mod:`app.training_results` (what the signals carry, evaluation),
:mod:`app.training_callback` (the engine callback and the flags), :mod:`app.training_worker`
(the worker and the training job) and :mod:`app.training_errors` (messages for failures).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal

from app.training_callback import BATCH_SIGNAL_HZ, QtReportingCallback, RunFlags
from app.training_errors import describe_error
from app.training_results import (
    BatchUpdate,
    Evaluation,
    RunInfo,
    TrainingResult,
    evaluate_model,
)
from app.training_worker import JobWorker, training_job
from engine.graph.project import Project

__all__ = [
    "BATCH_SIGNAL_HZ",
    "BatchUpdate",
    "Evaluation",
    "QtReportingCallback",
    "RunInfo",
    "TrainingController",
    "TrainingResult",
    "describe_error",
    "evaluate_model",
]


class TrainingController(QObject):
    """Starts, pauses, resumes and stops training runs; see the module docstring.

    States (``state_changed``): ``idle``, ``preparing``, ``training``, ``paused``,
    ``stopping``, ``working`` (a task such as evaluation or export).
    """

    started = Signal(object)  # RunInfo
    batch_end = Signal(object)  # BatchUpdate
    epoch_end = Signal(int, object)  # epoch (from 0), logs
    finished = Signal(object)  # TrainingResult
    stopped = Signal(object)  # TrainingResult
    failed = Signal(str)
    paused_changed = Signal(bool)
    state_changed = Signal(str)
    message = Signal(str)
    task_finished = Signal(str, object)  # task name, its return value
    task_failed = Signal(str, str)  # task name, message

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: JobWorker | None = None
        self._flags = RunFlags()
        self._state = "idle"
        self._task_name: str | None = None
        # The outcome signal to emit once the worker thread has ended (see below).
        self._pending: Callable[[], None] | None = None
        self.result: TrainingResult | None = None
        # Called in the worker with the prepared run; returns extra callbacks (app.runs_controller
        # records runs and resumes them through it). Read when a run starts.
        self.setup_hook: Callable[[Any], list] | None = None

    # -- state ----------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        """A worker is running (training or a task): do not touch the model."""
        return self._thread is not None

    @property
    def is_training(self) -> bool:
        return self._state in ("preparing", "training", "paused", "stopping")

    @property
    def is_paused(self) -> bool:
        return self._state == "paused"

    @property
    def model(self):
        """The last trained model (finished or stopped run), or ``None``."""
        return self.result.model if self.result is not None else None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    # -- commands -------------------------------------------------------------------------------

    def start(self, project: Project, **overrides: Any) -> bool:
        """Train a snapshot of ``project`` (``overrides``: ``epochs``, ``batch_size``,
        ``seed`` for :func:`prepare_training`). Returns False if a worker is already busy."""
        if self.busy:
            return False
        try:
            snapshot = Project.from_json(copy.deepcopy(project.to_json()), project.path)
        except ValueError as err:
            self.failed.emit(describe_error(err))
            return False
        self._flags = RunFlags()
        worker = JobWorker(training_job(snapshot, self._flags, overrides, self.setup_hook))
        worker.started.connect(self._on_started)
        worker.batch_end.connect(self.batch_end)
        worker.epoch_end.connect(self.epoch_end)
        worker.paused_changed.connect(self._on_paused)
        worker.message.connect(self.message)
        worker.completed.connect(self._on_completed)
        worker.failed.connect(self._on_failed)
        self._launch(worker)
        self._set_state("preparing")
        return True

    def run_task(self, name: str, fn: Callable[[], Any], doing: str | None = None) -> bool:
        """Run ``fn()`` in a worker thread (evaluation, export: anything that runs the
        model); ``task_finished(name, value)`` or ``task_failed(name, message)`` follows.
        Returns False if a worker is already busy."""
        if self.busy:
            return False

        def job(_worker: JobWorker) -> tuple[str, Any]:
            return "task", fn()

        job.doing = doing or name.capitalize()
        self._task_name = name
        worker = JobWorker(job)
        worker.message.connect(self.message)
        worker.completed.connect(self._on_completed)
        worker.failed.connect(self._on_failed)
        self._launch(worker)
        self._set_state("working")
        return True

    def evaluate(self, split: str = "validation") -> bool:
        """Evaluate the last trained model on a split of its data, in a worker; the
        :class:`Evaluation` arrives with ``task_finished("evaluate", evaluation)``."""
        result = self.result
        if result is None:
            return False
        return self.run_task(
            "evaluate", lambda: evaluate_model(result.model, result.data, split), "Evaluation"
        )

    def forget(self) -> None:
        """Drop the last trained model (another project was opened)."""
        if not self.busy:
            self.result = None

    def pause(self) -> None:
        if self._state == "training":
            self._flags.running.clear()

    def resume(self) -> None:
        self._flags.running.set()

    def toggle_pause(self) -> None:
        if self._state == "paused":
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the run to stop after the current batch (a paused run stops at once)."""
        if self.is_training:
            self._flags.stop.set()
            self._flags.running.set()
            self._set_state("stopping")

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Stop any run and wait for the worker to end (before the window closes)."""
        self.stop()
        thread = self._thread
        if thread is None:
            return True
        # Poll with sleeps rather than one long QThread.wait(): that would hold the GIL the
        # worker needs to reach its next stop check, and so wait for nothing until timeout.
        deadline = time.monotonic() + timeout_ms / 1000.0
        while not thread.isFinished():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        thread.wait(1000)
        # Deliver the worker's last signals (queued to this object) now, so the outcome is
        # announced and the controller is free when this returns.
        QCoreApplication.sendPostedEvents(self, 0)
        return not self.busy

    def predict_function(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """``f(x_batch)`` running the trained model on raw inputs (its training
        normalisation applied), or ``None`` without one. Call it only while not
        :attr:`busy`."""
        result = self.result
        if result is None:
            return None
        model = result.model
        spec = result.normalization

        def predict(x: np.ndarray) -> np.ndarray:
            from engine.data import apply_normalization  # noqa: PLC0415

            if self.busy:
                raise RuntimeError("the model is busy (training or exporting); wait for it")
            out = model.predict(apply_normalization(np.asarray(x, np.float32), spec), verbose=0)
            return out[0] if isinstance(out, list) else out

        return predict

    # -- the worker's lifecycle -----------------------------------------------------------------

    def _launch(self, worker: JobWorker) -> None:
        thread = QThread()
        thread.setObjectName("LayerCanvasTraining")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: the QThread object lives in the UI thread, and a queued quit() would wait
        # for the UI's event loop, which shutdown() does not run while it waits.
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()

    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        if thread is not None:
            thread.deleteLater()
        self._set_state("idle")
        # Announce the outcome only now, so a slot that starts another job finds the
        # controller free.
        pending, self._pending = self._pending, None
        if pending is not None:
            pending()

    def _on_started(self, info: RunInfo) -> None:
        if self._state == "preparing":
            self._set_state("training")
        self.started.emit(info)

    def _on_paused(self, paused: bool) -> None:
        if self._state in ("training", "paused"):
            self._set_state("paused" if paused else "training")
        self.paused_changed.emit(paused)

    def _on_completed(self, outcome: str, payload: Any) -> None:
        if outcome == "task":
            name = self._task_name or "task"
            self._task_name = None
            self._pending = lambda: self.task_finished.emit(name, payload)
            return
        self.result = payload
        if outcome == "finished":
            self._pending = lambda: self.finished.emit(payload)
        elif outcome == "stopped":
            self._pending = lambda: self.stopped.emit(payload)
        else:  # diverged: keep the model, report the reason
            self._pending = lambda: self.failed.emit(payload.note)

    def _on_failed(self, message: str) -> None:
        if self._task_name is not None:
            name = self._task_name
            self._task_name = None
            self._pending = lambda: self.task_failed.emit(name, message)
        else:
            self._pending = lambda: self.failed.emit(message)

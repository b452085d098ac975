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
  ``failed(str)`` (a message a user understands: invalid graph, unreadable data, a NaN
  loss — never a traceback; unexpected errors write theirs to a log file and name it).

Pause and stop are flags the worker checks between batches: pause blocks it on a
``threading.Event`` inside ``on_train_batch_end``; stop sets ``model.stop_training`` (and
releases a paused worker). The last trained model stays available (:attr:`model`,
:meth:`predict_function`) for export, evaluation and the sketchpad, and other slow jobs on
it (evaluation, ONNX export) run in the same kind of worker through :meth:`run_task`.

The engine's autodiff recording flag is process-global, so nothing here calls the model
from the UI thread while a worker runs: :attr:`busy` says when it may.
"""

from __future__ import annotations

import copy
import datetime
import math
import os
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from engine.callbacks import Callback
from engine.graph.project import Project
from engine.user_errors import user_error_types

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

BATCH_SIGNAL_HZ = 30
_MAX_DISPLAY_SAMPLES = 5000  # the sample grid shows at most this many validation samples


# -- what the signals carry ---------------------------------------------------------------------


@dataclass
class RunInfo:
    """A run about to start (``started``)."""

    project_name: str
    epochs: int
    steps_per_epoch: int
    batch_size: int
    train_samples: int
    validation_samples: int
    task: str
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    metrics: list[str]
    parameters: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchUpdate:
    """Per-batch values since the previous update, and where the run stands.

    ``x`` are positions in epochs (batch ``b`` of epoch ``e`` ends at ``e + (b+1)/steps``);
    ``values["loss"]`` the loss of each of those batches, other keys running means of the
    metrics within the epoch.
    """

    x: list[float]
    values: dict[str, list[float]]
    epoch: int
    step: int
    steps: int
    epochs: int
    samples_done: int
    samples_total: int
    samples_per_second: float
    eta_seconds: float | None
    elapsed_seconds: float

    @property
    def fraction(self) -> float:
        return self.samples_done / self.samples_total if self.samples_total else 0.0


@dataclass
class Evaluation:
    """The trained model's answers on one split (``validation`` by default)."""

    split: str
    task: str
    x_display: np.ndarray  # inputs in their own units (normalisation undone)
    y_true: np.ndarray
    y_pred: np.ndarray  # class indices (classification) or values
    confidence: np.ndarray | None
    probabilities: np.ndarray | None
    class_names: list[str] | None
    texts: list[str] | None
    feature_names: list[str] | None
    logs: dict[str, float]
    total_samples: int

    @property
    def accuracy(self) -> float | None:
        if self.task != "classification" or not len(self.y_true):
            return None
        return float(np.mean(self.y_true.reshape(-1) == self.y_pred.reshape(-1)))

    @property
    def num_classes(self) -> int | None:
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        if self.probabilities is not None and self.probabilities.ndim == 2:
            return max(2, self.probabilities.shape[1])
        return int(max(self.y_true.max(initial=0), self.y_pred.max(initial=0))) + 1


@dataclass
class TrainingResult:
    """A finished or stopped run: the trained model and what it did."""

    model: Any
    history: dict[str, list[float]]
    epochs_completed: int
    epochs_planned: int
    stopped: bool
    elapsed_seconds: float
    evaluation: Evaluation | None
    project_json: dict[str, Any]
    normalization: dict[str, Any] | None
    input_shape: tuple[int, ...]
    class_names: list[str] | None
    task: str
    data: Any = None  # the engine.data.PreparedData it trained on (for evaluation)
    note: str | None = None  # e.g. why training ended early (a NaN loss)


# -- turning engine errors into sentences -------------------------------------------------------


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def describe_error(err: BaseException, doing: str = "Training") -> str:
    """One message a user can act on, for an exception raised while ``doing`` something.

    Mistakes in the project, the data or the files are the user's to fix and are told as
    such; anything else is an internal error whose traceback goes to a log file.
    """
    from engine.data import DataError  # noqa: PLC0415
    from engine.graph.session import ProjectInvalid  # noqa: PLC0415

    if isinstance(err, ProjectInvalid):
        errors = [d for d in err.diagnostics if d.severity == "error"]
        lines = [f"{doing} cannot start: the project has {len(errors)} problem(s)."]
        for d in errors[:5]:
            where = f"{d.key}: " if d.key else ""
            fix = f" ({d.fix})" if getattr(d, "fix", None) else ""
            lines.append(f"• {where}{d.message}{fix}")
        if len(errors) > 5:
            lines.append(f"• ... and {len(errors) - 5} more (see the Problems panel)")
        return "\n".join(lines)
    if isinstance(err, DataError):
        return f"{doing} cannot start: the data could not be used. {_one_line(err)}"
    if isinstance(err, user_error_types()):
        return f"{doing} cannot start: {_one_line(err)}"
    if isinstance(err, MemoryError):
        return (
            f"{doing} ran out of memory. Try a smaller batch size, fewer or smaller layers, "
            "or a smaller dataset."
        )
    if isinstance(err, ValueError | TypeError):
        # fit's own checks (label shapes, dtypes) raise ValueError with a clear message.
        return f"{doing} stopped: {_one_line(err)}"
    log = write_crash_log(doing)
    return (
        f"{doing} failed unexpectedly ({type(err).__name__}: {_one_line(err)}). "
        f"The details were written to {log}; please report them."
    )


def write_crash_log(doing: str) -> str:
    """Write the current exception's traceback to a log file; return its path."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = f"LayerCanvas: {doing}\n\n{traceback.format_exc()}"
    folders = []
    if os.environ.get("LAYERCANVAS_LOG_DIR"):
        folders.append(Path(os.environ["LAYERCANVAS_LOG_DIR"]))
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folders += [Path(cache) / "layercanvas" / "logs", Path(tempfile.gettempdir()) / "layercanvas"]
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return str(path)
        except OSError:
            continue
    return "(no log file could be written)"


# -- evaluation -----------------------------------------------------------------------------------


def evaluate_model(model, data, split: str = "validation", batch_size: int = 256) -> Evaluation:
    """Predict one split of prepared data (``engine.data.PreparedData``) and compare.

    Runs the model, so call it in a worker thread (or when no worker runs). Multi-output
    models are judged on their first output.
    """
    from engine.data import invert_normalization  # noqa: PLC0415

    part = data.split(split) if split != "validation" or data.validation is not None else None
    if part is None:
        split, part = "train", data.train
    outputs = model.predict(part.x, batch_size=batch_size, verbose=0)
    out = np.asarray(outputs[0] if isinstance(outputs, list) else outputs, dtype=np.float64)
    logs: dict[str, float] = {}
    if getattr(model, "compiled", False):
        y = part.y if len(model.outputs) == 1 else [part.y] * len(model.outputs)
        try:
            logs = {
                k: float(v)
                for k, v in model.evaluate(
                    part.x, y, batch_size=batch_size, return_dict=True
                ).items()
            }
        except (ValueError, TypeError):
            logs = {}
    task = part.task
    probabilities = confidence = None
    y_true = np.asarray(part.y)
    if task == "classification":
        if out.ndim == 2 and out.shape[1] == 1:
            p = out[:, 0]
            if p.min() < 0 or p.max() > 1:  # logits of a binary classifier
                p = 1.0 / (1.0 + np.exp(-np.clip(p, -60, 60)))
            probabilities = np.column_stack([1.0 - p, p])
        else:
            flat = out.reshape(len(out), -1)
            sums = flat.sum(axis=1)
            if (flat >= 0).all() and np.allclose(sums, 1.0, atol=1e-3):
                probabilities = flat
            else:  # logits: softmax for the confidence shown to the user
                shifted = np.exp(flat - flat.max(axis=1, keepdims=True))
                probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        y_pred = np.argmax(probabilities, axis=1).astype(np.int64)
        confidence = probabilities[np.arange(len(y_pred)), y_pred]
    else:
        y_pred = out.reshape(y_true.shape) if out.size == y_true.size else out
    n = min(len(part), _MAX_DISPLAY_SAMPLES)
    x_display = np.asarray(part.x[:n])
    if x_display.dtype.kind == "f":
        x_display = invert_normalization(x_display, data.normalization)
    return Evaluation(
        split=split,
        task=task,
        x_display=x_display,
        y_true=y_true,
        y_pred=y_pred,
        confidence=confidence,
        probabilities=probabilities,
        class_names=list(part.class_names) if part.class_names is not None else None,
        texts=list(part.texts[:n]) if part.texts is not None else None,
        feature_names=list(part.feature_names) if part.feature_names is not None else None,
        logs=logs,
        total_samples=len(part),
    )


# -- the engine callback --------------------------------------------------------------------------


class _Flags:
    """What the UI thread tells the worker: stop, and pause (cleared event = paused)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.running = threading.Event()
        self.running.set()


class QtReportingCallback(Callback):
    """An engine callback that reports through ``emit_*`` functions and obeys the flags.

    The engine logs the *running mean* of the loss at each batch's end; the loss of the
    batch itself is recovered from consecutive means (``mean_k n_k - mean_{k-1} n_{k-1}``
    over the batch size), which is exact up to rounding.
    """

    def __init__(
        self,
        flags: _Flags,
        emit_batch: Callable[[BatchUpdate], None],
        emit_epoch: Callable[[int, dict], None],
        emit_paused: Callable[[bool], None],
        max_rate_hz: float = BATCH_SIGNAL_HZ,
    ):
        super().__init__()
        self._flags = flags
        self._emit_batch = emit_batch
        self._emit_epoch = emit_epoch
        self._emit_paused = emit_paused
        self._interval = 1.0 / max_rate_hz
        self._pending_x: list[float] = []
        self._pending: dict[str, list[float]] = {}
        self._last_emit = 0.0
        self._epoch = 0
        self._prev_mean = 0.0
        self._prev_count = 0
        self._train_seconds = 0.0
        self._batch_started = 0.0
        self._started = 0.0
        self._samples_done = 0
        self._last_step = 0

    # -- hooks ----------------------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._started = time.perf_counter()
        self._train_seconds = 0.0
        self._samples_done = 0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch = epoch
        self._prev_mean = 0.0
        self._prev_count = 0

    def on_train_batch_begin(self, batch: int, logs=None) -> None:
        self._batch_started = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        now = time.perf_counter()
        self._train_seconds += now - self._batch_started
        logs = logs or {}
        size = int(logs.get("size") or self.params.get("batch_size") or 1)
        count = self._prev_count + size
        mean = float(logs.get("loss", math.nan))
        batch_loss = (mean * count - self._prev_mean * self._prev_count) / size
        self._prev_mean, self._prev_count = mean, count
        self._samples_done += size
        self._last_step = batch
        steps = max(1, int(self.params.get("steps") or 1))
        self._pending_x.append(self._epoch + (batch + 1) / steps)
        self._pending.setdefault("loss", []).append(batch_loss)
        for key, value in logs.items():
            if key not in ("loss", "size", "batch", "num_steps"):
                try:
                    self._pending.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    continue
        if now - self._last_emit >= self._interval or batch + 1 >= steps:
            self.flush()
        self._obey_flags()

    def on_test_batch_end(self, batch: int, logs=None) -> None:
        if self._flags.stop.is_set() and self.model is not None:
            self.model.stop_training = True  # stop after this epoch's validation

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.flush()
        self._emit_epoch(epoch, {k: _plain(v) for k, v in (logs or {}).items()})

    def on_train_end(self, logs=None) -> None:
        self.flush()

    # -- helpers --------------------------------------------------------------------------------

    def _obey_flags(self) -> None:
        flags = self._flags
        if not flags.running.is_set() and not flags.stop.is_set():
            self.flush()
            self._emit_paused(True)
            while not flags.running.wait(0.1):
                if flags.stop.is_set():
                    break
            self._emit_paused(False)
            self._last_emit = 0.0
        if flags.stop.is_set() and self.model is not None:
            self.model.stop_training = True

    def flush(self) -> None:
        """Emit the batches collected since the last update (if any)."""
        if not self._pending_x:
            return
        epochs = int(self.params.get("epochs") or 1)
        steps = max(1, int(self.params.get("steps") or 1))
        total = int(self.params.get("samples") or 0) * epochs
        rate = self._samples_done / self._train_seconds if self._train_seconds > 0 else 0.0
        elapsed = time.perf_counter() - self._started
        eta = None
        if rate > 0 and total:
            # Training time left, stretched by the share of time spent outside training
            # steps so far (validation, data loading, callbacks).
            overhead = elapsed / self._train_seconds if self._train_seconds > 0 else 1.0
            eta = max(0.0, (total - self._samples_done) / rate * overhead)
        update = BatchUpdate(
            x=self._pending_x,
            values=self._pending,
            epoch=self._epoch,
            step=self._last_step,
            steps=steps,
            epochs=epochs,
            samples_done=self._samples_done,
            samples_total=total,
            samples_per_second=rate,
            eta_seconds=eta,
            elapsed_seconds=elapsed,
        )
        self._pending_x, self._pending = [], {}
        self._last_emit = time.perf_counter()
        self._emit_batch(update)


def _plain(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


# -- the worker -----------------------------------------------------------------------------------


class _Worker(QObject):
    """Runs one job in its thread and reports through its signals (queued to the UI)."""

    started = Signal(object)
    batch_end = Signal(object)
    epoch_end = Signal(int, object)
    paused_changed = Signal(bool)
    message = Signal(str)
    completed = Signal(str, object)  # outcome ("finished", "stopped", "task"), payload
    failed = Signal(str)
    done = Signal()

    def __init__(self, job: Callable[[_Worker], tuple[str, Any]]):
        super().__init__()
        self._job = job

    @Slot()
    def run(self) -> None:
        try:
            outcome, payload = self._job(self)
            self.completed.emit(outcome, payload)
        except BaseException as err:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(describe_error(err, getattr(self._job, "doing", "Training")))
        finally:
            self.done.emit()


def _training_job(snapshot: Project, flags: _Flags, overrides: dict[str, Any]):
    """The training job run in the worker thread."""

    def job(worker: _Worker) -> tuple[str, Any]:
        from engine.graph.session import prepare_training  # noqa: PLC0415

        started = time.perf_counter()
        worker.message.emit("Preparing the data and building the model...")
        setup = prepare_training(snapshot, **overrides)
        for warning in setup.warnings:
            worker.message.emit(f"Warning: {warning.text()}")
        model = setup.model
        data = setup.data
        dataset = data.dataset
        info = RunInfo(
            project_name=snapshot.name,
            epochs=setup.epochs,
            steps_per_epoch=setup.steps_per_epoch,
            batch_size=setup.batch_size,
            train_samples=setup.train_samples,
            validation_samples=len(data.validation) if data.validation is not None else 0,
            task=dataset.task,
            class_names=list(dataset.class_names) if dataset.class_names else None,
            input_shape=tuple(dataset.input_shape),
            metrics=list(getattr(model, "metrics_names", []) or []),
            parameters=int(model.count_params()),
            warnings=[w.text() for w in setup.warnings],
        )
        if flags.stop.is_set():
            return "stopped", _result(model, setup, snapshot, started, None, True)
        worker.started.emit(info)
        callback = QtReportingCallback(
            flags, worker.batch_end.emit, worker.epoch_end.emit, worker.paused_changed.emit
        )
        model.fit(**setup.fit_arguments([callback]))
        stopped = flags.stop.is_set()
        note = getattr(model, "stop_reason", None)
        evaluation = None
        if dataset.task in ("classification", "regression") and note is None:
            worker.message.emit("Evaluating on the validation split...")
            evaluation = evaluate_model(model, data, batch_size=max(setup.batch_size, 256))
        result = _result(model, setup, snapshot, started, evaluation, stopped, note)
        if note is not None:
            # A non-finite loss: the engine stopped before the bad update. The model as it
            # was is still kept (it is valid), but the run is reported as failed.
            return "diverged", result
        return ("stopped" if stopped else "finished"), result

    job.doing = "Training"
    return job


def _result(model, setup, snapshot, started, evaluation, stopped, note=None) -> TrainingResult:
    history = {}
    if getattr(model, "history", None) is not None:
        history = {k: list(v) for k, v in model.history.history.items()}
    dataset = setup.data.dataset
    return TrainingResult(
        model=model,
        history=history,
        epochs_completed=len(history.get("loss", [])),
        epochs_planned=setup.epochs,
        stopped=stopped,
        elapsed_seconds=time.perf_counter() - started,
        evaluation=evaluation,
        project_json=snapshot.to_json(),
        normalization=setup.data.normalization,
        input_shape=tuple(dataset.input_shape),
        class_names=list(dataset.class_names) if dataset.class_names else None,
        task=dataset.task,
        data=setup.data,
        note=note,
    )


# -- the controller -------------------------------------------------------------------------------


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
        self._worker: _Worker | None = None
        self._flags = _Flags()
        self._state = "idle"
        self._task_name: str | None = None
        # The outcome signal to emit once the worker thread has ended (see below).
        self._pending: Callable[[], None] | None = None
        self.result: TrainingResult | None = None

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
        self._flags = _Flags()
        worker = _Worker(_training_job(snapshot, self._flags, overrides))
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

        def job(_worker: _Worker) -> tuple[str, Any]:
            return "task", fn()

        job.doing = doing or name.capitalize()
        self._task_name = name
        worker = _Worker(job)
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

    def _launch(self, worker: _Worker) -> None:
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

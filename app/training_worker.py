"""The worker that runs one job (training, evaluation, export) in its ``QThread`` and
reports through queued Qt signals, and the training job itself."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.training_callback import QtReportingCallback, RunFlags
from app.training_errors import describe_error
from app.training_recording import join_all
from app.training_results import RunInfo, TrainingResult, evaluate_model
from engine.graph.project import Project

__all__ = ["JobWorker", "blas_control", "training_job"]


class JobWorker(QObject):
    """Runs one job in its thread and reports through its signals (queued to the UI)."""

    started = Signal(object)
    batch_end = Signal(object)
    epoch_end = Signal(int, object)
    paused_changed = Signal(bool)
    message = Signal(str)
    completed = Signal(str, object)  # outcome ("finished", "stopped", "task"), payload
    failed = Signal(str)
    done = Signal()

    def __init__(self, job: Callable[[JobWorker], tuple[str, Any]]):
        super().__init__()
        self._job = job

    @Slot()
    def run(self) -> None:
        try:
            with blas_control():
                outcome, payload = self._job(self)
            self.completed.emit(outcome, payload)
        except BaseException as err:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(describe_error(err, getattr(self._job, "doing", "Training")))
        finally:
            self.done.emit()


@contextlib.contextmanager
def blas_control() -> Iterator[None]:
    """Let this thread set BLAS's thread count while the job runs.

    The engine picks BLAS threads per training step (``engine.models.blas_threads``) through
    threadpoolctl, and threadpoolctl 3.8 lets only one thread set OpenBLAS's process-wide
    count: the first to do it, for as long as it lives. The UI thread (a prediction for the
    sketchpad or the Activations panel) or an earlier worker (a Qt thread, which Python
    counts as alive forever) would hold that right, and this worker's choice of one thread
    would be ignored without a word: under load, two BLAS threads made the digits CNN's
    epochs several times slower in the app than headless. The UI thread never runs the model
    while a worker does, so nothing else sets the count meanwhile."""
    try:
        from threadpoolctl import OpenBLASController  # noqa: PLC0415 - optional
    except ImportError:
        yield
        return
    release = getattr(OpenBLASController, "clear_controlling_thread", None)
    if release is None:  # threadpoolctl before 3.8: any thread may set the count
        yield
        return
    release(force=True)
    try:
        yield
    finally:
        release()  # only if this thread took the right: hand it back


def training_job(
    snapshot: Project,
    flags: RunFlags,
    overrides: dict[str, Any],
    setup_hook: Callable[[Any], list] | None = None,
):
    """The training job run in the worker thread. ``setup_hook(setup)``, when given, may
    change the prepared run (resume it) and returns extra ``fit`` callbacks (a recorder);
    those wrapped in :class:`app.training_recording.EndBeside` end training beside the
    validation evaluation and are joined before the outcome is reported."""

    def job(worker: JobWorker) -> tuple[str, Any]:
        from engine.graph.session import prepare_training  # noqa: PLC0415

        started = time.perf_counter()
        worker.message.emit("Preparing the data and building the model...")
        setup = prepare_training(snapshot, **overrides)
        extra = list(setup_hook(setup)) if setup_hook is not None else []
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
        try:
            model.fit(**setup.fit_arguments([callback, *extra]))
            stopped = flags.stop.is_set()
            note = getattr(model, "stop_reason", None)
            evaluation = None
            if dataset.task in ("classification", "regression") and note is None:
                worker.message.emit("Evaluating on the validation split...")
                evaluation = evaluate_model(model, data, batch_size=max(setup.batch_size, 256))
        finally:
            # A recorder's end of training (its last writes) ran beside the evaluation;
            # the outcome is reported once the run's files are all on disk.
            join_all(extra)
        result = _result(model, setup, snapshot, started, evaluation, stopped, note)
        if note is not None:
            # The run diverged (a NaN or infinite loss, or an update that would have made
            # weights NaN or infinite). fit put back the weights and optimizer state from
            # before that batch, so the model kept here is finite and valid; the run is
            # reported as failed with fit's message, which names the epoch and batch.
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

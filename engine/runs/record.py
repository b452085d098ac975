"""Recording a run as it trains: the ``fit`` callback that fills a :class:`RunRecord`.

:func:`record_run` makes a record for a prepared run (``engine.graph.session``'s
``TrainingSetup``) and returns the :class:`RunRecorder` to pass to ``fit``. After every
epoch the recorder appends the epoch's logs to the history, writes ``last.lcmodel`` (so a
run killed half-way can still be resumed from its last completed epoch) and, when the
monitored value improves, ``best.lcmodel`` — as ``ModelCheckpoint(save_best_only=True)``
would, monitoring ``val_loss`` when the run has validation data and ``loss`` otherwise. At
the end it sets the status: ``diverged`` (``fit`` stopped at a NaN or infinite loss or
update; the weights kept are from before it), ``stopped`` (fewer epochs than planned, not by
early stopping) or ``finished``.

Weights holding NaN or infinity are never written. Recording never breaks training: a
write that fails (a full disk, a read-only folder) is kept in :attr:`RunRecorder.problem`
and recording stops, the run goes on.

The training thread only takes snapshots (the record's text, the weight file's bytes); a
:class:`engine.runs.writer.RunWriter` puts them on disk in order on its own thread, and the
end of training (or an interruption) waits for it, so when ``fit`` returns every file is
written.
"""

from __future__ import annotations

import math
import time
from typing import Any

from engine.callbacks.base import Callback
from engine.model_files.archive import write_archive
from engine.runs.store import BEST_WEIGHTS, LAST_WEIGHTS, RECORD_FILE, RunRecord, RunStore
from engine.runs.writer import RunWriter
from engine.safe_files import write_text_atomic

__all__ = ["RunRecorder", "record_run"]


def record_run(
    store: RunStore,
    setup,
    *,
    source: str,
    parent: str | None = None,
    name: str | None = None,
    experiment: dict | None = None,
) -> RunRecorder:
    """Create the record of the run ``setup`` is about to make and its recorder
    (``experiment``: the tag of an experiment's trial, see :mod:`engine.runs.store`)."""
    record = store.create(
        setup.project.to_json(),
        seed=setup.seed,
        batch_size=setup.batch_size,
        epochs_planned=setup.epochs,
        initial_epoch=setup.initial_epoch,
        parent=parent,
        source=source,
        name=name,
        experiment=experiment,
    )
    early = [c for c in setup.callbacks if hasattr(c, "stopped_epoch")]
    has_validation = setup.data.validation is not None
    return RunRecorder(store, record, has_validation=has_validation, early_stoppers=early)


class RunRecorder(Callback):
    """Fills and writes ``record`` while ``fit`` runs (see the module docstring)."""

    def __init__(
        self,
        store: RunStore,
        record: RunRecord,
        *,
        has_validation: bool,
        early_stoppers: list | tuple = (),
    ):
        super().__init__()
        self.store = store
        self.record = record
        self.record.monitor = "val_loss" if has_validation else "loss"
        self._early = list(early_stoppers)
        self._started = 0.0
        self._best = math.inf if record.best is None else record.best["value"]
        self.problem: str | None = None
        self._writer = RunWriter(self._write_failed)

    # -- hooks ---------------------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._started = time.perf_counter()
        self.record.status = "running"
        self._write()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = {k: _plain(v) for k, v in (logs or {}).items()}
        history = self.record.history
        history.setdefault("epoch", []).append(float(epoch + 1))
        rows = len(history["epoch"])
        for key, value in logs.items():
            if isinstance(value, float):
                column = history.setdefault(key, [])
                # validation_freq > 1: epochs without val_ values get NaN so columns align.
                column.extend([math.nan] * (rows - 1 - len(column)))
                column.append(value)
        self.record.final = {k: v for k, v in logs.items() if isinstance(v, float)}
        self.record.wall_seconds = time.perf_counter() - self._started
        if self._finite():
            self._save_weights("last", LAST_WEIGHTS)
            current = logs.get(self.record.monitor)
            if isinstance(current, float) and math.isfinite(current) and current < self._best:
                self._best = current
                self.record.best = {"epoch": epoch + 1, "value": current}
                self._save_weights("best", BEST_WEIGHTS)
        self._write()

    def on_train_end(self, logs=None) -> None:
        model = self.model
        self.record.wall_seconds = time.perf_counter() - self._started
        reason = getattr(model, "stop_reason", None)
        if reason:
            self.record.status = "diverged"
            self.record.note = str(reason)
        elif self.record.epochs_done < self.record.epochs_planned and not any(
            getattr(c, "stopped_epoch", 0) for c in self._early
        ):
            self.record.status = "stopped"
        else:
            self.record.status = "finished"
        if self.record.status != "diverged" and self._finite():
            # The optimizer's end-of-training hook (use_ema) may have changed the weights.
            self._save_weights("last", LAST_WEIGHTS)
        self._write()
        self._writer.flush()

    def interrupted(self) -> None:
        """The run was cut short outside ``fit``'s control (Ctrl-C): mark it stopped. The
        last weights on file are those of the last completed epoch."""
        self.record.status = "stopped"
        if self._started:
            self.record.wall_seconds = time.perf_counter() - self._started
        self._write()
        self._writer.flush()

    # -- writing -------------------------------------------------------------------------------

    def _finite(self) -> bool:
        from engine.models.finite import nonfinite_weights  # noqa: PLC0415

        return self.model is not None and not nonfinite_weights(self.model)

    def _save_weights(self, which: str, name: str) -> None:
        if self.problem is not None or self.record.folder is None:
            return
        from engine.io import model_members  # noqa: PLC0415 - io imports the models

        try:
            members = model_members(self.model)
        except (ValueError, TypeError) as err:
            self._failed(f"cannot write the {which} weights of run {self.record.id}: {err}")
            return
        self._writer.submit(self.record.folder / name, self._write_weights, members)
        self.record.weights[which] = name

    def _write(self) -> None:
        if self.problem is not None:
            return
        try:
            path, text = self.store.record_text(self.record)
        except OSError as err:
            self._failed(f"cannot write run record {self.record.id}: {err.strerror or err}")
            return
        self._writer.submit(path, self._write_text, text)

    # On the writer's thread: a write after a failed one is skipped (recording has stopped).

    def _write_weights(self, path, members) -> None:
        if self.problem is None:
            write_archive(path, members, overwrite=True)

    def _write_text(self, path, text) -> None:
        if self.problem is None:
            write_text_atomic(path, text)

    def _write_failed(self, path, err: Exception) -> None:
        if path.name == RECORD_FILE:
            reason = getattr(err, "strerror", None) or err
            self._failed(f"cannot write run record {self.record.id}: {reason}")
        else:
            which = "best" if path.name == BEST_WEIGHTS else "last"
            self._failed(f"cannot write the {which} weights of run {self.record.id}: {err}")

    def _failed(self, message: str) -> None:
        self.problem = f"{message}; this run is no longer being recorded"


def _plain(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value

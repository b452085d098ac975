"""``ModelCheckpoint``: saving the model (or its weights) as training goes.

A model whose weights hold NaN or infinite values is never written: the checkpoint is
skipped with a :class:`~engine.models.finite.NonFiniteWeightsWarning`, so an earlier,
finite file at the same path stays as it was.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from engine.callbacks.base import Callback, _monitor_is_max, _monitored, _plain, _print

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) as training
    goes.

    ``filepath`` may contain ``{epoch:02d}`` (counting from 1), ``{batch}`` and any log value
    such as ``{val_loss:.4f}``. With ``save_best_only`` a file is written only when
    ``monitor`` improves on the best value so far (or on ``initial_value_threshold``).
    ``save_freq`` is ``"epoch"`` or a number of batches. ``last_saved`` is the last path
    written. Non-finite weights are not saved (a warning says which layers hold them, and
    ``last_refused`` keeps that message).
    """

    def __init__(
        self,
        filepath,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq="epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"save_freq must be 'epoch' or a positive integer, got {save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self._maximize = _monitor_is_max(monitor, mode, "ModelCheckpoint")
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = -math.inf if self._maximize else math.inf
        self.last_saved: str | None = None
        self.last_refused: str | None = None
        self._epoch = 0
        self._batches_since_save = 0

    def _improved(self, current: float) -> bool:
        return current > self.best if self._maximize else current < self.best

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def format_path(self, epoch: int, batch: int | None, logs: dict) -> str:
        """``filepath`` with its placeholders filled (epoch and batch counted from 1)."""
        values = {k: _plain(v) for k, v in logs.items()}
        values["epoch"] = epoch + 1
        if batch is not None:
            values["batch"] = batch + 1
        try:
            return self.filepath.format(**values)
        except KeyError as exc:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} uses {{{exc.args[0]}}}, which is "
                f"not in the logs (available: {', '.join(values)})"
            ) from None

    def _save(self, epoch: int, batch: int | None, logs: dict) -> None:
        path = self.format_path(epoch, batch, logs)
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if not self._improved(current):
                if self.verbose:
                    _print(
                        f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}"
                    )
                return
            if self._refused(epoch, path):
                return  # not the best model on file: it was not written
            if self.verbose:
                _print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self._refused(epoch, path):
            return
        elif self.verbose:
            _print(f"Epoch {epoch + 1}: saving model to {path}")
        self._write(path)

    def _refused(self, epoch: int, path: str) -> bool:
        """Whether the weights are not finite, in which case nothing is written (and say so)."""
        bad = _nonfinite_weights(self.model)
        if bad is None:
            return False
        from engine.models.finite import NonFiniteWeightsWarning  # noqa: PLC0415

        kept = "; the earlier file there was kept" if os.path.exists(path) else ""
        self.last_refused = (
            f"Epoch {epoch + 1}: ModelCheckpoint did not save {path}: the weights of {bad} are "
            f"NaN or infinite{kept}"
        )
        warnings.warn(self.last_refused, NonFiniteWeightsWarning, stacklevel=2)
        return True

    def _write(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path


def _nonfinite_weights(model) -> str | None:
    """Which of ``model``'s weights hold NaN or infinity, as text; ``None`` if all are finite.

    A model with layers is asked per layer (the check runs on the weights' device); other
    models only need ``get_weights()``, as the callbacks' contract says."""
    if getattr(model, "layers", None) is not None:
        from engine.models.finite import describe_nonfinite, nonfinite_weights  # noqa: PLC0415

        found = nonfinite_weights(model)
        return describe_nonfinite(found) if found else None
    get_weights = getattr(model, "get_weights", None)
    if get_weights is None:
        return None
    bad = 0
    for weights in get_weights():
        array = np.asarray(weights)
        if array.dtype.kind in "fc":
            bad += int(np.count_nonzero(~np.isfinite(array)))
    return f"the model ({bad:,} values)" if bad else None

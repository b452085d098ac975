"""One batch of training, evaluation or prediction, and the running means they log.

A training step runs the model's compiled plan with ``training=True`` while recording,
computes the data loss (each output's loss, weighted by the sample weights and the loss
weights) plus the regularization penalties the forward pass left in ``model.losses``
(weight penalties and activity terms; Keras adds them to the loss it minimises and
reports), takes the gradients of every trainable weight and hands them to the optimizer,
then updates the metrics. :class:`~engine.models.step_guard.StepGuard` watches the step:
a NaN or infinite loss, moving statistic, gradient or updated weight (the loss can still be
finite, 1e27, when an overflowing update turns Adam's step into NaN) undoes it, so the
weights and optimizer state are exactly as before that batch.

Logged per step: ``loss`` (data + regularization, as Keras), ``<output>_loss`` for several
outputs, ``regularization_loss`` (the penalties alone; only for a model that has any, so
the app can plot the terms apart) and the metrics.

Syncs: a training batch brings back its loss, one number for each fused finiteness check
(gradients, weights) and each metric once per logged value; evaluation keeps its running
losses on the device and syncs once at the end.
"""

from __future__ import annotations

import math

import numpy as np

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor, enable_grad, grad, no_grad
from engine.models.step_guard import StepGuard, describe_arrays

__all__ = ["REGULARIZATION_LOSS", "StepsMixin"]

#: The log key of the regularization penalties (data loss = loss - regularization_loss).
REGULARIZATION_LOSS = "regularization_loss"


class Mean:
    """A running mean weighted by batch size; the total may stay on the device."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value, n: int) -> None:
        self.total = self.total + value * n
        self.count += n

    def result(self) -> float:
        if not self.count:
            return float("nan")
        return float(backend.to_numpy(self.total)) / self.count


def _as_float64(array):
    """Running sums stay on the device, in float64 so that many batches lose no precision."""
    xp = backend.xp
    return xp.astype(array, xp.float64)


def _to_device(arrays) -> list:
    # Raw uint8 images are kept uint8 on the host and become float32 one batch at a time.
    return [
        None if a is None else backend.asarray(a.astype("float32") if a.dtype == "uint8" else a)
        for a in arrays
    ]


class StepsMixin:
    """Single-batch steps and the running means; mixed into ``TrainingMixin``."""

    def _reset_trackers(self) -> None:
        spec = self._compiled_spec()
        self._loss_tracker = Mean()
        self._part_trackers = [Mean() for _ in spec.loss_names()]
        self._regularization_tracker = Mean()
        spec.reset_metrics()

    def _logs(self) -> dict[str, float]:
        """The running values since the last reset (one host sync per value)."""
        spec = self._compiled_spec()
        logs = {"loss": self._loss_tracker.result()}
        for name, tracker in zip(spec.loss_names(), self._part_trackers):
            logs[name] = tracker.result()
        if self._regularization_tracker.count:
            logs[REGULARIZATION_LOSS] = self._regularization_tracker.result()
        logs.update(spec.metric_results())
        return logs

    def _regularization(self) -> Tensor | None:
        """The sum of ``model.losses`` (recorded by the forward pass just run), or None."""
        terms = list(getattr(self, "losses", None) or [])
        if not terms:
            return None
        total = None
        for term in terms:
            term = term if isinstance(term, Tensor) else Tensor(backend.asarray(term))
            term = ops.sum_(term) if term.ndim else term
            total = term if total is None else ops.add(total, term)
        return total

    def _total_loss(self, spec, y, predictions, weights):
        """(data + regularization loss, per-output losses, the regularization or None)."""
        data, parts = spec.compute_loss(y, predictions, weights)
        penalty = self._regularization()
        if penalty is None:
            return data, parts, None
        return ops.add(data, penalty), parts, penalty

    def _track(self, total, parts, penalty, n: int, sync: bool) -> float | None:
        """Add a batch's losses to the running means; ``sync`` brings the total back now."""
        value = float(backend.to_numpy(total.data)) if sync else _as_float64(total.data)
        self._loss_tracker.update(value, n)
        if self._compiled_spec().several:
            for tracker, part in zip(self._part_trackers, parts):
                tracker.update(_as_float64(part.data), n)
        if penalty is not None:
            self._regularization_tracker.update(_as_float64(penalty.data), n)
        return value if sync else None

    def _guard(self) -> StepGuard:
        if self._step_guard is None or self._step_guard.optimizer is not self.optimizer:
            self._step_guard = StepGuard(self.optimizer)
        return self._step_guard

    def _train_step(self, x_batch: list, y_batch: list, weights: list | None = None):
        """One optimisation step. Returns ``None``, or why the step was undone (a non-finite
        loss, gradients or weights); the weights and optimizer state are then as before."""
        spec = self._compiled_spec()
        variables = self.trainable_weights
        guard = self._guard()
        guard.begin(self.weights, variables)
        try:
            return self._guarded_step(spec, variables, guard, x_batch, y_batch, weights)
        except BaseException:
            guard.restore(updated=True)  # an error or Ctrl-C mid-update: undo what we can
            raise

    def _guarded_step(self, spec, variables, guard, x_batch, y_batch, weights) -> str | None:
        x = [Tensor(a) for a in _to_device(x_batch)]
        y = _to_device(y_batch)
        w = None if weights is None else _to_device(weights)
        # Overflow shows up as non-finite values, checked and explained below.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            with enable_grad():
                predictions = self.plan().run(x, training=True)
                total, parts, penalty = self._total_loss(spec, y, predictions, w)
                # Keras's loss_scale_factor: gradients of the scaled loss, which
                # apply_gradients divides back.
                scaled = self.optimizer.scale_loss(total)
            loss = self._track(total, parts, penalty, len(x_batch[0]), sync=True)
            if not math.isfinite(loss):
                guard.restore(updated=False)  # the forward pass may have moved statistics
                return f"the loss became {loss}"
            if not guard.forward_finite():  # e.g. a moving variance overflowed
                found = describe_arrays(guard.nonfinite())
                guard.restore(updated=False)
                return f"the forward pass made {found} NaN or infinite (the loss was {loss:.4g})"
            if variables:
                gradients = grad(scaled, variables)
                if not guard.gradients_finite(gradients):
                    guard.restore(updated=False)
                    return f"the gradients became NaN or infinite while the loss was {loss:.4g}"
                guard.protect()
                self.optimizer.apply_gradients(list(zip(gradients, variables)))
                if not guard.finite():
                    found = describe_arrays(guard.nonfinite())
                    if not guard.restore(updated=True):
                        return f"the update made {found} NaN or infinite (not put back)"
                    return (
                        f"the update made {found} NaN or infinite while the loss was still "
                        f"{loss:.4g}"
                    )
        with no_grad():
            spec.update_metrics(y, predictions, w)
        return None

    def _test_step(self, x_batch: list, y_batch: list, weights: list | None = None) -> None:
        spec = self._compiled_spec()
        with no_grad():
            x = [Tensor(a) for a in _to_device(x_batch)]
            y = _to_device(y_batch)
            w = None if weights is None else _to_device(weights)
            predictions = self.plan().run(x, training=False)
            total, parts, penalty = self._total_loss(spec, y, predictions, w)
            self._track(total, parts, penalty, len(x_batch[0]), sync=False)
            spec.update_metrics(y, predictions, w)

    def _predict_step(self, x_batch: list) -> list[np.ndarray]:
        with no_grad():
            x = [Tensor(a) for a in _to_device(x_batch)]
            return [backend.to_numpy(p.data) for p in self.plan().run(x, training=False)]

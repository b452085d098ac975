"""``evaluate``, ``train_on_batch`` and ``test_on_batch``: Keras's evaluation and
single-batch API.

``evaluate(x, y, sample_weight=...)`` weights the loss and the ``weighted_metrics`` as
``fit`` does; its loss includes the regularization penalties, as Keras's does. The list it
returns follows ``metrics_names`` (Keras's); ``return_dict=True`` also carries
``regularization_loss`` for a model with regularizers.
"""

from __future__ import annotations

import contextlib
import math

from engine.models.blas_threads import StepThreads, memory_of
from engine.models.sample_weights import (
    check_class_weight,
    class_weights_to_samples,
    sample_weight_arrays,
)

__all__ = ["EvaluationMixin"]


class EvaluationMixin:
    """Mixed into ``TrainingMixin`` (which gives the steps and data helpers)."""

    def _run_test(self, xs, ys, ws, batch_size: int, callback_list, steps=None) -> dict:
        self._reset_trackers()
        callback_list.on_test_begin()
        loader = self._loader(xs, ys, batch_size, weights=ws)
        n_outputs = len(self.outputs)
        threads = StepThreads(memory_of(self, "inference"))  # BLAS threads, as in fit
        with contextlib.closing(loader.epoch(0)) as batches, contextlib.closing(threads):
            for step, (x_batch, y_batch) in enumerate(batches):
                if steps is not None and step >= steps:
                    break
                xb, yb = self._as_lists(x_batch, y_batch)
                yb, wb = yb[:n_outputs], (yb[n_outputs:] or None)
                callback_list.on_test_batch_begin(step, {"size": len(xb[0])})
                with threads:
                    self._test_step(xb, yb, wb)
                callback_list.on_test_batch_end(step, {"size": len(xb[0])})
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size: int = 32,
        verbose=0,
        sample_weight=None,
        steps: int | None = None,
        callbacks=None,
        return_dict=False,
    ):
        """The loss (and metrics) over all of ``x``/``y``: a float, a list, or a dict."""
        spec = self._require_compiled("evaluate", x)
        batch_size = self._check_batch_size(batch_size)
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 1
        ):
            raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
        if y is None:
            raise ValueError("evaluate needs targets: model.evaluate(x, y)")
        xs, ys = self._prepare(x, y, spec)
        ws = sample_weight_arrays(self, sample_weight, len(xs[0]))
        n_steps = math.ceil(len(xs[0]) / batch_size)
        n_steps = n_steps if steps is None else min(steps, n_steps)
        params = {"epochs": 1, "steps": n_steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=False)
        logs = self._run_test(xs, ys, ws, batch_size, callback_list, steps)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs: dict, return_dict: bool):
        if return_dict:
            return dict(logs)
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def _batch_weights(self, ys, sample_weight, class_weight):
        if class_weight is not None and sample_weight is not None:
            raise ValueError("give class_weight or sample_weight, not both (as in Keras)")
        if class_weight is not None:
            return [class_weights_to_samples(ys[0], check_class_weight(class_weight, self))]
        return sample_weight_arrays(self, sample_weight, len(ys[0]))

    def train_on_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        class_weight=None,
        return_dict: bool = False,
        *,
        reset_metrics: bool = True,
    ):
        """One optimisation step on exactly this batch; returns the loss (and metrics).

        A non-finite loss, or an update that would leave non-finite weights, leaves the
        weights and optimizer state as they were and sets ``stop_reason``.
        """
        spec = self._require_compiled("train_on_batch", x)
        xs, ys = self._prepare(x, y, spec)
        ws = self._batch_weights(ys, sample_weight, class_weight)
        if reset_metrics:
            self._reset_trackers()
        self.stop_reason = None
        self._guard().stale()  # the weights may have been set since the last call
        problem = self._train_step(xs, ys, ws)
        if problem is not None:
            kept = "" if problem.endswith("(not put back)") else "; the weights were left as "
            self.stop_reason = problem + (f"{kept}they were before this batch" if kept else "")
        return self._format_results(self._logs(), return_dict)

    def test_on_batch(
        self,
        x,
        y=None,
        sample_weight=None,
        return_dict: bool = False,
        *,
        reset_metrics: bool = True,
    ):
        """The loss (and metrics) on exactly this batch, in inference mode."""
        spec = self._require_compiled("test_on_batch", x)
        xs, ys = self._prepare(x, y, spec)
        ws = sample_weight_arrays(self, sample_weight, len(xs[0]))
        if reset_metrics:
            self._reset_trackers()
        self._test_step(xs, ys, ws)
        return self._format_results(self._logs(), return_dict)

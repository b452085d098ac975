"""``predict`` and ``predict_on_batch``: the model's outputs in inference mode.

Nothing is recorded for gradients; each batch's outputs come back to the host once and
are concatenated, one array per output.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from engine.models.blas_threads import StepThreads, memory_of

__all__ = ["PredictMixin"]


class PredictMixin:
    """Mixed into ``TrainingMixin`` (which gives the steps and data helpers)."""

    def predict(self, x, batch_size: int = 32, verbose=0, steps=None, callbacks=None):
        """The model's outputs on ``x`` (inference mode, no recording), as numpy arrays."""
        batch_size = self._check_batch_size(batch_size)
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 1
        ):
            raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
        xs, _ = self._prepare(x, None, None)
        n_steps = math.ceil(len(xs[0]) / batch_size)
        n_steps = n_steps if steps is None else min(steps, n_steps)
        params = {"epochs": 1, "steps": n_steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=False)
        chunks: list[list[np.ndarray]] = [[] for _ in self.outputs]
        callback_list.on_predict_begin()
        loader = self._loader(xs, None, batch_size)
        threads = StepThreads(memory_of(self, "inference"))  # BLAS threads, as in fit
        with contextlib.closing(loader.epoch(0)) as batches, contextlib.closing(threads):
            for step, (x_batch, _) in enumerate(batches):
                if step >= n_steps:
                    break
                xb, _ = self._as_lists(x_batch, None)
                callback_list.on_predict_batch_begin(step, {"size": len(xb[0])})
                with threads:
                    outputs = self._predict_step(xb)
                for store, out in zip(chunks, outputs):
                    store.append(out)
                callback_list.on_predict_batch_end(step, {"size": len(xb[0])})
        callback_list.on_predict_end()
        results = [np.concatenate(parts, axis=0) for parts in chunks]
        return results[0] if len(results) == 1 else results

    def predict_on_batch(self, x):
        """The outputs for exactly this batch, as numpy arrays."""
        xs, _ = self._prepare(x, None, None)
        results = self._predict_step(xs)
        return results[0] if len(results) == 1 else results

"""``compile`` and the data helpers of Keras's training API; the loops live apart.

:class:`TrainingMixin` (mixed into :class:`~engine.models.functional.Model`) gathers:

- :mod:`~engine.models.fit_loop` — ``fit`` (class/sample weights, ``validation_freq``,
  ``initial_epoch``, ``steps_per_epoch``, the optimizer's end-of-training hook);
- :mod:`~engine.models.evaluation` — ``evaluate``, ``train_on_batch``, ``test_on_batch``;
- :mod:`~engine.models.predict` — ``predict``, ``predict_on_batch``;
- :mod:`~engine.models.steps` — one batch of each, the regularization term and the
  running means that are logged;

and keeps here what they share: ``compile`` (with Keras's ``weighted_metrics``), the
resolved :class:`~engine.models.compile_spec.CompileSpec`, bringing ``x``/``y`` into the
model's structure, the batch loader and the callbacks.
"""

from __future__ import annotations

import numpy as np

from engine.models import validation
from engine.models.compile_spec import CompileSpec, resolve
from engine.models.evaluation import EvaluationMixin
from engine.models.fit_loop import FitMixin
from engine.models.predict import PredictMixin
from engine.models.step_guard import StepGuard
from engine.models.steps import Mean, StepsMixin

__all__ = ["TrainingMixin"]


class TrainingMixin(FitMixin, EvaluationMixin, PredictMixin, StepsMixin):
    """Keras's training API; mixed into :class:`~engine.models.functional.Model`."""

    def _init_training_state(self) -> None:
        self.optimizer = None
        self.compiled = False
        self.history = None
        self.stop_training = False
        self.stop_reason: str | None = None
        self._compile_args: dict | None = None
        self._spec: CompileSpec | None = None
        self._loss_tracker = Mean()
        self._part_trackers: list[Mean] = []
        self._regularization_tracker = Mean()
        self._step_guard: StepGuard | None = None

    # -- compile ------------------------------------------------------------------------------

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
    ) -> None:
        """Choose the optimizer, the loss (per output) and the metrics to report;
        ``weighted_metrics`` also take the sample (or class) weights, as in Keras."""
        from engine import optimizers  # noqa: PLC0415 - families load lazily

        self.optimizer = optimizers.get(optimizer)
        self._compile_args = {
            "loss": loss,
            "metrics": metrics,
            "loss_weights": loss_weights,
            "weighted_metrics": weighted_metrics,
        }
        self._spec = None
        self.compiled = True
        if self.built:
            self._compiled_spec()  # report bad names now rather than at fit time

    def _compiled_spec(self) -> CompileSpec:
        if self._spec is None:
            args = self._compile_args or {}
            self._spec = resolve(
                self.output_names,
                args.get("loss"),
                args.get("metrics"),
                args.get("loss_weights"),
                args.get("weighted_metrics"),
            )
            self._part_trackers = [Mean() for _ in self._spec.loss_names()]
        return self._spec

    def _require_compiled(self, what: str, x) -> CompileSpec:
        """The compile spec, once the model is compiled and built (from ``x`` if lazy)."""
        if not self.compiled:
            raise RuntimeError(
                f"call model.compile(optimizer=..., loss=...) before model.{what}(...)"
            )
        self._ensure_built_for(x)
        spec = self._compiled_spec()
        if all(loss is None for loss in spec.losses):
            raise RuntimeError(f"model.{what} needs a loss: compile the model with loss=...")
        return spec

    @property
    def metrics_names(self) -> list[str]:
        """The names ``evaluate`` returns values for, in order."""
        spec = self._compiled_spec()
        return ["loss", *spec.loss_names(), *spec.all_metric_names()]

    # -- data ------------------------------------------------------------------------------------

    def _prepare(self, x, y, spec: CompileSpec | None, what: str = "") -> tuple[list, list | None]:
        self._ensure_built_for(x)
        prefix = f"{what} " if what else ""
        xs = validation.input_arrays(self, x, what=f"{prefix}x".strip())
        ys = None
        if y is not None:
            losses = spec.losses if spec is not None else None
            ys = validation.target_arrays(self, y, losses, what=f"{prefix}y".strip())
        validation.check_same_length(xs, ys)
        return xs, ys

    @staticmethod
    def _loader(
        xs, ys, batch_size, shuffle=False, seed=0, augment=None, prefetch=False, weights=None
    ):
        """Batches of ``x`` and ``y``; sample ``weights`` (one array per output) ride in the
        ``y`` batch after the targets, so shuffling keeps them with their samples."""
        from engine.data.loader import BatchLoader  # noqa: PLC0415

        if weights is not None and ys is not None:
            n = len(xs[0])
            ys = [*ys, *(np.ones(n, np.float32) if w is None else w for w in weights)]
        x = xs[0] if len(xs) == 1 else xs
        y = None if ys is None else (ys[0] if len(ys) == 1 else ys)
        return BatchLoader(
            x, y, batch_size, shuffle=shuffle, seed=seed, augment=augment, prefetch=prefetch
        )

    @staticmethod
    def _as_lists(x_batch, y_batch) -> tuple[list, list | None]:
        xs = list(x_batch) if isinstance(x_batch, list | tuple) else [x_batch]
        if y_batch is None:
            return xs, None
        ys = list(y_batch) if isinstance(y_batch, list | tuple) else [y_batch]
        return xs, ys

    @staticmethod
    def _check_batch_size(batch_size) -> int:
        if batch_size is None:
            return 32  # Keras's default
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        return int(batch_size)

    def _callbacks(self, callbacks, verbose, params: dict, history: bool):
        from engine import callbacks as callbacks_module  # noqa: PLC0415

        verbose = 1 if verbose == "auto" else int(verbose)
        return callbacks_module.CallbackList(
            callbacks,
            model=self,
            params={**params, "verbose": verbose},
            add_history=history,
            add_progbar=verbose != 0,
        )

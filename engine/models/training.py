"""``compile``, ``fit``, ``evaluate``, ``predict`` and the single-batch variants.

These are Keras's training loops on numpy arrays. Every batch crosses to the device once
(``backend.asarray``) and results come back once (``backend.to_numpy``); the model's graph
runs through its compiled :class:`~engine.models.plan.ExecutionPlan`. A training step is:
run the plan with ``training=True`` while recording, compute the weighted loss, check that
it is finite (a NaN or infinite loss stops training before the update, like Keras's
``TerminateOnNaN``, so the weights are never replaced by garbage), take the gradients of
every trainable weight and hand them to the optimizer, then update the metrics.

Reproducibility: ``fit(seed=s)`` seeds weight creation of a model built lazily, the
loader's shuffling (a function of ``(s, epoch)`` only), and the shared random stream at
the start of every epoch (dropout masks), so a run restarted from a saved model at epoch
``k`` gives exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np

from engine import backend
from engine import random as engine_random
from engine.autodiff.tensor import Tensor, enable_grad, grad, no_grad
from engine.models import validation
from engine.models.compile_spec import CompileSpec, resolve

__all__ = ["TrainingMixin", "NonFiniteLossError"]


class NonFiniteLossError(FloatingPointError):
    """Raised by ``train_on_batch(..., raise_on_nan=True)``; ``fit`` stops instead."""


class _Mean:
    """A running mean kept on the host (the loss is synced once per batch anyway)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int) -> None:
        self.total += value * n
        self.count += n

    def result(self) -> float:
        return self.total / self.count if self.count else float("nan")


def _epoch_seed(seed: int, epoch: int) -> int:
    """The shared stream's seed at the start of ``epoch`` of a run seeded with ``seed``."""
    sequence = np.random.SeedSequence(int(seed), spawn_key=(0x5EED, int(epoch)))
    return int(sequence.generate_state(1)[0])


def _current_learning_rate(optimizer) -> float | None:
    lr = getattr(optimizer, "learning_rate", None)
    if lr is None:
        return None
    if callable(lr) and not isinstance(lr, int | float | Tensor):
        lr = lr(getattr(optimizer, "iterations", 0))
    try:
        return float(np.asarray(backend.to_numpy(lr)).reshape(-1)[0])
    except (TypeError, ValueError):
        return None


def _to_device(arrays) -> list:
    return [backend.asarray(a) for a in arrays]


class TrainingMixin:
    """Keras's training API; mixed into :class:`~engine.models.functional.Model`."""

    def _init_training_state(self) -> None:
        self.optimizer = None
        self.compiled = False
        self.history = None
        self.stop_training = False
        self.stop_reason: str | None = None
        self._compile_args: dict | None = None
        self._spec: CompileSpec | None = None
        self._loss_tracker = _Mean()
        self._part_trackers: list[_Mean] = []

    # -- compile ------------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None) -> None:
        """Choose the optimizer, the loss (per output) and the metrics to report."""
        from engine import optimizers  # noqa: PLC0415 - families load lazily

        self.optimizer = optimizers.get(optimizer)
        self._compile_args = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights}
        self._spec = None
        self.compiled = True
        if self.built:
            self._compiled_spec()  # report bad names now rather than at fit time

    def _compiled_spec(self) -> CompileSpec:
        if self._spec is None:
            args = self._compile_args or {}
            self._spec = resolve(
                self.output_names, args.get("loss"), args.get("metrics"), args.get("loss_weights")
            )
            self._part_trackers = [_Mean() for _ in self._spec.loss_names()]
        return self._spec

    def _require_compiled(self, what: str, need_loss: bool = True) -> CompileSpec:
        if not self.compiled:
            raise RuntimeError(
                f"call model.compile(optimizer=..., loss=...) before model.{what}(...)"
            )
        spec = self._compiled_spec()
        if need_loss and all(loss is None for loss in spec.losses):
            raise RuntimeError(f"model.{what} needs a loss: compile the model with loss=...")
        return spec

    @property
    def metrics_names(self) -> list[str]:
        """The names ``evaluate`` returns values for, in order."""
        spec = self._compiled_spec()
        return ["loss", *spec.loss_names(), *(n for names in spec.metric_names for n in names)]

    # -- steps ---------------------------------------------------------------------------------

    def _reset_trackers(self) -> None:
        self._loss_tracker = _Mean()
        self._part_trackers = [_Mean() for _ in self._compiled_spec().loss_names()]
        self._compiled_spec().reset_metrics()

    def _logs(self) -> dict[str, float]:
        spec = self._compiled_spec()
        logs = {"loss": self._loss_tracker.result()}
        for name, tracker in zip(spec.loss_names(), self._part_trackers):
            logs[name] = tracker.result()
        logs.update(spec.metric_results())
        return logs

    def _track(self, total: Tensor, parts: list[Tensor], n: int) -> float:
        value = float(backend.to_numpy(total.data))
        self._loss_tracker.update(value, n)
        if self._compiled_spec().several:
            for tracker, part in zip(self._part_trackers, parts):
                tracker.update(float(backend.to_numpy(part.data)), n)
        return value

    def _train_step(self, x_batch: list, y_batch: list) -> bool:
        """One optimisation step; returns False (and does not update) on a non-finite loss."""
        spec = self._compiled_spec()
        x = [Tensor(a) for a in _to_device(x_batch)]
        y = _to_device(y_batch)
        with enable_grad():
            predictions = self.plan().run(x, training=True)
            total, parts = spec.compute_loss(y, predictions)
        value = self._track(total, parts, len(x_batch[0]))
        if not math.isfinite(value):
            return False
        variables = self.trainable_weights
        if variables:
            gradients = grad(total, variables)
            self.optimizer.apply_gradients(list(zip(gradients, variables)))
        with no_grad():
            spec.update_metrics(y, predictions)
        return True

    def _test_step(self, x_batch: list, y_batch: list) -> None:
        spec = self._compiled_spec()
        with no_grad():
            x = [Tensor(a) for a in _to_device(x_batch)]
            y = _to_device(y_batch)
            predictions = self.plan().run(x, training=False)
            total, parts = spec.compute_loss(y, predictions)
            self._track(total, parts, len(x_batch[0]))
            spec.update_metrics(y, predictions)

    def _predict_step(self, x_batch: list) -> list[np.ndarray]:
        with no_grad():
            x = [Tensor(a) for a in _to_device(x_batch)]
            return [backend.to_numpy(p.data) for p in self.plan().run(x, training=False)]

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
    def _loader(xs, ys, batch_size, shuffle=False, seed=0, augment=None, prefetch=False):
        from engine.data.loader import BatchLoader  # noqa: PLC0415

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
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        return int(batch_size)

    # -- fit -----------------------------------------------------------------------------------

    def fit(
        self,
        x=None,
        y=None,
        batch_size: int = 32,
        epochs: int = 1,
        verbose="auto",
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        seed: int | None = None,
        augment=None,
        steps_per_epoch: int | None = None,
    ):
        """Train for ``epochs`` epochs (from ``initial_epoch``); returns the ``History``.

        ``validation_split`` holds out the *last* fraction of ``x``/``y`` (before
        shuffling), as Keras does; ``validation_data`` is ``(x_val, y_val)``.
        ``augment`` (e.g. ``ImageDataGenerator``) transforms training batches only.
        """
        spec = self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size)
        if seed is not None:
            engine_random.set_random_seed(seed)
        if y is None:
            raise ValueError("fit needs targets: model.fit(x, y)")
        xs, ys = self._prepare(x, y, spec)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, list | tuple) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            val = self._prepare(validation_data[0], validation_data[1], spec, "validation_data")
        elif validation_split:
            if not 0.0 < validation_split < 1.0:
                raise ValueError(
                    f"validation_split must be between 0 and 1, got {validation_split}"
                )
            n = len(xs[0])
            split_at = math.ceil(n * (1.0 - validation_split))
            if split_at in (0, n):
                raise ValueError(
                    f"validation_split={validation_split} of {n} samples leaves an empty "
                    "training or validation set"
                )
            val = ([a[split_at:] for a in xs], [a[split_at:] for a in ys])
            xs, ys = [a[:split_at] for a in xs], [a[:split_at] for a in ys]
        if seed is None:
            loader_seed = int(engine_random.generator().integers(2**31))
        else:
            loader_seed = int(seed)
        loader = self._loader(
            xs, ys, batch_size, shuffle=shuffle, seed=loader_seed, augment=augment, prefetch=True
        )
        steps = len(loader) if steps_per_epoch is None else min(int(steps_per_epoch), len(loader))
        verbose = 1 if verbose == "auto" else int(verbose)
        callback_list = self._callback_list(callbacks, verbose, epochs, steps)

        self.stop_training = False
        self.stop_reason = None
        callback_list.on_train_begin()
        epoch_logs: dict[str, float] = {}
        for epoch in range(int(initial_epoch), int(epochs)):
            if seed is not None:
                engine_random.set_random_seed(_epoch_seed(seed, epoch))
            self._reset_trackers()
            callback_list.on_epoch_begin(epoch)
            with contextlib.closing(loader.epoch(epoch)) as batches:
                for step, (x_batch, y_batch) in enumerate(batches):
                    if step >= steps:
                        break
                    callback_list.on_train_batch_begin(step)
                    xb, yb = self._as_lists(x_batch, y_batch)
                    finite = self._train_step(xb, yb)
                    logs = self._logs()
                    if not finite:
                        self._stop_on_non_finite(epoch, step, logs["loss"])
                    callback_list.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            epoch_logs = self._logs()
            if val is not None and self.stop_reason is None:
                epoch_logs.update(
                    {f"val_{k}": v for k, v in self._evaluate_arrays(*val, batch_size).items()}
                )
            lr = _current_learning_rate(self.optimizer)
            if lr is not None:
                epoch_logs["learning_rate"] = lr
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _stop_on_non_finite(self, epoch: int, step: int, loss: float) -> None:
        self.stop_training = True
        self.stop_reason = (
            f"epoch {epoch + 1}, batch {step}: the loss became {loss}; training stopped and the "
            "weights keep their values from before this batch. Try a lower learning rate, "
            "normalised inputs, or check the data for extreme values."
        )
        print(f"Invalid loss, terminating training ({self.stop_reason})")

    def _callback_list(self, callbacks, verbose: int, epochs: int, steps: int):
        from engine import callbacks as callbacks_module  # noqa: PLC0415

        items = list(callbacks or [])
        history = next((c for c in items if isinstance(c, callbacks_module.History)), None)
        if history is None:
            history = callbacks_module.History()
            items.append(history)
        if verbose and not any(isinstance(c, callbacks_module.ProgbarLogger) for c in items):
            items.insert(0, callbacks_module.ProgbarLogger())
        self.history = history
        callback_list = callbacks_module.CallbackList(items)
        callback_list.set_model(self)
        callback_list.set_params({"verbose": verbose, "epochs": epochs, "steps": steps})
        return callback_list

    # -- evaluate / predict -----------------------------------------------------------------------

    def _evaluate_arrays(self, xs, ys, batch_size: int) -> dict[str, float]:
        self._reset_trackers()
        loader = self._loader(xs, ys, batch_size)
        with contextlib.closing(loader.epoch(0)) as batches:
            for x_batch, y_batch in batches:
                self._test_step(*self._as_lists(x_batch, y_batch))
        return self._logs()

    def evaluate(self, x=None, y=None, batch_size: int = 32, verbose=0, return_dict=False):
        """The loss (and metrics) over all of ``x``/``y``: a float, a list, or a dict."""
        spec = self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size)
        if y is None:
            raise ValueError("evaluate needs targets: model.evaluate(x, y)")
        xs, ys = self._prepare(x, y, spec)
        logs = self._evaluate_arrays(xs, ys, batch_size)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return self._format_results(logs, return_dict)

    def _format_results(self, logs: dict, return_dict: bool):
        if return_dict:
            return dict(logs)
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int = 32, verbose=0):
        """The model's outputs on ``x`` (inference mode, no recording), as numpy arrays."""
        batch_size = self._check_batch_size(batch_size)
        xs, _ = self._prepare(x, None, None)
        loader = self._loader(xs, None, batch_size)
        chunks: list[list[np.ndarray]] = [[] for _ in self.outputs]
        with contextlib.closing(loader.epoch(0)) as batches:
            for x_batch, _ in batches:
                for store, out in zip(chunks, self._predict_step(self._as_lists(x_batch, None)[0])):
                    store.append(out)
        results = [np.concatenate(parts, axis=0) for parts in chunks]
        return results[0] if len(results) == 1 else results

    # -- single batches ------------------------------------------------------------------------

    def train_on_batch(self, x, y, reset_metrics: bool = True, return_dict: bool = False):
        """One optimisation step on exactly this batch; returns the loss (and metrics)."""
        spec = self._require_compiled("train_on_batch")
        xs, ys = self._prepare(x, y, spec)
        if reset_metrics:
            self._reset_trackers()
        if not self._train_step(xs, ys):
            self.stop_reason = (
                f"the loss became {self._loss_tracker.result()}; the weights were not updated"
            )
        return self._format_results(self._logs(), return_dict)

    def test_on_batch(self, x, y, reset_metrics: bool = True, return_dict: bool = False):
        """The loss (and metrics) on exactly this batch, in inference mode."""
        spec = self._require_compiled("test_on_batch")
        xs, ys = self._prepare(x, y, spec)
        if reset_metrics:
            self._reset_trackers()
        self._test_step(xs, ys)
        return self._format_results(self._logs(), return_dict)

    def predict_on_batch(self, x):
        """The outputs for exactly this batch, as numpy arrays."""
        xs, _ = self._prepare(x, None, None)
        results = self._predict_step(xs)
        return results[0] if len(results) == 1 else results


def iterate(loader, epoch: int) -> Iterator:
    """Batches of one epoch, closing the loader's worker if the caller stops early."""
    return contextlib.closing(loader.epoch(epoch))

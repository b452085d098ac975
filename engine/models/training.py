"""``compile``, ``fit``, ``evaluate``, ``predict`` and the single-batch variants.

These are Keras's training loops on numpy arrays. Every batch crosses to the device once
(``backend.asarray``) and results come back once (``backend.to_numpy``); the model's graph
runs through its compiled :class:`~engine.models.plan.ExecutionPlan`. A training step is:
run the plan with ``training=True`` while recording, compute the weighted loss, take the
gradients of every trainable weight and hand them to the optimizer, then update the
metrics. :class:`~engine.models.step_guard.StepGuard` watches the step: a NaN or infinite
loss, moving statistic, gradient or updated weight (the loss can still be finite, 1e27,
when an overflowing update turns Adam's step into NaN) stops training with ``stop_reason``
naming the epoch and batch, and the weights and optimizer state are put back exactly as
they were before that batch, so what is saved afterwards is never garbage.

Syncs: a training batch brings back its loss, one number for each fused finiteness check
(gradients, weights) and each metric once per logged value; evaluation keeps its running
loss on the device and syncs once at the end.

Reproducibility: ``fit(seed=s)`` seeds weight creation of a model built lazily, the
loader's shuffling (a function of ``(s, epoch)`` only), and the shared random stream at
the start of every epoch (dropout masks), so a run restarted from a saved model at epoch
``k`` gives exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from engine import backend
from engine import random as engine_random
from engine.autodiff.tensor import Tensor, enable_grad, grad, no_grad
from engine.models import validation
from engine.models.compile_spec import CompileSpec, resolve
from engine.models.step_guard import StepGuard, describe_arrays

__all__ = ["TrainingMixin"]


class _Mean:
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


def _epoch_seed(seed: int, epoch: int) -> int:
    """The shared stream's seed at the start of ``epoch`` of a run seeded with ``seed``."""
    sequence = np.random.SeedSequence(int(seed), spawn_key=(0x5EED, int(epoch)))
    return int(sequence.generate_state(1)[0])


def _current_learning_rate(optimizer) -> float | None:
    current = getattr(optimizer, "current_learning_rate", None)
    if callable(current):
        return float(current())
    lr = getattr(optimizer, "learning_rate", None)
    return float(lr) if isinstance(lr, int | float) else None


def _as_float64(array):
    """Running sums stay on the device, in float64 so that many batches lose no precision."""
    xp = backend.xp
    return xp.astype(array, xp.float64)


def _to_device(arrays) -> list:
    return [backend.asarray(a) for a in arrays]


def _batches(loader, epoch: int = 0):
    """One epoch of batches; closing it stops the loader's worker if the caller stops early."""
    return contextlib.closing(loader.epoch(epoch))


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
        self._step_guard: StepGuard | None = None

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
        return ["loss", *spec.loss_names(), *(n for names in spec.metric_names for n in names)]

    # -- steps ---------------------------------------------------------------------------------

    def _reset_trackers(self) -> None:
        self._loss_tracker = _Mean()
        self._part_trackers = [_Mean() for _ in self._compiled_spec().loss_names()]
        self._compiled_spec().reset_metrics()

    def _logs(self) -> dict[str, float]:
        """The running values since the last reset (one host sync per value)."""
        spec = self._compiled_spec()
        logs = {"loss": self._loss_tracker.result()}
        for name, tracker in zip(spec.loss_names(), self._part_trackers):
            logs[name] = tracker.result()
        logs.update(spec.metric_results())
        return logs

    def _track(self, total: Tensor, parts: list[Tensor], n: int, sync: bool) -> float | None:
        """Add a batch's losses to the running means; ``sync`` brings the total back now."""
        value = float(backend.to_numpy(total.data)) if sync else _as_float64(total.data)
        self._loss_tracker.update(value, n)
        if self._compiled_spec().several:
            for tracker, part in zip(self._part_trackers, parts):
                tracker.update(_as_float64(part.data), n)
        return value if sync else None

    def _guard(self) -> StepGuard:
        if self._step_guard is None or self._step_guard.optimizer is not self.optimizer:
            self._step_guard = StepGuard(self.optimizer)
        return self._step_guard

    def _train_step(self, x_batch: list, y_batch: list) -> str | None:
        """One optimisation step. Returns ``None``, or why the step was undone (a non-finite
        loss, gradients or weights); the weights and optimizer state are then as before."""
        spec = self._compiled_spec()
        variables = self.trainable_weights
        guard = self._guard()
        guard.begin(self.weights, variables)
        try:
            return self._guarded_step(spec, variables, guard, x_batch, y_batch)
        except BaseException:
            guard.restore(updated=True)  # an error or Ctrl-C mid-update: undo what we can
            raise

    def _guarded_step(self, spec, variables, guard, x_batch, y_batch) -> str | None:
        x = [Tensor(a) for a in _to_device(x_batch)]
        y = _to_device(y_batch)
        # Overflow shows up as non-finite values, checked and explained below.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            with enable_grad():
                predictions = self.plan().run(x, training=True)
                total, parts = spec.compute_loss(y, predictions)
            loss = self._track(total, parts, len(x_batch[0]), sync=True)
            if not math.isfinite(loss):
                guard.restore(updated=False)  # the forward pass may have moved statistics
                return f"the loss became {loss}"
            if not guard.forward_finite():  # e.g. a moving variance overflowed
                found = describe_arrays(guard.nonfinite())
                guard.restore(updated=False)
                return f"the forward pass made {found} NaN or infinite (the loss was {loss:.4g})"
            if variables:
                gradients = grad(total, variables)
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
            spec.update_metrics(y, predictions)
        return None

    def _test_step(self, x_batch: list, y_batch: list) -> None:
        spec = self._compiled_spec()
        with no_grad():
            x = [Tensor(a) for a in _to_device(x_batch)]
            y = _to_device(y_batch)
            predictions = self.plan().run(x, training=False)
            total, parts = spec.compute_loss(y, predictions)
            self._track(total, parts, len(x_batch[0]), sync=False)
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
        ``steps_per_epoch`` caps the batches of each epoch. ``model.stop_training = True``
        (from a callback) stops after the current batch.
        """
        batch_size = self._check_batch_size(batch_size)
        if seed is not None:
            engine_random.set_random_seed(seed)  # before a lazy model creates its weights
        spec = self._require_compiled("fit", x)
        if y is None:
            raise ValueError("fit needs targets: model.fit(x, y)")
        xs, ys = self._prepare(x, y, spec)
        build = getattr(self.optimizer, "build", None)
        if callable(build):
            build(self.trainable_weights)  # slots exist from the start (the first step's order)
        val = self._validation_arrays(xs, ys, spec, validation_split, validation_data)
        if val is not None and validation_data is None:
            split_at = len(xs[0]) - len(val[0][0])
            xs, ys = [a[:split_at] for a in xs], [a[:split_at] for a in ys]
        loader_seed = int(engine_random.generator().integers(2**31)) if seed is None else seed
        loader = self._loader(
            xs, ys, batch_size, shuffle=shuffle, seed=loader_seed, augment=augment, prefetch=True
        )
        steps = len(loader) if steps_per_epoch is None else min(int(steps_per_epoch), len(loader))
        params = {"epochs": epochs, "steps": steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=True)
        self.history = callback_list.history

        self.stop_training = False
        self.stop_reason = None
        callback_list.on_train_begin()
        epoch_logs: dict[str, float] = {}
        for epoch in range(int(initial_epoch), int(epochs)):
            if seed is not None:
                engine_random.set_random_seed(_epoch_seed(seed, epoch))
            self._reset_trackers()
            callback_list.on_epoch_begin(epoch)
            self._guard().stale()  # callbacks may have set weights: measure them again
            with _batches(loader, epoch) as batches:
                for step, (x_batch, y_batch) in enumerate(batches):
                    if step >= steps:
                        break
                    xb, yb = self._as_lists(x_batch, y_batch)
                    callback_list.on_train_batch_begin(step, {"size": len(xb[0])})
                    problem = self._train_step(xb, yb)
                    logs = {**self._logs(), "size": len(xb[0])}
                    if problem is not None:
                        self._stop_on_non_finite(epoch, step, steps, problem)
                    callback_list.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            epoch_logs = self._logs()
            if val is not None and self.stop_reason is None:
                val_logs = self._run_test(*val, batch_size, callback_list)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            lr = _current_learning_rate(self.optimizer)
            if lr is not None:
                epoch_logs["learning_rate"] = lr
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _validation_arrays(self, xs, ys, spec, validation_split, validation_data):
        if validation_data is not None:
            if not isinstance(validation_data, list | tuple) or len(validation_data) != 2:
                raise ValueError("validation_data must be a tuple (x_val, y_val)")
            return self._prepare(validation_data[0], validation_data[1], spec, "validation_data")
        if not validation_split:
            return None
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
        n = len(xs[0])
        split_at = math.ceil(n * (1.0 - validation_split))  # Keras keeps this many for training
        if split_at in (0, n):
            raise ValueError(
                f"validation_split={validation_split} of {n} samples leaves an empty training "
                "or validation set"
            )
        return [a[split_at:] for a in xs], [a[split_at:] for a in ys]

    def _stop_on_non_finite(self, epoch: int, step: int, steps: int, problem: str) -> None:
        self.stop_training = True
        if problem.endswith("(not put back)"):
            outcome = "so training was stopped; those weights could not be put back"
        elif not problem.startswith("the update"):
            outcome = "so training was stopped before this batch changed the weights"
        else:
            outcome = (
                "so training was stopped and the weights and optimizer state from before this "
                "batch (the last finite ones) were put back"
            )
        self.stop_reason = (
            f"Epoch {epoch + 1}, batch {step + 1} of {steps}: {problem}, {outcome}. Try a "
            "smaller learning rate, gradient clipping (clipnorm), normalised inputs, or check "
            "the data for NaN or huge values."
        )
        print(self.stop_reason, flush=True)

    # -- evaluate / predict -----------------------------------------------------------------------

    def _run_test(self, xs, ys, batch_size: int, callback_list) -> dict[str, float]:
        self._reset_trackers()
        callback_list.on_test_begin()
        loader = self._loader(xs, ys, batch_size)
        with _batches(loader) as batches:
            for step, (x_batch, y_batch) in enumerate(batches):
                xb, yb = self._as_lists(x_batch, y_batch)
                callback_list.on_test_batch_begin(step, {"size": len(xb[0])})
                self._test_step(xb, yb)
                callback_list.on_test_batch_end(step, {"size": len(xb[0])})
        logs = self._logs()
        callback_list.on_test_end(logs)
        return logs

    def evaluate(
        self, x=None, y=None, batch_size: int = 32, verbose=0, return_dict=False, callbacks=None
    ):
        """The loss (and metrics) over all of ``x``/``y``: a float, a list, or a dict."""
        spec = self._require_compiled("evaluate", x)
        batch_size = self._check_batch_size(batch_size)
        if y is None:
            raise ValueError("evaluate needs targets: model.evaluate(x, y)")
        xs, ys = self._prepare(x, y, spec)
        steps = math.ceil(len(xs[0]) / batch_size)
        params = {"epochs": 1, "steps": steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=False)
        logs = self._run_test(xs, ys, batch_size, callback_list)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs: dict, return_dict: bool):
        if return_dict:
            return dict(logs)
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size: int = 32, verbose=0, callbacks=None):
        """The model's outputs on ``x`` (inference mode, no recording), as numpy arrays."""
        batch_size = self._check_batch_size(batch_size)
        xs, _ = self._prepare(x, None, None)
        steps = math.ceil(len(xs[0]) / batch_size)
        params = {"epochs": 1, "steps": steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=False)
        chunks: list[list[np.ndarray]] = [[] for _ in self.outputs]
        callback_list.on_predict_begin()
        with _batches(self._loader(xs, None, batch_size)) as batches:
            for step, (x_batch, _) in enumerate(batches):
                xb, _ = self._as_lists(x_batch, None)
                callback_list.on_predict_batch_begin(step, {"size": len(xb[0])})
                for store, out in zip(chunks, self._predict_step(xb)):
                    store.append(out)
                callback_list.on_predict_batch_end(step, {"size": len(xb[0])})
        callback_list.on_predict_end()
        results = [np.concatenate(parts, axis=0) for parts in chunks]
        return results[0] if len(results) == 1 else results

    # -- single batches ------------------------------------------------------------------------

    def train_on_batch(self, x, y, reset_metrics: bool = True, return_dict: bool = False):
        """One optimisation step on exactly this batch; returns the loss (and metrics).

        A non-finite loss, or an update that would leave non-finite weights, leaves the
        weights and optimizer state as they were and sets ``stop_reason``.
        """
        spec = self._require_compiled("train_on_batch", x)
        xs, ys = self._prepare(x, y, spec)
        if reset_metrics:
            self._reset_trackers()
        self.stop_reason = None
        self._guard().stale()  # the weights may have been set since the last call
        problem = self._train_step(xs, ys)
        if problem is not None:
            kept = "" if problem.endswith("(not put back)") else "; the weights were left as "
            self.stop_reason = problem + (f"{kept}they were before this batch" if kept else "")
        return self._format_results(self._logs(), return_dict)

    def test_on_batch(self, x, y, reset_metrics: bool = True, return_dict: bool = False):
        """The loss (and metrics) on exactly this batch, in inference mode."""
        spec = self._require_compiled("test_on_batch", x)
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

"""``fit``: Keras's training loop on numpy arrays, epoch by epoch.

Every batch crosses to the device once and the model's graph runs through its compiled
execution plan (:mod:`~engine.models.steps`). Keras's arguments and their meaning:

* ``class_weight`` / ``sample_weight`` (:mod:`~engine.models.sample_weights`) weight the
  training loss and the ``weighted_metrics``; ``validation_data`` may be
  ``(x, y, sample_weight)``; ``validation_split`` holds out the *last* fraction of ``x``,
  ``y`` and ``sample_weight`` (before shuffling);
* ``validation_freq``: validate after every N-th epoch (an int), or after the epochs listed
  (1-based, as Keras); only those epochs' logs and history entries carry ``val_*``, so
  ``history.history["val_loss"]`` is shorter than ``history.history["loss"]``, as in Keras;
* ``initial_epoch``: epochs are numbered from it (``history.epoch`` starts there) and the
  shuffling and random stream of epoch ``k`` are those of an uninterrupted run's epoch
  ``k``; a model saved after ``k`` epochs (its optimizer, with its step counter and so its
  schedule position, saved too) and resumed with ``initial_epoch=k`` ends bit for bit
  where the uninterrupted run ends;
* ``steps_per_epoch``: as Keras's ``EpochIterator`` does for arrays, an epoch takes the
  next ``steps_per_epoch`` batches of the current pass through the data, continuing across
  epochs; an epoch that reaches the end of the pass stops there (it may be shorter), and
  the next epoch starts a new, reshuffled pass. A run resumed with ``initial_epoch`` starts
  a fresh pass, as Keras does; its shuffle is the one an uninterrupted run would give the
  pass starting at or after that epoch, so a resumed run matches an uninterrupted one
  exactly when ``steps_per_epoch`` is None or the resumed epoch begins a pass (otherwise
  the uninterrupted run would finish the pass it is in first).

At the end, ``optimizer.finalize_variable_values(trainable_weights)`` runs (Keras's hook:
with ``use_ema`` the weights take their moving averages).

Reproducibility: ``fit(seed=s)`` seeds weight creation of a model built lazily, the
loader's shuffling (a function of ``(s, pass)`` only), and the shared random stream at the
start of every epoch (dropout masks).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from engine import random as engine_random
from engine.models.blas_threads import StepThreads, memory_of
from engine.models.sample_weights import (
    check_class_weight,
    class_weights_to_samples,
    sample_weight_arrays,
)

__all__ = ["FitMixin", "PassCursor"]


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


def _count(value, name: str, minimum: int, allow_none: bool = False) -> int | None:
    """A checked integer argument (``ValueError`` naming it otherwise)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {kind}{extra}, got {value!r}")
    return int(value)


def check_validation_freq(validation_freq) -> int | list[int]:
    """An int (every N epochs) or a list of 1-based epochs, as Keras accepts."""
    if isinstance(validation_freq, list | tuple):
        return [_count(e, "validation_freq entries", 1) for e in validation_freq]
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, int | np.integer):
        raise ValueError(
            "validation_freq must be a positive integer (validate every N epochs) or a list "
            f"of epochs, got {validation_freq!r}"
        )
    return _count(validation_freq, "validation_freq", 1)


def should_validate(epoch: int, validation_freq) -> bool:
    """Keras's ``_should_eval``: ``epoch`` is 0-based, the frequency 1-based."""
    if isinstance(validation_freq, list):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


class PassCursor:
    """Where each epoch's batches come from: Keras's ``EpochIterator`` over arrays.

    ``take()`` gives the number of batches the next epoch runs and the pass they come from;
    ``advance(n)`` records that ``n`` were run. Without ``steps_per_epoch`` every epoch is
    one whole pass, pass ``k`` for epoch ``k``."""

    def __init__(self, num_batches: int, steps_per_epoch: int | None, initial_epoch: int):
        self.num_batches = num_batches
        self.steps_per_epoch = steps_per_epoch
        self.pass_index = 0
        self.seen = 0
        for _ in range(initial_epoch):  # the pass an uninterrupted run would be on ...
            self.advance(self.take())
        if self.seen:  # ... begun afresh, as Keras begins a new fit
            self.pass_index += 1
            self.seen = 0

    def take(self) -> int:
        limit = self.steps_per_epoch or self.num_batches
        return min(limit, self.num_batches - self.seen)

    def advance(self, steps: int) -> bool:
        """Record ``steps`` batches; True when that finished the pass."""
        self.seen += steps
        if self.seen >= self.num_batches:
            self.pass_index += 1
            self.seen = 0
            return True
        return False


class FitMixin:
    """``fit``; mixed into ``TrainingMixin`` (which gives the steps and data helpers)."""

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
        class_weight=None,
        sample_weight=None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq=1,
        *,
        seed: int | None = None,
        augment=None,
    ):
        """Train for ``epochs`` epochs (from ``initial_epoch``); returns the ``History``.

        The arguments are Keras's (see this module's docstring); ``seed`` makes the run
        reproducible and ``augment`` (e.g. ``ImageDataGenerator``) transforms training
        batches only. ``model.stop_training = True`` (from a callback) stops after the
        current batch.
        """
        batch_size = self._check_batch_size(batch_size)
        epochs = _count(epochs, "epochs", 0)
        initial_epoch = _count(initial_epoch, "initial_epoch", 0)
        steps_per_epoch = _count(steps_per_epoch, "steps_per_epoch", 1, allow_none=True)
        validation_steps = _count(validation_steps, "validation_steps", 1, allow_none=True)
        validation_freq = check_validation_freq(validation_freq)
        if validation_batch_size is not None:
            validation_batch_size = self._check_batch_size(validation_batch_size)
        if class_weight is not None and sample_weight is not None:
            raise ValueError("give class_weight or sample_weight, not both (as in Keras)")
        if seed is not None:
            engine_random.set_random_seed(seed)  # before a lazy model creates its weights
        spec = self._require_compiled("fit", x)
        if y is None:
            raise ValueError("fit needs targets: model.fit(x, y)")
        xs, ys = self._prepare(x, y, spec)
        ws = sample_weight_arrays(self, sample_weight, len(xs[0]))
        if class_weight is not None:
            ws = [class_weights_to_samples(ys[0], check_class_weight(class_weight, self))]
        build = getattr(self.optimizer, "build", None)
        if callable(build):
            build(self.trainable_weights)  # slots exist from the start (the first step's order)
        val = self._validation_arrays(xs, ys, ws, spec, validation_split, validation_data)
        if val is not None and validation_data is None:
            split_at = len(xs[0]) - len(val[0][0])
            xs, ys = [a[:split_at] for a in xs], [a[:split_at] for a in ys]
            ws = None if ws is None else [a[:split_at] for a in ws]
        loader_seed = int(engine_random.generator().integers(2**31)) if seed is None else seed
        loader = self._loader(
            xs, ys, batch_size, shuffle=shuffle, seed=loader_seed, augment=augment,
            prefetch=True, weights=ws,
        )  # fmt: skip
        cursor = PassCursor(len(loader), steps_per_epoch, initial_epoch)
        steps = cursor.take() if steps_per_epoch is None else min(steps_per_epoch, len(loader))
        params = {"epochs": epochs, "steps": steps, "samples": len(xs[0]), "batch_size": batch_size}
        callback_list = self._callbacks(callbacks, verbose, params, history=True)
        self.history = callback_list.history
        val_batch = validation_batch_size or batch_size

        self.stop_training = False
        self.stop_reason = None
        callback_list.on_train_begin()
        epoch_logs: dict[str, float] = {}
        # BLAS threads per step are measured while training (see engine.models.blas_threads).
        threads = contextlib.closing(StepThreads(memory_of(self, "fit")))
        with threads as self._step_threads, contextlib.ExitStack() as passes:
            batches = None
            for epoch in range(initial_epoch, epochs):
                if seed is not None:
                    engine_random.set_random_seed(_epoch_seed(seed, epoch))
                self._reset_trackers()
                callback_list.on_epoch_begin(epoch)
                self._guard().stale()  # callbacks may have set weights: measure them again
                if batches is None:
                    # One pass through the data; it may outlive the epoch (steps_per_epoch).
                    batches = passes.enter_context(
                        contextlib.closing(loader.epoch(cursor.pass_index))
                    )
                ran = self._run_epoch(batches, cursor.take(), epoch, steps, callback_list)
                if cursor.advance(ran) or self.stop_training:
                    passes.close()  # stops a prefetching worker now
                    batches = None
                epoch_logs = self._logs()
                validate = val is not None and self.stop_reason is None
                if validate and should_validate(epoch, validation_freq):
                    logs = self._run_test(*val, val_batch, callback_list, validation_steps)
                    epoch_logs.update({f"val_{k}": v for k, v in logs.items()})
                lr = _current_learning_rate(self.optimizer)
                if lr is not None:
                    epoch_logs["learning_rate"] = lr
                callback_list.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finalize = getattr(self.optimizer, "finalize_variable_values", None)
        if callable(finalize) and epochs > 0:  # Keras's condition
            finalize(self.trainable_weights)  # use_ema: the weights take their averages
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _run_epoch(self, batches, count: int, epoch: int, steps: int, callback_list) -> int:
        """Run ``count`` batches from ``batches``; returns how many ran."""
        n_outputs = len(self.outputs)
        ran = 0
        for step in range(count):
            batch = next(batches, None)
            if batch is None:
                break
            xb, yb = self._as_lists(*batch)
            yb, wb = yb[:n_outputs], (yb[n_outputs:] or None)
            callback_list.on_train_batch_begin(step, {"size": len(xb[0])})
            with self._step_threads:
                problem = self._train_step(xb, yb, wb)
            ran += 1
            logs = {**self._logs(), "size": len(xb[0])}
            if problem is not None:
                self._stop_on_non_finite(epoch, step, steps, problem)
            callback_list.on_train_batch_end(step, logs)
            if self.stop_training:
                break
        return ran

    def _validation_arrays(self, xs, ys, ws, spec, validation_split, validation_data):
        """``(x, y, weights or None)`` to validate on, or None."""
        if validation_data is not None:
            if not isinstance(validation_data, list | tuple) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                    "sample_weight_val)"
                )
            vx, vy = self._prepare(validation_data[0], validation_data[1], spec, "validation_data")
            vw = None
            if len(validation_data) == 3:
                what = "validation_data sample_weight"
                vw = sample_weight_arrays(self, validation_data[2], len(vx[0]), what)
            return vx, vy, vw
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
        vw = None if ws is None else [a[split_at:] for a in ws]
        return [a[split_at:] for a in xs], [a[split_at:] for a in ys], vw

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

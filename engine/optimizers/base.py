"""The optimizer base class, with Keras's step (``keras.optimizers.Optimizer``).

``optimizer.apply_gradients([(grad, var), ...])`` does one step, in Keras's order:

1. with ``gradient_accumulation_steps=N``, add the gradients to per-variable accumulators;
   only every N-th call goes on, with the mean of the N gradients (the accumulators are
   then zeroed); the others stop here;
2. clip the gradients (``clipnorm`` each gradient's norm, ``global_clipnorm`` their joint
   norm, ``clipvalue`` each element — at most one of the three);
3. decay the weights, ``w -= w * weight_decay * lr`` (decoupled, as in Keras and AdamW);
4. apply the optimizer's own rule with ``lr`` evaluated at the raw step counter (a float,
   or a :class:`~engine.schedules.LearningRateSchedule` of the step);
5. with ``use_ema``, move each variable's exponential moving average (``average`` slot),
   and every ``ema_overwrite_frequency`` steps copy the averages into the variables;
6. project each variable with its ``constraint`` (when it has one);
7. count the call.

``iterations`` is, as in Keras, the number of *updates*: the raw counter of calls divided
by ``gradient_accumulation_steps`` when accumulating. At the end of training the fit loop
calls :meth:`Optimizer.finalize_variable_values` (Keras's name), which puts the moving
averages into the variables when ``use_ema`` is on.

Weights and slot arrays (momenta, moving averages, accumulators) are updated in place on
the device under ``no_grad``; the only host work is a handful of Python floats per step.
Slots are kept per variable, in the order the variables were first seen; see
:mod:`engine.optimizers.state` for how they are saved and restored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from engine import backend, schedules
from engine.autodiff.tensor import GradientTape, Tensor, grad, no_grad
from engine.optimizers import checks
from engine.optimizers.clipping import clip_gradients, subtract_in_place
from engine.optimizers.state import StateMixin


class Optimizer(StateMixin):
    """Base class; subclasses declare ``update_slot_names()`` and implement ``update_step``
    (and ``new_slot`` when a slot is not a zero array shaped like its variable)."""

    # The name used by :func:`engine.optimizers.get` and in project files ("adam").
    type_name: ClassVar[str] = ""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        *,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        **unknown,
    ):
        if unknown:
            raise ValueError(
                f"bad options for optimizer {type(self).__name__}: unexpected argument(s) "
                f"{', '.join(sorted(unknown))}"
            )
        given = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        clips = [label for label, value in given.items() if value is not None]
        if len(clips) > 1:
            raise ValueError(
                f"only one of clipnorm, clipvalue and global_clipnorm can be set, got "
                f"{' and '.join(clips)}"
            )
        self.name = name or self.type_name
        self.weight_decay = checks.optional_number("weight_decay", weight_decay, low=0)
        self.clipnorm = checks.optional_number("clipnorm", clipnorm, low=0)
        self.clipvalue = checks.optional_number("clipvalue", clipvalue, low=0)
        self.global_clipnorm = checks.optional_number("global_clipnorm", global_clipnorm, low=0)
        if not isinstance(use_ema, bool):
            raise ValueError(f"use_ema must be True or False, got {use_ema!r}")
        self.use_ema = use_ema
        self.ema_momentum = checks.number("ema_momentum", ema_momentum, low=0, high=1)
        self.ema_overwrite_frequency = checks.optional_int(
            "ema_overwrite_frequency", ema_overwrite_frequency or None, 1
        )
        self.loss_scale_factor = checks.optional_number(
            "loss_scale_factor", loss_scale_factor, low=0, low_open=True
        )
        # Keras takes a falsy value (None, 0) as "no accumulation" and 1 as an error.
        self.gradient_accumulation_steps = checks.optional_int(
            "gradient_accumulation_steps", gradient_accumulation_steps or None, 2
        )
        self.learning_rate = learning_rate
        self._iterations = 0  # calls of apply_gradients (Keras's raw counter)
        self._variables: list[Tensor] = []
        self._index: dict[int, int] = {}  # id(variable) -> index (we hold the variable)
        self._slots: dict[str, list] = {slot: [] for slot in self.slot_names()}
        self._no_decay_ids: set[int] = set()
        self._no_decay_pattern: re.Pattern | None = None

    # -- learning rate and step counter --------------------------------------------------------

    @property
    def learning_rate(self):
        """A float, or a :class:`~engine.schedules.LearningRateSchedule`; setting a number
        replaces a schedule (``ReduceLROnPlateau`` does this)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, dict):
            value = schedules.get(value)
        if isinstance(value, schedules.LearningRateSchedule) or (
            callable(value) and not isinstance(value, int | float)
        ):
            self._learning_rate = value
            return
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"learning_rate must be a number >= 0 or a schedule, got {value!r}"
            ) from None
        if not value >= 0 or math.isinf(value):
            raise ValueError(f"learning_rate must be a finite number >= 0, got {value}")
        self._learning_rate = value

    def current_learning_rate(self) -> float:
        """The learning rate the next step will use (a schedule sees the raw counter, as in
        Keras)."""
        lr = self._learning_rate
        return float(lr(self._iterations)) if callable(lr) else lr

    @property
    def iterations(self) -> int:
        """Updates made so far (calls, divided by ``gradient_accumulation_steps``)."""
        steps = self.gradient_accumulation_steps
        return self._iterations // steps if steps else self._iterations

    @iterations.setter
    def iterations(self, value) -> None:
        steps = self.gradient_accumulation_steps or 1
        self._iterations = int(value) * steps

    # -- variables and slots -------------------------------------------------------------------

    def update_slot_names(self) -> tuple[str, ...]:
        """The per-variable state the update rule keeps (depends on the options)."""
        return ()

    def slot_names(self) -> tuple[str, ...]:
        """Every per-variable state: the rule's, then ``average`` (``use_ema``) and
        ``gradient_accumulator`` (``gradient_accumulation_steps``), Keras's names."""
        names = self.update_slot_names()
        if self.use_ema:
            names += ("average",)
        if self.gradient_accumulation_steps:
            names += ("gradient_accumulator",)
        return names

    def new_slot(self, slot: str, var: Tensor):
        """A fresh slot array for ``var``: zeros of its shape, except the moving average,
        which starts as the variable (Keras's first average is the variable itself)."""
        xp = backend.xp
        if slot == "average":
            return xp.asarray(var.data, copy=True)
        return xp.zeros(var.data.shape, dtype=var.data.dtype)

    @property
    def variables(self) -> list[Tensor]:
        """The variables seen so far, in index order."""
        return list(self._variables)

    def build(self, var_list: Iterable[Tensor]) -> None:
        """Register variables (and create their slots) in this order."""
        for var in var_list:
            if getattr(var, "trainable", True) and id(var) not in self._index:
                self._register(var)

    def _register(self, var: Tensor) -> int:
        index = len(self._variables)
        self._variables.append(var)
        self._index[id(var)] = index
        for slot in self.slot_names():
            self._slots[slot].append(self.new_slot(slot, var))
        return index

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Keras's method: no weight decay for these variables, nor for those whose name
        contains one of ``var_names`` (``["bias"]``)."""
        self._no_decay_ids = {id(v) for v in var_list or ()}
        names = [re.escape(str(n)) for n in var_names or ()]
        self._no_decay_pattern = re.compile("|".join(names)) if names else None

    def _decays(self, var: Tensor) -> bool:
        if id(var) in self._no_decay_ids:
            return False
        pattern = self._no_decay_pattern
        return pattern is None or pattern.search(str(getattr(var, "name", ""))) is None

    # -- one step ------------------------------------------------------------------------------

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Tensor]]) -> None:
        """One call of Keras's step; ``None`` gradients and frozen variables are skipped."""
        active = self._active(grads_and_vars)
        with no_grad():
            if self.loss_scale_factor is not None:
                active = [(g / self.loss_scale_factor, v, i) for g, v, i in active]
            steps = self.gradient_accumulation_steps
            if steps and (self._iterations + 1) % steps != 0:
                accumulators = self._slots["gradient_accumulator"]
                for g, _, index in active:
                    accumulators[index] += g
            else:
                if steps:
                    accumulators = self._slots["gradient_accumulator"]
                    active = [((g + accumulators[i]) / steps, v, i) for g, v, i in active]
                self._update(active)
                if steps:
                    for array in accumulators:
                        array *= 0
            if self.use_ema:
                self._update_moving_averages()
            for _, var, _ in active:
                constraint = getattr(var, "constraint", None)
                if callable(constraint):
                    projected = constraint(var.data)
                    var.data = projected.data if isinstance(projected, Tensor) else projected
        self._iterations += 1

    def _active(self, grads_and_vars) -> list[tuple[Any, Tensor, int]]:
        """``(gradient array, variable, index)`` for the trainable variables with a gradient,
        registering new ones."""
        xp = backend.xp
        active = []
        for g, var in grads_and_vars:
            if not getattr(var, "trainable", True):
                continue
            index = self._index.get(id(var))
            if index is None:
                index = self._register(var)
            if g is None:
                continue
            g = g.data if isinstance(g, Tensor) else g
            if g.dtype != var.data.dtype:
                g = xp.astype(g, var.data.dtype)
            if tuple(g.shape) != tuple(var.data.shape):
                raise ValueError(
                    f"gradient of shape {tuple(g.shape)} for {getattr(var, 'name', 'a variable')}"
                    f" of shape {tuple(var.data.shape)}"
                )
            active.append((g, var, index))
        return active

    def _update(self, active: list) -> None:
        """Clip, decay and apply the rule: one real update."""
        grads = self._clip([g for g, _, _ in active])
        lr = self.current_learning_rate()
        if self.weight_decay:
            for _, var, _ in active:
                if self._decays(var):
                    subtract_in_place(var, var.data * (self.weight_decay * lr))
        self.before_update_steps()
        for g, (_, var, index) in zip(grads, active):
            self.update_step(g, var, index, lr)

    def before_update_steps(self) -> None:
        """Hook run once per real update, before the per-variable rules (Nadam's cache)."""

    def update_step(self, gradient, var: Tensor, index: int, lr: float) -> None:
        raise NotImplementedError

    def _clip(self, grads: list) -> list:
        return clip_gradients(grads, self.clipnorm, self.clipvalue, self.global_clipnorm)

    # -- exponential moving average ------------------------------------------------------------

    def _update_moving_averages(self) -> None:
        """Keras's EMA of every registered variable: ``a = m a + (1 - m) w`` with ``m = 0``
        on the first update; every ``ema_overwrite_frequency`` updates, ``w = a``."""
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        averages = self._slots["average"]
        for var, average in zip(self._variables, averages):
            average *= momentum
            average += var.data * (1.0 - momentum)
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % frequency == 0:
            self._overwrite_with_averages(self._variables)

    def _overwrite_with_averages(self, var_list) -> None:
        xp = backend.xp
        averages = self._slots["average"]
        for var in var_list:
            index = self._index.get(id(var))
            if index is not None:
                var.data = xp.asarray(averages[index], copy=True)

    def finalize_variable_values(self, var_list=None) -> None:
        """Keras's end-of-training hook (``fit`` calls it with the trainable variables): with
        ``use_ema`` the variables take their moving averages; otherwise nothing happens."""
        if self.use_ema:
            with no_grad():
                self._overwrite_with_averages(self._variables if var_list is None else var_list)

    def scale_loss(self, loss):
        """Keras's hook for ``loss_scale_factor``: the training step multiplies the loss by
        it before taking gradients, and :meth:`apply_gradients` divides them back."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def minimize(self, loss_fn: Callable[[], Tensor], var_list) -> Tensor:
        """Compute ``loss_fn()`` under a GradientTape and apply its gradients; returns the loss."""
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        with GradientTape():
            loss = loss_fn()
            scaled = self.scale_loss(loss)
        grads = grad(scaled, var_list)
        self.apply_gradients(zip(grads, var_list))
        return loss

    def __repr__(self) -> str:
        return f"<{type(self).__name__} lr={self._learning_rate!r}>"

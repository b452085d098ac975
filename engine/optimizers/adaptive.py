"""Per-coordinate adaptive rates (``keras.optimizers``): Adagrad, Adadelta, RMSprop and
Adafactor, with Keras's update rules (epsilon inside the root for these)."""

from __future__ import annotations

import math
from typing import Any

from engine import backend
from engine.optimizers import checks
from engine.optimizers.base import Optimizer
from engine.optimizers.clipping import subtract_in_place


class Adagrad(Optimizer):
    """``a += g^2``, ``w -= lr g / sqrt(a + epsilon)``, the accumulator starting at
    ``initial_accumulator_value``. Slot: ``accumulator``."""

    type_name = "adagrad"

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        name: str = "adagrad",
        **kwargs,
    ):
        self.initial_accumulator_value = checks.number(
            "initial_accumulator_value", initial_accumulator_value, low=0
        )
        self.epsilon = checks.number("epsilon", epsilon, low=0)
        super().__init__(learning_rate, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("accumulator",)

    def new_slot(self, slot, var):
        if slot == "accumulator":
            xp = backend.xp
            return xp.full(var.data.shape, self.initial_accumulator_value, dtype=var.data.dtype)
        return super().new_slot(slot, var)

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        accumulator = self._slots["accumulator"][index]
        accumulator += gradient * gradient
        subtract_in_place(var, (gradient * lr) / xp.sqrt(accumulator + self.epsilon))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """``A = rho A + (1 - rho) g^2``, ``d = -sqrt(D + epsilon) g / sqrt(A + epsilon)``,
    ``D = rho D + (1 - rho) d^2``, ``w += lr d`` (Keras keeps ``learning_rate``).
    Slots: ``accumulated_grad``, ``accumulated_delta_var``."""

    type_name = "adadelta"

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        name: str = "adadelta",
        **kwargs,
    ):
        self.rho = checks.number("rho", rho, low=0, high=1)
        self.epsilon = checks.number("epsilon", epsilon, low=0)
        super().__init__(learning_rate, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("accumulated_grad", "accumulated_delta_var")

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        rho, eps = self.rho, self.epsilon
        accumulated = self._slots["accumulated_grad"][index]
        deltas = self._slots["accumulated_delta_var"][index]
        accumulated *= rho
        accumulated += (gradient * gradient) * (1.0 - rho)
        delta = (xp.sqrt(deltas + eps) * gradient) / xp.sqrt(accumulated + eps)
        deltas *= rho
        deltas += (delta * delta) * (1.0 - rho)
        subtract_in_place(var, delta * lr)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop with Keras's formula: ``v = rho v + (1 - rho) g^2``;
    ``w -= lr * g / sqrt(v + epsilon)`` (``centered`` subtracts the squared running mean of
    ``g`` inside the root; ``momentum`` accumulates the increments first).
    Slots: ``velocity`` (and ``average_gradient``, ``momentum`` when used)."""

    type_name = "rmsprop"

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "rmsprop",
        **kwargs,
    ):
        self.rho = checks.number("rho", rho, low=0, high=1, high_open=True)
        self.momentum = checks.number("momentum", momentum, low=0, high=1)
        self.epsilon = checks.number("epsilon", epsilon, low=0)
        self.centered = bool(centered)
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )

    def update_slot_names(self) -> tuple[str, ...]:
        names = ("velocity",)
        if self.centered:
            names += ("average_gradient",)
        if self.momentum > 0:
            names += ("momentum",)
        return names

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        rho = self.rho
        velocity = self._slots["velocity"][index]
        velocity *= rho
        velocity += (1.0 - rho) * (gradient * gradient)
        if self.centered:
            average = self._slots["average_gradient"][index]
            average *= rho
            average += (1.0 - rho) * gradient
            denominator = velocity - average * average + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = (lr * gradient) / xp.sqrt(denominator)
        if self.momentum > 0:
            buffer = self._slots["momentum"][index]
            buffer *= self.momentum
            buffer += increment
            subtract_in_place(var, buffer)
        else:
            subtract_in_place(var, increment)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern 2018) as Keras has it: for a variable of rank >= 2 the
    second moment is factored into row means ``r`` (shape without the last axis) and column
    means ``c`` (without the second to last), ``v = (r / mean(r))[..., None] * c[..., None,
    :]``; lower ranks keep the full ``v``. With ``beta_2_t = 1 - t^beta_2_decay``,
    ``rho_t = min(lr, 1 / sqrt(t))``, ``alpha_t = max(epsilon_2, rms(w)) rho_t``,
    ``u = g / sqrt(v)`` clipped to ``rms(u) <= clip_threshold``: ``w -= alpha_t u``.
    Slots: ``r``, ``c`` (scalars, unused, below rank 2), ``velocity``."""

    type_name = "adafactor"

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay: float = -0.8,
        epsilon_1: float = 1e-30,
        epsilon_2: float = 1e-3,
        clip_threshold: float = 1.0,
        relative_step: bool = True,
        name: str = "adafactor",
        **kwargs,
    ):
        self.beta_2_decay = checks.number("beta_2_decay", beta_2_decay)
        self.epsilon_1 = checks.number("epsilon_1", epsilon_1, low=0)
        self.epsilon_2 = checks.number("epsilon_2", epsilon_2, low=0)
        self.clip_threshold = checks.number("clip_threshold", clip_threshold, low=0, low_open=True)
        # Keras keeps the argument; its rule takes min(lr, 1/sqrt(t)) either way.
        self.relative_step = bool(relative_step)
        super().__init__(learning_rate, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("r", "c", "velocity")

    def new_slot(self, slot, var):
        shape = tuple(var.data.shape)
        if slot in ("r", "c"):
            if len(shape) < 2:
                shape = ()
            elif slot == "r":
                shape = shape[:-1]
            else:
                shape = shape[:-2] + shape[-1:]
            return backend.xp.zeros(shape, dtype=var.data.dtype)
        return super().new_slot(slot, var)

    @staticmethod
    def _rms(x):
        xp = backend.xp
        return xp.sqrt(xp.mean(x * x))

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        step = self.iterations + 1
        rho_t = min(lr, 1.0 / math.sqrt(step))
        alpha_t = xp.clip(self._rms(var.data), self.epsilon_2, None) * rho_t
        squared = gradient * gradient + self.epsilon_1
        beta_2_t = 1.0 - step**self.beta_2_decay
        if var.data.ndim >= 2:
            r = self._slots["r"][index]
            c = self._slots["c"][index]
            r *= beta_2_t
            r += xp.mean(squared, axis=-1) * (1.0 - beta_2_t)
            c *= beta_2_t
            c += xp.mean(squared, axis=-2) * (1.0 - beta_2_t)
            row = xp.expand_dims(r / xp.mean(r, axis=-1, keepdims=True), axis=-1)
            v = row * xp.expand_dims(c, axis=-2)
            self._slots["velocity"][index] = v
        else:
            v = self._slots["velocity"][index]
            v *= beta_2_t
            v += squared * (1.0 - beta_2_t)
        # Where a row and a column of squared gradients are both ~epsilon_1 (a weight that
        # never gets a gradient, such as an always-blank pixel's), their product underflows
        # to 0 and Keras's 0 / sqrt(0) is NaN on the very first step. Such a weight has no
        # gradient to follow, so its update is 0; everywhere else this is Keras's rule.
        u = xp.where(v > 0, gradient / xp.sqrt(xp.where(v > 0, v, 1.0)), 0.0)
        u = u / xp.clip(self._rms(u) / self.clip_threshold, 1.0, None)
        subtract_in_place(var, u * alpha_t)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        }

"""The Adam family (``keras.optimizers``): Adam, AdamW, Adamax and Nadam, with Keras's
update rules (epsilon outside the root, bias corrections at step ``t = iterations + 1``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine import backend
from engine.optimizers import checks
from engine.optimizers.base import Optimizer
from engine.optimizers.clipping import subtract_in_place


class _Moments(Optimizer):
    """Shared arguments of the family: ``beta_1``, ``beta_2`` in [0, 1), ``epsilon`` >= 0."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, *args, **kwargs):
        self.beta_1 = checks.number("beta_1", beta_1, low=0, high=1, high_open=True)
        self.beta_2 = checks.number("beta_2", beta_2, low=0, high=1, high_open=True)
        self.epsilon = checks.number("epsilon", epsilon, low=0)
        super().__init__(learning_rate, *args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Adam(_Moments):
    """Adam with Keras's formula: ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)`` at step
    ``t = iterations + 1``; ``amsgrad`` uses the running maximum of ``v``.
    Slots: ``m``, ``v`` (and ``vhat`` with amsgrad)."""

    type_name = "adam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "adam",
        **kwargs,
    ):
        self.amsgrad = bool(amsgrad)
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            name,
            **kwargs,
        )

    def update_slot_names(self) -> tuple[str, ...]:
        return ("m", "v", "vhat") if self.amsgrad else ("m", "v")

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        step = self.iterations + 1
        alpha = lr * math.sqrt(1.0 - self.beta_2**step) / (1.0 - self.beta_1**step)
        m = self._slots["m"][index]
        v = self._slots["v"][index]
        if xp is np and not self.amsgrad:
            self._numpy_step(gradient, var, m, v, alpha)
            return
        m += (gradient - m) * (1.0 - self.beta_1)
        v += (gradient * gradient - v) * (1.0 - self.beta_2)
        if self.amsgrad:
            v = xp.maximum(self._slots["vhat"][index], v)
            self._slots["vhat"][index] = v
        subtract_in_place(var, (m * alpha) / (xp.sqrt(v) + self.epsilon))

    def _numpy_step(self, gradient, var, m, v, alpha) -> None:
        """The generic step's arithmetic, operation for operation, in two scratch arrays
        (``out=``) instead of one new array per operation."""
        t = np.subtract(gradient, m)
        t *= 1.0 - self.beta_1
        m += t
        np.multiply(gradient, gradient, out=t)
        t -= v
        t *= 1.0 - self.beta_2
        v += t
        np.sqrt(v, out=t)
        t += self.epsilon
        step = np.multiply(m, alpha)
        step /= t
        subtract_in_place(var, step)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): before each Adam step,
    ``w -= w * weight_decay * lr``."""

    type_name = "adamw"

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "adamw",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (use Adam for none)")
        super().__init__(
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            name,
            **kwargs,
        )


class Adamax(_Moments):
    """Adam with the infinity norm (Keras's rule): ``m += (g - m)(1 - beta_1)``,
    ``u = max(beta_2 u, |g|)``, ``w -= lr m / ((1 - beta_1^t)(u + epsilon))``.
    Slots: ``momentum``, ``norm``."""

    type_name = "adamax"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "adamax",
        **kwargs,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("momentum", "norm")

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        correction = 1.0 - self.beta_1 ** (self.iterations + 1)
        m = self._slots["momentum"][index]
        m += (gradient - m) * (1.0 - self.beta_1)
        u = xp.maximum(self._slots["norm"][index] * self.beta_2, xp.abs(gradient))
        self._slots["norm"][index] = u
        subtract_in_place(var, (m * lr) / ((u + self.epsilon) * correction))


class Nadam(_Moments):
    """Adam with Nesterov momentum and Keras's momentum cache: ``mu_t = beta_1 (1 - 0.5 ·
    0.96^t)``, ``m_hat = mu_{t+1} m / (1 - prod mu_1..t+1) + (1 - mu_t) g / (1 - prod
    mu_1..t)``, ``w -= lr m_hat / (sqrt(v / (1 - beta_2^t)) + epsilon)``.
    Slots: ``momentum``, ``velocity``. The product of the ``mu`` (Keras's ``u_product``) is
    a function of the step alone, so it is recomputed from ``iterations`` rather than saved."""

    type_name = "nadam"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        name: str = "nadam",
        **kwargs,
    ):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)
        self._product = (0, 1.0)  # (step, prod of mu_1..step), a cache

    def _mu(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def _u_product(self, step: int) -> float:
        cached_step, value = self._product
        if step < cached_step:
            cached_step, value = 0, 1.0
        for s in range(cached_step + 1, step + 1):
            value *= self._mu(s)
        self._product = (step, value)
        return value

    def before_update_steps(self) -> None:
        step = self.iterations + 1
        mu, mu_next = self._mu(step), self._mu(step + 1)
        product = self._u_product(step)
        self._coefficients = (
            mu_next / (1.0 - product * mu_next),
            (1.0 - mu) / (1.0 - product),
            1.0 - self.beta_2**step,
        )

    def update_slot_names(self) -> tuple[str, ...]:
        return ("momentum", "velocity")

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        m_scale, g_scale, v_correction = self._coefficients
        m = self._slots["momentum"][index]
        v = self._slots["velocity"][index]
        m += (gradient - m) * (1.0 - self.beta_1)
        v += (gradient * gradient - v) * (1.0 - self.beta_2)
        m_hat = m * m_scale + gradient * g_scale
        subtract_in_place(var, (m_hat * lr) / (xp.sqrt(v / v_correction) + self.epsilon))

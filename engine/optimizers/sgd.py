"""Stochastic gradient descent (``keras.optimizers.SGD``)."""

from __future__ import annotations

from typing import Any

from engine.optimizers import checks
from engine.optimizers.base import Optimizer
from engine.optimizers.clipping import subtract_in_place


class SGD(Optimizer):
    """Gradient descent (the seeds' ``tf.train.GradientDescentOptimizer``), with Keras's
    momentum: ``v = momentum * v - lr * g; w += v``, or with ``nesterov``
    ``w += momentum * v - lr * g``. Slot: ``momentum`` (when ``momentum > 0``)."""

    type_name = "sgd"

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str = "SGD",
        **kwargs,
    ):
        self.momentum = checks.number("momentum", momentum, low=0, high=1)
        self.nesterov = bool(nesterov)
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )

    def update_slot_names(self) -> tuple[str, ...]:
        return ("momentum",) if self.momentum > 0 else ()

    def update_step(self, gradient, var, index, lr) -> None:
        if self.momentum == 0:
            subtract_in_place(var, gradient * lr)
            return
        velocity = self._slots["momentum"][index]
        velocity *= self.momentum
        velocity -= gradient * lr
        if self.nesterov:
            subtract_in_place(var, gradient * lr - velocity * self.momentum)
        else:
            subtract_in_place(var, -velocity)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}

"""Follow The Regularized Leader (McMahan et al. 2013, ``keras.optimizers.Ftrl``)."""

from __future__ import annotations

from typing import Any

from engine import backend
from engine.optimizers import checks
from engine.optimizers.base import Optimizer


class Ftrl(Optimizer):
    """Keras's rule, with online L1/L2 (``l1_regularization_strength``,
    ``l2_regularization_strength`` plus ``beta / (2 lr)``) and L2 shrinkage (the gradient
    gets ``2 l2_shrinkage w``): ``n' = n + g^2``, ``z += g' - (n'^-p - n^-p) / lr · w``,
    ``w = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 l2)`` with ``p = learning_rate_power``.
    Slots: ``accumulator`` (from ``initial_accumulator_value``), ``linear``."""

    type_name = "ftrl"

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        name: str = "ftrl",
        **kwargs,
    ):
        self.learning_rate_power = checks.number("learning_rate_power", learning_rate_power, high=0)
        self.initial_accumulator_value = checks.number(
            "initial_accumulator_value", initial_accumulator_value, low=0
        )
        self.l1_regularization_strength = checks.number(
            "l1_regularization_strength", l1_regularization_strength, low=0
        )
        self.l2_regularization_strength = checks.number(
            "l2_regularization_strength", l2_regularization_strength, low=0
        )
        self.l2_shrinkage_regularization_strength = checks.number(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength, low=0
        )
        self.beta = checks.number("beta", beta, low=0)
        super().__init__(learning_rate, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("accumulator", "linear")

    def new_slot(self, slot, var):
        if slot == "accumulator":
            xp = backend.xp
            return xp.full(var.data.shape, self.initial_accumulator_value, dtype=var.data.dtype)
        return super().new_slot(slot, var)

    def update_step(self, gradient, var, index, lr) -> None:
        if lr == 0:
            return  # every term divides by the learning rate: a zero rate changes nothing
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        accumulator = self._slots["accumulator"][index]
        linear = self._slots["linear"][index]
        shrunk = gradient + var.data * (2.0 * self.l2_shrinkage_regularization_strength)
        new_accumulator = accumulator + gradient * gradient
        new_power = new_accumulator**power
        linear += shrunk - ((new_power - accumulator**power) / lr) * var.data
        quadratic = new_power / lr + 2.0 * l2
        var.data = (backend.xp.clip(linear, -l1, l1) - linear) / quadratic
        self._slots["accumulator"][index] = new_accumulator

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        }

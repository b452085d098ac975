"""Lion (Chen et al. 2023, ``keras.optimizers.Lion``): the sign of an interpolated momentum."""

from __future__ import annotations

from typing import Any

from engine import backend
from engine.optimizers import checks
from engine.optimizers.base import Optimizer
from engine.optimizers.clipping import subtract_in_place


class Lion(Optimizer):
    """``w -= lr sign(beta_1 m + (1 - beta_1) g)``, then ``m = beta_2 m + (1 - beta_2) g``.
    Slot: ``momentum``. As in Keras ``beta_1`` must lie in (0, 1] (0 makes it SignSGD)."""

    type_name = "lion"

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        name: str = "lion",
        **kwargs,
    ):
        self.beta_1 = checks.number("beta_1", beta_1, low=0, high=1, low_open=True)
        self.beta_2 = checks.number("beta_2", beta_2, low=0, high=1)
        super().__init__(learning_rate, name=name, **kwargs)

    def update_slot_names(self) -> tuple[str, ...]:
        return ("momentum",)

    def update_step(self, gradient, var, index, lr) -> None:
        xp = backend.xp
        m = self._slots["momentum"][index]
        subtract_in_place(var, xp.sign(m * self.beta_1 + gradient * (1.0 - self.beta_1)) * lr)
        m *= self.beta_2
        m += gradient * (1.0 - self.beta_2)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}

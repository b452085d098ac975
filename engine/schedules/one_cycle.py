"""The 1cycle policy (Smith & Topin 2017) as PyTorch's ``torch.optim.lr_scheduler.OneCycleLR``
computes it, under Keras-style argument names.

The rate rises from ``max_learning_rate / div_factor`` to ``max_learning_rate`` over the
first ``pct_start`` of ``total_steps``, then anneals to ``max_learning_rate / div_factor /
final_div_factor`` at step ``total_steps - 1``. With ``three_phase`` it comes back down to
the initial rate symmetrically first, and anneals to the minimum in a third phase.

Differences from PyTorch, on purpose:

* learning rate only: PyTorch's ``cycle_momentum`` (moving SGD's momentum or Adam's
  ``beta_1`` against the rate) is left out; the optimizer's momentum stays as set;
* the length is ``total_steps`` only (PyTorch's ``epochs * steps_per_epoch`` is the same
  number); past ``total_steps - 1`` the rate stays at the minimum, where PyTorch raises;
* a phase shorter than a step (PyTorch divides by zero) jumps straight to its end rate.
"""

from __future__ import annotations

import math
from typing import Any

from engine.schedules.base import LearningRateSchedule, at_least, flag, number, rate

__all__ = ["OneCycle"]

ANNEAL_STRATEGIES = ("cos", "linear")


class OneCycle(LearningRateSchedule):
    """The 1cycle learning rate: up to ``max_learning_rate``, then far below the start.

    Arguments map to ``OneCycleLR``'s: ``max_learning_rate`` is ``max_lr``; ``total_steps``,
    ``pct_start``, ``anneal_strategy`` (``"cos"`` or ``"linear"``), ``div_factor``,
    ``final_div_factor`` and ``three_phase`` keep their names and defaults. Steps count
    optimizer steps from 0. With a warmup the cycle starts from ``warmup_target`` instead of
    ``max_learning_rate / div_factor`` once the warmup is over (``total_steps`` counted
    from there).
    """

    config_name = "one_cycle"

    def __init__(
        self,
        max_learning_rate: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        *,
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.max_learning_rate = rate(self, "max_learning_rate", max_learning_rate)
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(
                f"OneCycle: total_steps must be a whole number of steps > 0, got {total_steps!r}"
            )
        self.total_steps = total_steps
        allowed = "a fraction strictly between 0 and 1"
        pct = number(self, "pct_start", pct_start, allowed)
        if not 0.0 < pct < 1.0:
            raise ValueError(f"OneCycle: pct_start must be {allowed}, got {pct_start!r}")
        self.pct_start = pct
        if anneal_strategy not in ANNEAL_STRATEGIES:
            raise ValueError(
                f"OneCycle: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.div_factor = at_least(self, "div_factor", div_factor, 0.0, above=True)
        self.final_div_factor = at_least(
            self, "final_div_factor", final_div_factor, 0.0, above=True
        )
        self.three_phase = flag(self, "three_phase", three_phase)
        self._init_warmup(warmup_target, warmup_steps)

    def _initial_rate(self) -> float:
        return self.max_learning_rate / self.div_factor

    def _phases(self, start: float) -> list[tuple[float, float, float]]:
        """(last step, rate at its start, rate at its end) per phase, as OneCycleLR's
        ``_schedule_phases``; the minimum is always PyTorch's initial rate / final_div_factor."""
        total, pct, top = self.total_steps, self.pct_start, self.max_learning_rate
        low = self._initial_rate() / self.final_div_factor
        if self.three_phase:
            return [
                (pct * total - 1, start, top),
                (2 * pct * total - 2, top, start),
                (total - 1, start, low),
            ]
        return [(pct * total - 1, start, top), (total - 1, top, low)]

    def _rate(self, step: float, start: float) -> float:
        step = min(step, self.total_steps - 1)  # hold the minimum after the cycle
        phases = self._phases(start)
        begin = 0.0
        for i, (end, high, low) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                length = end - begin
                pct = (step - begin) / length if length != 0 else 1.0
                return self._anneal(high, low, pct)
            begin = end
        raise AssertionError("unreachable: the last phase always answers")

    def _anneal(self, begin: float, end: float, pct: float) -> float:
        # OneCycleLR._annealing_cos / _annealing_linear, written the same way.
        if self.anneal_strategy == "cos":
            return end + (begin - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - begin) * pct + begin

    def _arguments(self) -> dict[str, Any]:
        return {
            "max_learning_rate": self.max_learning_rate,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "anneal_strategy": self.anneal_strategy,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "three_phase": self.three_phase,
        }

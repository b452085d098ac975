"""Which trials an experiment runs: grid, random or successive halving.

* ``grid``: every combination of the values (the cartesian product; the first parameter
  changes slowest), in order;
* ``random``: ``trials`` combinations drawn from that grid without repeats, seeded, so the
  same seed draws the same trials;
* ``halving`` (successive halving): ``trials`` configurations (drawn as ``random`` does; all
  of the grid without ``trials``) start with few epochs; at each rung the better half by the
  metric goes on, continuing its run, for twice as many epochs, until the last rung trains
  for the experiment's full epochs. :func:`halving_rungs` gives the rungs;
  :func:`promote` makes the next rung's trials once a rung is done.
"""

from __future__ import annotations

import itertools
import math
import random
from typing import Any

from engine.experiments.errors import SweepError

__all__ = [
    "MAX_TRIALS",
    "STRATEGIES",
    "grid",
    "grid_size",
    "halving_rungs",
    "initial_trials",
    "promote",
    "random_trials",
]

STRATEGIES = ("grid", "random", "halving")
#: More trials than this is a mistake in a range, not an experiment.
MAX_TRIALS = 10_000


def grid_size(params) -> int:
    return math.prod(len(p.values) for p in params) if params else 0


def grid(params) -> list[dict[str, Any]]:
    """Every combination, as ``{name: value}``, the first parameter changing slowest."""
    size = grid_size(params)
    if size == 0:
        raise SweepError("the grid is empty: every parameter needs at least one value")
    if size > MAX_TRIALS:
        raise SweepError(
            f"the grid has {size} combinations, more than {MAX_TRIALS}: use fewer values, or "
            "--strategy random with --trials N"
        )
    names = [p.name for p in params]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(p.values for p in params))
    ]


def _combination(params, index: int) -> dict[str, Any]:
    """The grid's ``index``-th combination without building the grid (mixed radix)."""
    values = {}
    for p in reversed(params):
        index, digit = divmod(index, len(p.values))
        values[p.name] = p.values[digit]
    return {p.name: values[p.name] for p in params}


def random_trials(params, trials: int, seed: int = 0) -> list[dict[str, Any]]:
    """``trials`` distinct combinations drawn from the grid with ``random.Random(seed)``."""
    size = grid_size(params)
    if size == 0:
        raise SweepError("the grid is empty: every parameter needs at least one value")
    if trials < 1:
        raise SweepError(f"trials must be at least 1, got {trials}")
    if trials > size:
        raise SweepError(
            f"{trials} trials asked for, but the grid has only {size} different combinations"
        )
    if trials > MAX_TRIALS:
        raise SweepError(f"{trials} trials is more than {MAX_TRIALS}")
    picks = random.Random(seed).sample(range(size), trials)
    return [_combination(params, i) for i in picks]


def halving_rungs(configurations: int, epochs: int) -> list[tuple[int, int]]:
    """``[(trials, epochs), ...]`` per rung: the trial count halves (at least one), the
    epochs double up to ``epochs`` at the last rung. Rungs never repeat an epoch count, so
    a run of 2 epochs has at most 2 rungs."""
    if configurations < 1:
        raise SweepError("successive halving needs at least 1 configuration")
    if epochs < 1:
        raise SweepError(f"epochs must be at least 1, got {epochs}")
    counts = [configurations]
    while counts[-1] > 1:
        counts.append(max(1, counts[-1] // 2))
    depth = min(len(counts), int(math.log2(epochs)) + 1)
    counts = counts[:depth]
    return [(count, max(1, round(epochs / 2 ** (depth - 1 - r)))) for r, count in enumerate(counts)]


def initial_trials(
    strategy: str, params, trials: int | None, seed: int, epochs: int
) -> list[dict[str, Any]]:
    """The trials an experiment starts with, as ``{"values", "rung", "epochs"}`` dicts
    (``epochs`` None: the experiment's epochs)."""
    if strategy not in STRATEGIES:
        raise SweepError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if trials is not None and trials < 1:
        raise SweepError(f"trials must be at least 1, got {trials}")
    if strategy == "grid":
        combos = grid(params)
        if trials is not None:
            combos = combos[:trials]
        return [{"values": c, "rung": 0, "epochs": None} for c in combos]
    if strategy == "random":
        combos = random_trials(
            params, trials if trials is not None else min(grid_size(params), 10), seed
        )
        return [{"values": c, "rung": 0, "epochs": None} for c in combos]
    if any(p.name == "epochs" for p in params):
        raise SweepError(
            "successive halving sets each rung's epochs itself: do not sweep epochs with it"
        )
    size = grid_size(params)
    combos = (
        grid(params) if trials is None or trials >= size else random_trials(params, trials, seed)
    )
    rungs = halving_rungs(len(combos), epochs)
    return [{"values": c, "rung": 0, "epochs": rungs[0][1]} for c in combos]


def promote(experiment) -> list[dict[str, Any]]:
    """The next rung's trials once every trial of the current rung has ended, or ``[]``
    (rung still going, last rung done, or nothing finished). Each continues the run of
    the trial it was promoted from (``parent``)."""
    if experiment.strategy != "halving" or not experiment.trials:
        return []
    rung = max(t.rung for t in experiment.trials)
    current = [t for t in experiment.trials if t.rung == rung]
    if any(t.status in ("pending", "running") for t in current):
        return []
    rungs = halving_rungs(len([t for t in experiment.trials if t.rung == 0]), experiment.epochs)
    if rung + 1 >= len(rungs):
        return []
    keep, epochs = rungs[rung + 1]
    ranked = experiment.ranked([t for t in current if t.status == "finished"])
    return [
        {"values": dict(t.values), "rung": rung + 1, "epochs": epochs, "parent": t.id}
        for t in ranked[:keep]
    ]

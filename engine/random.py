"""Seeded randomness for weight initialisation, dropout and shuffling.

One module-level generator, reseeded by :func:`set_random_seed` (``keras.utils.set_random_seed``),
so that training with the same seed is bit-for-bit reproducible on the CPU. Random numbers
are drawn on the host with numpy and moved to the device, which keeps CPU and GPU runs on
the same stream.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def set_random_seed(seed: int) -> None:
    """Reseed every source of randomness the engine uses."""
    global _generator
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    """The shared host generator (weights, dropout masks, shuffles)."""
    return _generator

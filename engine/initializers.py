"""Weight initialisers with Keras's names (``glorot_uniform``, ``he_normal``, ``orthogonal``...).

Each takes a shape and the fan-in/fan-out convention of the layer and returns a host float32
array drawn from :mod:`engine.random`, so initial weights are reproducible by seed.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator

import numpy as np

from engine.random import generator

Initializer = Callable[[tuple[int, ...], int, int], np.ndarray]


def zeros(shape, fan_in=1, fan_out=1):
    return np.zeros(shape, dtype=np.float32)


def ones(shape, fan_in=1, fan_out=1):
    return np.ones(shape, dtype=np.float32)


def glorot_uniform(shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return generator().uniform(-limit, limit, size=shape).astype(np.float32)


def glorot_normal(shape, fan_in, fan_out):
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return _truncated_normal(shape, std)


def he_uniform(shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / fan_in)
    return generator().uniform(-limit, limit, size=shape).astype(np.float32)


def he_normal(shape, fan_in, fan_out):
    return _truncated_normal(shape, math.sqrt(2.0 / fan_in))


def random_normal(shape, fan_in=1, fan_out=1):
    return (generator().standard_normal(size=shape) * 0.05).astype(np.float32)


def random_uniform(shape, fan_in=1, fan_out=1):
    return generator().uniform(-0.05, 0.05, size=shape).astype(np.float32)


def orthogonal(shape, fan_in=1, fan_out=1):
    """Orthogonal columns (Keras's default for recurrent kernels), for a 2-D shape."""
    rows, cols = shape[0], int(np.prod(shape[1:]))
    a = generator().standard_normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return q[:rows, :cols].reshape(shape).astype(np.float32)


def _truncated_normal(shape, std):
    values = generator().standard_normal(size=shape)
    bad = np.abs(values) > 2
    while bad.any():
        values[bad] = generator().standard_normal(size=int(bad.sum()))
        bad = np.abs(values) > 2
    return (values * std / 0.87962566103423978).astype(np.float32)


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "random_normal": random_normal,
    "random_uniform": random_uniform,
    "orthogonal": orthogonal,
}


def get(name: str) -> Initializer:
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(
            f"unknown initializer {name!r}; choose one of {', '.join(sorted(INITIALIZERS))}"
        ) from None


# Set while a caller builds layers whose every weight it sets right after (an importer): the
# weights are then allocated as zeros instead of drawn. Drawing is most of the time it takes
# to import a large model (3.4 of 6.5 s for VGG-11's 133 million weights).
_SKIP_DRAWING = contextvars.ContextVar("skip_drawing", default=False)


@contextlib.contextmanager
def weights_set_afterwards() -> Iterator[None]:
    """Layers built inside get zero weights instead of random ones: only for code that sets
    every weight of those layers before anything reads them."""
    token = _SKIP_DRAWING.set(True)
    try:
        yield
    finally:
        _SKIP_DRAWING.reset(token)


def drawing_skipped() -> bool:
    """Whether :func:`weights_set_afterwards` is in effect."""
    return _SKIP_DRAWING.get()

"""Central finite-difference gradient checking in float64 (used by the tests, and by users
who write their own primitives).

``check_gradients(fn, inputs)`` compares the autodiff gradient of ``sum(fn(*inputs) * w)``
(``w`` a fixed random projection, so every output element matters) with
``(f(x + h) - f(x - h)) / 2h`` for every element of every input, and reports the worst
relative error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine import backend
from engine.autodiff.tensor import Tensor, grad, no_grad


def numerical_gradient(scalar_fn: Callable[[], float], array: np.ndarray, eps: float = 1e-6):
    """d scalar_fn / d array by central differences; ``array`` is perturbed in place."""
    result = np.zeros_like(array)
    flat, out = array.reshape(-1), result.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = scalar_fn()
        flat[i] = saved - eps
        minus = scalar_fn()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return result


def check_gradients(
    fn: Callable[..., Tensor],
    inputs: Sequence[np.ndarray],
    wrt: Sequence[int] | None = None,
    eps: float = 1e-6,
    seed: int = 0,
) -> float:
    """Return the largest relative error between analytic and numeric gradients.

    ``inputs`` are float64 numpy arrays (integer arrays are passed through undifferentiated);
    ``wrt`` selects which inputs to check (default: every floating one).
    """
    host = [np.array(x, copy=True) for x in inputs]
    if wrt is None:
        wrt = [i for i, x in enumerate(host) if np.issubdtype(x.dtype, np.floating)]
    rng = np.random.default_rng(seed)

    def run(track: bool):
        tensors = [
            Tensor(backend.asarray(x), requires_grad=track and i in wrt) for i, x in enumerate(host)
        ]
        return tensors, fn(*tensors)

    tensors, out = run(True)
    weights = rng.standard_normal(out.shape)
    analytic = grad(out, [tensors[i] for i in wrt], grad_output=backend.asarray(weights))

    def scalar() -> float:
        with no_grad():
            _, value = run(False)
        return float(np.sum(backend.to_numpy(value.data) * weights))

    worst = 0.0
    for slot, i in enumerate(wrt):
        numeric = numerical_gradient(scalar, host[i], eps)
        got = np.zeros_like(host[i]) if analytic[slot] is None else backend.to_numpy(analytic[slot])
        scale = np.maximum(np.abs(numeric), np.abs(got)).max() + 1e-8
        worst = max(worst, float(np.abs(numeric - got).max() / scale))
    return worst

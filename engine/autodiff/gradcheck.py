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
from engine.autodiff.tensor import Tensor, Variable, grad, no_grad


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
    variables: Sequence[Variable] = (),
) -> float:
    """Return the largest relative error between analytic and numeric gradients.

    ``inputs`` are float64 numpy arrays (integer arrays are passed through undifferentiated);
    ``wrt`` selects which inputs to check (default: every floating one). ``variables`` are
    float64 :class:`Variable` objects ``fn`` reads (a layer's weights): their gradients are
    checked too, by perturbing each one's value in place and restoring it afterwards.
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
    variables = list(variables)
    analytic = grad(
        out, [tensors[i] for i in wrt] + variables, grad_output=backend.asarray(weights)
    )

    def scalar() -> float:
        with no_grad():
            _, value = run(False)
        return float(np.sum(backend.to_numpy(value.data) * weights))

    def compare(numeric, analytic_grad) -> float:
        got = np.zeros_like(numeric) if analytic_grad is None else backend.to_numpy(analytic_grad)
        scale = np.maximum(np.abs(numeric), np.abs(got)).max() + 1e-8
        return float(np.abs(numeric - got).max() / scale)

    worst = 0.0
    for slot, i in enumerate(wrt):
        numeric = numerical_gradient(scalar, host[i], eps)
        worst = max(worst, compare(numeric, analytic[slot]))
    for slot, var in enumerate(variables, start=len(wrt)):
        original = var.data
        value = np.array(backend.to_numpy(original), copy=True)

        def scalar_with_value(var=var, value=value) -> float:
            var.data = backend.asarray(value)
            return scalar()

        try:
            numeric = numerical_gradient(scalar_with_value, value, eps)
        finally:
            var.data = original
        worst = max(worst, compare(numeric, analytic[slot]))
    return worst

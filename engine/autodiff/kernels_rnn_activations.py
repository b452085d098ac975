"""The activations a recurrent kernel may use, each with its derivative in *output* form.

Backpropagation through time keeps only the gates' values after activation, so every
derivative here is written in terms of ``y = f(a)`` (``tanh' = 1 - y^2``). When the gates'
activation is sigmoid, :func:`gate_activation` hands back ``sigmoid(2a)`` and a weight
scale of 1/2: the kernels halve the gates' weights once and then pay one ``tanh`` per
gate value (``sigmoid(a) = 0.5 * tanh(a / 2) + 0.5``, which cannot overflow either).
"""

from __future__ import annotations

from collections.abc import Callable

from engine import backend

__all__ = [
    "RNN_ACTIVATIONS",
    "Activation",
    "_activation",
    "_derivative_into",
    "_gate_activation",
    "_tanh",
]


def _tanh(a):
    return backend.xp.tanh(a)


def _d_tanh(y):
    return 1.0 - y * y


def _sigmoid(a):
    return 0.5 * backend.xp.tanh(0.5 * a) + 0.5


def _sigmoid_of_double(a):
    """sigmoid(2a): the sigmoid of a pre-activation whose weights were halved."""
    return 0.5 * backend.xp.tanh(a) + 0.5


def _d_sigmoid(y):
    return y * (1.0 - y)


def _relu(a):
    xp = backend.xp
    return xp.where(a > 0, a, xp.zeros_like(a))


def _d_relu(y):
    return backend.xp.astype(y > 0, y.dtype)


def _linear(a):
    return a


def _d_linear(y):
    return backend.xp.ones_like(y)


def _elu(a):
    xp = backend.xp
    return xp.where(a > 0, a, xp.expm1(xp.minimum(a, xp.zeros_like(a))))


def _d_elu(y):
    # For a <= 0, elu(a) = e^a - 1, whose derivative e^a equals y + 1.
    xp = backend.xp
    return xp.where(y > 0, xp.ones_like(y), y + 1.0)


_LEAKY_SLOPE = 0.2  # Keras's LeakyReLU default, as in engine.activations


def _leaky_relu(a):
    return backend.xp.where(a > 0, a, _LEAKY_SLOPE * a)


def _d_leaky_relu(y):
    xp = backend.xp
    return xp.where(y > 0, xp.ones_like(y), xp.full_like(y, _LEAKY_SLOPE))


def _softplus(a):
    xp = backend.xp
    return xp.log1p(xp.exp(-xp.abs(a))) + xp.where(a > 0, a, xp.zeros_like(a))


def _d_softplus(y):
    # softplus'(a) = sigmoid(a) = 1 - exp(-softplus(a)).
    return -backend.xp.expm1(-y)


Activation = tuple[Callable, Callable]

RNN_ACTIVATIONS: dict[str, Activation] = {
    "tanh": (_tanh, _d_tanh),
    "sigmoid": (_sigmoid, _d_sigmoid),
    "relu": (_relu, _d_relu),
    "linear": (_linear, _d_linear),
    "elu": (_elu, _d_elu),
    "leaky_relu": (_leaky_relu, _d_leaky_relu),
    "softplus": (_softplus, _d_softplus),
}


def _activation(name: str) -> Activation:
    try:
        return RNN_ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unsupported recurrent activation {name!r}; choose one of {', '.join(RNN_ACTIVATIONS)}"
        ) from None


def _gate_activation(name: str) -> tuple[Callable, Callable, float]:
    """The gates' forward function, derivative, and the factor their weights are scaled by."""
    if name == "sigmoid":
        return _sigmoid_of_double, _d_sigmoid, 0.5
    forward, derivative = _activation(name)
    return forward, derivative, 1.0


def _derivative_into(buffer, index, derivative: Callable, y, inplace: bool) -> None:
    """``buffer[index] = derivative(y)``; for tanh and sigmoid, with ``inplace`` (numpy,
    CuPy), in two passes straight into the buffer instead of through three temporaries."""
    xp = backend.xp
    out = buffer[index]
    if inplace and derivative is _d_tanh:
        xp.multiply(y, y, out=out)
        xp.subtract(1.0, out, out=out)
    elif inplace and derivative is _d_sigmoid:
        xp.subtract(1.0, y, out=out)
        xp.multiply(out, y, out=out)
    else:
        buffer[index] = derivative(y)

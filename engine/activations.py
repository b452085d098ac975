"""Activation functions by Keras name (``keras.activations.relu`` and friends).

Layers take ``activation="relu"`` etc.; :func:`get` turns the name into the function. Each
function maps a Tensor to a Tensor through the differentiable primitives.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.autodiff import ops
from engine.autodiff.tensor import Tensor


def relu(x) -> Tensor:
    return ops.relu(x)


def sigmoid(x) -> Tensor:
    x = ops.as_tensor(x)
    out = ops.sigmoid(x)
    out.logits = x
    out.logits_activation = "sigmoid"
    return out


def tanh(x) -> Tensor:
    return ops.tanh(x)


def softmax(x, axis: int = -1) -> Tensor:
    x = ops.as_tensor(x)
    out = ops.softmax(x, axis)
    if axis in (-1, x.ndim - 1):
        out.logits = x
        out.logits_activation = "softmax"
    return out


def leaky_relu(x, negative_slope: float = 0.2) -> Tensor:
    return ops.leaky_relu(x, negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    return ops.elu(x, alpha)


def gelu(x, approximate: bool = False) -> Tensor:
    return ops.gelu(x, approximate)


def softplus(x) -> Tensor:
    return ops.softplus(x)


def linear(x) -> Tensor:
    return ops.as_tensor(x)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "softplus": softplus,
}

ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)


def get(identifier) -> Callable[[Tensor], Tensor]:
    """A name (``None`` means linear) or a callable."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    try:
        return ACTIVATIONS[identifier]
    except KeyError:
        raise ValueError(
            f"unknown activation {identifier!r}; choose one of {', '.join(ACTIVATION_NAMES)}"
        ) from None

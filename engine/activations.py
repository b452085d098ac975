"""Activation functions by Keras name (``keras.activations.relu`` and friends).

Layers take ``activation="relu"`` etc.; :func:`get` turns the name into the function. Each
function maps a Tensor to a Tensor through the differentiable primitives. The names are
Keras 3's, aliases included (``swish`` is ``silu``, ``hard_swish`` is ``hard_silu``), so a
Keras model's ``activation=`` strings carry over unchanged; ``hard_sigmoid`` is Keras 3's
``relu6(x + 3) / 6`` (not Keras 2's ``0.2 x + 0.5``).
"""

from __future__ import annotations

from collections.abc import Callable

from engine.autodiff import kernels_activation, ops
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
    return kernels_activation.gelu(x, approximate)


def softplus(x) -> Tensor:
    return ops.softplus(x)


def linear(x) -> Tensor:
    return ops.as_tensor(x)


def relu6(x) -> Tensor:
    return kernels_activation.relu6(x)


def silu(x) -> Tensor:
    return kernels_activation.silu(x)


def hard_sigmoid(x) -> Tensor:
    return kernels_activation.hard_sigmoid(x)


def hard_silu(x) -> Tensor:
    return kernels_activation.hard_silu(x)


def mish(x) -> Tensor:
    return kernels_activation.mish(x)


def selu(x) -> Tensor:
    return kernels_activation.selu(x)


def softsign(x) -> Tensor:
    return kernels_activation.softsign(x)


swish = silu
hard_swish = hard_silu


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
    "relu6": relu6,
    "silu": silu,
    "swish": swish,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_swish,
    "mish": mish,
    "selu": selu,
    "softsign": softsign,
}
# Keras's aliases, and the name each one is exported / imported under.
ALIASES: dict[str, str] = {"swish": "silu", "hard_swish": "hard_silu"}

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

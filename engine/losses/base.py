"""The ``Loss`` object: per-sample losses weighted and reduced to one scalar, as in Keras.

``loss(y_true, y_pred, sample_weight=None)`` returns one scalar Tensor: by default the
weighted sum of the per-sample losses divided by their count
(``reduction="sum_over_batch_size"``). ``LossFunctionWrapper`` turns a per-sample function
with fixed keyword arguments into such an object; every built-in loss class is one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor
from engine.losses.targets import shape_text

__all__ = ["REDUCTIONS", "Loss", "LossFunctionWrapper", "reduce_values"]

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")


def reduce_values(values: Tensor, sample_weight, reduction: str) -> Tensor:
    """Weight the per-sample losses and reduce them as ``reduction`` says."""
    weights = None
    if sample_weight is not None:
        xp = backend.xp
        weights = ops.as_tensor(sample_weight, like=values).data
        if weights.dtype != values.dtype:
            weights = xp.astype(weights, values.dtype)
        n = values.shape[0] if values.ndim else 1
        if weights.size != n and tuple(weights.shape) != values.shape:
            raise ValueError(
                f"sample_weight of shape {shape_text(tuple(weights.shape))} does not fit "
                f"{n} samples: give one weight per sample"
            )
        if tuple(weights.shape) != values.shape:
            weights = xp.reshape(weights, (n,) + (1,) * max(values.ndim - 1, 0))
        values = values * Tensor(weights)
    if reduction == "none":
        return values
    total = ops.sum_(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        denominator = backend.xp.sum(
            backend.xp.broadcast_to(weights, values.shape) if values.ndim else weights
        )
        return total / Tensor(denominator)
    return total * (1.0 / max(values.size, 1))


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` gives a scalar Tensor.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.
    ``reduction=None`` is Keras's spelling of ``"none"``.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size"):
        if reduction is None:
            reduction = "none"
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}"
            )
        self.name = name or type(self).__name__
        self.reduction = reduction

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        return reduce_values(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class LossFunctionWrapper(Loss):
    """A per-sample loss function (with fixed keyword arguments) as a ``Loss`` object."""

    def __init__(
        self,
        fn: Callable[..., Tensor],
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        **kwargs: Any,
    ):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}

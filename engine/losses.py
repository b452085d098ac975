"""Loss functions by Keras name (``keras.losses``): per-sample functions and ``Loss`` objects.

Two forms, as in Keras:

- functions (``mean_squared_error`` / ``mse``, ``mean_absolute_error`` / ``mae``, ``huber``,
  ``binary_crossentropy``, ``categorical_crossentropy``, ``sparse_categorical_crossentropy``)
  return the loss of every sample, the last (feature or class) axis reduced;
- classes (``MeanSquaredError``, ..., ``SparseCategoricalCrossentropy``) are called as
  ``loss(y_true, y_pred, sample_weight=None)`` and return one scalar Tensor, the weighted
  sum of the per-sample losses divided by their count (``reduction="sum_over_batch_size"``).

``y_pred`` is a Tensor (the model's output); ``y_true`` is a backend array, a numpy array or
a Tensor. Targets of shape ``(N,)`` fit predictions ``(N, 1)`` and the other way round;
any other shape mismatch is an error with a message saying what to change, never a silent
broadcast.

Cross-entropies on logits use the fused kernels of :mod:`engine.autodiff.kernels_loss`.
With ``from_logits=False`` a prediction made by :func:`engine.activations.softmax` /
``sigmoid`` carries its logits (``y_pred.logits``), and the fused kernel runs on those, as
Keras does: exact and stable, and equal (up to rounding) to clipping the probabilities to
``[1e-7, 1 - 1e-7]``, which is what happens for any other probability tensor.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from engine import backend
from engine.autodiff import kernels_loss, ops
from engine.autodiff.tensor import Tensor, _as_array
from engine.identifiers import from_identifier

__all__ = [
    "EPSILON",
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "get",
    "loss_kind",
    "align_targets",
    "sparse_labels",
    "REDUCTIONS",
]

# Keras's backend epsilon: probabilities are clipped to [EPSILON, 1 - EPSILON] before a log.
EPSILON = 1e-7

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none")


# -- preparing targets -------------------------------------------------------------------------


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def align_targets(y_true, y_pred: Tensor, loss_name: str) -> Tensor:
    """``y_true`` as a Tensor in ``y_pred``'s dtype and shape (``(N,)`` and ``(N, 1)`` fit).

    Raises ``ValueError`` when the shapes cannot fit, rather than broadcasting ``(N,)``
    against ``(N, 1)`` into an ``(N, N)`` loss.
    """
    target = ops.as_tensor(y_true, like=y_pred)
    if target.dtype != y_pred.dtype:
        target = Tensor(backend.xp.astype(target.data, y_pred.dtype))
    t_shape, p_shape = target.shape, y_pred.shape
    if t_shape == p_shape:
        return target
    if len(t_shape) == len(p_shape) - 1 and p_shape[-1] == 1 and t_shape == p_shape[:-1]:
        return ops.reshape(target, p_shape)
    if len(t_shape) == len(p_shape) + 1 and t_shape[-1] == 1 and t_shape[:-1] == p_shape:
        return ops.reshape(target, p_shape)
    raise ValueError(
        f"{loss_name}: targets of shape {_shape(t_shape)} do not fit predictions of shape "
        f"{_shape(p_shape)}: {_mismatch_hint(loss_name, t_shape, p_shape)}"
    )


def _mismatch_hint(loss_name: str, t_shape, p_shape) -> str:
    if t_shape[:1] != p_shape[:1]:
        return "targets and inputs must have the same number of samples"
    if loss_name == "categorical_crossentropy":
        if len(t_shape) == len(p_shape) - 1 or (len(t_shape) == len(p_shape) and t_shape[-1] == 1):
            return (
                "these look like integer class labels; use sparse_categorical_crossentropy, "
                f"or one-hot encode them with {p_shape[-1]} columns"
            )
        return (
            f"categorical labels have {t_shape[-1]} columns but the model predicts "
            f"{p_shape[-1]} classes; give the output layer {t_shape[-1]} units or one-hot "
            f"encode the labels with {p_shape[-1]} columns"
        )
    if loss_name == "binary_crossentropy" and p_shape[-1] != 1 and len(t_shape) < len(p_shape):
        return (
            "binary_crossentropy needs one probability per target; give the output layer "
            "1 unit with a sigmoid, or use sparse_categorical_crossentropy for class labels"
        )
    return "the output layer must produce one value per target column"


def _is_integer(dtype) -> bool:
    isdtype = getattr(backend.xp, "isdtype", None)
    if isdtype is not None:
        return bool(isdtype(dtype, "integral"))
    return np.dtype(dtype).kind in "iu"


def sparse_labels(y_true, y_pred: Tensor, axis: int = -1):
    """Integer class labels as an int64 backend array of ``y_pred``'s shape without ``axis``.

    Accepts ``(N,)`` or ``(N, 1)`` for ``(N, C)`` predictions (and the same with a time
    axis); checks every label is a valid class.
    """
    xp = backend.xp
    labels = y_true.data if isinstance(y_true, Tensor) else _as_array(y_true)
    if not _is_integer(labels.dtype):
        labels = xp.astype(labels, xp.int64)
    p_shape = y_pred.shape
    axis %= len(p_shape)
    expected = p_shape[:axis] + p_shape[axis + 1 :]
    shape = tuple(labels.shape)
    if shape != expected and len(shape) == len(p_shape) and shape[axis] == 1:
        labels = xp.reshape(labels, expected)
        shape = expected
    if shape != expected:
        if shape == p_shape:
            hint = (
                "these look like one-hot labels; use categorical_crossentropy, or give "
                "integer class labels"
            )
        elif shape[:1] != p_shape[:1]:
            hint = "targets and inputs must have the same number of samples"
        else:
            hint = f"give one integer class label per prediction, shape {_shape(expected)}"
        raise ValueError(
            f"sparse_categorical_crossentropy: labels of shape {_shape(shape)} do not fit "
            f"predictions of shape {_shape(p_shape)}: {hint}"
        )
    kernels_loss.check_sparse_labels(labels, p_shape[axis])
    return labels


def _rank_at_least_2(y_pred: Tensor) -> Tensor:
    """A ``(N,)`` prediction is treated as ``(N, 1)`` so every sample keeps its own loss
    (its logits, if it carries them, are reshaped alike)."""
    if y_pred.ndim != 1:
        return y_pred
    column = (y_pred.shape[0], 1)
    out = ops.reshape(y_pred, column)
    if y_pred.logits is not None:
        out.logits = ops.reshape(y_pred.logits, column)
        out.logits_activation = y_pred.logits_activation
    return out


def _logits_for(y_pred: Tensor, from_logits: bool, activation: str, loss_name: str):
    """The logits to feed a fused kernel, or ``None`` for the clipped-probability path."""
    made_by = getattr(y_pred, "logits_activation", None)
    if from_logits:
        if y_pred.logits is not None and made_by is not None:
            warnings.warn(
                f"{loss_name} got from_logits=True, but the predictions come out of a "
                f"{made_by} activation, so they are probabilities: use from_logits=False, or "
                "remove the activation from the output layer",
                UserWarning,
                stacklevel=4,
            )
        return y_pred
    if y_pred.logits is not None and made_by == activation:
        return y_pred.logits
    return None


# -- per-sample loss functions -----------------------------------------------------------------


def mean_squared_error(y_true, y_pred) -> Tensor:
    """``mean((y_pred - y_true) ** 2)`` over the last axis, per sample."""
    y_pred = _rank_at_least_2(ops.as_tensor(y_pred))
    y_true = align_targets(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """``mean(|y_pred - y_true|)`` over the last axis, per sample."""
    y_pred = _rank_at_least_2(ops.as_tensor(y_pred))
    y_true = align_targets(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs_(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta: float = 1.0) -> Tensor:
    """Quadratic ``0.5 x^2`` for ``|x| <= delta``, linear ``delta (|x| - delta / 2)`` beyond;
    ``x = y_pred - y_true``, averaged over the last axis per sample."""
    y_pred = _rank_at_least_2(ops.as_tensor(y_pred))
    y_true = align_targets(y_true, y_pred, "huber_loss")
    abs_error = ops.abs_(y_pred - y_true)
    # Splitting |x| into min(|x|, delta) + the rest gives one smooth expression, no branch.
    quadratic = ops.minimum(abs_error, ops.as_tensor(float(delta), like=abs_error))
    linear = abs_error - quadratic
    return ops.mean(0.5 * ops.square(quadratic) + float(delta) * linear, axis=-1)


def binary_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0
) -> Tensor:
    """Binary cross-entropy per element, averaged over the last axis per sample.

    Labels are 0/1 (or soft); ``label_smoothing`` pulls them towards 0.5 as in Keras.
    """
    y_pred = _rank_at_least_2(ops.as_tensor(y_pred))
    y_true = align_targets(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logits = _logits_for(y_pred, from_logits, "sigmoid", "binary_crossentropy")
    if logits is not None:
        return ops.mean(kernels_loss.sigmoid_cross_entropy(y_true, logits), axis=-1)
    p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
    elementwise = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(elementwise, axis=-1)


def _categorical_from_probabilities(y_true: Tensor, y_pred: Tensor, axis: int) -> Tensor:
    """Keras's probability path: renormalise, clip to [eps, 1 - eps], ``-sum(y log p)``."""
    p = y_pred / ops.sum_(y_pred, axis=axis, keepdims=True)
    p = ops.clip(p, EPSILON, 1.0 - EPSILON)
    return -ops.sum_(y_true * ops.log(p), axis=axis)


def _is_last_axis(axis: int, ndim: int) -> bool:
    return axis % ndim == ndim - 1


def categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Tensor:
    """``-sum(y_true * log(p))`` over the class ``axis`` for one-hot (or soft) labels.

    ``label_smoothing`` mixes the labels with the uniform distribution over classes.
    """
    y_pred = ops.as_tensor(y_pred)
    if y_pred.ndim < 2:
        raise ValueError(
            "categorical_crossentropy needs predictions with a class axis, got shape "
            f"{_shape(y_pred.shape)}: end the model with a Dense layer of one unit per class"
        )
    y_true = align_targets(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        num_classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits or _is_last_axis(axis, y_pred.ndim):
        logits = _logits_for(y_pred, from_logits, "softmax", "categorical_crossentropy")
    else:
        logits = None  # the softmax shortcut is over the last axis only
    if logits is not None:
        return kernels_loss.softmax_cross_entropy(y_true, logits, axis)
    return _categorical_from_probabilities(y_true, y_pred, axis)


def sparse_categorical_crossentropy(
    y_true, y_pred, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """Categorical cross-entropy with integer class labels (``(N,)`` or ``(N, 1)``)."""
    y_pred = ops.as_tensor(y_pred)
    if y_pred.ndim < 2:
        raise ValueError(
            "sparse_categorical_crossentropy needs predictions with a class axis, got shape "
            f"{_shape(y_pred.shape)}: end the model with a Dense layer of one unit per class"
        )
    labels = sparse_labels(y_true, y_pred, axis)
    if from_logits or _is_last_axis(axis, y_pred.ndim):
        logits = _logits_for(y_pred, from_logits, "softmax", "sparse_categorical_crossentropy")
    else:
        logits = None
    if logits is not None:
        return kernels_loss.sparse_softmax_cross_entropy(labels, logits, axis)
    xp = backend.xp
    ndim = y_pred.ndim
    axis %= ndim
    class_shape = [1] * ndim
    class_shape[axis] = y_pred.shape[axis]
    classes = xp.reshape(xp.arange(y_pred.shape[axis], dtype=labels.dtype), tuple(class_shape))
    expanded = xp.reshape(labels, tuple(y_pred.shape[:axis]) + (1,) + y_pred.shape[axis + 1 :])
    onehot = Tensor(xp.astype(expanded == classes, y_pred.dtype))
    return _categorical_from_probabilities(onehot, y_pred, axis)


mse = mean_squared_error
mae = mean_absolute_error


# -- reduction ---------------------------------------------------------------------------------


def _reduce(values: Tensor, sample_weight, reduction: str) -> Tensor:
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
                f"sample_weight of shape {_shape(tuple(weights.shape))} does not fit "
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


# -- Loss objects ------------------------------------------------------------------------------


class Loss:
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` gives a scalar Tensor.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.
    """

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size"):
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"unknown reduction {reduction!r}; choose one of {', '.join(REDUCTIONS)}"
            )
        self.name = name or type(self).__name__
        self.reduction = reduction

    def call(self, y_true, y_pred) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        return _reduce(self.call(y_true, y_pred), sample_weight, self.reduction)

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
        reduction: str = "sum_over_batch_size",
        **kwargs: Any,
    ):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred) -> Tensor:
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction: str = "sum_over_batch_size", name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Huber loss: squared error near zero, absolute error beyond ``delta``."""

    def __init__(
        self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: str = "huber_loss"
    ):
        if delta <= 0:
            raise ValueError(f"Huber delta must be positive, got {delta}")
        super().__init__(huber, name=name, reduction=reduction, delta=float(delta))


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for 0/1 targets (one sigmoid unit per target)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str = "sum_over_batch_size",
        name: str = "binary_crossentropy",
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
        )


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot targets (a softmax output, one unit per class)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            label_smoothing=float(label_smoothing),
            axis=int(axis),
        )


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer class labels (a softmax output, one unit per class)."""

    def __init__(
        self,
        from_logits: bool = False,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            from_logits=bool(from_logits),
            axis=int(axis),
        )


# -- lookup by name ----------------------------------------------------------------------------

_BY_NAME: dict[str, type[Loss]] = {}
for _cls, _names in (
    (MeanSquaredError, ("mse", "mean_squared_error", "meansquarederror")),
    (MeanAbsoluteError, ("mae", "mean_absolute_error", "meanabsoluteerror")),
    (Huber, ("huber", "huber_loss")),
    (BinaryCrossentropy, ("binary_crossentropy", "binarycrossentropy", "bce")),
    (CategoricalCrossentropy, ("categorical_crossentropy", "categoricalcrossentropy")),
    (
        SparseCategoricalCrossentropy,
        ("sparse_categorical_crossentropy", "sparsecategoricalcrossentropy"),
    ),
):
    for _name in _names:
        _BY_NAME[_name] = _cls

# The canonical name of each per-sample function, which metrics use to resolve "accuracy".
_FUNCTION_NAMES: dict[Callable, str] = {
    mean_squared_error: "mean_squared_error",
    mean_absolute_error: "mean_absolute_error",
    huber: "huber",
    binary_crossentropy: "binary_crossentropy",
    categorical_crossentropy: "categorical_crossentropy",
    sparse_categorical_crossentropy: "sparse_categorical_crossentropy",
}

LOSS_NAMES: tuple[str, ...] = (
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
)


def _class_for(name: str) -> type[Loss]:
    cls = _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}")
    return cls


def get(identifier) -> Loss:
    """A ``Loss`` from a name (``"mse"``, ``"sparse_categorical_crossentropy"``, ...), a dict
    ``{"name": "huber", "delta": 2.0}`` (or Keras's ``{"class_name": ..., "config": ...}``),
    a ``Loss``, or a per-sample function ``fn(y_true, y_pred)``."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str | dict):
        return from_identifier(identifier, _class_for, "loss")
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"cannot interpret {identifier!r} as a loss")


def loss_kind(identifier) -> str | None:
    """The canonical function name behind a loss identifier (``"binary_crossentropy"``, ...),
    or ``None`` for a custom loss or none at all."""
    if identifier is None:
        return None
    try:
        loss = get(identifier)
    except ValueError:
        return None
    fn = getattr(loss, "fn", None)
    return _FUNCTION_NAMES.get(fn) if fn is not None else None

"""Loss functions by Keras name (``keras.losses``): per-sample functions and ``Loss`` objects.

Two forms, as in Keras:

- functions (``mean_squared_error`` / ``mse``, ``mean_absolute_error`` / ``mae``, ``huber``,
  ``log_cosh``, ``cosine_similarity``, ``binary_crossentropy``, ``categorical_crossentropy``,
  ``sparse_categorical_crossentropy``, ``binary_focal_crossentropy``,
  ``categorical_focal_crossentropy``, ``kl_divergence`` / ``kld``, ``poisson``, ``hinge``,
  ``squared_hinge``, ``categorical_hinge``) return the loss of every sample, the last
  (feature or class) axis reduced;
- classes (``MeanSquaredError``, ..., ``CategoricalHinge``) are called as
  ``loss(y_true, y_pred, sample_weight=None)`` and return one scalar Tensor, the weighted
  sum of the per-sample losses divided by their count (``reduction="sum_over_batch_size"``).

``y_pred`` is a Tensor (the model's output); ``y_true`` is a backend array, a numpy array or
a Tensor. Every loss is built from the autodiff primitives or a fused kernel with its own
VJP, so it can be trained through.

The modules: :mod:`~engine.losses.targets` (shaping targets), :mod:`~engine.losses.base`
(``Loss``, reductions), :mod:`~engine.losses.regression`,
:mod:`~engine.losses.probabilistic` (cross-entropies, KL, Poisson),
:mod:`~engine.losses.focal`, :mod:`~engine.losses.hinges` and
:mod:`~engine.losses.registry` (``get``, ``available``, ``loss_kind``).
"""

from __future__ import annotations

from engine.losses.base import REDUCTIONS, Loss, LossFunctionWrapper
from engine.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from engine.losses.hinges import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from engine.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from engine.losses.registry import LOSS_NAMES, available, get, loss_kind
from engine.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanSquaredError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_squared_error,
)
from engine.losses.targets import EPSILON, align_targets, sparse_labels

mse = mean_squared_error
mae = mean_absolute_error
kld = kl_divergence

__all__ = [
    "EPSILON",
    "REDUCTIONS",
    "LOSS_NAMES",
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "LogCosh",
    "CosineSimilarity",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "KLDivergence",
    "Poisson",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "huber",
    "log_cosh",
    "cosine_similarity",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "kl_divergence",
    "kld",
    "poisson",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "available",
    "get",
    "loss_kind",
    "align_targets",
    "sparse_labels",
]

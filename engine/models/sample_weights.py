"""Sample weights for ``fit``/``evaluate``: ``sample_weight`` arrays and ``class_weight``.

Keras's rules (``keras/src/trainers/data_adapters``): ``class_weight={class: weight}``
becomes one weight per sample, looked up by the sample's class (the label of sparse
targets, the arg-max of one-hot rows, the rounded value of a single binary column); a class
it does not name weighs 1. It needs a model with one output, and cannot be combined with
``sample_weight``. ``sample_weight`` is one array of per-sample weights (used for every
output), or a list/dict with one array per output. Weights live on the host next to ``x``
and ``y`` and travel through the same batches, so shuffling keeps them with their samples.

Stricter than Keras, because a typo would silently change nothing: a class id outside the
output's classes, a negative or non-finite weight, or a weight array of the wrong length
is a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

__all__ = ["check_class_weight", "class_weights_to_samples", "sample_weight_arrays"]


def check_class_weight(class_weight, model) -> dict[int, float]:
    """``class_weight`` as ``{int class id: float weight}``, checked against the model."""
    if not isinstance(class_weight, dict):
        raise ValueError(
            f"class_weight must be a dict mapping class ids to weights, e.g. {{0: 1.0, 1: 5.0}}, "
            f"got {class_weight!r}"
        )
    outputs = model.outputs
    if len(outputs) != 1:
        raise ValueError(
            f"class_weight is only supported for models with one output; this one has "
            f"{len(outputs)} ({', '.join(t.layer.name for t in outputs)}): give "
            "sample_weight instead"
        )
    units = tuple(outputs[0].shape)[-1] if outputs[0].shape else 1
    classes = 2 if units in (1, None) else int(units)  # one sigmoid unit: classes 0 and 1
    checked = {}
    for key, weight in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise ValueError(f"class_weight keys must be integer class ids, got {key!r}")
        if not 0 <= key < classes:
            raise ValueError(
                f"class_weight names class {key}, but the output {outputs[0].layer.name!r} has "
                f"{classes} classes (ids 0 to {classes - 1})"
            )
        if isinstance(weight, bool) or not isinstance(weight, Real) or not math.isfinite(weight):
            raise ValueError(f"class_weight[{key}] must be a finite number, got {weight!r}")
        if weight < 0:
            raise ValueError(f"class_weight[{key}] must not be negative, got {weight}")
        checked[int(key)] = float(weight)
    return checked


def class_weights_to_samples(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """One weight per sample of ``y`` (Keras's ``class_weight_to_sample_weights``)."""
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    if labels.ndim > 1:
        raise ValueError(
            f"class_weight needs one class per sample, but the targets have shape "
            f"{tuple(np.shape(y))}: give sample_weight instead"
        )
    labels = np.round(labels).astype(np.int64)
    lookup = np.ones(max([*class_weight, int(labels.max(initial=0))]) + 1, np.float32)
    for key, weight in class_weight.items():
        lookup[key] = weight
    # A class the dict does not name weighs 1 (labels were checked against the output).
    return np.where(labels < 0, np.float32(1.0), lookup[np.maximum(labels, 0)])


def _one_array(value, n: int, label: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be an array of numbers, got {value!r:.80}") from None
    if array.ndim == 0 or len(array) != n:
        got = "a single number" if array.ndim == 0 else f"{len(array)} weights"
        raise ValueError(f"{label} must hold one weight per sample ({n}), got {got}")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]  # (N, 1), as Keras accepts
    if not np.isfinite(array).all():
        raise ValueError(f"{label} contains NaN or infinity")
    if (array < 0).any():
        raise ValueError(f"{label} must not hold negative weights, found {array.min()}")
    return array


def sample_weight_arrays(model, sample_weight, n: int, what: str = "sample_weight") -> list:
    """One float32 weight array per output (the same array for every output when one is
    given), each of length ``n``; or None."""
    if sample_weight is None:
        return None
    names = [t.layer.name for t in model.outputs]
    if isinstance(sample_weight, dict):
        unknown = sorted(set(sample_weight) - set(names))
        if unknown:
            raise ValueError(
                f"{what} names an output {unknown[0]!r}, but the model's outputs are: "
                f"{', '.join(names)}"
            )
        values = [sample_weight.get(name) for name in names]
    elif isinstance(sample_weight, list | tuple) and len(names) > 1:
        if len(sample_weight) != len(names):
            raise ValueError(
                f"{what} holds {len(sample_weight)} arrays, but the model has {len(names)} "
                "outputs: give one array per output, or one array for all"
            )
        values = list(sample_weight)
    else:
        values = [sample_weight] * len(names)
    arrays = []
    for name, value in zip(names, values):
        label = what if len(names) == 1 else f"{what} for output {name!r}"
        arrays.append(None if value is None else _one_array(value, n, label))
    return arrays

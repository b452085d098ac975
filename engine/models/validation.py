"""Checks on the data given to a model, each failing with one clear ``ValueError``.

Bad data is the commonest user error, and a shape mismatch deep inside a kernel says
nothing useful. So before anything runs, ``fit``/``evaluate``/``predict`` bring ``x`` and
``y`` into the model's structure (one host array per input and per output) and check:
the number of arrays, their lengths, their shapes against the model's
("model expects input of shape (None, 1, 8, 8), got (32, 64)"), that they are numeric and
finite, and that labels fit the loss (class ids inside the output's range).
"""

from __future__ import annotations

import numpy as np

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = [
    "input_arrays",
    "input_tensors",
    "target_arrays",
    "check_same_length",
    "loss_kind",
]


def _fmt(shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def _structure(value, names: list[str], what: str) -> list:
    """``value`` as one entry per name: an array, a list/tuple in order, or a dict by name."""
    n = len(names)
    if value is None:
        raise ValueError(f"{what} is required")
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"{what} has an entry {unknown[0]!r}, but the model's "
                f"{'inputs' if what == 'x' else 'outputs'} are named {', '.join(names)}"
            )
        missing = [name for name in names if name not in value]
        if missing:
            raise ValueError(f"{what} has no entry for {missing[0]!r}")
        return [value[name] for name in names]
    if isinstance(value, list | tuple):
        arrays_like = [v for v in value if isinstance(v, np.ndarray | Tensor)]
        if n > 1 or (len(value) == 1 and arrays_like):
            if len(value) != n:
                kind = "inputs" if what == "x" else "outputs"
                raise ValueError(f"the model has {n} {kind}, but {what} holds {len(value)} arrays")
            return list(value)
        return [value]  # one input given as nested Python lists
    if n != 1:
        kind = "inputs" if what == "x" else "outputs"
        raise ValueError(
            f"the model has {n} {kind} ({', '.join(names)}): give {what} as a list of {n} "
            "arrays or a dict by name"
        )
    return [value]


def _numeric(value, label: str) -> np.ndarray:
    array = backend.to_numpy(value) if isinstance(value, Tensor) else value
    try:
        array = np.asarray(array)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{label} cannot be made into an array: {exc}") from None
    if array.dtype == np.bool_:
        array = array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"{label} must hold numbers, got an array of {array.dtype}")
    return array


def _first_bad_sample(array: np.ndarray) -> int | None:
    """Index of the first sample holding NaN or infinity (None when all are finite)."""
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return None
    finite = np.isfinite(array)
    if finite.all():
        return None
    per_sample = finite.reshape(len(array), -1).all(axis=1) if array.ndim > 1 else finite
    return int(np.flatnonzero(~per_sample)[0])


def input_arrays(model, x, what: str = "x") -> list[np.ndarray]:
    """``x`` as one host array per model input, in the input's dtype, checked."""
    inputs = model.inputs
    names = [t.layer.name for t in inputs]
    values = _structure(x, names, what)
    arrays = []
    for tensor, value in zip(inputs, values, strict=True):
        label = what if len(inputs) == 1 else f"{what} for input {tensor.layer.name!r}"
        array = _numeric(value, label)
        expected = tuple(tensor.shape)
        got = tuple(array.shape)
        if got[1:] != expected and expected == (1,) and array.ndim == 1:
            array = array.reshape(-1, 1)  # one feature per sample, given as a flat vector
            got = tuple(array.shape)
        if array.ndim == 0 or got[1:] != expected:
            subject = (
                "model expects" if len(inputs) == 1 else f"input {tensor.layer.name!r} expects"
            )
            raise ValueError(f"{subject} input of shape {_fmt((None, *expected))}, got {_fmt(got)}")
        bad = _first_bad_sample(array)
        if bad is not None:
            raise ValueError(f"{label} contains NaN or infinity at sample {bad}")
        if getattr(tensor.layer, "dtype", "float32") == "int64":
            if np.issubdtype(array.dtype, np.floating) and not np.all(array == np.round(array)):
                raise ValueError(f"{label} must hold integer token ids, got fractions")
            array = array.astype(np.int64, copy=False)
        elif array.dtype != np.uint8:  # raw uint8 images become float32 batch by batch
            array = array.astype(np.float32, copy=False)
        arrays.append(array)
    return arrays


def input_tensors(model, inputs) -> list[Tensor]:
    """Inputs for an eager call: Tensors pass through (keeping their history), data is
    checked and moved to the device."""
    items = inputs if isinstance(inputs, list | tuple) else [inputs]
    if all(isinstance(t, Tensor) for t in items):
        model_inputs = model.inputs
        if len(items) != len(model_inputs):
            raise ValueError(f"the model has {len(model_inputs)} inputs, got {len(items)}")
        for t, spec in zip(items, model_inputs, strict=True):
            if tuple(t.shape[1:]) != tuple(spec.shape):
                raise ValueError(
                    f"model expects input of shape {_fmt((None, *spec.shape))}, got {_fmt(t.shape)}"
                )
        return list(items)
    arrays = input_arrays(model, inputs)
    return [
        Tensor(backend.asarray(a.astype(np.float32) if a.dtype == np.uint8 else a)) for a in arrays
    ]


def check_same_length(x_arrays: list[np.ndarray], y_arrays: list[np.ndarray] | None) -> int:
    """The common number of samples; a clear error when arrays disagree."""
    named = [(f"x[{i}]" if len(x_arrays) > 1 else "x", a) for i, a in enumerate(x_arrays)]
    if y_arrays is not None:
        named += [(f"y[{i}]" if len(y_arrays) > 1 else "y", a) for i, a in enumerate(y_arrays)]
    lengths = {len(a) for _, a in named}
    if len(lengths) > 1:
        described = ", ".join(f"{label} has {len(a)}" for label, a in named)
        raise ValueError(f"x and y must have the same number of samples: {described}")
    n = lengths.pop()
    if n == 0:
        raise ValueError("x holds no samples")
    return n


def loss_kind(loss) -> str:
    """The family of a loss: ``sparse``, ``categorical``, ``binary`` or ``other``."""
    from engine import losses  # noqa: PLC0415 - the losses module loads on first use

    return {
        "sparse_categorical_crossentropy": "sparse",
        "categorical_crossentropy": "categorical",
        "binary_crossentropy": "binary",
    }.get(losses.loss_kind(loss), "other")


def target_arrays(model, y, losses, what: str = "y") -> list[np.ndarray]:
    """``y`` as one host array per output, shaped for that output's loss, checked.

    ``losses`` holds each output's loss object (or None when the model is not compiled).
    """
    outputs = model.outputs
    names = [t.layer.name for t in outputs]
    values = _structure(y, names, what)
    arrays = []
    for i, (tensor, value) in enumerate(zip(outputs, values, strict=True)):
        label = what if len(outputs) == 1 else f"{what} for output {tensor.layer.name!r}"
        array = _numeric(value, label)
        bad = _first_bad_sample(array)
        if bad is not None:
            raise ValueError(f"{label} contains NaN or infinity at sample {bad}")
        kind = loss_kind(losses[i]) if losses is not None else "other"
        out_shape = tuple(tensor.shape)
        if kind == "sparse":
            array = _sparse_labels(array, out_shape, label, tensor.layer.name)
        else:
            if array.ndim == 1 and out_shape == (1,):
                array = array.reshape(-1, 1)
            if losses is not None and tuple(array.shape[1:]) != out_shape:
                hint = (
                    ": for class ids use loss='sparse_categorical_crossentropy'"
                    if kind == "categorical" and array.ndim == 1
                    else ""
                )
                raise ValueError(
                    f"{label} has shape {_fmt(array.shape)}, but output "
                    f"{tensor.layer.name!r} has shape {_fmt((None, *out_shape))}{hint}"
                )
            if kind == "binary" and array.size and (array.min() < 0 or array.max() > 1):
                raise ValueError(
                    f"{label} must hold values between 0 and 1 for a binary loss, found "
                    f"{array.min() if array.min() < 0 else array.max()}"
                )
            array = array.astype(np.float32, copy=False)
        arrays.append(array)
    return arrays


def _sparse_labels(array: np.ndarray, out_shape: tuple, label: str, out_name: str) -> np.ndarray:
    """Class ids for a sparse cross-entropy: integers in ``[0, classes)``."""
    classes = out_shape[-1]
    if array.ndim == len(out_shape) + 1 and array.shape[-1] == 1:
        array = array.reshape(array.shape[:-1])  # (N, 1) labels, as Keras accepts
    if tuple(array.shape[1:]) != out_shape[:-1]:
        raise ValueError(
            f"{label} has shape {_fmt(array.shape)}, but class ids for output {out_name!r} "
            f"of shape {_fmt((None, *out_shape))} need shape {_fmt((None, *out_shape[:-1]))}"
        )
    if np.issubdtype(array.dtype, np.floating) and not np.all(array == np.round(array)):
        raise ValueError(f"{label} must hold integer class ids, got fractions")
    array = array.astype(np.int64, copy=False)
    out_of_range = (array < 0) | (array >= classes)
    if out_of_range.any():
        flat = out_of_range.reshape(len(array), -1).any(axis=1)
        sample = int(np.flatnonzero(flat)[0])
        value = int(array[out_of_range][0])  # C order: the first bad id is in that sample
        raise ValueError(
            f"labels out of range: {label} has class id {value} at sample {sample}, but output "
            f"{out_name!r} has {classes} units (class ids 0 to {classes - 1})"
        )
    return array

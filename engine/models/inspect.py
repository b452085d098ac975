"""Looking inside a model: every layer's output for one sample, and simple statistics.

:func:`layer_outputs` builds a sub-model with the same inputs whose outputs are the layers
asked for (the layers, and so the weights, are shared with the model), and runs it in
inference mode on one sample. The sub-model is compiled into its own execution plan once
and cached on the model, so asking again after the weights changed (an epoch later) costs
one forward pass.

Like ``predict``, this runs the model: call it from the thread that owns the model (a
training worker between epochs, or any thread while no training runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.layers.base import InputLayer
from engine.models.plan import graph_nodes

__all__ = ["TensorStats", "activation_size", "layer_outputs", "tensor_stats"]

_CACHE_ATTR = "_inspect_submodels"


@dataclass(frozen=True)
class TensorStats:
    """Summary of one array: its extremes, mean and the fraction of exact zeros."""

    shape: tuple[int, ...]
    min: float
    max: float
    mean: float
    zeros: float  # fraction of elements equal to 0 (dead ReLUs show here)

    def text(self) -> str:
        return (
            f"min {self.min:.4g} · max {self.max:.4g} · mean {self.mean:.4g} · "
            f"zeros {self.zeros:.1%}"
        )


def tensor_stats(values: np.ndarray) -> TensorStats:
    """Statistics of ``values`` (computed in float64; non-finite values are skipped)."""
    a = np.asarray(values, dtype=np.float64)
    finite = a[np.isfinite(a)]
    if not finite.size:
        nan = float("nan")
        return TensorStats(tuple(a.shape), nan, nan, nan, 0.0)
    return TensorStats(
        shape=tuple(int(d) for d in a.shape),
        min=float(finite.min()),
        max=float(finite.max()),
        mean=float(finite.mean()),
        zeros=float(np.count_nonzero(a == 0.0)) / a.size,
    )


def _tensors_by_name(model) -> dict:
    """Each layer's output tensor in the model's graph, by layer name (inputs excluded).

    A layer called more than once (shared weights) is shown by its first call."""
    found: dict = {}
    for tensor in graph_nodes(model.inputs, model.outputs):
        if not isinstance(tensor.layer, InputLayer):
            found.setdefault(tensor.layer.name, tensor)
    return found


def activation_size(model) -> int:
    """How many values :func:`layer_outputs` returns for one sample (all layers), known
    from the graph's shapes before anything runs: a measure of its cost."""
    total = 0
    for tensor in graph_nodes(model.inputs, model.outputs):
        total += int(np.prod([d for d in tensor.shape if d is not None], dtype=np.int64))
    return total


def _submodel(model, names: tuple[str, ...]):
    from engine.models import Model  # noqa: PLC0415 - engine.models imports this package

    cache = getattr(model, _CACHE_ATTR, None)
    if cache is None:
        cache = {}
        setattr(model, _CACHE_ATTR, cache)
    sub = cache.get(names)
    if sub is None:
        by_name = _tensors_by_name(model)
        sub = Model(model.inputs, [by_name[n] for n in names], name=f"{model.name}_inspect")
        cache[names] = sub
    return sub


def layer_outputs(
    model, x: np.ndarray | Sequence[np.ndarray], names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Each named layer's output (all layers by default) for the single sample ``x``.

    ``x`` is one sample *without* the batch axis (a list of them for a multi-input model),
    already in the model's input units (normalised as in training). The result maps layer
    names, and the names of the model's inputs, to float arrays without the batch axis.
    Raises ``KeyError`` for a name that is not a layer of the model.
    """
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    batch = [np.asarray(v)[None] for v in xs]
    known = _tensors_by_name(model)
    if names is None:
        names = list(known)
    known = {*known, *(t.layer.name for t in model.inputs)}
    for name in names:
        if name not in known:
            raise KeyError(f"the model has no layer named {name!r}")
    outputs: dict[str, np.ndarray] = {}
    input_names = [t.layer.name for t in model.inputs]
    for name, value in zip(input_names, batch):
        outputs[name] = np.asarray(value[0], dtype=np.float32)
    wanted = tuple(n for n in names if n not in outputs)
    if wanted:
        sub = _submodel(model, wanted)
        results = sub.predict_on_batch(batch if len(batch) > 1 else batch[0])
        if not isinstance(results, list):
            results = [results]
        for name, value in zip(wanted, results):
            outputs[name] = np.asarray(value)[0]
    return {n: outputs[n] for n in (*input_names, *wanted) if n in outputs}

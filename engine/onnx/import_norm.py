"""Importers for ``BatchNormalization`` (inference form) and ``LayerNormalization``.

Both accept data seen through a transpose (the exporter's ``Transpose -> norm ->
Transpose`` sandwich): the normalised axis is then mapped back to the engine tensor's own
axis, and the result keeps the transpose for the node that undoes it.
"""

from __future__ import annotations

import math

import numpy as np

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_shape import reshape_sym
from engine.onnx.import_values import Sym


def _vector(ctx, name: str, what: str, size: int) -> np.ndarray:
    value = ctx.float_const(name, what)
    if value.size == 1:
        ctx.fold((size,), np.float32, what)  # size is the data's declared channel count
        return np.full(size, float(value.reshape(-1)[0]), np.float32)
    if value.size != size:
        raise Unsupported(f"{what} has {value.size} values for {size} channels")
    return value.reshape(size)


def _engine_axis(sym: Sym, onnx_axis: int) -> int:
    """``onnx_axis`` of the ONNX value as an axis of the engine tensor (batch counted)."""
    axis = sym.engine_axis(onnx_axis)
    if axis is None:
        raise Unsupported("normalisation over an axis of size 1 that Unsqueeze inserted")
    return axis


def _keras_axis(axis: int, rank: int) -> int:
    return -1 if axis == rank - 1 else axis


@imports("BatchNormalization")
def import_batch_normalization(ctx, node):
    if attr(node, "training_mode", 0):
        raise Unsupported("BatchNormalization in training mode (batch statistics)")
    if ctx.outputs_used(node, 1):
        raise Unsupported("the running statistics outputs of BatchNormalization are used")
    sym = ctx.sym(node.input[0])
    if sym.rank < 2:
        raise Unsupported("BatchNormalization of data without a channel axis")
    axis = _engine_axis(sym, 1)
    if axis == 0:
        raise Unsupported("BatchNormalization over the batch axis")
    channels = sym.onnx_shape[1]
    weights = [
        _vector(ctx, node.input[1], "scale", channels),
        _vector(ctx, node.input[2], "bias", channels),
        _vector(ctx, node.input[3], "mean", channels),
        _vector(ctx, node.input[4], "variance", channels),
    ]
    out = ctx.call_layer(
        "BatchNormalization",
        ctx.node_label(node),
        sym,
        weights=weights,
        axis=_keras_axis(axis, len(sym.tensor.shape) + 1),
        epsilon=float(attr(node, "epsilon", 1e-5)),
        momentum=float(attr(node, "momentum", 0.9)),
    )
    ctx.set(node.output[0], sym.like(out))


@imports("LayerNormalization")
def import_layer_normalization(ctx, node):
    if ctx.outputs_used(node, 1):
        raise Unsupported("the Mean / InvStdDev outputs of LayerNormalization are used")
    sym = ctx.sym(node.input[0])
    rank = sym.rank
    axis = int(attr(node, "axis", -1)) % rank
    if axis == 0:
        raise Unsupported("LayerNormalization over the batch axis (axis 0)")
    epsilon = float(attr(node, "epsilon", 1e-5))
    shape = sym.onnx_shape
    normalized = tuple(shape[axis:])
    size = math.prod(normalized)
    scale = ctx.float_const(node.input[1], "Scale")
    # gamma and beta take the data's declared shape: checked before broadcasting to it.
    ctx.fold(normalized, np.float32, "scale")
    ctx.fold(normalized, np.float32, "bias")
    bias = (
        ctx.float_const(node.input[2], "B") if ctx.has_input(node, 2) else np.zeros(1, np.float32)
    )
    try:
        gamma = np.broadcast_to(scale, normalized).reshape(size)
        beta = np.broadcast_to(bias, normalized).reshape(size)
    except ValueError:
        raise Unsupported(
            f"Scale {scale.shape} / B {bias.shape} do not fit the normalised shape {normalized}"
        ) from None
    label = ctx.node_label(node)
    if axis == rank - 1:
        out = ctx.call_layer(
            "LayerNormalization",
            label,
            sym,
            weights=[gamma, beta],
            axis=_keras_axis(_engine_axis(sym, axis), len(sym.tensor.shape) + 1),
            epsilon=epsilon,
        )
        ctx.set(node.output[0], sym.like(out))
        return
    # Several trailing axes: normalise them as one flat axis (same statistics, same result).
    sym = ctx.plain(node.input[0])
    flat = reshape_sym(ctx, sym, (*shape[1:axis], size), f"{label}_flatten")
    out = ctx.call_layer(
        "LayerNormalization", label, flat, weights=[gamma, beta], axis=-1, epsilon=epsilon
    )
    ctx.set(node.output[0], reshape_sym(ctx, Sym(out), tuple(shape[1:]), f"{label}_restore"))

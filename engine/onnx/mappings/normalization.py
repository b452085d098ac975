"""ONNX for ``BatchNormalization`` (inference form, moving statistics) and
``LayerNormalization``.

ONNX normalises fixed axes: ``BatchNormalization`` the channels at axis 1, and
``LayerNormalization(axis=-1)`` the last axis. When the layer's ``axis`` is another one, the
data is transposed so that axis sits where ONNX wants it, and transposed back afterwards
(the importer recognises this sandwich and restores ``axis``).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.registry import exports


def _full_axis(layer) -> int:
    """The layer's axis counting the batch axis, as a non-negative index."""
    rank = len(layer.input_shape)
    return layer.axis if layer.axis > 0 else layer.axis + rank + 1


def _affine(layer, size: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """gamma and beta (ones / zeros where the layer has none), then the remaining weights."""
    weights = list(layer.get_weights())
    gamma = weights.pop(0) if layer.scale else np.ones(size, np.float32)
    beta = weights.pop(0) if layer.center else np.zeros(size, np.float32)
    return gamma, beta, weights


def _sandwich(ctx, layer, x: str, output: str, axis: int, target: int, emit) -> None:
    """Run ``emit(ctx, inner_in, inner_out)`` with ``axis`` moved to position ``target``."""
    rank = len(layer.input_shape) + 1
    target = target % rank
    if axis == target:
        emit(x, output)
        return
    rest = [i for i in range(rank) if i != axis]
    perm = rest[:target] + [axis] + rest[target:]
    inverse = [perm.index(i) for i in range(rank)]
    moved = ctx.fresh(f"{layer.name}.moved")
    ctx.add_node("Transpose", [x], [moved], name=ctx.fresh(f"{layer.name}_in"), perm=perm)
    normed = ctx.fresh(f"{layer.name}.normed")
    emit(moved, normed)
    ctx.add_node("Transpose", [normed], [output], name=ctx.fresh(f"{layer.name}_out"), perm=inverse)


@exports("BatchNormalization")
def export_batch_normalization(ctx, layer, inputs, output):
    axis = _full_axis(layer)
    size = layer.input_shape[axis - 1]
    gamma, beta, (mean, variance) = _affine(layer, size)
    args = [
        ctx.add_initializer(f"{layer.name}.gamma", gamma),
        ctx.add_initializer(f"{layer.name}.beta", beta),
        ctx.add_initializer(f"{layer.name}.moving_mean", mean),
        ctx.add_initializer(f"{layer.name}.moving_variance", variance),
    ]

    def emit(x, out):
        ctx.add_node(
            "BatchNormalization",
            [x, *args],
            [out],
            name=layer.name,
            epsilon=float(layer.epsilon),
        )

    _sandwich(ctx, layer, inputs[0], output, axis, 1, emit)


@exports("LayerNormalization")
def export_layer_normalization(ctx, layer, inputs, output):
    axis = _full_axis(layer)
    size = layer.input_shape[axis - 1]
    gamma, beta, _ = _affine(layer, size)
    scale = ctx.add_initializer(f"{layer.name}.gamma", gamma)
    bias = ctx.add_initializer(f"{layer.name}.beta", beta)

    def emit(x, out):
        ctx.add_node(
            "LayerNormalization",
            [x, scale, bias],
            [out],
            name=layer.name,
            axis=-1,
            epsilon=float(layer.epsilon),
        )

    _sandwich(ctx, layer, inputs[0], output, axis, -1, emit)

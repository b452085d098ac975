"""ONNX for ``GroupNormalization``, written as PyTorch's exporter writes ``GroupNorm`` at
opsets without a (correct) ``GroupNormalization`` operator: ``Reshape`` to
``(N, groups, -1)``, ``InstanceNormalization`` with unit scale and zero bias (it normalises
each ``(sample, group)`` row), ``Reshape`` back to ``Shape(x)``, then ``Mul`` by ``gamma``
and ``Add`` of ``beta`` as ``(C, 1, ..., 1)`` initializers. Channels on another axis are
moved to axis 1 and back by a ``Transpose`` sandwich. The importer reads the pattern back as
one layer (:mod:`engine.onnx.import_group_norm`).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.mappings.normalization import _affine, _full_axis, _sandwich
from engine.onnx.registry import exports


@exports("GroupNormalization")
def export_group_normalization(ctx, layer, inputs, output):
    axis = _full_axis(layer)
    channels = layer.input_shape[axis - 1]
    groups = layer.group_count(layer.input_shape)
    gamma, beta, _ = _affine(layer, channels)
    rank = len(layer.input_shape) + 1
    view = (channels,) + (1,) * (rank - 2)

    def emit(x, out):
        grouped = ctx.fresh(f"{layer.name}.grouped")
        target = ctx.add_ints(f"{layer.name}.group_shape", [0, groups, -1])
        ctx.add_node("Reshape", [x, target], [grouped], name=ctx.fresh(f"{layer.name}_group"))
        normed = ctx.fresh(f"{layer.name}.normed")
        ctx.add_node(
            "InstanceNormalization",
            [
                grouped,
                ctx.add_initializer(f"{layer.name}.unit_scale", np.ones(groups, np.float32)),
                ctx.add_initializer(f"{layer.name}.zero_bias", np.zeros(groups, np.float32)),
            ],
            [normed],
            name=ctx.fresh(f"{layer.name}_instance_norm"),
            epsilon=float(layer.epsilon),
        )
        shape = ctx.fresh(f"{layer.name}.shape")
        ctx.add_node("Shape", [x], [shape])
        restored = ctx.fresh(f"{layer.name}.restored")
        ctx.add_node("Reshape", [normed, shape], [restored], name=ctx.fresh(f"{layer.name}_back"))
        scaled = ctx.fresh(f"{layer.name}.scaled")
        gamma_name = ctx.add_initializer(f"{layer.name}.gamma", gamma.reshape(view))
        ctx.add_node("Mul", [restored, gamma_name], [scaled], name=ctx.fresh(f"{layer.name}_mul"))
        beta_name = ctx.add_initializer(f"{layer.name}.beta", beta.reshape(view))
        ctx.add_node("Add", [scaled, beta_name], [out], name=layer.name)

    _sandwich(ctx, layer, inputs[0], output, axis, 1, emit)

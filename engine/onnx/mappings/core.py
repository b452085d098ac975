"""ONNX for ``Dense``: ``Gemm`` on flat inputs, ``MatMul`` + ``Add`` on sequences."""

from __future__ import annotations

from engine.onnx.mappings.activations import emit_with_activation
from engine.onnx.registry import exports


@exports("Dense")
def export_dense(ctx, layer, inputs, output):
    weights = dict(zip(["kernel", "bias"], layer.get_weights(), strict=False))
    kernel = ctx.add_initializer(f"{layer.name}.kernel", weights["kernel"])
    pre = ctx.fresh(f"{layer.name}.pre") if layer.activation != "linear" else output
    rank = len(layer.input_shape) + 1
    if rank == 2:
        args = [inputs[0], kernel]
        if layer.use_bias:
            args.append(ctx.add_initializer(f"{layer.name}.bias", weights["bias"]))
        ctx.add_node("Gemm", args, [pre], name=layer.name)
    else:
        if layer.use_bias:
            product = ctx.fresh(f"{layer.name}.matmul")
            ctx.add_node("MatMul", [inputs[0], kernel], [product], name=layer.name)
            bias = ctx.add_initializer(f"{layer.name}.bias", weights["bias"])
            ctx.add_node("Add", [product, bias], [pre], name=ctx.fresh(f"{layer.name}_bias"))
        else:
            ctx.add_node("MatMul", [inputs[0], kernel], [pre], name=layer.name)
    if pre != output:
        emit_with_activation(ctx, layer.activation, pre, output, layer)

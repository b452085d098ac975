"""ONNX for ``Conv2DTranspose`` (``ConvTranspose``: explicit pads and output_padding that give
the layer's kept rows exactly), ``DepthwiseConv2D`` (``Conv`` with ``group = C`` and the
kernel seen as ``(C * M, 1, kh, kw)``) and ``SeparableConv2D`` (that ``Conv``, then a 1x1
``Conv``)."""

from __future__ import annotations

from engine.autodiff.kernels_conv_transpose import full_length
from engine.onnx.mappings.activations import emit_with_activation
from engine.onnx.mappings.convolutional import onnx_pads
from engine.onnx.registry import exports


def _finish(ctx, layer, pre: str, output: str) -> None:
    if pre != output:
        emit_with_activation(ctx, layer.activation, pre, output, layer)


@exports("Conv2DTranspose")
def export_conv2d_transpose(ctx, layer, inputs, output):
    weights = dict(zip(["kernel", "bias"], layer.get_weights(), strict=False))
    args = [inputs[0], ctx.add_initializer(f"{layer.name}.kernel", weights["kernel"])]
    if layer.use_bias:
        args.append(ctx.add_initializer(f"{layer.name}.bias", weights["bias"]))
    _, h, w = layer.input_shape
    begins, ends, extra = [], [], []
    for axis, (begin, length) in enumerate(layer.crops((h, w))):
        full = full_length(
            (h, w)[axis], layer.kernel_size[axis], layer.strides[axis], layer.dilation_rate[axis]
        )
        after = full - begin - length
        begins.append(begin)
        ends.append(max(after, 0))
        extra.append(max(-after, 0))  # rows past the full result: ONNX's output_padding
    pre = ctx.fresh(f"{layer.name}.pre") if layer.activation != "linear" else output
    ctx.add_node(
        "ConvTranspose",
        args,
        [pre],
        name=layer.name,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=[*begins, *ends],
        output_padding=extra,
    )
    _finish(ctx, layer, pre, output)


def _depthwise_node(ctx, layer, source: str, out: str, bias: bool) -> None:
    weights = layer.get_weights()
    depthwise = weights[0]
    c, m, kh, kw = depthwise.shape
    args = [
        source,
        ctx.add_initializer(f"{layer.name}.depthwise_kernel", depthwise.reshape(c * m, 1, kh, kw)),
    ]
    if bias:
        args.append(ctx.add_initializer(f"{layer.name}.bias", weights[-1]))
    _, h, w = layer.input_shape
    ctx.add_node(
        "Conv",
        args,
        [out],
        name=layer.name,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=onnx_pads(layer.explicit_pads((h, w))),
        group=c,
    )


@exports("DepthwiseConv2D")
def export_depthwise(ctx, layer, inputs, output):
    pre = ctx.fresh(f"{layer.name}.pre") if layer.activation != "linear" else output
    _depthwise_node(ctx, layer, inputs[0], pre, layer.use_bias)
    _finish(ctx, layer, pre, output)


@exports("SeparableConv2D")
def export_separable(ctx, layer, inputs, output):
    depthwise = ctx.fresh(f"{layer.name}.depthwise")
    _depthwise_node(ctx, layer, inputs[0], depthwise, bias=False)
    weights = layer.get_weights()
    args = [depthwise, ctx.add_initializer(f"{layer.name}.pointwise_kernel", weights[1])]
    if layer.use_bias:
        args.append(ctx.add_initializer(f"{layer.name}.pointwise_bias", weights[2]))
    pre = ctx.fresh(f"{layer.name}.pre") if layer.activation != "linear" else output
    ctx.add_node(
        "Conv", args, [pre], name=ctx.fresh(f"{layer.name}_pointwise"), kernel_shape=[1, 1]
    )
    _finish(ctx, layer, pre, output)

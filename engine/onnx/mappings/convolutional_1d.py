"""ONNX for ``Conv1D`` and the 1-D poolings. The engine's sequences are ``(N, T, F)``; ONNX's
1-D ``Conv`` / ``MaxPool`` / ``AveragePool`` take ``(N, C, L)``, so the layer is written as
``Transpose -> operator (-> activation) -> Transpose`` (the importer reads this back as one
layer, and PyTorch's ``x.transpose(1, 2) -> Conv1d`` the same way). Global 1-D pooling is
``ReduceMean`` / ``ReduceMax`` over the steps axis, with no transpose at all."""

from __future__ import annotations

from engine.onnx.mappings.activations import emit_with_activation
from engine.onnx.masks import masked_mean, masks_of
from engine.onnx.registry import exports


def _channels_first(ctx, layer, source: str) -> str:
    moved = ctx.fresh(f"{layer.name}.channels_first")
    ctx.add_node("Transpose", [source], [moved], name=ctx.fresh(f"{layer.name}_in"), perm=[0, 2, 1])
    return moved


def _back(ctx, layer, result: str, output: str) -> None:
    ctx.add_node(
        "Transpose", [result], [output], name=ctx.fresh(f"{layer.name}_out"), perm=[0, 2, 1]
    )


@exports("Conv1D")
def export_conv1d(ctx, layer, inputs, output):
    weights = dict(zip(["kernel", "bias"], layer.get_weights(), strict=False))
    args = [
        _channels_first(ctx, layer, inputs[0]),
        ctx.add_initializer(f"{layer.name}.kernel", weights["kernel"]),
    ]
    if layer.use_bias:
        args.append(ctx.add_initializer(f"{layer.name}.bias", weights["bias"]))
    conv = ctx.fresh(f"{layer.name}.conv")
    ctx.add_node(
        "Conv",
        args,
        [conv],
        name=layer.name,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.strides),
        dilations=list(layer.dilation_rate),
        pads=list(layer.pads(layer.input_shape[0])),
        group=layer.groups,
    )
    if layer.activation != "linear":
        activated = ctx.fresh(f"{layer.name}.activated")
        emit_with_activation(ctx, layer.activation, conv, activated, layer)
        conv = activated
    _back(ctx, layer, conv, output)


@exports("MaxPooling1D", "AveragePooling1D")
def export_pooling_1d(ctx, layer, inputs, output):
    from engine.autodiff.kernels_conv import same_padding  # noqa: PLC0415

    k, s = layer.pool_size[0], layer.window_strides[0]
    steps = layer.input_shape[0]
    pads = same_padding(steps, k, s) if layer.padding == "same" else (0, 0)
    attrs = {"kernel_shape": [k], "strides": [s], "pads": list(pads)}
    pooled = ctx.fresh(f"{layer.name}.pooled")
    source = _channels_first(ctx, layer, inputs[0])
    if layer.type_name == "MaxPooling1D":
        ctx.add_node("MaxPool", [source], [pooled], name=layer.name, **attrs)
    else:
        ctx.add_node(
            "AveragePool", [source], [pooled], name=layer.name, count_include_pad=0, **attrs
        )
    _back(ctx, layer, pooled, output)


@exports("GlobalAveragePooling1D", "GlobalMaxPooling1D")
def export_global_pooling_1d(ctx, layer, inputs, output):
    mask = masks_of(ctx).of(inputs[0]) if masks_of(ctx) is not None else None
    if mask is not None and layer.type_name == "GlobalAveragePooling1D":
        return masked_mean(ctx, layer, inputs[0], mask, output)  # Keras: real steps only
    op = "ReduceMean" if layer.type_name == "GlobalAveragePooling1D" else "ReduceMax"
    keepdims = int(layer.keepdims)
    if ctx.opset >= 18:  # axes moved from an attribute to an input
        axes = ctx.add_ints(f"{layer.name}.axes", [1])
        ctx.add_node(op, [inputs[0], axes], [output], name=layer.name, keepdims=keepdims)
    else:
        ctx.add_node(op, inputs[:1], [output], name=layer.name, axes=[1], keepdims=keepdims)

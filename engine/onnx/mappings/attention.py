"""ONNX for ``MultiHeadAttention``: a ``MatMul`` / ``Softmax`` graph.

Each projection is ``MatMul`` by the kernel viewed as ``(d, heads*width)`` (+ ``Add`` of the
bias), ``Reshape`` to ``(N, T, heads, width)`` and ``Transpose`` to heads first (the key
straight to ``(N, heads, width, Tv)``). The scaled query times the key gives the scores
``(N, heads, Tq, Tv)``; with ``use_causal_mask`` a constant ``(Tq, Tv)`` of 0 and -1e9 is
added (Keras's additive mask), then ``Softmax(axis=-1)``, ``MatMul`` by the values,
``Transpose`` + ``Reshape`` back to ``(N, Tq, heads*value_dim)`` and the output ``MatMul``
(+ bias). Dropout is inference's identity. A padding mask arriving from an
``Embedding(mask_zero=True)`` sets the scores of padded keys to -1e9 with ``Where``
(:func:`engine.onnx.masks.hide_padded_keys`).
"""

from __future__ import annotations

import math

import numpy as np

from engine.autodiff.kernels_attention import HIDDEN_SCORE
from engine.onnx.masks import hide_padded_keys, masks_of
from engine.onnx.registry import exports


def _projection(ctx, layer, source: str, name: str, weights: dict, perm: list[int]) -> str:
    kernel = weights[f"{name}_kernel"]
    features, heads, width = kernel.shape
    base = f"{layer.name}.{name}"
    flat = ctx.fresh(f"{base}.flat")
    matrix = ctx.add_initializer(f"{base}.kernel", kernel.reshape(features, heads * width))
    ctx.add_node("MatMul", [source, matrix], [flat], name=ctx.fresh(f"{layer.name}_{name}"))
    if layer.use_bias:
        biased = ctx.fresh(f"{base}.biased")
        bias = ctx.add_initializer(f"{base}.bias", weights[f"{name}_bias"].reshape(-1))
        ctx.add_node("Add", [flat, bias], [biased], name=ctx.fresh(f"{layer.name}_{name}_bias"))
        flat = biased
    split, shape = ctx.fresh(f"{base}.heads"), ctx.add_ints(f"{base}.shape", [0, 0, heads, width])
    ctx.add_node("Reshape", [flat, shape], [split], name=ctx.fresh(f"{layer.name}_{name}_split"))
    out = ctx.fresh(f"{base}.heads_first")
    ctx.add_node("Transpose", [split], [out], name=ctx.fresh(f"{layer.name}_{name}_t"), perm=perm)
    return out


@exports("MultiHeadAttention")
def export_multi_head_attention(ctx, layer, inputs, output):
    names = [spec.name for spec in layer.weight_specs(layer.input_shape)]
    weights = dict(zip(names, layer.get_weights(), strict=True))
    query_in, value_in = inputs[0], inputs[1]
    key_in = inputs[2] if len(inputs) > 2 else value_in
    name = layer.name
    q = _projection(ctx, layer, query_in, "query", weights, [0, 2, 1, 3])
    k = _projection(ctx, layer, key_in, "key", weights, [0, 2, 3, 1])
    v = _projection(ctx, layer, value_in, "value", weights, [0, 2, 1, 3])
    scaled = ctx.fresh(f"{name}.query_scaled")
    factor = ctx.add_scalar(f"{name}.scale", 1.0 / math.sqrt(layer.key_dim))
    ctx.add_node("Mul", [q, factor], [scaled], name=ctx.fresh(f"{name}_scale"))
    scores = ctx.fresh(f"{name}.scores")
    ctx.add_node("MatMul", [scaled, k], [scores], name=ctx.fresh(f"{name}_scores"))
    if layer.use_causal_mask:
        steps = layer.input_shape[0][0]
        hidden = np.triu(np.full((steps, steps), HIDDEN_SCORE, dtype=np.float32), k=1)
        masked = ctx.fresh(f"{name}.scores_causal")
        bias = ctx.add_initializer(f"{name}.causal_mask", hidden)
        ctx.add_node("Add", [scores, bias], [masked], name=ctx.fresh(f"{name}_causal"))
        scores = masked
    tracker = masks_of(ctx)
    if tracker is not None:
        key_masks = [tracker.of(value_in)] + ([tracker.of(inputs[2])] if len(inputs) > 2 else [])
        scores = hide_padded_keys(ctx, layer, scores, tracker.of(query_in), key_masks)
    probs = ctx.fresh(f"{name}.probs")
    ctx.add_node("Softmax", [scores], [probs], name=ctx.fresh(f"{name}_softmax"), axis=-1)
    attended = ctx.fresh(f"{name}.attended")
    ctx.add_node("MatMul", [probs, v], [attended], name=ctx.fresh(f"{name}_attend"))
    steps_first = ctx.fresh(f"{name}.steps_first")
    ctx.add_node(
        "Transpose", [attended], [steps_first], name=ctx.fresh(f"{name}_merge_t"), perm=[0, 2, 1, 3]
    )
    kernel = weights["attention_output_kernel"]
    heads, width, out = kernel.shape
    merged = ctx.fresh(f"{name}.merged")
    shape = ctx.add_ints(f"{name}.merged_shape", [0, 0, heads * width])
    ctx.add_node("Reshape", [steps_first, shape], [merged], name=ctx.fresh(f"{name}_merge"))
    matrix = ctx.add_initializer(f"{name}.output_kernel", kernel.reshape(heads * width, out))
    projected = ctx.fresh(f"{name}.projected") if layer.use_bias else output
    ctx.add_node("MatMul", [merged, matrix], [projected], name=name)
    if layer.use_bias:
        bias = ctx.add_initializer(f"{name}.output_bias", weights["attention_output_bias"])
        ctx.add_node("Add", [projected, bias], [output], name=ctx.fresh(f"{name}_out_bias"))

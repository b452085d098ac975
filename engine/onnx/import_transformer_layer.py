"""The importer of a PyTorch self-attention block (the ``TorchSelfAttention`` node that
:mod:`engine.onnx.import_transformer` makes of it): one ``MultiHeadAttention`` layer.

The block's own nodes are run once, with ONNX's reference implementation, on a random
input of the block's shape (batch 1; :mod:`engine.onnx.import_transformer_check` bounds
what that run may allocate), and ``MultiHeadAttention`` computed here in float64
with the weights taken from the file must give the same output (max abs within 1e-4 of
its scale). That run tells what the structure alone does not: the number of heads (the
shape of the attention probabilities), whether a mask the block builds from constants is
causal, and along which axis the attention runs. Anything else the block computes is
refused with the reason, by the block's name.

``nn.MultiheadAttention`` works on ``(steps, batch, features)``: with ``batch_first=True``
it transposes its input first and its output back, and a model that transposes its
``(batch, steps, features)`` input itself does the same. The import keeps the batch first:
the transposed input is a view of the engine's ``(batch, steps, features)`` tensor, the
layer runs on that tensor, and its output is the same view, undone by the ``Transpose``
that follows (or by any node that reads views).
"""

from __future__ import annotations

import math

import numpy as np
from onnx import numpy_helper

from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_transformer import TORCH_ATTENTION_OP
from engine.onnx.import_transformer_check import MAX_TENSOR_ELEMENTS, CheckRefused, run_checked
from engine.onnx.import_values import Sym

ROLES = ("query", "key", "value")


def _weights(node) -> dict[str, np.ndarray]:
    names = [f"{r}_kernel" for r in ROLES] + [f"{r}_bias" for r in ROLES]
    names += ["output_kernel", "output_bias"]
    found = {}
    for name in names:
        tensor = attr(node, name)
        if tensor is not None:
            found[name] = numpy_helper.to_array(tensor).astype(np.float64)
    return found


def _attention(x: np.ndarray, w: dict, heads: int, causal: bool) -> np.ndarray:
    """``MultiHeadAttention`` on ``x (batch, steps, features)`` in float64."""
    batch, steps, _ = x.shape

    def project(role: str) -> np.ndarray:
        y = x @ w[f"{role}_kernel"]
        if f"{role}_bias" in w:
            y = y + w[f"{role}_bias"]
        return y.reshape(batch, steps, heads, -1).transpose(0, 2, 1, 3)

    q, k, v = (project(r) for r in ROLES)
    scores = (q / math.sqrt(q.shape[-1])) @ k.transpose(0, 1, 3, 2)
    if causal:
        scores = np.where(np.tril(np.ones((steps, steps), dtype=bool)), scores, -np.inf)
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = scores / scores.sum(axis=-1, keepdims=True)
    merged = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, steps, -1)
    out = merged @ w["output_kernel"]
    return out + w["output_bias"] if "output_bias" in w else out


def _run_block(ctx, node, sample: np.ndarray):
    body = attr(node, "body")
    if body is None or len(body.input) != len(node.input) or len(body.output) != 2:
        raise Unsupported("this self-attention node carries no block to check")
    feeds = {body.input[0].name: sample}
    for name in node.input[1:]:  # read for their shapes only (a mask sized to the input)
        shape = ctx.sym(name).onnx_shape
        feeds[name] = np.zeros([1 if d is None else d for d in shape], dtype=np.float32)
    try:
        out, probs = run_checked(body, feeds, ctx.opset or 17)
    except CheckRefused as exc:
        raise Unsupported(f"this self-attention block cannot be checked: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a block ONNX cannot run on its own shape
        raise Unsupported(
            f"this self-attention block could not be evaluated to check it ({exc})"
        ) from None
    return np.asarray(out, dtype=np.float64), np.asarray(probs)


def _matches(expected, x, weights, heads, causal) -> bool:
    got = _attention(x, weights, heads, causal)
    if got.shape != expected.shape:
        return False
    return float(np.abs(got - expected).max()) <= 1e-4 * max(1.0, float(np.abs(expected).max()))


@imports(TORCH_ATTENTION_OP)
def import_torch_attention(ctx, node):
    refusal = attr(node, "refusal")
    if refusal:
        raise Unsupported(refusal)
    sym = ctx.sym(node.input[0])
    shape = sym.onnx_shape
    if len(shape) != 3:
        raise Unsupported(
            f"this self-attention block reads a tensor of rank {len(shape)}; "
            "MultiHeadAttention takes (batch, steps, features)"
        )
    batch_axis = shape.index(None)
    if batch_axis == 2:
        raise Unsupported("this self-attention block has the batch on its features axis")
    steps = shape[1 - batch_axis]
    if steps * max(steps, shape[2]) > MAX_TENSOR_ELEMENTS:
        raise Unsupported(
            f"this self-attention block runs over {steps} steps of {shape[2]} features; "
            f"LayerCanvas checks a block before importing it, for at most "
            f"{MAX_TENSOR_ELEMENTS:,} scores per head"
        )
    sample = np.random.default_rng(0).standard_normal([1 if d is None else d for d in shape])
    sample = sample.astype(np.float32)
    expected, probs = _run_block(ctx, node, sample)
    heads = int(probs.shape[1] if probs.ndim == 4 else probs.shape[0])
    weights = _weights(node)
    width = weights["query_kernel"].shape[1]
    if (
        heads < 1
        or heads * steps * steps > MAX_TENSOR_ELEMENTS
        or width % heads
        or weights["value_kernel"].shape[1] % heads
    ):
        raise Unsupported(
            f"this self-attention block has {heads} heads for {width} features: it is not "
            "the attention MultiHeadAttention computes"
        )

    def batch_first(a: np.ndarray, seq_axis: int) -> np.ndarray:
        return np.moveaxis(a.astype(np.float64), seq_axis, 1)

    seq_axis = 1 - batch_axis
    x, target = batch_first(sample, seq_axis), batch_first(expected, seq_axis)
    causal = next((c for c in (False, True) if _matches(target, x, weights, heads, c)), None)
    if causal is None:
        across = batch_first(sample, batch_axis), batch_first(expected, batch_axis)
        if any(_matches(across[1], across[0], weights, heads, c) for c in (False, True)):
            raise Unsupported(
                f"this self-attention block attends along axis {batch_axis} of its input "
                f"{_fmt(shape)}, the axis LayerCanvas keeps for the batch: the model takes "
                "(steps, batch, features) (PyTorch's batch_first=False); export it with "
                "the batch first (batch_first=True, or transpose the input inside forward)"
            )
        mask = attr(node, "mask_node")
        why = (
            f"node {mask!r} masks its scores, and not causally (the only mask "
            "MultiHeadAttention has)"
            if mask
            else "it is not scaled dot-product attention over its steps"
        )
        raise Unsupported(
            f"this self-attention block computes something MultiHeadAttention does not: {why}"
        )
    _build(ctx, node, sym, seq_axis, weights, heads, causal)


def _build(ctx, node, sym: Sym, seq_axis: int, weights: dict, heads: int, causal: bool):
    if seq_axis == 0:  # (steps, batch, features): a view of the engine's batch-first tensor
        if sym.perm != (1, 0, 2) or sym.units:
            raise Unsupported(
                f"this self-attention block's input {_fmt(sym.onnx_shape)} is not a "
                "transposed (batch, steps, features) tensor"
            )
        source = Sym(sym.tensor, None, sym.dtype)
    else:
        source = ctx.plain(node.input[0], "the attention's input")
    features = weights["query_kernel"].shape[0]
    key_dim = weights["query_kernel"].shape[1] // heads
    value_dim = weights["value_kernel"].shape[1] // heads
    use_bias = any(name.endswith("bias") for name in weights)
    out_features = weights["output_kernel"].shape[1]
    values = []
    for role in ROLES:
        kernel = weights[f"{role}_kernel"]
        values.append(kernel.reshape(kernel.shape[0], heads, -1))
        if use_bias:
            bias = weights.get(f"{role}_bias", np.zeros(kernel.shape[1]))
            values.append(bias.reshape(heads, -1))
    values.append(weights["output_kernel"].reshape(heads, value_dim, out_features))
    if use_bias:
        values.append(weights.get("output_bias", np.zeros(out_features)))
    out = ctx.call_layer(
        "MultiHeadAttention",
        ctx.node_label(node),
        [source, source],
        weights=values,
        num_heads=heads,
        key_dim=key_dim,
        value_dim=None if value_dim == key_dim else value_dim,
        use_bias=use_bias,
        output_shape=None if out_features == features else int(out_features),
        use_causal_mask=causal,
    )
    view = (1, 0, 2) if seq_axis == 0 else None
    ctx.set(node.output[0], Sym(out, view, sym.dtype))


def _fmt(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"

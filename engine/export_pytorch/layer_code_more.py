"""``Dot``, ``TimeDistributed`` and ``MultiHeadAttention`` as PyTorch code (see
:mod:`engine.export_pytorch.layer_code`).

``Dot`` becomes one ``torch.einsum`` written for the inputs' ranks (Keras's ``batch_dot``:
the first input's remaining axes, then the second's). ``TimeDistributed`` folds time into
the batch around its inner layer's own code, so the inner layer keeps its PyTorch module
and weights. ``MultiHeadAttention`` is a helper module holding Keras's weights in Keras's
layout (``query_kernel (d, heads, key_dim)``, ...), so they move unchanged.
"""

from __future__ import annotations

import string

from engine.export_pytorch.layer_code import LayerCode, unsupported

__all__ = ["MORE"]


def _dot(layer, ins, out) -> LayerCode:
    axes = layer.config.get("axes", (-1, -1))
    axes = (axes, axes) if isinstance(axes, int) else tuple(axes)
    ranks = [len(s) + 1 for s in ins]  # with the batch axis, as Keras counts
    a_axis, b_axis = (int(ax) % r for ax, r in zip(axes, ranks))
    letters = iter(string.ascii_lowercase[1:])
    a = ["z"] + [next(letters) for _ in range(ranks[0] - 1)]
    b = ["z"] + [next(letters) for _ in range(ranks[1] - 1)]
    b[b_axis] = a[a_axis]
    kept = [c for i, c in enumerate(a) if i != a_axis] + [
        c for i, c in enumerate(b) if i not in (0, b_axis)
    ]
    spec = f"{''.join(a)},{''.join(b)}->{''.join(kept)}"
    x0, x1 = "{x0}", "{x1}"
    if layer.config.get("normalize"):  # Keras: x / max(||x||, 1e-7) along the axis
        x0 = f"F.normalize({{x0}}, dim={a_axis}, eps=1e-7)"
        x1 = f"F.normalize({{x1}}, dim={b_axis}, eps=1e-7)"
    step = f"torch.einsum({spec!r}, {x0}, {x1})"
    if len(kept) == 1:  # two vectors: Keras keeps a (1,) axis
        step += ".unsqueeze(-1)"
    return LayerCode(None, [step])


def _time_distributed(layer, ins, out) -> LayerCode:
    from engine.export_pytorch.layer_code import layer_code  # noqa: PLC0415 (a cycle)

    inner = layer.inner_layer
    steps_count = ins[0][0]
    code = layer_code(inner, [tuple(ins[0][1:])], tuple(out[1:]))
    fold = f"{{x}}.reshape(-1, *{tuple(ins[0][1:])!r})"
    unfold = f"{{x}}.reshape(-1, {steps_count}, *{tuple(out[1:])!r})"
    # The inner layer's softmax now sits before the unfolding: the loss reads probabilities
    # (as the engine does once a reshape has dropped the logits).
    return LayerCode(
        code.module,
        [fold, *code.steps, unfold],
        code.to_torch,
        code.from_torch,
        code.helpers,
        setup=code.setup,
    )


def _attention(layer, ins, out) -> LayerCode:
    c = layer.config
    query, value = ins[0], ins[1]
    key = ins[2] if len(ins) > 2 else value
    if any(len(s) != 2 for s in (query, value, key)):
        raise unsupported(layer, "only sequences (steps, features) are exported")
    heads, key_dim = int(c["num_heads"]), int(c["key_dim"])
    value_dim = int(c.get("value_dim") or key_dim)
    use_bias = bool(c.get("use_bias", True))
    module = (
        f"MultiHeadAttention(({query[1]}, {key[1]}, {value[1]}), heads={heads}, "
        f"key_dim={key_dim}, value_dim={value_dim}, out={out[-1]}, use_bias={use_bias}, "
        f"dropout={float(c.get('dropout') or 0.0)!r}, causal={bool(c.get('use_causal_mask'))})"
    )
    names = []
    for name in ("query", "key", "value", "attention_output"):
        names.append(f"{name}_kernel")
        if use_bias:
            names.append(f"{name}_bias")

    def to_torch(arrays):
        return dict(zip(names, arrays, strict=True))

    def from_torch(state):
        return [state[n] for n in names]

    return LayerCode(module, ["self.{m}(*{xs})"], to_torch, from_torch, {"MultiHeadAttention"})


MORE = {"Dot": _dot, "TimeDistributed": _time_distributed, "MultiHeadAttention": _attention}

"""Padding masks in ONNX export: which tensors carry one, and the recurrent trick for them.

A mask starts at an ``Embedding(mask_zero=True)`` (``ids != 0``), flows through layers that
pass it on (``Layer.compute_mask``, the same rule the execution plan follows) and is applied
by the layers that consume it, each in its own mapping: ``GlobalAveragePooling1D`` (a
masked mean), ``MultiHeadAttention`` (hidden keys) and the recurrent layers.

Keras's masked recurrence skips masked steps, carrying the state over. ONNX's ``RNN`` /
``LSTM`` / ``GRU`` only know ``sequence_lens`` (the first ``len`` steps are real), so the
real steps are first moved to the front of each sequence, in order (a stable compaction:
``TopK`` of ``(1 - mask) * T + t``, smallest first, then ``GatherElements``), and
``sequence_lens`` is the count of real steps. That is exact for any mask, not only right
padding: the last state is Keras's, forward and reverse. Every step's output is then read
back at ``cumsum(mask) - 1`` (the state after the real steps seen so far; zeros before the
first), or zeros at masked steps where Keras outputs zeros (``zero_output_for_mask``, as
in ``Bidirectional``).
"""

from __future__ import annotations

import numpy as np

from engine.onnx.context import INT64, ExportError

# Layer types whose ONNX mapping applies an incoming mask.
MASK_AWARE = {
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "GlobalAveragePooling1D",
    "MultiHeadAttention",
}
_PRESENT = object()  # stands for "a mask" when asking a layer's compute_mask statically


class MaskTracker:
    """Follows masks through the export; :meth:`of` gives a tensor's boolean ``(N, T)``
    mask as an ONNX tensor name (emitted once per Embedding), or None."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._ids: dict[str, str] = {}  # tensor name -> the token ids its mask comes from
        self._made: dict[str, str] = {}

    def check(self, layer, inputs: list[str]) -> None:
        masked = any(name in self._ids for name in inputs)
        if masked and layer.consumes_mask and layer.type_name not in MASK_AWARE:
            raise ExportError(
                f"{layer.type_name} {layer.name!r} reads the padding mask of an "
                "Embedding(mask_zero=True), which its ONNX mapping cannot apply: turn "
                "mask_zero off to export this model"
            )

    def follow(self, layer, inputs: list[str], output: str) -> None:
        """Note whether ``output`` (the result of ``layer`` on ``inputs``) carries a mask."""
        if layer.creates_mask():
            self._ids[output] = inputs[0]
            return
        marks = [_PRESENT if name in self._ids else None for name in inputs]
        if not any(m is not None for m in marks):
            return
        result = layer.compute_mask(None, marks if layer.max_inputs != 1 else marks[0])
        if result is not None:
            self._ids[output] = self._ids[inputs[marks.index(_PRESENT)]]

    def of(self, name: str) -> str | None:
        ids = self._ids.get(name)
        if ids is None:
            return None
        if ids not in self._made:
            ctx = self.ctx
            as_int = ids
            if ids not in ctx.int64_names:
                as_int = ctx.fresh(f"{ids}.ids")
                ctx.add_node("Cast", [ids], [as_int], name=ctx.fresh("mask_cast"), to=INT64)
            zero = ctx.add_ints("mask.zero", 0)
            padding, mask = ctx.fresh(f"{ids}.padding"), ctx.fresh(f"{ids}.mask")
            ctx.add_node("Equal", [as_int, zero], [padding], name=ctx.fresh("mask_equal"))
            ctx.add_node("Not", [padding], [mask], name=ctx.fresh("mask_not"))
            self._made[ids] = mask
        return self._made[ids]


def masks_of(ctx) -> MaskTracker | None:
    return getattr(ctx, "masks", None)


class Compacted:
    """A batch-first sequence with its real steps moved to the front (see module doc)."""

    def __init__(self, ctx, name: str, x: str, mask: str, steps: int):
        self.ctx, self.name = ctx, name
        add = ctx.add_node
        count = ctx.fresh(f"{name}.mask_int")
        add("Cast", [mask], [count], name=ctx.fresh(f"{name}_mask_int"), to=INT64)
        padded = ctx.fresh(f"{name}.padded")
        add("Sub", [ctx.add_ints(f"{name}.one", 1), count], [padded], name=ctx.fresh(f"{name}_pad"))
        late = ctx.fresh(f"{name}.late")
        add(
            "Mul",
            [padded, ctx.add_ints(f"{name}.steps", steps)],
            [late],
            name=ctx.fresh(f"{name}_mask_op"),
        )
        key = ctx.fresh(f"{name}.order_key")
        arange = ctx.add_ints(f"{name}.arange", np.arange(steps))
        add("Add", [late, arange], [key], name=ctx.fresh(f"{name}_key"))
        order, _ = ctx.fresh(f"{name}.order"), None
        values = ctx.fresh(f"{name}.order_values")
        add(
            "TopK",
            [key, ctx.add_ints(f"{name}.k", [steps])],
            [values, order],
            name=ctx.fresh(f"{name}_topk"),
            axis=1,
            largest=0,
            sorted=1,
        )
        self.x = self.gather(x, order, 3)
        lens64, self.lens = ctx.fresh(f"{name}.lens64"), ctx.fresh(f"{name}.lens")
        axes = ctx.add_ints(f"{name}.time_axis", [1])
        add("ReduceSum", [count, axes], [lens64], name=ctx.fresh(f"{name}_lens"), keepdims=0)
        add("Cast", [lens64], [self.lens], name=ctx.fresh(f"{name}_lens32"), to=6)  # int32
        seen = ctx.fresh(f"{name}.seen")
        add(
            "CumSum",
            [count, ctx.add_ints(f"{name}.axis", 1)],
            [seen],
            name=ctx.fresh(f"{name}_mask_op"),
        )
        self.position = ctx.fresh(f"{name}.position")  # compact index of step t, -1 before
        add(
            "Sub",
            [seen, ctx.add_ints(f"{name}.one_", 1)],
            [self.position],
            name=ctx.fresh(f"{name}_mask_op"),
        )
        self.mask = mask

    def gather(self, source: str, index: str, rank: int) -> str:
        """``source[n, index[n, t], ...]`` for a batch-first ``source`` of ``rank``."""
        ctx = self.ctx
        full = index
        if rank > 2:
            full = ctx.fresh(f"{self.name}.index_nd")
            axes = ctx.add_ints(f"{self.name}.trailing", list(range(2, rank)))
            ctx.add_node("Unsqueeze", [index, axes], [full], name=ctx.fresh(f"{self.name}_mask_op"))
        shape, expanded = ctx.fresh(f"{self.name}.shape"), ctx.fresh(f"{self.name}.index")
        ctx.add_node("Shape", [source], [shape], name=ctx.fresh(f"{self.name}_mask_op"))
        ctx.add_node("Expand", [full, shape], [expanded], name=ctx.fresh(f"{self.name}_mask_op"))
        out = ctx.fresh(f"{self.name}.gathered")
        ctx.add_node(
            "GatherElements",
            [source, expanded],
            [out],
            name=ctx.fresh(f"{self.name}_mask_op"),
            axis=1,
        )
        return out

    def spread(self, compact: str, rank: int, output: str, zero_masked: bool) -> None:
        """Every step's output from the compacted one: the state after the real steps seen
        so far (zeros before the first, and at every masked step with ``zero_masked``)."""
        ctx, name = self.ctx, self.name
        clipped = ctx.fresh(f"{name}.position_clipped")
        ctx.add_node(
            "Max",
            [self.position, ctx.add_ints(f"{name}.zero", 0)],
            [clipped],
            name=ctx.fresh(f"{name}_mask_op"),
        )
        gathered = self.gather(compact, clipped, rank)
        keep = self.mask
        if not zero_masked:
            keep = ctx.fresh(f"{name}.started")
            ctx.add_node(
                "GreaterOrEqual",
                [self.position, ctx.add_ints(f"{name}.zero_", 0)],
                [keep],
                name=ctx.fresh(f"{name}_mask_op"),
            )
        keep_nd = ctx.fresh(f"{name}.keep_nd")
        axes = ctx.add_ints(f"{name}.keep_axes", list(range(2, rank)))
        ctx.add_node("Unsqueeze", [keep, axes], [keep_nd], name=ctx.fresh(f"{name}_mask_op"))
        zero = ctx.add_scalar(f"{name}.zero_value", 0.0)
        ctx.add_node(
            "Where", [keep_nd, gathered, zero], [output], name=ctx.fresh(f"{name}_mask_op")
        )


def masked_mean(ctx, layer, x: str, mask: str, output: str) -> None:
    """``GlobalAveragePooling1D`` with a mask: the mean of the real steps (zeros if none)."""
    name = layer.name
    weights, weights_nd = ctx.fresh(f"{name}.mask_float"), ctx.fresh(f"{name}.mask_nd")
    ctx.add_node("Cast", [mask], [weights], name=ctx.fresh(f"{name}_mask"), to=1)  # float
    ctx.add_node(
        "Unsqueeze",
        [weights, ctx.add_ints(f"{name}.feature_axis", [2])],
        [weights_nd],
        name=ctx.fresh(f"{name}_mask_nd"),
    )
    keep, axes = int(layer.keepdims), ctx.add_ints(f"{name}.time_axis", [1])
    kept, total, count = (ctx.fresh(f"{name}.{part}") for part in ("kept", "total", "count"))
    ctx.add_node("Mul", [x, weights_nd], [kept], name=ctx.fresh(f"{name}_kept"))
    ctx.add_node(
        "ReduceSum", [kept, axes], [total], name=ctx.fresh(f"{name}_mask_op"), keepdims=keep
    )
    ctx.add_node(
        "ReduceSum", [weights_nd, axes], [count], name=ctx.fresh(f"{name}_mask_op"), keepdims=keep
    )
    at_least_one = ctx.fresh(f"{name}.count_clipped")
    one = ctx.add_scalar(f"{name}.one", 1.0)
    ctx.add_node("Max", [count, one], [at_least_one], name=ctx.fresh(f"{name}_mask_op"))
    ctx.add_node("Div", [total, at_least_one], [output], name=name)


def hide_padded_keys(ctx, layer, scores: str, query_mask, key_masks: list) -> str:
    """``MultiHeadAttention``'s scores ``(N, H, Tq, Tv)`` with keys hidden (-1e9, as Keras)
    where the query or the key/value step is padding."""
    from engine.autodiff.kernels_attention import HIDDEN_SCORE  # noqa: PLC0415

    name = layer.name
    allowed = None
    parts = [(query_mask, [1, 3])] + [(m, [1, 2]) for m in key_masks]
    for mask, axes in parts:
        if mask is None:
            continue
        part = ctx.fresh(f"{name}.allowed_part")
        ctx.add_node(
            "Unsqueeze",
            [mask, ctx.add_ints(f"{name}.mask_axes", axes)],
            [part],
            name=ctx.fresh(f"{name}_mask"),
        )
        if allowed is not None:
            both = ctx.fresh(f"{name}.allowed")
            ctx.add_node("And", [allowed, part], [both], name=ctx.fresh(f"{name}_and"))
            part = both
        allowed = part
    if allowed is None:
        return scores
    hidden = ctx.add_scalar(f"{name}.hidden", HIDDEN_SCORE)
    masked = ctx.fresh(f"{name}.scores_masked")
    ctx.add_node("Where", [allowed, scores, hidden], [masked], name=ctx.fresh(f"{name}_hide"))
    return masked

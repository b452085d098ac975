"""Importers for the 1-D forms of ``Conv``, ``MaxPool`` / ``AveragePool``, ``GlobalAveragePool``
/ ``GlobalMaxPool`` and ``ReduceMean`` / ``ReduceMax`` (``Conv1D``, ``MaxPooling1D`` /
``AveragePooling1D``, the global 1-D poolings), called by :mod:`engine.onnx.import_conv`
when the data has rank 3.

ONNX's 1-D operators take ``(N, C, L)``; the engine's sequences are ``(N, T, F)``. PyTorch
writes ``x.transpose(1, 2) -> Conv1d -> .transpose(1, 2)`` and the engine's exporter the
same, so the input is usually a transposed *view* of an engine sequence: the layer runs on
the sequence itself and its result is handed on as the same kind of view, which the next
``Transpose`` undoes - no Permute layers. A plain ``(N, C, L)`` input (a graph input in
PyTorch's layout) gets one ``Permute`` first.
"""

from __future__ import annotations

from engine.autodiff import kernels_conv
from engine.onnx.import_dense import PendingLayer
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr
from engine.onnx.import_values import Pending, Sym

SWAP = (0, 2, 1)


def data_rank(ctx, name: str) -> int | None:
    """The rank of data ``name`` without creating a pending layer (None: not data)."""
    value = ctx.value(name)
    if isinstance(value, Sym | Pending):
        return len(value.onnx_shape)
    return None


def engine_sequence(ctx, name: str) -> Sym:
    """The engine sequence ``(N, T, F)`` whose ``(0, 2, 1)`` transpose is ONNX value ``name``
    (an ``(N, C, L)`` tensor)."""
    sym = ctx.sym(name)
    if sym.perm == SWAP and not sym.units:
        return Sym(sym.tensor, None, sym.dtype)
    plain = ctx.plain(name)
    out = ctx.call_layer(
        "Permute", f"{ctx.producers.get(name, name)}_steps_first", plain, dims=(2, 1)
    )
    return Sym(out, None, plain.dtype)


def _one(values, default: int, what: str) -> int:
    if values is None:
        return default
    if len(values) != 1 or int(values[0]) < 1:
        raise Unsupported(f"{what} {list(values)} of a 1-D operator")
    return int(values[0])


def sequence_padding(node, steps: int, k: int, s: int, d: int) -> str:
    """``valid``, ``same`` (TensorFlow's) or ``causal`` for the node's padding; else
    Unsupported (the 1-D layers have no explicit padding)."""
    auto_pad = attr(node, "auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return "valid"
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        before, after = kernels_conv.same_padding(steps, k, s, d)
        pads = [after, before] if auto_pad == "SAME_LOWER" else [before, after]
    else:
        pads = [int(p) for p in (attr(node, "pads") or [0, 0])]
    if pads == [0, 0]:
        return "valid"
    if tuple(pads) == kernels_conv.same_padding(steps, k, s, d):
        return "same"
    if pads == [(k - 1) * d, 0]:
        return "causal"
    raise Unsupported(
        f"1-D padding {pads} is none of 'valid', 'same' (extra step at the end) or 'causal'"
    )


class PendingSequenceLayer(PendingLayer):
    """A Conv1D whose activation may still be folded in; ONNX sees its ``(N, F, L)`` view."""

    @property
    def onnx_shape(self) -> tuple:
        steps, filters = self.out_shape
        return (None, filters, steps)

    def can_take_bias(self) -> bool:
        return False  # PyTorch and the exporter put the bias in Conv's B input

    def with_bias(self, bias) -> PendingSequenceLayer:
        return PendingSequenceLayer(
            self.type_name,
            self.node_name,
            self.source,
            self.config,
            self.kernel,
            bias,
            self.out_shape,
        )

    def build(self, ctx) -> Sym:
        sym = super().build(ctx)
        return Sym(sym.tensor, SWAP, sym.dtype)


def import_conv_1d(ctx, node) -> None:
    group = int(attr(node, "group", 1))
    kernel = ctx.float_const(node.input[1], "the kernel W")
    source = engine_sequence(ctx, node.input[0])
    steps, channels = source.tensor.shape
    if kernel.ndim != 3 or kernel.shape[1] * group != channels or kernel.shape[0] % group:
        raise Unsupported(
            f"kernel of shape {kernel.shape} in {group} group(s) for {channels} channels"
        )
    k = int(kernel.shape[2])
    s = _one(attr(node, "strides"), 1, "strides")
    d = _one(attr(node, "dilations"), 1, "dilations")
    padding = sequence_padding(node, steps, k, s, d)
    bias = (
        ctx.float_const(node.input[2], "the bias B").reshape(-1) if ctx.has_input(node, 2) else None
    )
    config = {
        "filters": int(kernel.shape[0]),
        "kernel_size": (k,),
        "strides": (s,),
        "padding": padding,
        "dilation_rate": (d,),
        "groups": group,
    }
    pads = (
        ((k - 1) * d, 0)
        if padding == "causal"
        else kernels_conv.same_padding(steps, k, s, d)
        if padding == "same"
        else (0, 0)
    )
    out = (kernels_conv.output_length(steps, k, s, *pads, d), int(kernel.shape[0]))
    pending = PendingSequenceLayer(
        "Conv1D", ctx.node_label(node), source, config, kernel, bias, out
    )
    ctx.set(node.output[0], pending)


class PendingGlobalPool1D(Pending):
    """Global 1-D pooling: ONNX gives ``(N, C, 1)``; a following Squeeze / Flatten / Reshape
    to ``(N, C)`` folds into the layer (``keepdims=False``), any other use gets the
    ``keepdims=True`` layer seen through the ``(0, 2, 1)`` view."""

    def __init__(self, type_name: str, node_name: str, source: Sym):
        self.type_name = type_name
        self.node_name = node_name
        self.source = source
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        return (None, self.source.tensor.shape[1], 1)

    def squeeze(self, ctx, axes) -> Sym | None:
        if axes is not None and sorted(a % 3 for a in axes) != [2]:
            return None
        return Sym(ctx.call_layer(self.type_name, self.node_name, self.source))

    def build(self, ctx) -> Sym:
        out = ctx.call_layer(self.type_name, self.node_name, self.source, keepdims=True)
        return Sym(out, SWAP)


def import_global_pool_1d(ctx, node) -> None:
    """``GlobalAveragePool`` / ``GlobalMaxPool`` of ``(N, C, L)`` (PyTorch's
    ``AdaptiveAvgPool1d(1)``)."""
    source = engine_sequence(ctx, node.input[0])
    average = node.op_type in ("GlobalAveragePool", "AveragePool")
    type_name = "GlobalAveragePooling1D" if average else "GlobalMaxPooling1D"
    ctx.set(node.output[0], PendingGlobalPool1D(type_name, ctx.node_label(node), source))


def import_pool_1d(ctx, node) -> None:
    source = engine_sequence(ctx, node.input[0])
    steps = source.tensor.shape[0]
    k = _one(attr(node, "kernel_shape"), 1, "kernel_shape")
    s = _one(attr(node, "strides"), 1, "strides")
    if _one(attr(node, "dilations"), 1, "dilations") != 1 or attr(node, "ceil_mode", 0):
        raise Unsupported("dilated or ceil_mode 1-D pooling")
    padding = sequence_padding(node, steps, k, s, 1)
    if k == steps and padding == "valid":  # one window over every step: PyTorch's
        import_global_pool_1d(ctx, node)  # AdaptiveMaxPool1d(1)
        return
    if padding == "causal":
        raise Unsupported("1-D pooling padded only at the start")
    if node.op_type == "AveragePool" and padding != "valid" and attr(node, "count_include_pad", 0):
        raise Unsupported("AveragePool with count_include_pad=1 averages the zero padding")
    type_name = "MaxPooling1D" if node.op_type == "MaxPool" else "AveragePooling1D"
    out = ctx.call_layer(
        type_name, ctx.node_label(node), source, pool_size=(k,), strides=(s,), padding=padding
    )
    ctx.set(node.output[0], Sym(out, SWAP))


def import_reduce_1d(ctx, node, axes) -> bool:
    """Mean / max over the steps of a sequence: a global 1-D pooling; False otherwise."""
    sym = ctx.sym(node.input[0])
    if axes is None or len(axes) != 1:
        return False
    axis = int(axes[0]) % 3
    keepdims = bool(attr(node, "keepdims", 1))
    type_name = "GlobalAveragePooling1D" if node.op_type == "ReduceMean" else "GlobalMaxPooling1D"
    if sym.is_plain and axis == 1:  # the engine's own (N, T, F)
        out = ctx.call_layer(type_name, ctx.node_label(node), sym, keepdims=keepdims)
        ctx.set(node.output[0], Sym(out))
        return True
    if sym.perm == (1, 0, 2) and not sym.units and axis == 0:  # (steps, batch, features)
        source = Sym(sym.tensor, None, sym.dtype)  # x.mean(dim=0) after a seq-first encoder
        out = ctx.call_layer(type_name, ctx.node_label(node), source, keepdims=keepdims)
        ctx.set(node.output[0], Sym(out, (1, 0, 2) if keepdims else None))
        return True
    if sym.perm == SWAP and not sym.units and axis == 2:  # PyTorch's x.mean(dim=2) on (N, C, L)
        source = Sym(sym.tensor, None, sym.dtype)
        out = ctx.call_layer(type_name, ctx.node_label(node), source, keepdims=keepdims)
        ctx.set(node.output[0], Sym(out, SWAP if keepdims else None))
        return True
    return False

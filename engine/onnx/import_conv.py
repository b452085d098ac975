"""Importers for ``Conv`` (``Conv2D``), ``MaxPool`` / ``AveragePool`` (``MaxPooling2D`` /
``AveragePooling2D``) and ``GlobalAveragePool`` / ``GlobalMaxPool`` (the global pooling
layers, whose ``(N, C)`` output the usual ``Flatten`` after them simply keeps).

ONNX gives padding per side (``pads`` or ``auto_pad``). A node whose padding is exactly
``valid`` or Keras's ``same`` for the input size at hand gets that name; any other padding
(PyTorch's ``Conv2d(3, stride=2, padding=1)``, ``MaxPool2d(3, 2, padding=1)``) is kept as
the layer's explicit ``((top, bottom), (left, right))`` padding: still ONE layer, no Pad.

``Conv`` with ``group > 1`` becomes ``Conv2D(groups=...)``; ``group`` equal to the number of
input channels (a depthwise convolution) becomes ``DepthwiseConv2D`` with the kernel
``(C * M, 1, kh, kw)`` seen as its ``(C, M, kh, kw)``.
"""

from __future__ import annotations

import math

from engine.autodiff import kernels_conv
from engine.layers.conv_params import MAX_PAD
from engine.onnx.import_conv1d import (
    data_rank,
    import_conv_1d,
    import_global_pool_1d,
    import_pool_1d,
    import_reduce_1d,
)
from engine.onnx.import_dense import PendingLayer
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Pending, Sym

Pads = tuple[tuple[int, int], tuple[int, int]]


def _image(ctx, node) -> Sym:
    sym = ctx.plain(node.input[0])
    if sym.rank != 4:
        raise Unsupported(
            f"{node.op_type} on data of rank {sym.rank}: only 2-D images (N, C, H, W) are supported"
        )
    return sym


def _pair(values, default: int, what: str) -> tuple[int, int]:
    if values is None:
        return default, default
    if len(values) != 2:
        raise Unsupported(f"{what} {list(values)} is not 2-D")
    if min(values) < 1:
        raise Unsupported(f"{what} {list(values)} must be positive")
    return int(values[0]), int(values[1])


def requested_pads(node, spatial, kernel, strides, dilations) -> Pads:
    """The padding the node asks for, resolved to ``((top, bottom), (left, right))``."""
    auto_pad = attr(node, "auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(spatial, kernel, strides, dilations, strict=True):
            before, after = kernels_conv.same_padding(size, k, s, d)
            pads.append((after, before) if auto_pad == "SAME_LOWER" else (before, after))
        return pads[0], pads[1]
    if auto_pad == "VALID":
        return (0, 0), (0, 0)
    p = attr(node, "pads") or [0, 0, 0, 0]
    if len(p) != 4 or min(p) < 0:
        raise Unsupported(f"pads {list(p)} are not those of a 2-D operator")
    return (int(p[0]), int(p[2])), (int(p[1]), int(p[3]))


def engine_padding(pads: Pads, spatial, kernel, strides, dilations):
    """``"valid"`` or ``"same"`` when they pad exactly like ``pads``, else ``pads`` itself
    (the layers' explicit padding)."""
    if pads == ((0, 0), (0, 0)):
        return "valid"
    if pads == kernels_conv.resolve_padding("same", spatial, kernel, strides, dilations):
        return "same"
    if max(max(p) for p in pads) > MAX_PAD:
        raise Unsupported(f"padding {list(pads)} is larger than {MAX_PAD}")
    return pads


@imports("Conv")
def import_conv(ctx, node):
    if data_rank(ctx, node.input[0]) == 3:
        import_conv_1d(ctx, node)
        return
    if fold_pointwise(ctx, node):
        return
    sym = _image(ctx, node)
    group = int(attr(node, "group", 1))
    kernel = ctx.float_const(node.input[1], "the kernel W")
    _, channels, h, w = sym.onnx_shape
    if group < 1 or kernel.ndim != 4 or kernel.shape[1] * group != channels:
        raise Unsupported(
            f"kernel of shape {kernel.shape} in {group} group(s) for {channels} input channels"
        )
    if kernel.shape[0] % group:
        raise Unsupported(f"{kernel.shape[0]} filters cannot be split into {group} groups")
    size = tuple(int(k) for k in kernel.shape[2:])
    strides = _pair(attr(node, "strides"), 1, "strides")
    dilations = _pair(attr(node, "dilations"), 1, "dilations")
    pads = requested_pads(node, (h, w), size, strides, dilations)
    padding = engine_padding(pads, (h, w), size, strides, dilations)
    bias = (
        ctx.float_const(node.input[2], "the bias B").reshape(-1) if ctx.has_input(node, 2) else None
    )
    out = [
        kernels_conv.output_length(n, k, s, *p, d)
        for n, k, s, p, d in zip((h, w), size, strides, pads, dilations, strict=True)
    ]
    config = {
        "kernel_size": size,
        "strides": strides,
        "padding": padding,
        "dilation_rate": dilations,
    }
    label, out_shape = ctx.node_label(node), (kernel.shape[0], *out)
    if group == channels and group > 1:
        config["depth_multiplier"] = int(kernel.shape[0]) // channels
        depthwise = kernel.reshape(channels, -1, *size)
        pending = PendingDepthwise(
            "DepthwiseConv2D", label, sym, config, depthwise, bias, out_shape
        )
    else:
        config.update(filters=int(kernel.shape[0]), groups=group)
        pending = PendingLayer("Conv2D", label, sym, config, kernel, bias, out_shape)
    ctx.set(node.output[0], pending)


class PendingDepthwise(PendingLayer):
    """A DepthwiseConv2D: its kernel is ``(C, M, kh, kw)``, its bias ``C * M`` values, and
    its weights are called ``depthwise_kernel`` and ``bias``."""

    @property
    def bias_shape(self) -> int:
        return int(self.kernel.shape[0] * self.kernel.shape[1])

    def with_bias(self, bias) -> PendingDepthwise:
        return PendingDepthwise(
            self.type_name,
            self.node_name,
            self.source,
            self.config,
            self.kernel,
            bias,
            self.out_shape,
        )


class PendingSeparable(PendingLayer):
    """A DepthwiseConv2D (no bias, no activation) followed by a 1x1 Conv: SeparableConv2D,
    whose bias and activation may still be folded in. ``kernel`` is the pointwise kernel."""

    def __init__(self, node_name, source, config, depthwise, pointwise, bias, out_shape):
        super().__init__("SeparableConv2D", node_name, source, config, pointwise, bias, out_shape)
        self.depthwise = depthwise

    def with_bias(self, bias) -> PendingSeparable:
        return PendingSeparable(
            self.node_name,
            self.source,
            self.config,
            self.depthwise,
            self.kernel,
            bias,
            self.out_shape,
        )

    def build(self, ctx) -> Sym:
        weights = [self.depthwise, self.kernel] + ([] if self.bias is None else [self.bias])
        out = ctx.call_layer(
            self.type_name,
            self.node_name,
            self.source,
            weights=weights,
            activation=self.activation,
            use_bias=self.bias is not None,
            **self.config,
        )
        return Sym(out)


def fold_pointwise(ctx, node) -> bool:
    """A 1x1 Conv right after a bias-free, linear DepthwiseConv2D that nothing else reads
    becomes one SeparableConv2D (the exporter writes SeparableConv2D this way)."""
    value = ctx.value(node.input[0])
    if not (
        isinstance(value, PendingDepthwise)
        and value.bias is None
        and value.activation == "linear"
        and ctx.private(node.input[0])
    ):
        return False
    kernel = ctx.float_const(node.input[1], "the kernel W")
    plain_1x1 = (
        kernel.ndim == 4
        and kernel.shape[1:] == (value.bias_shape, 1, 1)
        and int(attr(node, "group", 1)) == 1
        and _pair(attr(node, "strides"), 1, "strides") == (1, 1)
        and _pair(attr(node, "dilations"), 1, "dilations") == (1, 1)
        and not any(attr(node, "pads") or [])
        and attr(node, "auto_pad", "NOTSET") in ("NOTSET", "VALID")
    )
    if not plain_1x1:
        return False
    bias = (
        ctx.float_const(node.input[2], "the bias B").reshape(-1) if ctx.has_input(node, 2) else None
    )
    config = dict(value.config, filters=int(kernel.shape[0]))
    out_shape = (int(kernel.shape[0]), *value.out_shape[1:])
    pending = PendingSeparable(
        value.node_name, value.source, config, value.kernel, kernel, bias, out_shape
    )
    ctx.set(node.output[0], pending)
    return True


def ceil_mode_pads(node, sizes, kernel, strides, pads) -> Pads:
    """``ceil_mode=1`` as explicit padding: the extra last window ONNX (and PyTorch's
    ``ceil_mode=True``) adds becomes more padding after the image, which a max pool never
    picks (-inf) and an average without ``count_include_pad`` never counts."""
    result = []
    for n, k, s, p in zip(sizes, kernel, strides, pads, strict=True):
        extra = max(0, (_ceil_length(n, k, s, *p) - 1) * s + k - (n + p[0] + p[1]))
        if extra and node.op_type == "AveragePool" and attr(node, "count_include_pad", 0):
            raise Unsupported(
                "AveragePool with ceil_mode=1 and count_include_pad=1: its last window's "
                "divisor has no layer equivalent"
            )
        result.append((p[0], p[1] + extra))
    return result[0], result[1]


def _ceil_length(size, k, s, before, after) -> int:
    """ONNX's output length with ``ceil_mode=1`` (a last window must start inside)."""
    out = math.ceil((size + before + after - k) / s) + 1
    if (out - 1) * s >= size + before:
        out -= 1
    return out


@imports("MaxPool", "AveragePool")
def import_pool(ctx, node):
    if ctx.outputs_used(node, 1):
        raise Unsupported("the Indices output of MaxPool is used")
    if data_rank(ctx, node.input[0]) == 3:
        import_pool_1d(ctx, node)
        return
    sym = _image(ctx, node)
    kernel = _pair(attr(node, "kernel_shape"), 1, "kernel_shape")
    strides = _pair(attr(node, "strides"), 1, "strides")
    if _pair(attr(node, "dilations"), 1, "dilations") != (1, 1):
        raise Unsupported("dilated pooling")
    _, _, h, w = sym.onnx_shape
    pads = requested_pads(node, (h, w), kernel, strides, (1, 1))
    if attr(node, "ceil_mode", 0):
        pads = ceil_mode_pads(node, (h, w), kernel, strides, pads)
    padding = engine_padding(pads, (h, w), kernel, strides, (1, 1))
    if not isinstance(padding, str) and any(
        max(p) >= k for p, k in zip(padding, kernel, strict=True)
    ):
        raise Unsupported(f"padding {list(pads)} as large as the window {list(kernel)}")
    if node.op_type == "AveragePool" and padding != "valid" and attr(node, "count_include_pad", 0):
        raise Unsupported(
            "AveragePool with count_include_pad=1 averages the zero padding; the layer "
            "averages only the values inside the image"
        )
    type_name = "MaxPooling2D" if node.op_type == "MaxPool" else "AveragePooling2D"
    out = ctx.call_layer(
        type_name,
        ctx.node_label(node),
        sym,
        pool_size=kernel,
        strides=strides,
        padding=padding,
    )
    ctx.set(node.output[0], Sym(out))


class PendingGlobalPool(Pending):
    """Global pooling: ONNX gives ``(N, C, 1, 1)``; a following Flatten / Squeeze / Reshape
    to ``(N, C)`` folds into the layer (``keepdims=False``), any other use gets
    ``keepdims=True``."""

    def __init__(self, type_name: str, node_name: str, source: Sym):
        self.type_name = type_name
        self.node_name = node_name
        self.source = source
        self._flat: Sym | None = None
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        return (None, self.source.onnx_shape[1], 1, 1)

    def flat(self, ctx) -> Sym:
        if self._flat is None:
            self._flat = Sym(ctx.call_layer(self.type_name, self.node_name, self.source))
        return self._flat

    def squeeze(self, ctx, axes) -> Sym | None:
        if axes is None or sorted(a % 4 for a in axes) == [2, 3]:
            return self.flat(ctx)
        return None

    def build(self, ctx) -> Sym:
        if self._flat is None:
            out = ctx.call_layer(self.type_name, self.node_name, self.source, keepdims=True)
            return Sym(out)
        channels = self.source.onnx_shape[1]
        out = ctx.call_layer(
            "Reshape", f"{self.node_name}_keepdims", self._flat, target_shape=(channels, 1, 1)
        )
        return Sym(out)


@imports("GlobalAveragePool", "GlobalMaxPool")
def import_global_pool(ctx, node):
    if data_rank(ctx, node.input[0]) == 3:
        import_global_pool_1d(ctx, node)
        return
    sym = _image(ctx, node)
    type_name = (
        "GlobalAveragePooling2D" if node.op_type == "GlobalAveragePool" else "GlobalMaxPooling2D"
    )
    ctx.set(node.output[0], PendingGlobalPool(type_name, ctx.node_label(node), sym))


@imports("ReduceMean", "ReduceMax")
def import_reduce(ctx, node):
    """Mean / max over height and width is global pooling (PyTorch's dynamo exporter writes
    ``adaptive_avg_pool2d(x, 1)`` this way); other reductions have no layer."""
    if ctx.opset >= 18:  # axes moved from an attribute to an input
        axes = ctx.ints(node.input[1], "axes") if ctx.has_input(node, 1) else None
    else:
        axes = attr(node, "axes")
    if data_rank(ctx, node.input[0]) == 3 and import_reduce_1d(ctx, node, axes):
        return
    sym = ctx.plain(node.input[0])
    if axes is None or sym.rank != 4 or sorted(int(a) % 4 for a in axes) != [2, 3]:
        raise Unsupported(
            f"{node.op_type} over axes {axes}: only the height and width of an image (global "
            "pooling) have a layer"
        )
    type_name = "GlobalAveragePooling2D" if node.op_type == "ReduceMean" else "GlobalMaxPooling2D"
    pool = PendingGlobalPool(type_name, ctx.node_label(node), sym)
    ctx.set(node.output[0], pool if attr(node, "keepdims", 1) else pool.flat(ctx))

"""Importer for ``ConvTranspose`` (``Conv2DTranspose``).

ONNX describes the kept rows of each axis by ``pads`` / ``output_padding`` /
``output_shape`` / ``auto_pad``; all resolve to ``(begin, length)`` of the full transposed
convolution. Keras's own ``padding`` (``valid`` / ``same``, with or without
``output_padding``) is used when one gives exactly those rows, otherwise the layer's explicit
padding (PyTorch's ``ConvTranspose2d(padding=1, output_padding=1)`` drops its odd row at
the top, where Keras's ``same`` drops it at the bottom).
"""

from __future__ import annotations

import itertools

from engine.autodiff.kernels_conv_transpose import full_length
from engine.layers.convolutional_transpose import transpose_crop
from engine.onnx.import_dense import PendingLayer
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports


def _pair(values, default: int, what: str) -> tuple[int, int]:
    if values is None:
        return default, default
    if len(values) != 2:
        raise Unsupported(f"{what} {list(values)} is not 2-D")
    return int(values[0]), int(values[1])


def requested_crops(node, spatial, kernel, strides, dilations):
    """``[(begin, length), (begin, length)]`` the node keeps of each full axis."""
    output_padding = _pair(attr(node, "output_padding"), 0, "output_padding")
    output_shape = attr(node, "output_shape")
    auto_pad = attr(node, "auto_pad", "NOTSET")
    crops = []
    for axis in range(2):
        full = full_length(spatial[axis], kernel[axis], strides[axis], dilations[axis])
        if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            length = (
                int(output_shape[-2 + axis])
                if output_shape is not None
                else spatial[axis] * strides[axis]
            )
            total = full + output_padding[axis] - length
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            crops.append((begin, length))
            continue
        pads = attr(node, "pads") or [0, 0, 0, 0]
        if len(pads) != 4 or min(pads) < 0:
            raise Unsupported(f"pads {list(pads)} are not those of a 2-D operator")
        begin, end = int(pads[axis]), int(pads[axis + 2])
        crops.append((begin, full - begin - end + output_padding[axis]))
    return crops


def layer_padding(crops, spatial, kernel, strides, dilations) -> dict:
    """``padding`` and ``output_padding`` of a Conv2DTranspose that keeps ``crops``."""
    limits = [max(s, d) for s, d in zip(strides, dilations, strict=True)]
    options = [None, *itertools.product(range(limits[0]), range(limits[1]))]
    for padding, output_padding in itertools.product(("valid", "same"), options):
        got = [
            transpose_crop(
                spatial[a],
                kernel[a],
                strides[a],
                dilations[a],
                padding,
                None if output_padding is None else output_padding[a],
            )
            for a in range(2)
        ]
        if got == list(crops):
            return {"padding": padding, "output_padding": output_padding}
    pads, extra = [], []
    for axis, (begin, length) in enumerate(crops):
        full = full_length(spatial[axis], kernel[axis], strides[axis], dilations[axis])
        after = full - begin - length
        pads.append((begin, max(after, 0)))
        extra.append(max(-after, 0))
    if min(b for b, _ in pads) < 0 or any(e >= lim for e, lim in zip(extra, limits, strict=True)):
        raise Unsupported(f"ConvTranspose keeps rows {crops} that no layer padding gives")
    return {"padding": tuple(pads), "output_padding": tuple(extra) if any(extra) else None}


class PendingTranspose(PendingLayer):
    """A Conv2DTranspose whose bias and activation may still be folded in: its kernel is
    ``(in_channels, filters, kh, kw)``."""

    @property
    def bias_shape(self) -> int:
        return int(self.kernel.shape[1])

    def with_bias(self, bias) -> PendingTranspose:
        return PendingTranspose(
            self.type_name,
            self.node_name,
            self.source,
            self.config,
            self.kernel,
            bias,
            self.out_shape,
        )


@imports("ConvTranspose")
def import_conv_transpose(ctx, node):
    sym = ctx.plain(node.input[0])
    if sym.rank != 4:
        raise Unsupported(f"ConvTranspose on data of rank {sym.rank}: only images have a layer")
    if int(attr(node, "group", 1)) != 1:
        raise Unsupported("grouped ConvTranspose (group != 1)")
    kernel = ctx.float_const(node.input[1], "the kernel W")
    _, channels, h, w = sym.onnx_shape
    if kernel.ndim != 4 or kernel.shape[0] != channels:
        raise Unsupported(f"kernel of shape {kernel.shape} for {channels} input channels")
    size = (int(kernel.shape[2]), int(kernel.shape[3]))
    strides = _pair(attr(node, "strides"), 1, "strides")
    dilations = _pair(attr(node, "dilations"), 1, "dilations")
    crops = requested_crops(node, (h, w), size, strides, dilations)
    if min(length for _, length in crops) < 1:
        raise Unsupported(f"ConvTranspose keeps no rows ({crops})")
    config = {
        "filters": int(kernel.shape[1]),
        "kernel_size": size,
        "strides": strides,
        "dilation_rate": dilations,
        **layer_padding(crops, (h, w), size, strides, dilations),
    }
    bias = (
        ctx.float_const(node.input[2], "the bias B").reshape(-1) if ctx.has_input(node, 2) else None
    )
    out_shape = (int(kernel.shape[1]), crops[0][1], crops[1][1])
    pending = PendingTranspose(
        "Conv2DTranspose", ctx.node_label(node), sym, config, kernel, bias, out_shape
    )
    ctx.set(node.output[0], pending)

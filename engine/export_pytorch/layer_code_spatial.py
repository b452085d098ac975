"""Convolutions, pooling and image resizing as PyTorch code (see
:mod:`engine.export_pytorch.layer_code`).

Images are ``(N, C, H, W)`` in both the engine and PyTorch, so 2-D kernels keep their layout.
Sequences are ``(N, T, F)`` (Keras's layout) in the engine and ``(N, C, L)`` in PyTorch's 1-D
layers, so 1-D layers transpose in and out. ``padding="same"`` is Keras's (TensorFlow's):
the odd row of padding goes at the bottom/right; where PyTorch's symmetric ``padding`` cannot
say that, an explicit ``F.pad`` comes first (with ``-inf`` before a max pool, which
ignores padding, as Keras's does).
"""

from __future__ import annotations

import math

from engine.export_pytorch.layer_code import LayerCode, activation_steps, unsupported

__all__ = ["SPATIAL", "same_pads"]


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Keras's ``padding="same"`` rows before and after, for one axis."""
    extent = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def _pads(layer, spatial: tuple, kernel, strides, dilation, padding) -> list[tuple[int, int]]:
    """``[(before, after), ...]`` per spatial axis for ``padding``."""
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding == "same":
        return [same_pads(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    if padding == "causal":
        return [((kernel[0] - 1) * dilation[0], 0)]
    if isinstance(padding, int | list | tuple):
        if isinstance(padding, int):
            return [(padding, padding)] * len(spatial)
        return [tuple(int(v) for v in pair) for pair in padding]
    raise unsupported(layer, f"padding={padding!r} is not exported")


def _pad_steps(pads, value: str | None = None) -> tuple[list[str], tuple | None]:
    """``(steps, symmetric)``: an ``F.pad`` step when the pads are not symmetric, else the
    symmetric per-axis padding for the module itself."""
    if all(a == b for a, b in pads):
        return [], tuple(a for a, _ in pads)
    flat = []
    for before, after in reversed(pads):  # F.pad lists the last axis first
        flat += [before, after]
    fill = f", value={value}" if value else ""
    return [f"F.pad({{x}}, {tuple(flat)!r}{fill})"], tuple(0 for _ in pads)


def _conv(layer, ins, out) -> LayerCode:
    c = layer.config
    one_d = layer.type_name == "Conv1D"
    spatial = (ins[0][0],) if one_d else tuple(ins[0][1:])
    channels = ins[0][-1] if one_d else ins[0][0]
    kernel, strides, dilation = c["kernel_size"], c["strides"], c["dilation_rate"]
    pads = _pads(layer, spatial, kernel, strides, dilation, c["padding"])
    pre, sym = _pad_steps(pads)
    bias = bool(c.get("use_bias", True))
    cls = "nn.Conv1d" if one_d else "nn.Conv2d"
    module = f"{cls}({channels}, {c['filters']}, {_size(kernel)}" + _options(
        stride=strides, padding=sym, dilation=dilation, groups=int(c.get("groups", 1)), bias=bias
    )
    act, logits = activation_steps(layer, c.get("activation"))
    if one_d:
        steps = ["{x}.transpose(1, 2)", *pre, "self.{m}({x}).transpose(1, 2)", *act]
    else:
        steps = [*pre, "self.{m}({x})", *act]
    return LayerCode(module, steps, *_weight_bias(bias), logits_activation=logits)


def _size(values) -> str:
    values = tuple(int(v) for v in values)
    return str(values[0]) if len(set(values)) == 1 else repr(values)


_DEFAULTS = {
    "stride": 1,
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias": True,
}


def _options(**options) -> str:
    """``, name=value`` for each option PyTorch's default does not already say, then ``)``."""
    parts = []
    for name, value in options.items():
        text = _size(value) if isinstance(value, list | tuple) else repr(value)
        if text != repr(_DEFAULTS.get(name)):
            parts.append(f"{name}={text}")
    return "".join(f", {p}" for p in parts) + ")"


def _weight_bias(bias: bool):
    def to_torch(arrays):
        return {"weight": arrays[0], "bias": arrays[1]} if bias else {"weight": arrays[0]}

    def from_torch(state):
        return [state["weight"], state["bias"]] if bias else [state["weight"]]

    return to_torch, from_torch


def _depthwise(layer, ins, out) -> LayerCode:
    c = layer.config
    channels = ins[0][0]
    mult = int(c.get("depth_multiplier", 1))
    kernel, strides, dilation = c["kernel_size"], c["strides"], c["dilation_rate"]
    pads = _pads(layer, tuple(ins[0][1:]), kernel, strides, dilation, c["padding"])
    pre, sym = _pad_steps(pads)
    bias = bool(c.get("use_bias", True))
    depthwise = (
        f"nn.Conv2d({channels}, {channels * mult}, {tuple(kernel)!r}, stride={tuple(strides)!r}, "
        f"padding={sym!r}, dilation={tuple(dilation)!r}, groups={channels}"
    )
    act, logits = activation_steps(layer, c.get("activation"))
    if layer.type_name == "DepthwiseConv2D":
        # The engine's (C, multiplier, kh, kw) is PyTorch's (C * multiplier, 1, kh, kw):
        # output channel c * multiplier + m in both.
        def to_torch(arrays):
            state = {"weight": arrays[0].reshape(channels * mult, 1, *arrays[0].shape[2:])}
            if bias:
                state["bias"] = arrays[1]
            return state

        def from_torch(state):
            w = state["weight"].reshape(channels, mult, *state["weight"].shape[2:])
            return [w, state["bias"]] if bias else [w]

        return LayerCode(
            f"{depthwise}, bias={bias})", [*pre, "self.{m}({x})", *act], to_torch, from_torch,
            logits_activation=logits,
        )  # fmt: skip
    filters = int(c["filters"])
    module = (
        f"nn.Sequential(\n            {depthwise}, bias=False),\n"
        f"            nn.Conv2d({channels * mult}, {filters}, 1, bias={bias}),\n        )"
    )

    def to_sep(arrays):
        state = {
            "0.weight": arrays[0].reshape(channels * mult, 1, *arrays[0].shape[2:]),
            "1.weight": arrays[1],
        }
        if bias:
            state["1.bias"] = arrays[2]
        return state

    def from_sep(state):
        w = state["0.weight"].reshape(channels, mult, *state["0.weight"].shape[2:])
        found = [w, state["1.weight"]]
        return found + [state["1.bias"]] if bias else found

    return LayerCode(
        module, [*pre, "self.{m}({x})", *act], to_sep, from_sep, logits_activation=logits
    )


def _conv_transpose(layer, ins, out) -> LayerCode:
    c = layer.config
    channels, size = ins[0][0], tuple(ins[0][1:])
    kernel, strides, dilation = c["kernel_size"], c["strides"], c["dilation_rate"]
    bias = bool(c.get("use_bias", True))
    # PyTorch computes the full transposed convolution (no padding); the engine's output
    # (Keras's size rules) is a window of it starting ``top`` rows in. Where the window runs
    # past the end, PyTorch's output_padding adds those rows (the bias alone, as in Keras).
    crops, extra = [], []
    for axis, (n, k, s, d) in enumerate(zip(size, kernel, strides, dilation)):
        full = (n - 1) * s + (k - 1) * d + 1
        want = out[1 + axis]
        padding, output_padding = c["padding"], c.get("output_padding")
        if isinstance(padding, list | tuple):
            top = int(padding[axis][0])
        elif output_padding is not None:
            top = ((k - 1) * d + 1) // 2 if padding == "same" else 0
        elif padding == "same":
            top = max(full - want, 0) // 2
        else:
            top = 0
        more = max(top + want - full, 0)
        if more >= max(s, d):
            raise unsupported(
                layer, f"{more} rows beyond the transposed convolution on axis {axis}"
            )
        crops.append((top, top + want, full + more))
        extra.append(more)
    steps = ["self.{m}({x})"]
    if any((a, b) != (0, total) for a, b, total in crops):
        steps.append(f"{{x}}[:, :, {crops[0][0]}:{crops[0][1]}, {crops[1][0]}:{crops[1][1]}]")
    act, logits = activation_steps(layer, c.get("activation"))
    module = f"nn.ConvTranspose2d({channels}, {c['filters']}, {_size(kernel)}" + _options(
        stride=strides, output_padding=extra, dilation=dilation, bias=bias
    )
    return LayerCode(module, [*steps, *act], *_weight_bias(bias), logits_activation=logits)


def _pool(layer, ins, out) -> LayerCode:
    c = layer.config
    one_d = layer.type_name.endswith("1D")
    kind = "Max" if layer.type_name.startswith("Max") else "Avg"
    spatial = (ins[0][0],) if one_d else tuple(ins[0][1:])
    pool = tuple(c["pool_size"])
    strides = tuple(c["strides"]) if c.get("strides") is not None else pool
    pads = _pads(layer, spatial, pool, strides, (1,) * len(pool), c["padding"])
    fits = all(a == b and a <= k // 2 for (a, b), k in zip(pads, pool))
    dims = "1d" if one_d else "2d"
    if kind == "Max":
        pre, sym = ([], tuple(a for a, _ in pads)) if fits else _pad_steps(pads, "-math.inf")
        module = f"nn.MaxPool{dims}({_size(pool)}{_pool_stride(pool, strides)}" + _options(
            padding=sym
        )
    else:
        if not fits:
            raise unsupported(
                layer,
                f"average pooling with padding {pads!r} (uneven, or wider than half the "
                "window) has no PyTorch AvgPool form that ignores the padding as Keras does",
            )
        pre = []
        sym = tuple(a for a, _ in pads)
        module = f"nn.AvgPool{dims}({_size(pool)}{_pool_stride(pool, strides)}" + _options(
            padding=sym
        )
        if any(sym):  # Keras divides by the real (unpadded) elements of each window
            module = module[:-1] + ", count_include_pad=False)"
    if one_d:
        steps = ["{x}.transpose(1, 2)", *pre, "self.{m}({x}).transpose(1, 2)"]
    else:
        steps = [*pre, "self.{m}({x})"]
    return LayerCode(module, steps)


def _pool_stride(pool, strides) -> str:
    """``, stride=...`` unless it is the window (PyTorch's default for pooling)."""
    return "" if tuple(strides) == tuple(pool) else f", stride={_size(strides)}"


def _global_pool(layer, ins, out) -> LayerCode:
    one_d = layer.type_name.endswith("1D")
    dims = "1" if one_d else "(2, 3)"
    op = "amax" if "Max" in layer.type_name else "mean"
    keep = ", keepdim=True" if layer.config.get("keepdims") else ""
    return LayerCode(None, [f"{{x}}.{op}(dim={dims}{keep})"])


def _zero_padding(layer, ins, out) -> LayerCode:
    (top, bottom), (left, right) = layer.config["padding"]
    return LayerCode(None, [f"F.pad({{x}}, ({left}, {right}, {top}, {bottom}))"])


def _cropping(layer, ins, out) -> LayerCode:
    (top, bottom), (left, right) = layer.config["cropping"]
    _, h, w = ins[0]
    return LayerCode(None, [f"{{x}}[:, :, {top}:{h - bottom}, {left}:{w - right}]"])


def _upsampling(layer, ins, out) -> LayerCode:
    sh, sw = layer.config["size"]
    if layer.config.get("interpolation", "nearest") == "nearest":
        step = f"{{x}}.repeat_interleave({sh}, dim=2).repeat_interleave({sw}, dim=3)"
    else:  # Keras's bilinear resize samples at half-pixel centres: align_corners=False
        size = tuple(out[1:])
        step = f"F.interpolate({{x}}, size={size!r}, mode='bilinear', align_corners=False)"
    return LayerCode(None, [step])


SPATIAL = {
    "Conv1D": _conv,
    "Conv2D": _conv,
    "Conv2DTranspose": _conv_transpose,
    "DepthwiseConv2D": _depthwise,
    "SeparableConv2D": _depthwise,
    "MaxPooling1D": _pool,
    "MaxPooling2D": _pool,
    "AveragePooling1D": _pool,
    "AveragePooling2D": _pool,
    "GlobalAveragePooling1D": _global_pool,
    "GlobalAveragePooling2D": _global_pool,
    "GlobalMaxPooling1D": _global_pool,
    "GlobalMaxPooling2D": _global_pool,
    "ZeroPadding2D": _zero_padding,
    "Cropping2D": _cropping,
    "UpSampling2D": _upsampling,
}

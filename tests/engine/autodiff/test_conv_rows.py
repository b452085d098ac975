"""The numpy fast paths behind the conv benchmark rows: 2x2 stride-2 max-pooling with its
masks kept from the forward pass, and ReLU's mask multiplied in without a float copy.

Checked against PyTorch in float64 (values and gradients, with ties resolved as the engine
documents: one element per window takes the whole gradient) and by finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.autodiff import kernels_conv, ops
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor

torch = pytest.importorskip("torch")

# (N, C, H, W): even sizes (the windows tile the input), odd ones (the last row/column is
# dropped and gets zero gradient), and a one-window image.
SHAPES = [(3, 4, 8, 6), (2, 3, 7, 9), (1, 2, 2, 2), (4, 5, 14, 14)]


def _max_pool_and_grad(x, g):
    xs = Tensor(x, requires_grad=True)
    y = kernels_conv.max_pool2d(xs, (2, 2))
    y.backward(g)
    return y.numpy(), xs.grad


@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_2x2_matches_pytorch(shape):
    """Distinct values: no ties, so PyTorch's routing is the only correct one."""
    rng = np.random.default_rng(0)
    x = rng.permutation(np.prod(shape)).reshape(shape).astype(np.float64) / 7.0 - 3.0
    n, c, h, w = shape
    g = rng.standard_normal((n, c, h // 2, w // 2))
    y, gx = _max_pool_and_grad(x, g)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, 2)
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_2x2_ties_go_to_the_column_major_first_maximum(shape):
    """ReLU outputs are full of zeros: every window's gradient goes to exactly one element,
    the first maximum in column-major order ((0,0), (1,0), (0,1), (1,1)), as the general
    path does. Built window by window here."""
    rng = np.random.default_rng(1)
    x = np.maximum(rng.integers(-2, 3, size=shape).astype(np.float64), 0.0)
    n, c, h, w = shape
    g = rng.standard_normal((n, c, h // 2, w // 2))
    _, gx = _max_pool_and_grad(x, g)
    expected = np.zeros(shape)
    order = [(0, 0), (1, 0), (0, 1), (1, 1)]
    for i in range(h // 2):
        for j in range(w // 2):
            window = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            best = window.max(axis=(2, 3))
            taken = np.zeros((n, c), bool)
            for a, b in order:
                hit = (window[:, :, a, b] == best) & ~taken
                expected[:, :, 2 * i + a, 2 * j + b] = np.where(hit, g[:, :, i, j], 0.0)
                taken |= hit
    np.testing.assert_array_equal(gx, expected)
    # The general (overlapping-capable) path routes ties the same way.
    xs = Tensor(x, requires_grad=True)
    kernels_conv.max_pool2d(xs, (2, 2), (2, 2), ((0, 0), (0, 1))).backward(
        np.pad(g, ((0, 0), (0, 0), (0, 0), (0, (w + 1) // 2 - w // 2)))[..., : (w + 1) // 2]
    )
    np.testing.assert_array_equal(xs.grad[..., : 2 * (w // 2)], gx[..., : 2 * (w // 2)])


def test_max_pool_2x2_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 7))  # distinct values: the max is differentiable
    assert check_gradients(lambda a: kernels_conv.max_pool2d(a, (2, 2)), [x]) < 1e-6


def test_max_pool_2x2_float32_stays_float32():
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype(np.float32)
    y, gx = _max_pool_and_grad(x, np.ones((2, 3, 4, 4), np.float32))
    assert y.dtype == np.float32 and gx.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_matches_pytorch(dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 7)).astype(dtype)
    x[0, :3] = 0.0  # derivative 0 at 0, as PyTorch
    g = rng.standard_normal((5, 7)).astype(dtype)
    xs = Tensor(x, requires_grad=True)
    y = ops.relu(xs)
    y.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(y.numpy(), torch.relu(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(xs.grad, xt.grad.numpy())
    assert y.dtype == dtype and xs.grad.dtype == dtype


def test_relu_finite_differences():
    x = np.random.default_rng(5).standard_normal((4, 6)) + 0.05  # away from the kink
    assert check_gradients(ops.relu, [x]) < 1e-6

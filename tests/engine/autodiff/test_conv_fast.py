"""The cache-blocked numpy convolution (``kernels_conv_blocked``) against PyTorch and finite
differences: batches cut into several chunks (the last one partial), the stride-1 gradients
taken from the gradient's columns (flipped-kernel correlation), the col2im path for every
other geometry, the fused ReLU and the bias; the chunks one after another and on two
threads."""

from __future__ import annotations

import numpy as np
import pytest

from engine.autodiff import kernels_conv, kernels_conv_blocked
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor

torch = pytest.importorskip("torch")

# (x shape, kernel shape, strides, padding, dilation)
CASES = {
    "same-3x3": ((5, 3, 7, 6), (4, 3, 3, 3), (1, 1), "same", (1, 1)),
    "same-3x3-16x16": ((5, 2, 16, 16), (3, 2, 3, 3), (1, 1), "same", (1, 1)),  # per-sample GEMMs
    "same-1x1": ((5, 4, 5, 5), (3, 4, 1, 1), (1, 1), "same", (1, 1)),
    "1x1-stride2": ((5, 4, 6, 6), (3, 4, 1, 1), (2, 2), "same", (1, 1)),
    "stride2-same": ((5, 2, 7, 8), (3, 2, 3, 3), (2, 2), "same", (1, 1)),
    "same-even-kernel": ((5, 2, 5, 6), (2, 2, 2, 4), (1, 1), "same", (1, 1)),
    "dilation2-same": ((5, 2, 7, 6), (3, 2, 3, 3), (1, 1), "same", (2, 2)),
    "valid-3x3": ((5, 2, 6, 7), (3, 2, 3, 3), (1, 1), "valid", (1, 1)),
    "explicit-asymmetric": ((5, 2, 6, 6), (3, 2, 3, 3), (1, 1), ((2, 0), (1, 1)), (1, 1)),
    "rows-only-padding": ((5, 2, 6, 6), (3, 2, 3, 3), (1, 1), ((1, 1), (0, 0)), (1, 1)),
}


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch):
    """Chunks of two samples: a batch of 5 is three chunks, the last of one sample."""
    real = kernels_conv_blocked.chunk_samples

    def two(bytes_per_sample, n):
        assert real(bytes_per_sample, n) >= 1
        return min(n, 2)

    monkeypatch.setattr(kernels_conv_blocked, "chunk_samples", two)


@pytest.fixture(params=[1, 2], ids=["serial", "two-threads"])
def workers(request, monkeypatch):
    """Chunks one after another, or on two threads whatever BLAS's own count is."""
    real = kernels_conv_blocked._run_chunks
    monkeypatch.setattr(
        kernels_conv_blocked,
        "_run_chunks",
        lambda starts, work, _: real(starts, work, request.param),
    )
    return request.param


def torch_conv(x, w, b, strides, pads, dilation, relu):
    (top, bottom), (left, right) = pads
    xt = torch.nn.functional.pad(x, (left, right, top, bottom))
    y = torch.nn.functional.conv2d(xt, w, b, stride=strides, dilation=dilation)
    return torch.relu(y) if relu else y


def resolved(x_shape, w_shape, strides, padding, dilation):
    return kernels_conv.resolve_padding(padding, x_shape[2:], w_shape[2:], strides, dilation)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_blocked_conv_matches_pytorch(case, with_bias, relu, workers):
    x_shape, w_shape, strides, padding, dilation = CASES[case]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if with_bias else None
    upstream_seed = np.random.default_rng(2)

    xs, ws = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    bs = None if b is None else Tensor(b, requires_grad=True)
    y = kernels_conv.conv2d(xs, ws, bs, strides, padding, dilation, relu=relu)
    g = upstream_seed.standard_normal(y.shape)
    y.backward(g)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    pads = resolved(x_shape, w_shape, strides, padding, dilation)
    yt = torch_conv(xt, wt, bt, strides, pads, dilation, relu)
    yt.backward(torch.tensor(g))

    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ws.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-10)
    if b is not None:
        np.testing.assert_allclose(bs.grad, bt.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", ["same-3x3", "stride2-same", "dilation2-same"])
def test_blocked_conv_gradients_by_finite_differences(case, workers):
    x_shape, w_shape, strides, padding, dilation = CASES[case]
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    inputs.append(rng.standard_normal(w_shape[0]))

    def fn(x, w, b):
        return kernels_conv.conv2d(x, w, b, strides, padding, dilation)

    assert check_gradients(fn, inputs) < 1e-6


def test_gradient_only_for_the_kernel_when_the_input_is_a_constant():
    """The first layer of a network: no input gradient, the kernel's still right."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((5, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    ws = Tensor(w, requires_grad=True)
    y = kernels_conv.conv2d(Tensor(x), ws, None, (1, 1), "same")
    y.backward(np.ones(y.shape))
    wt = torch.tensor(w, requires_grad=True)
    torch.nn.functional.conv2d(torch.tensor(x), wt, padding=1).sum().backward()
    np.testing.assert_allclose(ws.grad, wt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_float32_stays_float32():
    rng = np.random.default_rng(5)
    x = Tensor(rng.standard_normal((5, 2, 6, 6)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), requires_grad=True)
    y = kernels_conv.conv2d(x, w, None, (1, 1), "same", relu=True)
    y.backward(np.ones(y.shape, np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and w.grad.dtype == np.float32


@pytest.mark.parametrize("case", ["same-3x3", "stride2-same", "same-3x3-16x16"])
def test_gradients_are_bit_identical_whatever_the_thread_count(case, monkeypatch):
    """The thread count is chosen by timing (it follows the machine's load), so the chunks'
    shares of the kernel and bias gradients must be summed in chunk order, not per thread:
    the same step on one, two or three threads gives the same bits (float32, as trained)."""
    x_shape, w_shape, strides, padding, dilation = CASES[case]
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[0]).astype(np.float32)
    real = kernels_conv_blocked._run_chunks
    grads = []
    for count in (1, 2, 3):
        monkeypatch.setattr(
            kernels_conv_blocked, "_run_chunks", lambda s, work, _, c=count: real(s, work, c)
        )
        xs, ws, bs = (Tensor(a, requires_grad=True) for a in (x, w, b))
        y = kernels_conv.conv2d(xs, ws, bs, strides, padding, dilation, relu=True)
        y.backward(np.random.default_rng(4).standard_normal(y.shape).astype(np.float32))
        grads.append((xs.grad, ws.grad, bs.grad))
    for other in grads[1:]:
        for a, c in zip(grads[0], other, strict=True):
            np.testing.assert_array_equal(a, c)

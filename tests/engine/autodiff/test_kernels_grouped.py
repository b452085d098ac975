"""Grouped convolution (``kernels_conv_groups.conv2d_grouped``): values and gradients of
input, kernel and bias against PyTorch's ``conv2d(groups=G)`` in float64, on numpy's
chunked path (whole batch in one chunk, and cut into uneven chunks) and on the one-GEMM
path the strict array-API namespace takes."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from engine import backend
from engine.autodiff import kernels_conv, kernels_conv_groups
from engine.autodiff.kernels_conv_groups import conv2d_grouped
from engine.autodiff.tensor import Tensor, grad

# (x shape, filters, groups, kernel, strides, padding, dilation)
CASES = {
    "same-3x3-g2": ((5, 4, 7, 6), 6, 2, (3, 3), (1, 1), "same", (1, 1)),
    "valid-g4-many-filters": ((3, 8, 6, 7), 16, 4, (3, 2), (1, 1), "valid", (1, 1)),
    "stride2-pad": ((5, 6, 9, 8), 6, 3, (3, 3), (2, 2), ((1, 1), (1, 0)), (1, 1)),
    "dilated-same": ((3, 4, 8, 8), 8, 2, (3, 3), (1, 1), "same", (2, 2)),
}


def _arrays(case, seed=0):
    shape, filters, groups, (kh, kw), *_ = CASES[case]
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal(shape),
        rng.standard_normal((filters, shape[1] // groups, kh, kw)),
        rng.standard_normal(filters),
    )


def _ours(case, x, k, b, relu):
    _, _, groups, _, strides, padding, dilation = CASES[case]
    tensors = [Tensor(backend.asarray(a), requires_grad=True) for a in (x, k, b)]
    out = conv2d_grouped(*tensors, strides, padding, dilation, groups, relu)
    r = np.random.default_rng(1).standard_normal(out.shape)
    grads = grad(out, tensors, grad_output=backend.asarray(r))
    return [backend.to_numpy(out.data)] + [backend.to_numpy(g) for g in grads], r


def _torch(case, x, k, b, r, relu):
    shape, _, groups, (kh, kw), strides, padding, dilation = CASES[case]
    pads = kernels_conv.resolve_padding(padding, shape[2:], (kh, kw), strides, dilation)
    (top, bottom), (left, right) = pads
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, k, b)]
    t = F.pad(tensors[0], (left, right, top, bottom))
    y = F.conv2d(t, tensors[1], tensors[2], stride=strides, dilation=dilation, groups=groups)
    if relu:
        y = torch.relu(y)
    (y * torch.tensor(r)).sum().backward()
    return [y.detach().numpy()] + [a.grad.numpy() for a in tensors]


@pytest.mark.parametrize("chunk_bytes", [None, 1])  # whole batch at once / chunks of 1 sample
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_grouped_conv_is_pytorchs(case, relu, chunk_bytes, monkeypatch):
    if chunk_bytes is not None:
        monkeypatch.setattr(kernels_conv_groups, "CHUNK_BYTES", chunk_bytes)
    x, k, b = _arrays(case)
    ours, r = _ours(case, x, k, b, relu)
    for mine, theirs in zip(ours, _torch(case, x, k, b, r, relu), strict=True):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-10)


def test_uneven_chunks_give_the_whole_batch_result(monkeypatch):
    x, k, b = _arrays("same-3x3-g2", seed=3)  # batch of 5 in chunks of 2, 2 and 1
    whole, r = _ours("same-3x3-g2", x, k, b, relu=True)
    sample = x.shape[1] * 9 * 7 * 6 * 8  # column bytes of one sample (7x6 outputs, float64)
    monkeypatch.setattr(kernels_conv_groups, "CHUNK_BYTES", 2 * sample)
    chunked, _ = _ours("same-3x3-g2", x, k, b, relu=True)
    for want, have in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-13, atol=1e-13)


def test_frozen_kernel_and_no_bias():
    x, k, _ = _arrays("same-3x3-g2")
    xt, kt = Tensor(x, requires_grad=True), Tensor(k)
    out = conv2d_grouped(xt, kt, padding="same", groups=2)
    gx, gk = grad(out, [xt, kt], grad_output=np.ones(out.shape))
    assert gk is None and gx.shape == x.shape
    ones = np.ones(out.shape)
    theirs = _torch("same-3x3-g2", x, k, np.zeros(6), ones, relu=False)[1]
    np.testing.assert_allclose(gx, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["same-3x3-g2", "stride2-pad"])
def test_strict_namespace_gives_the_numpy_result(case):
    x, k, b = _arrays(case, seed=5)
    expected, _ = _ours(case, x, k, b, relu=True)
    with backend.use_namespace(array_api_strict, "strict"):
        got, _ = _ours(case, x, k, b, relu=True)
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)


def test_float32_stays_float32():
    x, k, b = (a.astype(np.float32) for a in _arrays("valid-g4-many-filters"))
    tensors = [Tensor(a, requires_grad=True) for a in (x, k, b)]
    out = conv2d_grouped(*tensors, groups=4)
    grads = grad(out, tensors, grad_output=np.ones(out.shape, np.float32))
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)

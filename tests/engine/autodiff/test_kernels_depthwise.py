"""Depthwise convolution, every formulation (the compiled loops of
``engine.autodiff.jit_depthwise``, the numpy direct kernel of
``engine.autodiff.kernels_depthwise`` and im2col + batched GEMM): forward values and the
gradients of input, kernel and bias against PyTorch's ``conv2d(groups=C)`` in float64,
against finite differences, block by block over the batch, under the strict array-API
namespace, and the routing of ``conv2d_grouped`` and the formulation choice."""

from __future__ import annotations

import contextlib

import array_api_strict
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from engine import backend
from engine.autodiff import jit, kernels_conv_groups, kernels_depthwise
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.kernels_conv_groups import conv2d_grouped, depthwise_conv2d
from engine.autodiff.tensor import Tensor, grad

FORMULATIONS = ("direct", "im2col")  # what depthwise_formulation may answer
# "compiled" is the direct formulation with the C loops built; "direct" the numpy kernel.
WAYS = ("compiled", "direct", "im2col")

# (x shape, (M, kh, kw), strides, padding, dilation)
CASES = {
    "same-3x3": ((2, 3, 7, 9), (1, 3, 3), (1, 1), "same", (1, 1)),
    "valid-3x3-m2": ((2, 3, 6, 5), (2, 3, 3), (1, 1), "valid", (1, 1)),
    "stride2-same": ((2, 3, 8, 7), (1, 3, 3), (2, 2), "same", (1, 1)),
    "stride2-pad1-m3": ((3, 2, 9, 8), (3, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    "strides-2x3-asymmetric": ((2, 3, 7, 9), (2, 3, 2), (2, 3), ((1, 0), (2, 1)), (1, 1)),
    "stride3-even-kernel": ((1, 2, 10, 11), (1, 4, 2), (3, 3), "same", (1, 1)),
    "dilated": ((2, 2, 9, 8), (3, 3, 2), (1, 1), "valid", (2, 3)),
    "dilated-stride2": ((2, 2, 11, 12), (1, 3, 3), (2, 2), "same", (2, 2)),
    "pads-past-the-kernel": ((2, 3, 6, 6), (1, 3, 3), (1, 1), ((4, 0), (0, 5)), (1, 1)),
    "1x1": ((2, 2, 5, 4), (2, 1, 1), (1, 1), "valid", (1, 1)),
    "5x5-tiny-image": ((2, 2, 3, 4), (1, 5, 5), (1, 1), "same", (1, 1)),
}


def _arrays(case, seed=0):
    shape, (m, kh, kw), *_ = CASES[case]
    rng = np.random.default_rng(seed)
    c = shape[1]
    return (
        rng.standard_normal(shape),
        rng.standard_normal((c, m, kh, kw)),
        rng.standard_normal(c * m),
    )


def _way(way):
    """(formulation, context) for one of WAYS."""
    if way == "compiled":
        if not jit.enabled():
            pytest.skip("the compiled kernels are not built here")
        return "direct", contextlib.nullcontext()
    return way, jit.disabled()


def _ours(case, x, k, b, way, relu=False):
    _, _, strides, padding, dilation = CASES[case]
    formulation, context = _way(way)
    tensors = [Tensor(a, requires_grad=True) for a in (x, k, b)]
    with context:
        out = depthwise_conv2d(*tensors, strides, padding, dilation, relu, formulation=formulation)
        r = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
        grads = grad(out, tensors, grad_output=r)
    return out.numpy(), [backend.to_numpy(g) for g in grads], r


def _torch(case, x, k, b, r, relu=False):
    shape, (m, kh, kw), strides, padding, dilation = CASES[case]
    pads = kernels_depthwise.depthwise_geometry(shape, k.shape, strides, padding, dilation)[0]
    (top, bottom), (left, right) = pads
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, k, b)]
    t, kernel, bias = tensors
    t = F.pad(t, (left, right, top, bottom))
    flat = kernel.reshape(shape[1] * m, 1, kh, kw)
    y = F.conv2d(t, flat, bias, stride=strides, dilation=dilation, groups=shape[1])
    if relu:
        y = torch.relu(y)
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), [a.grad.numpy() for a in tensors]


def _assert_matches(ours, theirs):
    out, grads, _ = ours
    t_out, t_grads = theirs
    assert out.shape == t_out.shape
    np.testing.assert_allclose(out, t_out, rtol=1e-10, atol=1e-10)
    for mine, ref in zip(grads, t_grads, strict=True):
        assert mine.shape == ref.shape
        np.testing.assert_allclose(mine, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradients_are_pytorchs(case, way):
    x, k, b = _arrays(case)
    ours = _ours(case, x, k, b, way)
    _assert_matches(ours, _torch(case, x, k, b, ours[2]))


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("case", ["same-3x3", "stride2-pad1-m3"])
def test_fused_relu_is_pytorchs(case, way):
    x, k, b = _arrays(case, seed=3)
    ours = _ours(case, x, k, b, way, relu=True)
    _assert_matches(ours, _torch(case, x, k, b, ours[2], relu=True))


@pytest.mark.parametrize("case", ["same-3x3", "strides-2x3-asymmetric", "dilated-stride2"])
def test_direct_gradients_against_finite_differences(case):
    x, k, b = _arrays(case, seed=5)
    _, _, strides, padding, dilation = CASES[case]

    def fn(x, k, b):
        return kernels_depthwise.depthwise_conv2d_direct(x, k, b, strides, padding, dilation)

    assert check_gradients(fn, [x, k, b]) < 1e-6


def test_blocks_over_the_batch_give_the_whole_batch_result(monkeypatch):
    for case in ("same-3x3", "stride2-pad1-m3"):
        x, k, b = _arrays(case, seed=7)
        x = np.concatenate([x, x[:1] * 0.5, x], axis=0)  # an odd batch
        whole = _ours_with_batch(case, x, k, b)
        # Blocks of 2 channels by 50 positions: runs that end inside a sample's plane.
        monkeypatch.setattr(kernels_depthwise, "BLOCK_VALUES", 2 * k.shape[1] * 50)
        monkeypatch.setattr(kernels_depthwise, "MIN_RUN", 50)
        blocked = _ours_with_batch(case, x, k, b)
        monkeypatch.undo()
        for want, have in zip(whole, blocked, strict=True):
            np.testing.assert_allclose(have, want, rtol=1e-13, atol=1e-13)
        reference = _torch(case, x, k, b, whole[-1])
        _assert_matches((whole[0], whole[1:4], None), reference)


def _ours_with_batch(case, x, k, b):
    out, grads, r = _ours(case, x, k, b, "direct")
    return [out, *grads, r]


def test_partial_gradients_and_no_bias():
    x, k, _ = _arrays("stride2-same")
    xt, kt = Tensor(x), Tensor(k, requires_grad=True)
    out = kernels_depthwise.depthwise_conv2d_direct(xt, kt, strides=2, padding="same")
    gx, gk = grad(out, [xt, kt], grad_output=np.ones(out.shape))
    assert gx is None and gk.shape == k.shape
    # The kernel gradient of sum(out) is the sum of each tap's window: PyTorch agrees.
    ones = np.ones(out.shape)
    theirs = _torch("stride2-same", x, k, np.zeros(k.shape[0]), ones)[1][1]
    np.testing.assert_allclose(gk, theirs, rtol=1e-10)


@pytest.mark.parametrize("way", WAYS)
def test_float32_stays_float32(way):
    x, k, b = (a.astype(np.float32) for a in _arrays("stride2-pad1-m3"))
    out, grads, _ = _ours("stride2-pad1-m3", x, k, b, way)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("case", ["same-3x3", "strides-2x3-asymmetric", "dilated", "1x1"])
def test_strict_namespace_gives_the_numpy_result(case):
    x, k, b = _arrays(case, seed=11)
    _, _, strides, padding, dilation = CASES[case]

    def run():
        tensors = [Tensor(backend.asarray(a), requires_grad=True) for a in (x, k, b)]
        out = kernels_depthwise.depthwise_conv2d_direct(
            *tensors, strides, padding, dilation, relu=True
        )
        weights = backend.asarray(np.random.default_rng(2).standard_normal(out.shape))
        grads = grad(out, tensors, grad_output=weights)
        return [backend.to_numpy(out.data)] + [backend.to_numpy(g) for g in grads]

    expected = run()
    with backend.use_namespace(array_api_strict, "strict"):
        got = run()
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12)


def test_grouped_conv_with_one_channel_per_group_takes_the_depthwise_kernel(monkeypatch):
    x, k, b = _arrays("valid-3x3-m2")
    calls = []
    real = kernels_depthwise.depthwise_conv2d_direct

    def spy(*args, **kwargs):
        calls.append(args[1].shape)
        return real(*args, **kwargs)

    monkeypatch.setattr(kernels_depthwise, "depthwise_conv2d_direct", spy)
    monkeypatch.setattr(kernels_conv_groups, "depthwise_formulation", lambda *a: "direct")
    tensors = [Tensor(a, requires_grad=True) for a in (x, k.reshape(6, 1, 3, 3), b)]
    with jit.disabled():  # the numpy kernel (the compiled one is tested in test_jit_depthwise)
        out = conv2d_grouped(*tensors, groups=3)
        r = np.random.default_rng(1).standard_normal(out.shape)
        grads = [backend.to_numpy(g) for g in grad(out, tensors, grad_output=r)]
    assert calls == [(3, 2, 3, 3)]
    t_out, t_grads = _torch("valid-3x3-m2", x, k, b, r)
    np.testing.assert_allclose(out.numpy(), t_out, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grads[1], t_grads[1].reshape(6, 1, 3, 3), rtol=1e-10)
    np.testing.assert_allclose(grads[0], t_grads[0], rtol=1e-10, atol=1e-10)


def test_formulation_is_decided_by_the_shapes_alone():
    choice = kernels_conv_groups.depthwise_formulation
    for shape, kernel, strides in [
        ((64, 32, 28, 28), (32, 1, 3, 3), (1, 1)),
        ((64, 32, 28, 28), (32, 1, 3, 3), (2, 2)),
        ((128, 256, 7, 7), (256, 1, 3, 3), (1, 1)),
    ]:
        first = choice(shape, kernel, strides)
        assert first in FORMULATIONS
        assert choice(shape, kernel, strides) == first


def test_bad_arguments_are_named():
    x, k, b = _arrays("same-3x3")
    with pytest.raises(ValueError, match="3 channels but the kernel is for 2"):
        depthwise_conv2d(Tensor(x), Tensor(k[:2]), padding="same")
    with pytest.raises(ValueError, match="formulation must be"):
        depthwise_conv2d(Tensor(x), Tensor(k), formulation="fft")
    with pytest.raises(ValueError, match="does not fit"):
        depthwise_conv2d(Tensor(x[:, :, :2, :2]), Tensor(k))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        depthwise_conv2d(Tensor(x[0]), Tensor(k))


@pytest.mark.parametrize(("stride", "pads", "dilation"), [(1, (2, 0), 2), (2, (1, 1), 1)])
def test_depthwise_conv1d_takes_the_depthwise_kernel_and_is_pytorchs(stride, pads, dilation):
    # Conv1D with groups == features reaches the depthwise kernel as a 1-row image.
    from engine.autodiff.kernels_conv1d import conv1d  # noqa: PLC0415

    rng = np.random.default_rng(13)
    x, k, b = (
        rng.standard_normal((3, 11, 4)),
        rng.standard_normal((8, 1, 3)),
        rng.standard_normal(8),
    )
    tensors = [Tensor(a, requires_grad=True) for a in (x, k, b)]
    out = conv1d(*tensors, stride, pads, dilation, groups=4)
    r = np.random.default_rng(1).standard_normal(out.shape)
    grads = [backend.to_numpy(g) for g in grad(out, tensors, grad_output=r)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, k, b)]
    y = F.conv1d(F.pad(ref[0].transpose(1, 2), pads), ref[1], ref[2], stride, 0, dilation, 4)
    (y.transpose(1, 2) * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out.numpy(), y.transpose(1, 2).detach().numpy(), rtol=1e-10)
    for mine, theirs in zip(grads, ref, strict=True):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "case", ["same-3x3", "valid-3x3-m2", "stride2-pad1-m3", "dilated-stride2", "1x1"]
)
def test_blas_axpy_path_is_pytorchs(case, monkeypatch):
    # Every run long enough for the BLAS axpy path (the benchmark shapes take it).
    monkeypatch.setattr(kernels_depthwise, "AXPY_MIN_RUN", 1)
    x, k, b = _arrays(case, seed=17)
    ours = _ours(case, x, k, b, "direct", relu=True)
    _assert_matches(ours, _torch(case, x, k, b, ours[2], relu=True))
    x32, k32, b32 = (a.astype(np.float32) for a in (x, k, b))
    out32, grads32, _ = _ours(case, x32, k32, b32, "direct", relu=True)
    assert out32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)
    np.testing.assert_allclose(out32, ours[0], rtol=1e-4, atol=1e-4)

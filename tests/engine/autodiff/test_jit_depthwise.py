"""The compiled depthwise convolution (engine/autodiff/native/depthwise.c through
engine.autodiff.jit_depthwise) beyond the shared cases of test_kernels_depthwise.py (which run
it against PyTorch at every stride, padding, dilation and multiplier): finite differences, the
float32 path against the numpy kernel, thread splits, the fused 5x5 and the fallbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from engine.autodiff import elementwise, jit, jit_depthwise, kernels_depthwise
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.kernels_conv_groups import depthwise_conv2d
from engine.autodiff.tensor import Tensor, grad

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="needs the compiled kernels")


def _step(fn, x, k, b, *args, seed=1):
    tensors = [Tensor(a, requires_grad=True) for a in (x, k, b)]
    out = fn(*tensors, *args)
    r = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    return [out.numpy(), *grad(out, tensors, grad_output=r)], r


@pytest.mark.parametrize(
    "geometry",
    [
        ((1, 1), "same", (1, 1)),  # the fused 9-tap loops
        ((2, 2), ((1, 0), (0, 1)), (1, 1)),  # four stride phases
        ((1, 2), "valid", (2, 1)),  # per-tap passes (6 taps), dilated
    ],
)
def test_compiled_gradients_against_finite_differences(geometry):
    strides, padding, dilation = geometry
    rng = np.random.default_rng(5)
    x, k, b = (rng.standard_normal(s) for s in ((2, 3, 7, 8), (3, 2, 3, 3), (6,)))
    if dilation == (2, 1):
        k = k[:, :, :2, :]  # 2x3: a tap count with no fused loop

    def fn(x, k, b):
        return jit_depthwise.depthwise_conv2d_compiled(x, k, b, strides, padding, dilation)

    assert check_gradients(fn, [x, k, b]) < 1e-6


@pytest.mark.parametrize("kernel_size,strides", [(3, 1), (3, 2), (5, 1), (5, 2)])
def test_float32_compiled_agrees_with_the_numpy_kernel(kernel_size, strides):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 6, 20, 17)).astype(np.float32)
    k = rng.standard_normal((6, 2, kernel_size, kernel_size)).astype(np.float32)
    b = rng.standard_normal(12).astype(np.float32)
    args = ((strides, strides), "same", (1, 1), True)
    mine, r = _step(jit_depthwise.depthwise_conv2d_compiled, x, k, b, *args)
    theirs, _ = _step(kernels_depthwise.depthwise_conv2d_direct, x, k, b, *args)
    for a, want in zip(mine, theirs, strict=True):
        assert a.dtype == np.float32 and a.shape == want.shape
        assert float(np.max(np.abs(a - want))) <= 1e-5 * (1 + float(np.max(np.abs(want))))


def test_splitting_channels_between_threads_gives_the_same_bits(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((4, 5, 12, 12)).astype(np.float32)
    k = rng.standard_normal((5, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    args = ((1, 1), "same", (1, 1), False)
    monkeypatch.setattr(jit_depthwise, "_SPLIT_WORK", 1)  # split even this small call
    try:
        elementwise.use_workers(2)
        split, _ = _step(jit_depthwise.depthwise_conv2d_compiled, x, k, b, *args)
        elementwise.use_workers(1)
        whole, _ = _step(jit_depthwise.depthwise_conv2d_compiled, x, k, b, *args)
    finally:
        elementwise.use_workers(None)
    for a, want in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a, want)


def test_a_depth_multiplier_of_four_takes_the_compiled_loops_and_is_pytorchs(monkeypatch):
    # numpy's choice for M >= 4 at unit strides is im2col; the compiled loops beat both.
    calls = []
    real = jit_depthwise.depthwise_conv2d_compiled
    monkeypatch.setattr(
        jit_depthwise, "depthwise_conv2d_compiled", lambda *a: calls.append(1) or real(*a)
    )
    rng = np.random.default_rng(8)
    x, k, b = (rng.standard_normal(s) for s in ((3, 4, 9, 9), (4, 4, 3, 3), (16,)))
    (out, gx, gk, gb), r = _step(depthwise_conv2d, x, k, b, (1, 1), "same")
    assert calls == [1]
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, k, b)]
    y = F.conv2d(tensors[0], tensors[1].reshape(16, 1, 3, 3), tensors[2], padding=1, groups=4)
    (y * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-10, atol=1e-10)
    for mine, theirs in zip((gx, gk, gb), tensors, strict=True):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_what_the_compiled_loops_do_not_take_goes_to_numpy():
    big = np.zeros((2, 1, 16, 16))  # 256 taps: over the C file's per-tap table
    assert not jit_depthwise.runs_here(np.zeros((1, 2, 20, 20)), big)
    assert not jit_depthwise.runs_here(np.zeros((1, 2, 8, 8), np.float32), np.zeros((2, 1, 3, 3)))
    assert not jit_depthwise.runs_here(np.zeros((1, 2, 8, 8), np.int64), np.zeros((2, 1, 3, 3)))
    with jit.disabled():
        assert not jit_depthwise.runs_here(np.zeros((1, 2, 8, 8)), np.zeros((2, 1, 3, 3)))
    # and the 16x16 kernel still convolves, on the numpy kernel, as PyTorch does
    rng = np.random.default_rng(9)
    x, k = rng.standard_normal((1, 2, 20, 20)), rng.standard_normal((2, 1, 16, 16))
    out = depthwise_conv2d(Tensor(x), Tensor(k), padding="valid").numpy()
    want = F.conv2d(torch.tensor(x), torch.tensor(k), groups=2).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)


def test_a_mobilenet_style_block_trains_the_same_both_ways():
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415

    rng = np.random.default_rng(10)
    x = rng.standard_normal((96, 3, 12, 12)).astype(np.float32)
    y = (x[:, 0, :6].mean(axis=(1, 2)) > x[:, 1, 6:].mean(axis=(1, 2))).astype(np.int64)

    def train():
        engine.set_random_seed(0)
        model = engine.Sequential(
            [
                engine.Input((3, 12, 12)),
                layers.Conv2D(8, 1),
                layers.DepthwiseConv2D(3, padding="same", activation="relu"),
                layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
                layers.GlobalAveragePooling2D(),
                layers.Dense(2),
            ]
        )
        model.compile(
            optimizer="adam",
            loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return model.fit(x, y, batch_size=16, epochs=6, verbose=0, seed=1).history

    compiled = train()
    with jit.disabled():
        reference = train()
    np.testing.assert_allclose(compiled["loss"], reference["loss"], rtol=2e-4)
    assert compiled["loss"][-1] < compiled["loss"][0]

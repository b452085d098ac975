"""The compiled float32 silu and exact-GELU loops (engine/autodiff/native/kernels.c, with its
vectorised ``exp_f32``) against the numpy formulas they replace and against PyTorch in
float64: they agree to float32 rounding (not bit for bit: another exp), keep the tails'
exact zeros and NaN where numpy has them, and give the same bits however the array is split
between threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from engine.autodiff import elementwise, jit, jit_activations
from engine.autodiff import kernels_activation as K
from engine.autodiff.tensor import Tensor

pytestmark = pytest.mark.skipif(not jit.enabled(), reason="needs the compiled kernels")

EDGES = [-np.inf, -1e30, -100.0, -88.5, -87.5, -20.0, -6.0, -5.0, -0.0, 0.0, 5.0, 6.0, 20.0,
         87.5, 88.5, 100.0, 1e30, np.inf, np.nan]  # fmt: skip
REFERENCES = {"silu": F.silu, "gelu": F.gelu}


def _inputs(size=200_000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(size) * 5, EDGES]).astype(np.float32)
    return x, rng.standard_normal(x.size).astype(np.float32)


def _step(name, x, g):
    tensor = Tensor(x, requires_grad=True)
    with np.errstate(all="ignore"):  # inf * 0 at the infinities, both ways
        out = getattr(K, name)(tensor)
        return out.numpy(), out._vjp(g)[0]


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_compiled_float32_agrees_with_the_numpy_formulas_to_rounding(name):
    x, g = _inputs()
    compiled = _step(name, x, g)
    with jit.disabled():
        reference = _step(name, x, g)
    for mine, theirs in zip(compiled, reference, strict=True):
        assert mine.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(theirs))
        infinite = np.isinf(theirs)
        np.testing.assert_array_equal(mine[infinite], theirs[infinite])
        finite = np.isfinite(theirs)
        error = np.abs(mine[finite] - theirs[finite]) / (1 + np.abs(theirs[finite]))
        assert float(error.max()) < 5e-7


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_compiled_float32_matches_torch_in_float64(name):
    x, g = _inputs(seed=1)
    moderate = np.abs(x) < 80  # PyTorch's float64 has no float32 overflow beyond
    x, g = x[moderate], g[moderate]
    out, dx = _step(name, x, g)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ty = REFERENCES[name](tx)
    ty.backward(torch.tensor(g.astype(np.float64)))
    for mine, theirs in ((out, ty.detach().numpy()), (dx, tx.grad.numpy())):
        error = np.abs(mine - theirs) / (1 + np.abs(theirs))
        assert float(error.max()) < 1e-6


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_the_negative_tail_is_exactly_zero_as_numpy_has_it(name):
    # x times a tiny sigmoid would leave -1e30 * 1e-38 = -1e-8 behind; numpy gives -0.
    x = np.array([-1e30, -1e10, -1000.0, -100.0], dtype=np.float32)
    out, dx = _step(name, x, np.ones_like(x))
    np.testing.assert_array_equal(out, np.zeros_like(x))
    assert np.all(np.signbit(out))
    assert np.all(np.abs(dx) < 1e-6)


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_splitting_between_threads_gives_the_same_bits(name):
    x, g = _inputs(size=700_000, seed=2)  # above the split size
    assert x.size >= jit_activations._SPLIT_SIZE  # noqa: SLF001
    try:
        elementwise.use_workers(2)
        split = _step(name, x, g)
        elementwise.use_workers(1)
        whole = _step(name, x, g)
    finally:
        elementwise.use_workers(None)
    for a, b in zip(split, whole, strict=True):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_float64_keeps_the_numpy_formulas(name):
    # The gradient checks run in float64: the compiled float32 loops must not take them.
    x, g = (a.astype(np.float64) for a in _inputs(size=5000, seed=3))
    compiled = _step(name, x, g)
    with jit.disabled():
        reference = _step(name, x, g)
    for a, b in zip(compiled, reference, strict=True):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b)


def test_a_model_with_silu_and_gelu_trains_the_same_both_ways():
    import engine  # noqa: PLC0415
    from engine import layers  # noqa: PLC0415

    rng = np.random.default_rng(4)
    x = rng.standard_normal((256, 12)).astype(np.float32)
    y = (x[:, :4].sum(axis=1) > 0).astype(np.int64)

    def train():
        engine.set_random_seed(0)
        model = engine.Sequential(
            [
                engine.Input((12,)),
                layers.Dense(32, activation="silu"),
                layers.Dense(32, activation="gelu"),
                layers.Dense(2),
            ]
        )
        model.compile(
            optimizer="adam",
            loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        history = model.fit(x, y, batch_size=32, epochs=8, verbose=0, seed=1)
        return history.history

    compiled = train()
    with jit.disabled():
        reference = train()
    np.testing.assert_allclose(compiled["loss"], reference["loss"], rtol=1e-4)
    assert compiled["accuracy"][-1] > 0.85  # it learns: a broken kernel would not

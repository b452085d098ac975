"""The activation kernels' reduced-pass formulas against independent references.

Exact GELU's float32 ``Phi`` is a tanh fit (``kernels_activation._PHI_TANH``) and training
keeps the derivative from the forward pass; tanh-GELU does the same; hard_silu's derivative
uses ``trunc`` of a clipped value instead of masks. Checked here: PyTorch in float64 over a
dense line and the far tails (both the training path and the no-gradient path), finite
differences in float64, the kinks of hard_silu, ``map_blocks``'s two-output form on the
threaded path, and the formulas under ``array_api_strict``.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import backend
from engine.autodiff import jit
from engine.autodiff import kernels_activation as K
from engine.autodiff.elementwise import MIN_SIZE, map_blocks
from engine.autodiff.tensor import Tensor, grad, no_grad

torch = pytest.importorskip("torch")
F = torch.nn.functional

# gelu's far tails: Phi must be exactly 0 / 1 there (x * Phi would otherwise leave a residue
# proportional to x), and x = +-1e30 must not overflow the polynomial into inf - inf.
TAILS = np.array([-1e30, -1e4, -100, -30, -8, -6.5, -6, -5.5, 5.5, 6, 8, 100, 1e4, 1e30])


# tanh-GELU's cubic overflows float32 beyond ~1e12, as its formula does in PyTorch
TANH_TAILS = TAILS[np.abs(TAILS) < 1e10]


def _line(tails=TAILS) -> np.ndarray:
    return np.concatenate([np.linspace(-12, 12, 240_001), tails]).astype(np.float32)


def _torch(fn, x, g):
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    out = fn(xt)
    out.backward(torch.tensor(g.astype(np.float64)))
    return out.detach().numpy(), xt.grad.numpy()


GELUS = {
    "exact": (lambda t: K.gelu(t), F.gelu),
    "tanh": (lambda t: K.gelu(t, approximate=True), lambda t: F.gelu(t, approximate="tanh")),
}


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("form", sorted(GELUS))
def test_float32_gelu_matches_torch_float64_over_the_line_and_tails(form, threads, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", threads)  # whole array / threaded blocks
    mine, theirs = GELUS[form]
    x = _line(TAILS if form == "exact" else TANH_TAILS)
    g = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    tensor = Tensor(x, requires_grad=True)
    out = mine(tensor)
    (dx,) = grad(out, [tensor], grad_output=g)
    want, want_dx = _torch(theirs, x, g)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert np.isfinite(out.numpy()).all() and np.isfinite(dx).all()
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
    # tanh-GELU's derivative near x = -5.4 multiplies float32's rounding of 1 + tanh (~6e-8)
    # by ~40: 4e-6 absolute, the same with the formula this one replaced.
    atol = 1e-6 if form == "exact" else 5e-6
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=atol)
    with no_grad():  # the inference path (no derivative kept) gives the same values
        np.testing.assert_allclose(mine(Tensor(x)).numpy(), out.numpy(), rtol=1e-6, atol=1e-7)


def test_exact_gelu_tails_are_exact_limits():
    x = TAILS.astype(np.float32)
    out = K.gelu(Tensor(x, requires_grad=True))
    far = np.abs(TAILS) >= 8
    negative = TAILS < 0
    # below -8 the true value is above -1e-14: exactly 0 here; above 8 exactly x
    np.testing.assert_array_equal(out.numpy()[far & negative], 0.0)
    np.testing.assert_array_equal(out.numpy()[far & ~negative], x[far & ~negative])


def test_exact_gelu_phi_fit_is_float32_accurate_in_absolute_terms():
    """|Phi error| <= 1.5e-7 everywhere (float32 rounding of values near 1 is 6e-8), against
    float64 erf; and in the negative tail |x Phi(x)| error stays below 5e-7."""
    special = pytest.importorskip("scipy.special")
    x = np.linspace(-7, 7, 1_400_001).astype(np.float32)
    cdf = K._gelu_cdf(x)[0].astype(np.float64)
    want = special.ndtr(x.astype(np.float64))
    assert np.max(np.abs(cdf - want)) < 1.5e-7
    assert np.max(np.abs(x * (cdf - want))) < 5e-7
    assert np.all(np.diff(cdf) >= 0)  # monotone, as Phi is


def test_tanh_gelu_float64_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(200) * 3, [-9.0, -4.0, 0.0, 4.0, 9.0]])
    g = rng.standard_normal(x.shape)
    tensor = Tensor(x, requires_grad=True)
    (dx,) = grad(K.gelu(tensor, approximate=True), [tensor], grad_output=g)
    h = 1e-6

    def value(v):
        return K.gelu(Tensor(v), approximate=True).numpy()

    numeric = (value(x + h) - value(x - h)) / (2 * h) * g
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hard_silu_derivative_on_its_pieces_and_kinks(dtype):
    """0 up to -3, x / 3 + 1/2 strictly inside, 1 from 3 on (the kinks take the outer
    piece, as the masks did); just inside the kinks the inner piece."""
    inside = np.nextafter(dtype(3), dtype(0))
    x = np.array([-1e30, -4, -3, -inside, -1, 0, 1, inside, 3, 4, 1e30], dtype)
    tensor = Tensor(x, requires_grad=True)
    (dx,) = grad(K.hard_silu(tensor), [tensor], grad_output=np.ones_like(x))
    middle = x / dtype(3) + dtype(0.5)
    want = np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, middle)).astype(dtype)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, want, rtol=4 * np.finfo(dtype).eps, atol=0)


def test_hard_silu_float64_matches_finite_differences_away_from_kinks():
    rng = np.random.default_rng(2)
    x = rng.uniform(-6, 6, 500)
    x = x[np.abs(np.abs(x) - 3) > 1e-3]
    g = rng.standard_normal(x.shape)
    tensor = Tensor(x, requires_grad=True)
    (dx,) = grad(K.hard_silu(tensor), [tensor], grad_output=g)
    want = _torch(F.hardswish, x, g)[1]
    h = 1e-7
    numeric = (K.hard_silu(Tensor(x + h)).numpy() - K.hard_silu(Tensor(x - h)).numpy()) / (2 * h)
    np.testing.assert_allclose(dx, numeric * g, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dx, want, rtol=1e-12, atol=1e-12)


def test_map_blocks_two_outputs_on_the_threaded_path(monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", "2")
    x = np.random.default_rng(3).standard_normal((3, MIN_SIZE // 2 + 7)).astype(np.float32)

    def both(a):
        return a * 2.0, a + 1.0

    twice, plus = map_blocks(both, x, outputs=2)
    assert twice.shape == x.shape and plus.shape == x.shape and twice.dtype == np.float32
    np.testing.assert_array_equal(twice, x * 2.0)
    np.testing.assert_array_equal(plus, x + 1.0)
    np.testing.assert_array_equal(map_blocks(lambda a: a * 2.0, x), x * 2.0)


def test_long_formulas_run_in_blocks_on_one_thread_with_the_same_values(monkeypatch):
    # One thread: a long formula goes through the serial blocks (a short one does not); the
    # blocks must cover every value once, the odd-sized last block included.
    monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", "1")
    x = np.random.default_rng(4).standard_normal((3, MIN_SIZE // 2 + 7)).astype(np.float32)
    calls = []

    def both(a):
        calls.append(a.size)
        return a * 2.0, a + 1.0

    twice, plus = map_blocks(both, x, outputs=2, long_formula=True)
    assert len(calls) > 1 and sum(calls) == x.size
    np.testing.assert_array_equal(twice, x * 2.0)
    np.testing.assert_array_equal(plus, x + 1.0)
    calls.clear()
    map_blocks(both, x, outputs=2)
    assert calls == [x.size]
    with jit.disabled():  # the numpy formula's blocks (float32 GELU is compiled otherwise)
        whole = K.gelu(Tensor(x, requires_grad=True))
    np.testing.assert_array_equal(whole.numpy(), K._gelu_value_and_slope(x)[0])


@pytest.mark.parametrize("form", sorted(GELUS))
def test_gelu_forms_run_under_the_strict_array_api(form):
    strict = pytest.importorskip("array_api_strict")
    mine, theirs = GELUS[form]
    tails = TAILS if form == "exact" else TANH_TAILS
    x = np.concatenate([np.linspace(-10, 10, 301), tails]).astype(np.float32)
    g = np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    with backend.use_namespace(strict, "strict"):
        tensor = Tensor(strict.asarray(x), requires_grad=True)
        out = mine(tensor)
        (dx,) = grad(out, [tensor], grad_output=strict.asarray(g))
        out, dx = np.asarray(out.data), np.asarray(dx)
    want, want_dx = _torch(theirs, x, g)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-6)

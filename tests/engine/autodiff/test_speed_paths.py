"""The fast paths of the elementwise and normalisation kernels (in-place formulas on cache
blocks, GELU's kept ``Phi(x)``, group norm's gemv sums, in-place attention softmax, the
noise layers' in-place noise) against independent references: PyTorch in float64 on arrays
large enough to take the blocked, threaded path, and the same kernels under
``array_api_strict`` (no ``out=``, no bool-float mixing) on small ones; and the training
loops' allocator setting (freed memory kept for reuse) in a fresh process."""

from __future__ import annotations

import ctypes.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from engine import backend
from engine.autodiff import kernels_activation as K
from engine.autodiff import kernels_attention, kernels_group_norm
from engine.autodiff.elementwise import MIN_SIZE
from engine.autodiff.tensor import Tensor, grad

torch = pytest.importorskip("torch")
F = torch.nn.functional

CASES = {
    "silu": (K.silu, F.silu),
    "hard_silu": (K.hard_silu, F.hardswish),
    "gelu": (K.gelu, F.gelu),
}


def _inputs(size: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    # normal values, the tails (sigmoid's clamp at -80, erfc's far tail) and hard_silu's kinks
    edges = np.array([-100, -80, -30, -8, -3, -1e-3, 0, 1e-3, 3, 8, 30, 100], np.float32)
    return np.concatenate([rng.standard_normal(size).astype(np.float32) * 4, edges])


def _torch_value_and_grad(fn, x, g):
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    out = fn(xt)
    out.backward(torch.tensor(g.astype(np.float64)))
    return out.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_blocked_activation_matches_torch_float64(name, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", "2")  # the pool of blocks, threaded
    mine, theirs = CASES[name]
    x = _inputs(MIN_SIZE + 1000)
    g = np.random.default_rng(4).standard_normal(x.shape).astype(np.float32)
    tensor = Tensor(x, requires_grad=True)
    out = mine(tensor)
    (dx,) = grad(out, [tensor], grad_output=g)
    want, want_dx = _torch_value_and_grad(theirs, x, g)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-6)


def test_one_fixed_thread_gives_the_same_blocks(monkeypatch):
    x = _inputs(MIN_SIZE + 10)
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("LAYERCANVAS_BLAS_THREADS", threads)
        results.append(K.gelu(Tensor(x)).numpy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_activation_formulas_run_under_the_strict_array_api(name):
    strict = pytest.importorskip("array_api_strict")
    mine, theirs = CASES[name]
    x = _inputs(200)
    g = np.random.default_rng(5).standard_normal(x.shape).astype(np.float32)
    with backend.use_namespace(strict, "strict"):
        tensor = Tensor(strict.asarray(x), requires_grad=True)
        out = mine(tensor)
        (dx,) = grad(out, [tensor], grad_output=strict.asarray(g))
        out, dx = np.asarray(out.data), np.asarray(dx)
    want, want_dx = _torch_value_and_grad(theirs, x, g)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-6)


def test_group_norm_gemv_sums_match_torch():
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((4, 12, 5, 7)) * 3 + 2).astype(np.float32)
    gamma = rng.standard_normal(12).astype(np.float32)
    beta = rng.standard_normal(12).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    tensors = [Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    out = kernels_group_norm.group_norm(*tensors, groups=3, epsilon=1e-3)
    grads = grad(out, tensors, grad_output=g)
    refs = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, gamma, beta)]
    want = F.group_norm(refs[0], 3, refs[1], refs[2], eps=1e-3)
    want.backward(torch.tensor(g.astype(np.float64)))
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, ref in zip(grads, refs, strict=True):
        np.testing.assert_allclose(mine, ref.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("with_keep", [False, True])
def test_in_place_attention_softmax_matches_torch(with_keep):
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)).astype(np.float32) for _ in range(3))
    allowed = np.tril(np.ones((5, 5), bool))
    keep = (rng.random((2, 3, 5, 5)) > 0.3).astype(np.float32) / 0.7 if with_keep else None
    g = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    tensors = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = kernels_attention.scaled_dot_attention(*tensors, allowed=allowed, keep=keep)
    grads = grad(out, tensors, grad_output=g)
    refs = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (q, k, v)]
    scores = refs[0] @ refs[1].transpose(-1, -2)
    scores = scores.masked_fill(~torch.tensor(allowed), -1e9)
    probs = torch.softmax(scores, dim=-1)
    if keep is not None:
        probs = probs * torch.tensor(keep.astype(np.float64))
    want = probs @ refs[2]
    want.backward(torch.tensor(g.astype(np.float64)))
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-4, atol=1e-5)
    for mine, ref in zip(grads, refs, strict=True):
        np.testing.assert_allclose(mine, ref.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_gaussian_noise_adds_seeded_noise_in_place_and_passes_the_gradient():
    import engine.layers as L  # noqa: PLC0415, N812

    x = np.random.default_rng(8).standard_normal((64, 512)).astype(np.float32)
    tensor = Tensor(x.copy(), requires_grad=True)
    out = L.GaussianNoise(0.5, seed=3)(tensor, training=True)
    g = np.random.default_rng(9).standard_normal(x.shape).astype(np.float32)
    (dx,) = grad(out, [tensor], grad_output=g)
    np.testing.assert_array_equal(tensor.numpy(), x)  # the input is not written to
    noise = out.numpy() - x
    assert abs(noise.std() - 0.5) < 0.02 and abs(noise.mean()) < 0.02
    np.testing.assert_array_equal(dx, g)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("user_setting", [False, True])
def test_training_loops_keep_freed_memory_unless_the_user_set_the_allocator(user_setting):
    """A fresh process (the setting is process-wide): fit sets glibc's thresholds once, and
    leaves them alone when the user chose them through glibc's own environment variables."""
    code = (
        "import numpy as np, engine\n"
        "from engine.models import blas_threads\n"
        "m = engine.Sequential([engine.Input((4,)), engine.layers.Dense(2)])\n"
        "m.compile(optimizer='sgd', loss='mse')\n"
        "m.fit(np.ones((8, 4), np.float32), np.zeros((8, 2), np.float32), verbose=0)\n"
        "print(blas_threads._kept)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    if user_setting:
        env["MALLOC_MMAP_THRESHOLD_"] = str(1 << 20)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    libc = ctypes.util.find_library("c") or ""
    expected = not user_setting and "libc.so.6" in libc
    assert out.stdout.strip().splitlines()[-1] == str(expected)


def test_box_muller_noise_is_standard_normal_float32_of_any_shape():
    from engine.layers.noise import standard_normal_f32  # noqa: PLC0415

    odd = standard_normal_f32(np.random.default_rng(0), (3, 5, 7))
    assert odd.shape == (3, 5, 7) and odd.dtype == np.float32
    z = standard_normal_f32(np.random.default_rng(1), (400_001,)).astype(np.float64)
    assert np.isfinite(z).all()
    # the empirical CDF against Phi (math.erf) at several points, and the moments
    for point in (-2.5, -1.0, -0.3, 0.0, 0.7, 1.5, 3.0):
        phi = 0.5 * (1.0 + math.erf(point / math.sqrt(2.0)))
        assert abs(np.mean(z <= point) - phi) < 3e-3, point
    assert abs(z.mean()) < 5e-3 and abs(z.std() - 1.0) < 5e-3
    assert abs(np.mean(z**3)) < 2e-2 and abs(np.mean(z**4) - 3.0) < 5e-2


def test_the_elementwise_blocks_follow_the_training_loops_thread_choice(monkeypatch):
    from engine.autodiff import elementwise  # noqa: PLC0415
    from engine.models.blas_threads import StepThreads  # noqa: PLC0415

    monkeypatch.delenv("LAYERCANVAS_BLAS_THREADS", raising=False)
    cores = elementwise._workers()
    threads = StepThreads()
    if threads.threads is None:
        threads.close()
        pytest.skip("no BLAS thread choice here (threadpoolctl missing or one BLAS thread)")
    seen = []
    try:
        for _ in range(6):  # the warm-up step, then both counts are probed
            with threads:
                seen.append((threads._current, elementwise._workers()))
    finally:
        threads.close()
    assert {blas for blas, _ in seen} == {1, max(blas for blas, _ in seen)}
    assert all(blas == workers for blas, workers in seen)
    assert elementwise._workers() == cores  # the loop ended: every core again

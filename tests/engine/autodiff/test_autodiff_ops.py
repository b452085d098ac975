"""Every differentiable primitive: forward against numpy/scipy, VJP against finite differences,
and both again under the strict array-API namespace.

The strict run (``array_api_strict``) refuses what only numpy accepts (method-style
``.reshape``, ``np.add.at``, implicit conversions, mixed dtypes), so a primitive that passes
there cannot silently break on CuPy.
"""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest
from scipy import special

from engine import backend
from engine.autodiff import ops
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad
from tests.engine.autodiff.primitive_cases import CASE_IDS, CASES

TOLERANCE = 1e-6


def _is_float(x: np.ndarray) -> bool:
    return np.issubdtype(x.dtype, np.floating)


def _is_strict(array) -> bool:
    """An array of the strict namespace (not a numpy array that slipped through)."""
    namespace = getattr(array, "__array_namespace__", None)
    return namespace is not None and namespace() is array_api_strict


def run_case(case, arrays, projection_seed: int = 5):
    """Forward and a VJP (random projection) on the current backend; returns host arrays."""
    tensors = [Tensor(backend.asarray(x), requires_grad=_is_float(x)) for x in arrays]
    out = case.fn(*tensors)
    weights = np.random.default_rng(projection_seed).standard_normal(out.shape)
    sources = [t for t in tensors if t.requires_grad]
    grads = grad(out, sources, grad_output=backend.asarray(weights))
    return out, grads


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_matches_reference(case):
    arrays = case.draw()
    out = case.fn(*[Tensor(x) for x in arrays])
    expected = case.reference(*arrays)
    assert out.shape == np.shape(expected)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gradient_matches_finite_differences(case):
    for seed in (0, 1):
        error = check_gradients(case.fn, case.draw(seed))
        assert error < TOLERANCE, f"seed {seed}: relative error {error:.2e}"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_stays_float32(case):
    arrays = [x.astype(np.float32) if _is_float(x) else x for x in case.draw()]
    out, grads = run_case(case, arrays)
    assert out.dtype == np.float32
    assert all(g is None or g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_strict_namespace_matches_numpy(case):
    arrays = case.draw()
    out_np, grads_np = run_case(case, arrays)
    with backend.use_namespace(array_api_strict, "strict"):
        out, grads = run_case(case, arrays)
        assert _is_strict(out.data), type(out.data)
        for g in grads:
            assert g is None or _is_strict(g), type(g)
        out_host = backend.to_numpy(out.data)
        grads_host = [None if g is None else backend.to_numpy(g) for g in grads]
    np.testing.assert_allclose(out_host, out_np.numpy(), rtol=1e-12, atol=1e-12)
    assert len(grads_host) == len(grads_np)
    for got, want in zip(grads_host, grads_np, strict=True):
        assert (got is None) == (want is None)
        if want is not None:
            assert got.shape == tuple(want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_every_primitive_has_a_case():
    covered = {name.split("-")[0] for name in CASE_IDS} | {
        "abs_",  # case "abs"
        "sum_",  # case "sum"
        "max_",  # case "max"
        "as_tensor",  # used by every case
        "stop_gradient",  # tested below: its gradient is zero by definition
    }
    missing = sorted(set(ops.__all__) - covered)
    assert not missing, f"primitives without a test case: {missing}"


def test_stop_gradient_blocks_the_gradient():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = ops.sum_(ops.stop_gradient(x) * x)
    (g,) = grad(y, [x])
    np.testing.assert_array_equal(backend.to_numpy(g), [1.0, -2.0, 3.0])  # only the live path


def test_sigmoid_and_softplus_do_not_overflow():
    values = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    x = Tensor(values)
    # Relative precision too: a tiny probability keeps its digits (log-loss needs them).
    np.testing.assert_allclose(ops.sigmoid(x).numpy(), special.expit(values), rtol=1e-13)
    np.testing.assert_allclose(ops.softplus(x).numpy(), np.logaddexp(0, values), rtol=1e-13)
    assert np.isfinite(ops.softmax(Tensor(np.array([[1000.0, -1000.0]]))).numpy()).all()
    tail = ops.sigmoid(Tensor(np.array([-20.0, -60.0], dtype=np.float32))).numpy()
    np.testing.assert_allclose(tail, special.expit([-20.0, -60.0]), rtol=1e-5)  # not rounded to 0


def test_max_splits_the_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]]), requires_grad=True)
    (g,) = grad(ops.sum_(ops.max_(x, axis=1)), [x])
    np.testing.assert_array_equal(backend.to_numpy(g), [[0, 0.5, 0.5], [1, 0, 0]])


def test_embedding_gradient_accumulates_repeated_ids():
    table = Tensor(np.zeros((4, 2)), requires_grad=True)
    ids = np.array([[1, 1, 3], [1, 0, 3]])
    (g,) = grad(ops.sum_(ops.embedding_lookup(table, ids)), [table])
    np.testing.assert_array_equal(backend.to_numpy(g), [[1, 1], [3, 3], [0, 0], [2, 2]])

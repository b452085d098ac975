"""Regularizers against Keras 3: penalty values on the same weights, gradients by finite
differences, identifiers, configs, bad arguments, and the strict array-API namespace."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest

from engine import backend, regularizers
from engine.autodiff.tensor import Tensor, Variable, grad
from tests.engine.keras_reference import keras, keras_tensor, to_numpy

KERAS_CLASS = {
    "l1": "L1",
    "l2": "L2",
    "l1_l2": "L1L2",
    "orthogonal_regularizer": "OrthogonalRegularizer",
}

CASES = [
    "l1",
    "l2",
    {"name": "l1", "l1": 0.3},
    {"name": "l2", "l2": 1e-4},
    {"name": "l1_l2", "l1": 0.003, "l2": 0.02},
    {"name": "l1_l2", "l2": 0.5},
    "orthogonal_regularizer",
    {"name": "orthogonal_regularizer", "factor": 0.1, "mode": "columns"},
]

SHAPES = [(5, 4), (3, 7), (4, 1, 2, 3)]


def _keras_twin(reg: regularizers.Regularizer):
    return getattr(keras.regularizers, KERAS_CLASS[reg.name])(**reg.get_config())


def _weights(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


# The orthogonal regularizer takes rank-2 weights only (as in Keras).
PAIRS = [
    (identifier, shape)
    for identifier in CASES
    for shape in SHAPES
    if len(shape) == 2 or "orthogonal" not in str(identifier)
]


@pytest.mark.parametrize(("identifier", "shape"), PAIRS, ids=str)
def test_penalty_matches_keras(identifier, shape):
    reg = regularizers.get(identifier)
    w = _weights(shape)
    got = reg(w).numpy()
    want = to_numpy(_keras_twin(reg)(keras_tensor(w)))
    assert got.shape == ()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


def test_orthogonal_regularizer_is_zero_on_orthogonal_rows_and_refuses_other_ranks():
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    reg = regularizers.OrthogonalRegularizer(factor=1.0)
    assert abs(float(reg(q[:4].astype(np.float32)).numpy())) < 1e-6
    # A row of zeros is normalised by epsilon, as Keras does, not divided by zero.
    w = _weights((3, 4))
    w[1] = 0.0
    np.testing.assert_allclose(
        reg(w).numpy(), to_numpy(_keras_twin(reg)(keras_tensor(w))), rtol=1e-6
    )
    with pytest.raises(ValueError, match="rank-2"):
        reg(_weights((2, 3, 4)))


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_gradient_matches_finite_differences(identifier):
    reg = regularizers.get(identifier)
    rng = np.random.default_rng(3)
    # Away from zero so |x| is differentiable at every point.
    w = rng.uniform(0.2, 1.0, size=(4, 3)) * rng.choice([-1.0, 1.0], size=(4, 3))
    var = Variable(w.astype(np.float64), dtype=backend.xp.float64)
    (analytic,) = grad(reg(var), [var])
    numeric = np.zeros_like(w)
    eps = 1e-6
    for index in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[index] += eps
        minus[index] -= eps
        up = float(reg(Tensor(plus, dtype=backend.xp.float64)).numpy())
        down = float(reg(Tensor(minus, dtype=backend.xp.float64)).numpy())
        numeric[index] = (up - down) / (2 * eps)
    np.testing.assert_allclose(backend.to_numpy(analytic), numeric, rtol=1e-5, atol=1e-9)


def test_identifiers_and_defaults_follow_keras():
    assert regularizers.get(None) is None
    assert regularizers.get("l1").get_config() == {"l1": 0.01}
    assert regularizers.get("L2").get_config() == {"l2": 0.01}
    assert regularizers.get("orthogonal_regularizer").get_config() == {
        "factor": 0.01,
        "mode": "rows",
    }
    # Class defaults as in Keras (0.0 each); the bare string as Keras's docstring says.
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get({"name": "l1_l2"}).get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    keras_form = {"class_name": "L2", "config": {"l2": 1e-4}}
    assert regularizers.get(keras_form) == regularizers.L2(1e-4)
    reg = regularizers.L2(0.5)
    assert regularizers.get(reg) is reg
    for cls_name in KERAS_CLASS.values():
        ours = getattr(regularizers, cls_name)()
        theirs = getattr(keras.regularizers, cls_name)()
        assert ours.get_config() == pytest.approx(theirs.get_config())


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_config_round_trip_and_canonical_form(identifier):
    reg = regularizers.get(identifier)
    again = type(reg).from_config(reg.get_config())
    assert again == reg
    canonical = regularizers.canonical(identifier)
    assert canonical["name"] == reg.name
    assert regularizers.canonical(canonical) == canonical
    # Keras reads our config too.
    assert _keras_twin(reg).get_config() == pytest.approx(reg.get_config())


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("l3", ["unknown regularizer 'l3'", "'l1'", "'l2'", "'l1_l2'", "orthogonal"]),
        ({"name": "l2", "l2": -1}, ["l2", "-1", ">= 0"]),
        ({"name": "l1", "l1": float("nan")}, ["l1", "nan"]),
        ({"name": "l1_l2", "l1": "big"}, ["l1", "'big'"]),
        ({"name": "l2", "l3": 0.1}, ["bad options", "l3"]),
        ({"name": "orthogonal_regularizer", "mode": "diagonal"}, ["mode", "'diagonal'"]),
        ({"l2": 0.1}, ["needs a 'name'"]),
        (3, ["cannot interpret 3"]),
    ],
)
def test_bad_identifiers_say_what_is_wrong(identifier, words):
    with pytest.raises(ValueError) as info:
        regularizers.get(identifier)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_penalties_run_in_the_strict_array_namespace(identifier):
    reg = regularizers.get(identifier)
    w = _weights((4, 3), seed=5)
    want = float(reg(w).numpy())
    with backend.use_namespace(array_api_strict, "strict"):
        var = Variable(backend.asarray(w))
        penalty = reg(var)
        assert type(penalty.data).__module__.startswith("array_api_strict")
        (g,) = grad(penalty, [var])
        assert type(g).__module__.startswith("array_api_strict")
        got = float(penalty.numpy())
    assert got == pytest.approx(want, rel=1e-6)

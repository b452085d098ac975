"""Every loss against Keras 3 (torch backend): per-sample values on ordinary inputs and on
edge cases (probabilities of exactly 0 and 1, logits of +-50, all-zero targets, label
smoothing 0 and 0.1), in float64 and float32; each reduction with and without sample
weights; and gradients against torch autograd through Keras's own loss."""

import inspect
import zlib

import numpy as np
import pytest
from keras_losses_reference import keras_gradient, keras_reduced, keras_values
from scipy.special import softmax

from engine import losses
from engine.autodiff.tensor import Tensor, grad

RNG = np.random.default_rng(20261204)

# (Keras class name, arguments, kind of inputs). Kinds: "regression", "binary" (0/1 targets,
# probabilities), "binary_logits", "categorical" (one-hot, probabilities),
# "categorical_logits", "sparse", "sparse_logits", "distribution" (two probability
# distributions), "counts" (Poisson), "signed" (hinge), "scores" (one-hot, raw scores),
# "regression3d" (a class axis in the middle).
CASES = [
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("Huber", {"delta": 0.7}, "regression"),
    ("LogCosh", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("CosineSimilarity", {"axis": 1}, "regression3d"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "binary_logits"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "binary_logits"),
    ("CategoricalCrossentropy", {}, "categorical"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "categorical"),
    ("CategoricalCrossentropy", {"from_logits": True}, "categorical_logits"),
    (
        "CategoricalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        "categorical_logits",
    ),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparse_logits"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"label_smoothing": 0.1}, "binary"),
    ("BinaryFocalCrossentropy", {"gamma": 0.0}, "binary"),
    (
        "BinaryFocalCrossentropy",
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5},
        "binary",
    ),
    ("BinaryFocalCrossentropy", {"from_logits": True}, "binary_logits"),
    (
        "BinaryFocalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1, "apply_class_balancing": True},
        "binary_logits",
    ),
    ("CategoricalFocalCrossentropy", {}, "categorical"),
    ("CategoricalFocalCrossentropy", {"label_smoothing": 0.1}, "categorical"),
    ("CategoricalFocalCrossentropy", {"alpha": [0.2, 0.3, 0.5], "gamma": 1.0}, "categorical"),
    ("CategoricalFocalCrossentropy", {"gamma": 0.0, "alpha": 1.0}, "categorical"),
    ("CategoricalFocalCrossentropy", {"from_logits": True}, "categorical_logits"),
    (
        "CategoricalFocalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        "categorical_logits",
    ),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "counts"),
    ("Hinge", {}, "signed"),
    ("SquaredHinge", {}, "signed"),
    ("CategoricalHinge", {}, "scores"),
]


def case_id(case):
    name, config, _ = case
    return name + "".join(f"-{k}={v}" for k, v in config.items())


def ordinary(kind: str):
    """Targets and predictions (float64; integer labels for sparse) away from kinks; the
    same for a kind whatever ran before."""
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    n, c = 6, 3
    if kind in ("regression", "regression3d"):
        shape = (n, c, 2) if kind == "regression3d" else (n, c)
        return rng.normal(size=shape), rng.normal(scale=2.0, size=shape)
    if kind.startswith("binary"):
        y = rng.integers(0, 2, size=(n, c)).astype(np.float64)
        z = rng.normal(scale=2.0, size=(n, c))
        return y, z if kind.endswith("logits") else 1 / (1 + np.exp(-z))
    labels = rng.integers(0, c, size=n)
    z = rng.normal(scale=2.0, size=(n, c))
    if kind.startswith("sparse"):
        return labels, z if kind.endswith("logits") else softmax(z, axis=-1)
    if kind.startswith("categorical"):
        return np.eye(c)[labels], z if kind.endswith("logits") else softmax(z, axis=-1)
    if kind == "distribution":
        return softmax(rng.normal(size=(n, c)), axis=-1), softmax(z, axis=-1)
    if kind == "counts":
        return rng.poisson(2.0, size=(n, c)).astype(np.float64), np.exp(rng.normal(size=(n, c)))
    if kind == "signed":
        return np.where(rng.random((n, c)) < 0.5, -1.0, 1.0), rng.normal(scale=2.0, size=(n, c))
    if kind == "scores":
        return np.eye(c)[labels], z
    raise AssertionError(kind)


def edge(kind: str):
    """Saturated probabilities, logits of +-50, all-zero targets and zero vectors."""
    if kind == "binary":
        y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
        p = np.array([[0.0, 1.0, 0.0, 1.0], [0.5, 1e-9, 1.0, 0.3], [0.0, 0.2, 1.0, 0.7]])
        return y, p
    if kind == "binary_logits":
        y = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
        z = np.array([[50.0, -50.0, 50.0, -50.0], [-50.0, 50.0, 0.0, 3.0], [50.0, -50.0, 0.1, 0.0]])
        return y, z
    onehot = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    if kind == "categorical":
        p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.5, 0.5]])
        return onehot, p
    if kind == "categorical_logits":
        z = np.array([[50.0, -50.0, 0.0], [50.0, -50.0, 0.0], [0.0, 0.0, 0.0], [-50.0, 0.0, 50.0]])
        return onehot, z
    if kind == "sparse":
        return np.array([1, 0, 2]), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    if kind == "sparse_logits":
        return np.array([1, 0, 2]), np.array([[50.0, -50.0, 0.0], [50.0, -50, 0], [-50.0, 0, 50]])
    if kind == "regression":
        y = np.zeros((3, 3))
        return y, np.array([[50.0, -50.0, 0.0], [0.0, 0.0, 0.0], [1e-3, -20.0, 3.0]])
    if kind == "regression3d":
        return np.zeros((2, 3, 2)), np.array([[[0.0, 1.0], [0.0, 2.0], [0.0, -50.0]]] * 2)
    if kind == "distribution":
        y = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
        return y, np.array([[0.0, 1.0, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    if kind == "counts":
        y = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, 1.0]])
        return y, np.array([[0.0, 1e-3, 2.0], [0.5, 0.0, 40.0]])
    if kind == "signed":
        # All zeros: read as all -1, as Keras does; then 0/1 labels; then -1/1 labels.
        return np.zeros((2, 3)), np.array([[0.0, 50.0, -50.0], [1.0, -1.0, 0.5]])
    if kind == "scores":
        return onehot, np.array([[50.0, -50.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0, 0, 0.0]])
    raise AssertionError(kind)


def ours(name, config, reduction="none"):
    return getattr(losses, name)(**config, reduction=reduction)


def our_values(name, config, y, p):
    return ours(name, config)(y, Tensor(p)).numpy()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_per_sample_values_match_keras(case):
    name, config, kind = case
    for y, p in (ordinary(kind), edge(kind)):
        expected = keras_values(name, config, y, p)
        got = our_values(name, config, y, p)
        assert got.dtype == np.float64
        # atol: Keras clips the focal losses' probabilities to float32's 1 - 1e-7 and takes
        # log(2) in float32 for log_cosh, a few 1e-8 off the float64 values.
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=5e-8)
        # float32 in, float32 out, on both sides
        p32 = p.astype(np.float32)
        y32 = y if kind.startswith("sparse") else y.astype(np.float32)
        got32 = our_values(name, config, y32, p32)
        assert got32.dtype == np.float32
        np.testing.assert_allclose(
            got32, keras_values(name, config, y32, p32), rtol=1e-5, atol=1e-6
        )


# One case per loss family: each reduction, with and without sample weights.
REDUCED = [c for c in CASES if not c[1] or c[0] == "Huber"]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


@pytest.mark.parametrize("case", REDUCED, ids=case_id)
def test_reductions_and_sample_weights_match_keras(case):
    name, config, kind = case
    y, p = ordinary(kind)
    for reduction in REDUCTIONS:
        for w in (None, RNG.uniform(0.0, 2.0, size=len(p))):
            expected = keras_reduced(name, config, y, p, w, reduction)
            got = ours(name, config, reduction)(y, Tensor(p), sample_weight=w).numpy()
            assert got.shape == expected.shape
            # Keras's reductions return float32 on the torch backend.
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, err_msg=reduction)


def test_reduction_over_a_middle_axis_matches_keras():
    # Cosine similarity along axis 1 of (N, C, L): N * L values; Keras cannot weight them.
    y, p = ordinary("regression3d")
    for reduction in ("sum_over_batch_size", "sum", "none"):
        expected = keras_reduced("CosineSimilarity", {"axis": 1}, y, p, None, reduction)
        got = losses.CosineSimilarity(axis=1, reduction=reduction)(y, Tensor(p)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def our_gradient(name, config, y, p, w):
    pred = Tensor(p, requires_grad=True)
    (g,) = grad(ours(name, config, "sum")(y, pred, sample_weight=w), [pred])
    return g


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradients_match_torch_autograd_of_keras(case):
    name, config, kind = case
    y, p = ordinary(kind)
    w = RNG.uniform(0.5, 2.0, size=len(p))
    expected = keras_gradient(name, config, y, p, w)
    # Keras keeps a few constants in float32 (its epsilon bounds): agreement to ~3e-6.
    np.testing.assert_allclose(our_gradient(name, config, y, p, w), expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c[2] not in ("regression", "signed", "scores", "regression3d")],
    ids=case_id,
)
def test_gradients_at_the_edges_match_torch_autograd_of_keras(case):
    # Saturated and clipped probabilities, +-50 logits, all-zero targets. (Hinges and
    # absolute errors are left out: their kinks are ties, which torch splits in half.)
    name, config, kind = case
    y, p = edge(kind)
    w = np.linspace(0.5, 2.0, len(p))
    expected = keras_gradient(name, config, y, p, w)
    # Keras keeps a few constants in float32 (its epsilon bounds): agreement to ~3e-6.
    np.testing.assert_allclose(our_gradient(name, config, y, p, w), expected, rtol=1e-5, atol=1e-9)


def test_keras_defaults_and_names():
    from keras_losses_reference import keras

    for identifier, cls in losses.available().items():
        keras_cls = getattr(keras.losses, cls.__name__)
        ref, ours_ = keras_cls(), cls()
        config = ours_.get_config()
        # Keras leaves some arguments out of its configs (Huber's delta); ours has them all,
        # each an argument of Keras's class with Keras's default.
        keras_args = inspect.signature(keras_cls.__init__).parameters
        for key, value in config.items():
            assert key in keras_args, (identifier, key)
            if key != "name":
                assert keras_args[key].default == value, (identifier, key)
        for key, value in ref.get_config().items():
            if key not in ("dtype", "fn", "ignore_class"):
                assert config[key] == value, (identifier, key)
        assert ours_.name == ref.name
        # the snake_case identifier is Keras's function name (or its documented alias)
        assert callable(getattr(keras.losses, identifier, None)) or identifier == "huber"

"""Metrics: accumulated values against numpy over several batches, resets, weights, and the
``"accuracy"`` resolution that ``compile`` relies on."""

import array_api_strict
import numpy as np
import pytest

from engine import backend, losses, metrics
from engine.autodiff.tensor import Tensor

RNG = np.random.default_rng(7)


def batches(*arrays, size=4):
    n = len(arrays[0])
    for start in range(0, n, size):
        yield tuple(a[start : start + size] for a in arrays)


def run(metric, y_true, y_pred, size=4):
    metric.reset_state()
    for yt, yp in batches(y_true, y_pred, size=size):
        metric.update_state(yt, Tensor(yp))
    return metric.result()


def test_mean_tracks_values_and_weights():
    m = metrics.Mean(name="loss")
    assert m.result() == 0.0
    m.update_state(np.array([1.0, 2.0, 3.0]))
    m.update_state(Tensor(np.float32(10.0)))
    assert m.result() == pytest.approx(16.0 / 4)
    m.reset_state()
    m.update_state(np.array([1.0, 3.0]), sample_weight=np.array([3.0, 1.0]))
    assert m.result() == pytest.approx(6.0 / 4)
    assert m.name == "loss"


def test_binary_accuracy_over_batches_matches_numpy():
    y = RNG.integers(0, 2, size=(11, 1)).astype(np.float32)
    p = RNG.uniform(size=(11, 1)).astype(np.float32)
    expected = np.mean((p > 0.5) == (y > 0.5))
    assert run(metrics.BinaryAccuracy(), y, p) == pytest.approx(expected)
    expected_07 = np.mean((p > 0.7) == (y > 0.5))
    assert run(metrics.BinaryAccuracy(threshold=0.7), y, p) == pytest.approx(expected_07)
    # labels of shape (N,) against predictions (N, 1)
    assert run(metrics.BinaryAccuracy(), y.ravel(), p) == pytest.approx(expected)


def test_categorical_and_sparse_accuracy_match_numpy():
    labels = RNG.integers(0, 5, size=13)
    p = RNG.normal(size=(13, 5)).astype(np.float32)
    expected = np.mean(p.argmax(-1) == labels)
    assert 0 < expected < 1
    assert run(metrics.SparseCategoricalAccuracy(), labels, p) == pytest.approx(expected)
    assert run(metrics.SparseCategoricalAccuracy(), labels.reshape(-1, 1), p) == pytest.approx(
        expected
    )
    onehot = np.eye(5, dtype=np.float32)[labels]
    assert run(metrics.CategoricalAccuracy(), onehot, p) == pytest.approx(expected)


def test_accuracy_is_exact_equality():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.5], [3.0], [0.0]])
    assert run(metrics.Accuracy(), y, p) == pytest.approx(0.5)


def test_regression_metrics_match_numpy():
    y = RNG.normal(size=(10, 2))
    p = RNG.normal(size=(10, 2))
    assert run(metrics.MeanSquaredError(), y, p, size=3) == pytest.approx(np.mean((p - y) ** 2))
    assert run(metrics.MeanAbsoluteError(), y, p, size=3) == pytest.approx(np.mean(np.abs(p - y)))
    # RMSE is the root of the mean over everything, not a mean of per-batch roots.
    assert run(metrics.RootMeanSquaredError(), y, p, size=3) == pytest.approx(
        np.sqrt(np.mean((p - y) ** 2))
    )


def test_reset_state_forgets():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(np.array([0, 0]), Tensor(np.array([[0.0, 1.0], [0.0, 1.0]])))
    assert m.result() == 0.0
    m.reset_state()
    m.update_state(np.array([1]), Tensor(np.array([[0.0, 1.0]])))
    assert m.result() == 1.0


def test_metrics_run_on_a_strict_array_namespace():
    labels = RNG.integers(0, 3, size=8)
    p = RNG.normal(size=(8, 3))
    y = RNG.normal(size=(8, 3))
    with backend.use_namespace(array_api_strict, "strict"):
        acc = metrics.get("accuracy", loss="sparse_categorical_crossentropy")
        acc.update_state(backend.asarray(labels), Tensor(backend.asarray(p)))
        rmse = metrics.get("rmse")
        rmse.update_state(backend.asarray(y), backend.asarray(p))
        # the running totals stay arrays of the namespace (the device) until result()
        assert type(acc._total).__module__.startswith("array_api_strict")
        results = acc.result(), rmse.result()
    assert results[0] == pytest.approx(np.mean(p.argmax(-1) == labels))
    assert results[1] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)))


def test_accuracy_resolves_from_the_loss_and_keeps_its_name():
    cases = [
        ("binary_crossentropy", metrics.BinaryAccuracy),
        (losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy),
        ("categorical_crossentropy", metrics.CategoricalAccuracy),
        ({"name": "categorical_crossentropy"}, metrics.CategoricalAccuracy),
        ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
        (losses.SparseCategoricalCrossentropy(), metrics.SparseCategoricalAccuracy),
    ]
    for loss, cls in cases:
        for name in ("accuracy", "acc"):
            m = metrics.get(name, loss=loss)
            assert type(m) is cls, (loss, name)
            assert m.name == name


def test_accuracy_without_a_telling_loss_decides_from_shapes():
    m = metrics.get("accuracy", loss="mse")
    m.update_state(np.array([2, 0]), Tensor(np.array([[0.1, 0.2, 0.7], [0.9, 0.0, 0.1]])))
    assert m.result() == 1.0 and type(m._inner) is metrics.SparseCategoricalAccuracy
    m = metrics.get("accuracy")
    m.update_state(np.array([1.0, 0.0]), Tensor(np.array([[0.8], [0.6]])))
    assert m.result() == 0.5 and type(m._inner) is metrics.BinaryAccuracy
    m = metrics.get("accuracy")
    m.update_state(np.eye(3)[[0, 1]], Tensor(np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1]])))
    assert m.result() == 0.5 and type(m._inner) is metrics.CategoricalAccuracy


def test_get_names_dicts_objects_and_functions():
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert metrics.get("mse").name == "mse"
    assert metrics.get("mean_absolute_error").name == "mean_absolute_error"
    assert isinstance(metrics.get("rmse"), metrics.RootMeanSquaredError)
    assert isinstance(metrics.get("binary_accuracy"), metrics.BinaryAccuracy)
    b = metrics.get({"name": "binary_accuracy", "threshold": 0.3})
    assert b.fn_kwargs["threshold"] == 0.3
    m = metrics.BinaryAccuracy()
    assert metrics.get(m) is m

    def max_error(y_true, y_pred):
        return backend.xp.max(backend.xp.abs(y_true - y_pred.data), axis=-1)

    f = metrics.get(max_error)
    assert f.name == "max_error"
    f.update_state(np.array([[1.0, 2.0]]), Tensor(np.array([[1.5, 0.0]])))
    assert f.result() == 2.0
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.get("f1")


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="one-hot targets"):
        metrics.CategoricalAccuracy().update_state(np.array([0, 1]), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="integer labels"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros((2, 3)), np.zeros((2, 3)))

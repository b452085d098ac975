"""Precision, Recall and AUC against Keras 3: one batch and uneven batches accumulated,
thresholds, top_k, class_id, sample weights, ROC and PR curves, ties and edge cases."""

import array_api_strict
import numpy as np
import pytest

from engine import backend, metrics
from tests.engine.metrics.keras_ref import both, keras, uneven_batches

RNG = np.random.default_rng(12)
N = 41


def close(pair, tol=1e-5):
    ours, theirs = pair
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    return ours


def binary_data(n=N, positives=0.4):
    y = (RNG.uniform(size=(n, 1)) < positives).astype(np.float32)
    p = np.clip(0.35 * y + RNG.uniform(size=(n, 1)) * 0.65, 0, 1).astype(np.float32)
    return y, p


@pytest.mark.parametrize("cls", ["Precision", "Recall"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"thresholds": 0.3}, {"thresholds": [0.2, 0.5, 0.9]}, {"thresholds": [0.0, 0.5, 1.0]}],
)
def test_precision_recall_match_keras_over_uneven_batches(cls, kwargs):
    y, p = binary_data()
    for batches in (None, uneven_batches(N)):
        value = close(
            both(
                getattr(metrics, cls)(**kwargs),
                getattr(keras.metrics, cls)(**kwargs),
                y,
                p,
                batches=batches,
            )
        )
        assert np.all((value >= 0) & (value <= 1))


@pytest.mark.parametrize("cls", ["Precision", "Recall"])
@pytest.mark.parametrize(
    "kwargs", [{"top_k": 2}, {"class_id": 1}, {"top_k": 1, "class_id": 2}, {"thresholds": 0.2}]
)
def test_precision_recall_top_k_and_class_id_match_keras(cls, kwargs):
    labels = RNG.integers(0, 4, size=N)
    y = np.eye(4, dtype=np.float32)[labels]
    p = RNG.dirichlet(np.ones(4), size=N).astype(np.float32)
    close(
        both(
            getattr(metrics, cls)(**kwargs),
            getattr(keras.metrics, cls)(**kwargs),
            y,
            p,
            batches=uneven_batches(N),
        )
    )


def test_precision_recall_with_sample_weights_match_keras():
    y, p = binary_data()
    w = RNG.uniform(0, 2, size=N).astype(np.float32)
    for cls in ("Precision", "Recall"):
        close(
            both(getattr(metrics, cls)(), getattr(keras.metrics, cls)(), y, p, w, uneven_batches(N))
        )


@pytest.mark.parametrize(
    ("y", "p"),
    [
        (np.zeros((6, 1)), np.full((6, 1), 0.9)),  # no positives, all predicted positive
        (np.zeros((6, 1)), np.full((6, 1), 0.1)),  # nothing positive anywhere: 0, not NaN
        (np.ones((6, 1)), np.linspace(0.2, 0.8, 6)[:, None]),  # all positives
        (np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.1], [0.8], [0.2]])),  # perfect
        (np.array([[1], [0], [1], [0]]), np.array([[0.1], [0.9], [0.2], [0.8]])),  # inverted
        (np.array([[1], [0], [1]]), np.array([[0.5], [0.5], [0.5]])),  # on the threshold
    ],
)
def test_precision_recall_edge_cases_match_keras(y, p):
    y, p = y.astype(np.float32), p.astype(np.float32)
    for cls in ("Precision", "Recall"):
        close(both(getattr(metrics, cls)(), getattr(keras.metrics, cls)(), y, p))


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation_method", ["interpolation", "minoring", "majoring"])
def test_auc_matches_keras_over_uneven_batches(curve, summation_method):
    y, p = binary_data()
    kwargs = {"curve": curve, "summation_method": summation_method}
    single = close(both(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), y, p))
    accumulated = close(
        both(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), y, p, batches=uneven_batches(N))
    )
    assert single == pytest.approx(accumulated, abs=1e-12)  # counts add up exactly
    assert 0.5 < single <= 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_thresholds": 7},
        {"thresholds": [0.1, 0.45, 0.5, 0.77]},
        {"thresholds": [0.25, 0.5, 0.75]},  # evenly spread with 0 and 1: Keras's buckets
        {"from_logits": True},
        {"curve": "PR", "num_thresholds": 50},
    ],
)
def test_auc_options_match_keras(kwargs):
    y, p = binary_data()
    if kwargs.get("from_logits"):
        p = (RNG.normal(size=p.shape) * 2 + 1.5 * y).astype(np.float32)
    close(both(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), y, p, batches=uneven_batches(N)))


def test_auc_multi_label_and_label_weights_match_keras():
    y = (RNG.uniform(size=(N, 3)) < 0.5).astype(np.float32)
    p = np.clip(0.3 * y + 0.7 * RNG.uniform(size=(N, 3)), 0, 1).astype(np.float32)
    w = RNG.uniform(0.5, 2, size=N).astype(np.float32)
    for kwargs in (
        {"multi_label": True},
        {"multi_label": True, "label_weights": [1.0, 0.5, 2.0], "curve": "PR"},
        {"multi_label": False, "label_weights": [1.0, 0.5, 2.0]},
        {"multi_label": False},
    ):
        close(both(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), y, p, w, uneven_batches(N)))


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize(
    ("y", "p"),
    [
        (np.array([1, 0, 1, 0, 1, 0]), np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])),  # perfect
        (np.array([1, 0, 1, 0, 1, 0]), np.array([0.1, 0.9, 0.2, 0.8, 0.3, 0.7])),  # inverted
        (np.array([1, 0, 1, 0, 1, 0]), np.full(6, 0.5)),  # every score tied
        (np.array([1, 0, 1, 1, 0, 0]), np.array([0.5, 0.5, 0.7, 0.3, 0.3, 0.7])),  # pairs tied
        (np.zeros(6), np.linspace(0, 1, 6)),  # no positives
        (np.ones(6), np.linspace(0, 1, 6)),  # all positives
        (np.array([1, 0, 1, 0]), np.array([1.0, 0.0, 0.995, 0.005])),  # on the outer buckets
    ],
)
def test_auc_edge_cases_and_ties_match_keras(curve, y, p):
    y, p = y.astype(np.float32), p.astype(np.float32)
    value = close(both(metrics.AUC(curve=curve), keras.metrics.AUC(curve=curve), y, p))
    assert 0 <= value <= 1


def test_perfect_and_inverted_auc_are_one_and_zero():
    y = np.array([1, 0, 1, 0], dtype=np.float32)
    good = np.array([0.9, 0.1, 0.8, 0.2], dtype=np.float32)
    assert both(metrics.AUC(), keras.metrics.AUC(), y, good)[0] == pytest.approx(1.0)
    assert both(metrics.AUC(), keras.metrics.AUC(), y, 1 - good)[0] == pytest.approx(0.0)


def test_confusion_metrics_run_on_a_strict_array_namespace():
    y, p = binary_data()
    expected = [
        float(m.result())
        for m in (metrics.Precision(), metrics.AUC())
        if m.update_state(y, p) is None
    ]
    with backend.use_namespace(array_api_strict, "strict"):
        found = []
        for m in (metrics.Precision(), metrics.AUC()):
            for part in uneven_batches(N):
                m.update_state(backend.asarray(y[part]), backend.asarray(p[part]))
            tp = m._tp if isinstance(m, metrics.Precision) else m._counts["tp"]
            assert type(tp).__module__.startswith("array_api_strict")  # stays on the device
            found.append(m.result())
    np.testing.assert_allclose(found, expected, rtol=1e-12)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match=r"thresholds must be numbers in \[0, 1\], got 1.5"):
        metrics.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        metrics.Recall(top_k=0)
    with pytest.raises(ValueError, match="curve must be one of ROC, PR, got 'XY'"):
        metrics.AUC(curve="XY")
    with pytest.raises(ValueError, match="num_thresholds must be an integer > 1, got 1"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="summation_method"):
        metrics.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match="top_k=5 is larger than the 3 values"):
        metrics.Precision(top_k=5).update_state(np.eye(3), np.eye(3))
    with pytest.raises(ValueError, match="class_id=3 is not one of the 3 classes"):
        metrics.Recall(class_id=3).update_state(np.eye(3), np.eye(3))


def test_configs_round_trip_through_get():
    for metric in (
        metrics.Precision(thresholds=[0.2, 0.7], name="p27"),
        metrics.Recall(top_k=2, class_id=1),
        metrics.AUC(curve="PR", num_thresholds=11, from_logits=True, name="pr_auc"),
        metrics.AUC(thresholds=[0.3, 0.6]),
    ):
        config = metric.get_config()
        rebuilt = metrics.get({"class_name": type(metric).__name__, "config": config})
        assert type(rebuilt) is type(metric) and rebuilt.get_config() == config
        assert type(metric).from_config(config).get_config() == config
        keras_config = {k: v for k, v in config.items() if k != "name"}
        getattr(keras.metrics, type(metric).__name__)(**keras_config)  # Keras takes the same

"""F1Score/FBetaScore, top-k accuracies, MeanIoU and R2Score against Keras 3: one batch and
uneven batches accumulated, averages, sample weights, edge cases and clear errors."""

import array_api_strict
import numpy as np
import pytest

from engine import backend, metrics
from tests.engine.metrics.keras_ref import both, keras, uneven_batches

RNG = np.random.default_rng(3)
N = 37


def close(pair, tol=1e-5):
    ours, theirs = pair
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)
    return ours


def classes(n=N, k=4):
    labels = RNG.integers(0, k, size=n)
    scores = RNG.dirichlet(np.ones(k), size=n) + 0.4 * np.eye(k)[labels]
    return labels, (scores / scores.sum(1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.3])
def test_f1_score_matches_keras(average, threshold):
    labels, p = classes()
    y = np.eye(4, dtype=np.float32)[labels]
    kwargs = {"average": average, "threshold": threshold}
    single = close(both(metrics.F1Score(**kwargs), keras.metrics.F1Score(**kwargs), y, p))
    accumulated = close(
        both(
            metrics.F1Score(**kwargs),
            keras.metrics.F1Score(**kwargs),
            y,
            p,
            None,
            uneven_batches(N),
        )
    )
    np.testing.assert_allclose(single, accumulated, rtol=1e-12)
    assert np.shape(single) == ((4,) if average is None else ())


def test_f1_and_fbeta_with_weights_match_keras_and_sklearn():
    from sklearn.metrics import f1_score  # noqa: PLC0415

    labels, p = classes()
    y = np.eye(4, dtype=np.float32)[labels]
    w = RNG.uniform(0.2, 2, size=N).astype(np.float32)
    close(
        both(metrics.F1Score("macro"), keras.metrics.F1Score("macro"), y, p, w, uneven_batches(N))
    )
    close(
        both(
            metrics.FBetaScore("weighted", beta=2.0),
            keras.metrics.FBetaScore("weighted", 2.0),
            y,
            p,
            None,
            uneven_batches(N),
        )
    )
    # Integer labels are one-hot encoded (a model trained with sparse labels), same numbers.
    m = metrics.F1Score("macro")
    m.update_state(labels, p)
    assert m.result() == pytest.approx(f1_score(labels, p.argmax(1), average="macro"), abs=1e-6)


def test_f1_edge_cases_match_keras():
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    cases = [
        np.eye(3, dtype=np.float32)[[0, 1, 2, 0]],  # perfect
        np.eye(3, dtype=np.float32)[[1, 2, 0, 1]],  # all wrong
        np.full((4, 3), 1 / 3, dtype=np.float32),  # every score tied: all classes predicted
        np.zeros((4, 3), dtype=np.float32),  # nothing predicted
    ]
    for p in cases:
        for average in (None, "micro", "macro", "weighted"):
            close(both(metrics.F1Score(average), keras.metrics.F1Score(average), y, p))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_accuracies_match_keras(k):
    labels, p = classes(k=6)
    onehot = np.eye(6, dtype=np.float32)[labels]
    value = close(
        both(
            metrics.TopKCategoricalAccuracy(k=k),
            keras.metrics.TopKCategoricalAccuracy(k=k),
            onehot,
            p,
            None,
            uneven_batches(N),
        )
    )
    sparse = close(
        both(
            metrics.SparseTopKCategoricalAccuracy(k=k),
            keras.metrics.SparseTopKCategoricalAccuracy(k=k),
            labels,
            p,
            None,
            uneven_batches(N),
        )
    )
    assert value == sparse and 0 < value <= 1
    w = RNG.uniform(size=N).astype(np.float32)
    close(
        both(
            metrics.SparseTopKCategoricalAccuracy(k=k),
            keras.metrics.SparseTopKCategoricalAccuracy(k=k),
            labels[:, None],
            p,
            w,
        )
    )


def test_top_k_ties_and_sorted_ids_match_keras():
    labels = np.array([0, 1, 2, 3])
    p = np.array([[0.2, 0.2, 0.2, 0.4]] * 4, dtype=np.float32)  # three-way tie for 2nd place
    for k in (1, 2, 3):
        close(
            both(
                metrics.SparseTopKCategoricalAccuracy(k=k),
                keras.metrics.SparseTopKCategoricalAccuracy(k=k),
                labels,
                p,
            )
        )
    ids = np.argsort(-classes(k=5)[1], axis=1)[:4]
    close(
        both(
            metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
            keras.metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True),
            labels,
            ids.astype(np.float32),
        )
    )


def test_k_larger_than_the_classes_is_a_clear_error():
    labels, p = classes(k=3)
    with pytest.raises(ValueError, match="k=5 is larger than the 3 classes"):
        metrics.SparseTopKCategoricalAccuracy().update_state(labels, p)
    with pytest.raises(ValueError, match="k=4 is larger than the 3 classes"):
        metrics.TopKCategoricalAccuracy(k=4).update_state(np.eye(3)[labels], p)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        metrics.TopKCategoricalAccuracy(k=0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"ignore_class": 2},
        {"sparse_y_pred": False},
        {"sparse_y_true": False, "sparse_y_pred": False},
    ],
)
def test_mean_iou_matches_keras(kwargs):
    n = 40
    truth = RNG.integers(0, 4, size=(n, 5))
    truth[0, 0] = 7  # outside the classes: left out, as in Keras
    guess = np.where(RNG.uniform(size=truth.shape) < 0.7, truth, RNG.integers(0, 4, truth.shape))
    y_true, y_pred = truth.astype(np.float32), guess.astype(np.float32)
    if not kwargs.get("sparse_y_pred", True):
        y_pred = (np.eye(4)[np.clip(guess, 0, 3)] + 0.1 * RNG.uniform(size=(n, 5, 4))).astype(
            np.float32
        )
    if not kwargs.get("sparse_y_true", True):
        y_true = np.eye(4, dtype=np.float32)[np.clip(truth, 0, 3)]
    w = RNG.integers(0, 3, size=(n, 5)).astype(np.float32)  # Keras counts in integers
    args = {"num_classes": 4, **kwargs}
    value = close(
        both(
            metrics.MeanIoU(**args),
            keras.metrics.MeanIoU(**args),
            y_true,
            y_pred,
            None,
            uneven_batches(n),
        )
    )
    close(
        both(
            metrics.MeanIoU(**args),
            keras.metrics.MeanIoU(**args),
            y_true,
            y_pred,
            w,
            uneven_batches(n),
        )
    )
    assert 0 < value < 1


def test_mean_iou_channels_first_and_edge_cases():
    # (N, C, H, W) scores with axis=1, the engine's image layout
    scores = RNG.uniform(size=(3, 3, 4, 4)).astype(np.float32)
    truth = RNG.integers(0, 3, size=(3, 4, 4)).astype(np.float32)
    ours = metrics.MeanIoU(3, sparse_y_pred=False, axis=1)
    ours.update_state(truth, scores)
    # Keras's own axis=1 fails in result() (it sums the IoUs over `axis` too); the reference
    # takes the argmax over the channel axis first.
    theirs = both(metrics.MeanIoU(3), keras.metrics.MeanIoU(3), truth, scores.argmax(1))[1]
    assert ours.result() == pytest.approx(float(theirs), abs=1e-6)
    ids = np.array([0, 1, 1, 0], dtype=np.float32)
    assert close(both(metrics.MeanIoU(3), keras.metrics.MeanIoU(3), ids, ids)) == pytest.approx(1)
    assert close(both(metrics.MeanIoU(2), keras.metrics.MeanIoU(2), ids, 1 - ids)) == 0
    with pytest.raises(ValueError, match="num_classes must be a positive integer, got 0"):
        metrics.MeanIoU(0)


@pytest.mark.parametrize(
    "class_aggregation", ["uniform_average", "variance_weighted_average", None]
)
@pytest.mark.parametrize("num_regressors", [0, 3])
def test_r2_score_matches_keras(class_aggregation, num_regressors):
    y = RNG.normal(size=(N, 3)).astype(np.float32)
    p = (y + 0.5 * RNG.normal(size=y.shape)).astype(np.float32)
    kwargs = {"class_aggregation": class_aggregation, "num_regressors": num_regressors}
    single = close(both(metrics.R2Score(**kwargs), keras.metrics.R2Score(**kwargs), y, p))
    accumulated = close(
        both(
            metrics.R2Score(**kwargs),
            keras.metrics.R2Score(**kwargs),
            y,
            p,
            None,
            uneven_batches(N),
        )
    )
    np.testing.assert_allclose(single, accumulated, rtol=1e-10)
    w = RNG.uniform(size=N).astype(np.float32)
    close(
        both(metrics.R2Score(**kwargs), keras.metrics.R2Score(**kwargs), y, p, w, uneven_batches(N))
    )


def test_r2_score_edge_cases_match_keras():
    y = RNG.normal(size=(N, 1)).astype(np.float32)
    assert close(both(metrics.R2Score(), keras.metrics.R2Score(), y, y.copy())) == 1.0
    close(both(metrics.R2Score(), keras.metrics.R2Score(), y, -y))  # worse than the mean
    close(both(metrics.R2Score(), keras.metrics.R2Score(), y[:, 0], y + 0.1))  # (N,) vs (N, 1)
    constant = np.ones((5, 1), dtype=np.float32)
    close(both(metrics.R2Score(), keras.metrics.R2Score(), constant, constant * 0.5))  # -inf -> 0
    with pytest.raises(ValueError, match="class_aggregation must be one of"):
        metrics.R2Score(class_aggregation="median")
    with pytest.raises(ValueError, match="num_regressors must be an integer >= 0, got -1"):
        metrics.R2Score(num_regressors=-1)


def test_score_metrics_run_on_a_strict_array_namespace():
    labels, p = classes()
    y = RNG.normal(size=(N, 2))
    made = {
        "f1": (metrics.F1Score("macro"), np.eye(4)[labels], p),
        "top2": (metrics.SparseTopKCategoricalAccuracy(k=2), labels, p),
        "iou": (metrics.MeanIoU(4), labels, p.argmax(1)),
        "r2": (metrics.R2Score(), y, y + 0.3),
    }
    expected = {}
    for key, (m, t, q) in made.items():
        m.update_state(t, q)
        expected[key] = m.result()
    with backend.use_namespace(array_api_strict, "strict"):
        for key, (m, t, q) in made.items():
            m.reset_state()
            for part in uneven_batches(N):
                m.update_state(backend.asarray(t[part]), backend.asarray(q[part]))
            assert m.result() == pytest.approx(expected[key], rel=1e-9)


def test_identifiers_dicts_and_available():
    found = metrics.available()
    for key in (
        "precision",
        "recall",
        "f1_score",
        "auc",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "mean_iou",
        "r2_score",
        "accuracy",
    ):
        assert key in found
    for key in (
        "precision",
        "recall",
        "f1_score",
        "auc",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "r2_score",
    ):
        m = metrics.get(key)
        assert isinstance(m, found[key]) and m.name == key
        assert type(m).__name__ == type(keras.metrics.get(key)).__name__  # Keras's same name
    for key in ("mean_iou", "mean_io_u"):
        m = metrics.get({"name": key, "num_classes": 3})
        assert isinstance(m, metrics.MeanIoU) and m.num_classes == 3 and m.name == key
        with pytest.raises(ValueError, match="needs num_classes"):
            metrics.get(key)
    auc = metrics.get({"name": "auc", "curve": "PR", "num_thresholds": 50})
    assert auc.curve == "PR" and auc.num_thresholds == 50
    with pytest.raises(ValueError, match=r"bad options for metric 'auc'.*its arguments: num_thre"):
        metrics.get({"name": "auc", "curvature": 1})
    assert metrics.arguments("sparse_top_k_categorical_accuracy") == {
        "k": 5,
        "from_sorted_ids": False,
    }
    assert metrics.arguments("f1_score") == {"average": None, "threshold": None}

"""The new metrics inside ``fit``/``evaluate``: logged per epoch by name, within [0, 1],
plausible after training, and equal to the metric computed afterwards on the predictions;
a compiled model keeps them through ``save``/``load_model``."""

import numpy as np
import pytest

import engine
from engine import datasets, layers, metrics


def standardised(x):
    x = np.asarray(x, dtype=np.float32)
    return (x - x.mean(0)) / (x.std(0) + 1e-6)


def test_precision_recall_auc_in_fit_on_breast_cancer(tmp_path):
    x, y = datasets.load_breast_cancer()
    x, y = standardised(x), np.asarray(y, dtype=np.float32).reshape(-1, 1)
    model = engine.Sequential(
        [
            engine.Input((x.shape[1],)),
            layers.Dense(16, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=["precision", "recall", "auc", {"name": "auc", "curve": "PR"}],
    )
    history = model.fit(x, y, batch_size=32, epochs=6, validation_split=0.2, verbose=0, seed=0)
    for key in ("precision", "recall", "auc", "auc_1"):
        for prefix in ("", "val_"):
            values = history.history[prefix + key]
            assert len(values) == 6 and all(0 <= v <= 1 for v in values), (prefix + key, values)
    assert history.history["val_auc"][-1] > 0.9
    assert history.history["auc"][-1] > 0.9 and history.history["precision"][-1] > 0.8
    # evaluate's AUC is the AUC of the predictions over all batches together
    logs = model.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    whole = metrics.AUC()
    whole.update_state(y, model.predict(x, verbose=0))
    assert logs["auc"] == pytest.approx(whole.result(), abs=1e-9)
    path = tmp_path / "bc.lcmodel"
    model.save(path)
    loaded = engine.load_model(path)
    again = loaded.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    assert again == pytest.approx(logs, abs=1e-6)


def test_sparse_top_k_and_f1_in_fit_on_digits(tmp_path):
    x, y = datasets.load_digits()
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)  # pixels in [0, 1]
    model = engine.Sequential(
        [
            engine.Input((x.shape[1],)),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    top3 = metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[
            "accuracy",
            "sparse_top_k_categorical_accuracy",
            top3,
            {"name": "f1_score", "average": "macro"},
        ],
    )
    history = model.fit(x, y, batch_size=32, epochs=4, validation_split=0.2, verbose=0, seed=0)
    h = history.history
    for key in ("sparse_top_k_categorical_accuracy", "top3", "f1_score"):
        assert all(0 <= v <= 1 for v in h[key] + h["val_" + key])
    # top-5 >= top-3 >= top-1 in every epoch, and high after training
    for epoch in range(4):
        assert h["sparse_top_k_categorical_accuracy"][epoch] >= h["top3"][epoch] - 1e-12
        assert h["top3"][epoch] >= h["accuracy"][epoch] - 1e-12
    assert h["val_sparse_top_k_categorical_accuracy"][-1] > 0.95
    assert h["val_f1_score"][-1] > 0.7
    # evaluate's macro F1 over uneven batches is sklearn's on the predicted classes
    from sklearn.metrics import f1_score  # noqa: PLC0415

    logs = model.evaluate(x, y, batch_size=100, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0).argmax(1)
    assert logs["f1_score"] == pytest.approx(f1_score(y, predicted, average="macro"), abs=1e-6)
    # a metric object (top3) and a dict come back from a model file as the same metrics
    model.save(tmp_path / "digits.lcmodel")
    loaded = engine.load_model(tmp_path / "digits.lcmodel")
    assert loaded.evaluate(x, y, batch_size=100, verbose=0, return_dict=True) == pytest.approx(
        logs, abs=1e-6
    )


def test_a_metric_with_one_value_per_class_is_logged_per_class_in_fit():
    # (tests/engine/models/test_per_value_metrics.py checks the values against sklearn)
    x = np.random.default_rng(0).uniform(size=(20, 4)).astype(np.float32)
    y = np.arange(20) % 3
    model = engine.Sequential([engine.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["f1_score"])
    logs = model.fit(x, y, epochs=1, verbose=0).history
    assert {"f1_score_0", "f1_score_1", "f1_score_2"} <= set(logs) and "f1_score" not in logs
    # standalone, the same result is an ordinary array of per-class scores
    f1 = metrics.F1Score()
    f1.update_state(y, model.predict(x, verbose=0))
    scores = f1.result()
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)
    assert float(np.mean(scores)) == pytest.approx(np.mean(np.asarray(scores)))
    # float() of it still says how to configure a single value
    with pytest.raises(ValueError, match=r"'f1_score' gives 3 values .*average='macro'"):
        float(scores)

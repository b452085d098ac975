"""Metrics with one value per class or threshold in ``fit``/``evaluate``: logged as the
scalars ``<name>_0``, ``<name>_1``, ... in the train and validation logs, the history,
``evaluate(return_dict=True)`` and ``metrics_names``, and equal to sklearn's numbers."""

import numpy as np
import pytest

import engine
from engine import datasets, layers


def digits_model():
    model = engine.Sequential(
        [engine.Input((64,)), layers.Dense(32, activation="relu"), layers.Dense(10, "softmax")]
    )
    return model


def digits_split():
    x, y = datasets.load_digits()
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    y = np.asarray(y).reshape(-1)
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def test_per_class_f1_is_logged_per_class_and_matches_sklearn():
    from sklearn.metrics import f1_score  # noqa: PLC0415

    (x, y), (xv, yv) = digits_split()
    model = digits_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["f1_score"])
    history = model.fit(
        x, y, batch_size=32, epochs=2, validation_data=(xv, yv), verbose=0, seed=0
    ).history
    keys = [f"f1_score_{i}" for i in range(10)]
    assert "f1_score" not in history and "val_f1_score" not in history
    for key in keys:
        for prefix in ("", "val_"):
            values = history[prefix + key]
            assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values), (key, values)
            assert all(type(v) is float for v in values)
    # the validation values are the metric over the whole validation set at the end of
    # training: their mean is sklearn's macro F1 on the model's predictions
    predicted = model.predict(xv, verbose=0).argmax(1)
    final = [history[f"val_{key}"][-1] for key in keys]
    assert np.mean(final) == pytest.approx(f1_score(yv, predicted, average="macro"), abs=1e-5)
    per_class = f1_score(yv, predicted, average=None, labels=range(10))
    np.testing.assert_allclose(final, per_class, atol=1e-5)
    # evaluate: the same keys, and metrics_names lists them in the order of the list
    logs = model.evaluate(xv, yv, batch_size=64, verbose=0, return_dict=True)
    assert [logs[key] for key in keys] == pytest.approx(final, abs=1e-9)
    assert model.metrics_names == ["loss", *keys]
    values = model.evaluate(xv, yv, batch_size=64, verbose=0)
    assert values[1:] == pytest.approx(final, abs=1e-9)


def test_thresholds_and_r2_per_column_are_logged_per_value():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = engine.Sequential([engine.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[{"name": "precision", "thresholds": [0.3, 0.5, 0.7]}, "accuracy"],
    )
    logs = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25).history
    assert {"precision_0", "precision_1", "precision_2", "accuracy"} <= set(logs)
    assert {"val_precision_0", "val_precision_2", "val_accuracy"} <= set(logs)
    assert model.metrics_names == ["loss", "precision_0", "precision_1", "precision_2", "accuracy"]

    targets = np.stack([x[:, 0], 2 * x[:, 1]], axis=1)
    regression = engine.Sequential([engine.Input((3,)), layers.Dense(2)])
    regression.compile(
        optimizer="sgd", loss="mse", metrics=[{"name": "r2_score", "class_aggregation": None}]
    )
    regression.fit(x, targets, epochs=3, verbose=0)
    result = regression.evaluate(x, targets, verbose=0, return_dict=True)
    from sklearn.metrics import r2_score  # noqa: PLC0415

    expected = r2_score(targets, regression.predict(x, verbose=0), multioutput="raw_values")
    np.testing.assert_allclose([result["r2_score_0"], result["r2_score_1"]], expected, atol=1e-5)

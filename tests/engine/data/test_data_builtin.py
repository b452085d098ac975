"""Built-in datasets: shapes, dtypes, reproducibility, and the Keras-style façade (their load
times are measured by ``benchmarks/bench_datasets.py``, not asserted here)."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import engine.datasets as eds
from engine.data import BUILTIN_DATASETS, DataError, load_builtin

EXPECTED = {
    # name: (n, input shape, x dtype, y shape after N, y dtype, classes)
    "digits": (1797, (1, 8, 8), np.float32, (), np.int64, 10),
    "iris": (150, (4,), np.float32, (), np.int64, 3),
    "wine": (178, (13,), np.float32, (), np.int64, 3),
    "breast_cancer": (569, (30,), np.float32, (), np.int64, 2),
    "spirals": (400, (2,), np.float32, (), np.int64, 2),
    "moons": (400, (2,), np.float32, (), np.int64, 2),
    "circles": (400, (2,), np.float32, (), np.int64, 2),
    "xor": (400, (2,), np.float32, (), np.int64, 2),
    "blobs": (400, (2,), np.float32, (), np.int64, 3),
    "sine": (400, (1,), np.float32, (1,), np.float32, None),
    "timeseries": (1000, (24, 1), np.float32, (1,), np.float32, None),
    "sentiment": (2000, (10,), np.int64, (), np.int64, 2),
}


def test_registry_lists_every_builtin():
    from engine.datasets import CATALOG  # the downloaded sets, tested in tests/engine/datasets

    assert set(BUILTIN_DATASETS) == set(EXPECTED) | set(CATALOG)
    assert all(isinstance(v, str) and v for v in BUILTIN_DATASETS.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_with_right_shapes(name):
    n, shape, xdt, yshape, ydt, classes = EXPECTED[name]
    ds = load_builtin(name)
    assert len(ds) == n
    assert ds.input_shape == shape
    assert ds.x.dtype == xdt and ds.y.dtype == ydt
    assert ds.y.shape == (n, *yshape)
    assert ds.num_classes == classes
    if classes:
        assert ds.task == "classification"
        assert len(ds.class_names) == classes
        assert set(np.unique(ds.y)) == set(range(classes))
    else:
        assert ds.task == "regression"
    json.dumps(ds.info())  # everything but the arrays is JSON-able


def test_digits_are_scaled_pixels():
    x, y = eds.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    # Every value is a count 0..16 divided by 16.
    assert np.allclose(x * 16, np.round(x * 16))
    assert np.bincount(y).min() >= 170


def test_tabular_sets_have_feature_names():
    assert load_builtin("iris").feature_names[0] == "sepal length (cm)"
    assert load_builtin("iris").class_names == ["setosa", "versicolor", "virginica"]
    cancer = load_builtin("breast_cancer")
    assert len(cancer.feature_names) == 30 and cancer.feature_names[-1] == "worst fractal dimension"
    assert cancer.class_names == ["malignant", "benign"]


@pytest.mark.parametrize("name", ["spirals", "moons", "circles", "xor", "blobs", "sine"])
def test_synthetic_sets_are_seeded(name):
    a, b, c = load_builtin(name, seed=3), load_builtin(name, seed=3), load_builtin(name, seed=4)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.x, c.x)
    small = load_builtin(name, n_samples=50)
    assert len(small) == 50


def test_playground_sets_are_balanced_and_bounded():
    for name in ("spirals", "moons", "circles", "xor"):
        ds = load_builtin(name, n_samples=301)
        assert abs(np.bincount(ds.y)[0] - np.bincount(ds.y)[1]) <= 1
        assert np.abs(ds.x).max() < 2.5


def test_xor_labels_follow_the_signs():
    ds = load_builtin("xor", noise=0.0)
    same = np.sign(ds.x[:, 0]) == np.sign(ds.x[:, 1])
    assert np.array_equal(same.astype(np.int64), ds.y)


def test_sine_targets():
    ds = load_builtin("sine", noise=0.0)
    assert np.allclose(ds.y, np.sin(ds.x), atol=1e-6)


def test_timeseries_windows_slide_by_one_step():
    ds = load_builtin("timeseries", n_samples=100, window=8)
    assert ds.x.shape == (100, 8, 1) and ds.y.shape == (100, 1)
    assert ds.ordered
    # The target of window i is the last value of window i + 1.
    assert np.array_equal(ds.y[:-1, 0], ds.x[1:, -1, 0])
    assert np.array_equal(ds.x[1:, :-1, 0], ds.x[:-1, 1:, 0])


def test_sentiment_vocabulary_and_texts():
    ds = load_builtin("sentiment", n_samples=300, max_length=12)
    assert ds.vocabulary[:2] == ["<pad>", "<oov>"]
    assert ds.vocabulary_size == len(ds.vocabulary)
    assert ds.x.shape == (300, 12) and ds.x.max() < ds.vocabulary_size
    assert len(ds.texts) == 300
    # The ids decode back to the words of the sentence (pre-padded with zeros).
    words = [ds.vocabulary[i] for i in ds.x[0] if i != 0]
    assert words == ds.texts[0].split()
    assert abs(int(ds.y.sum()) - 150) <= 1
    assert any(" not " in t or "didn't" in t or "never" in t for t in ds.texts)


def test_sentiment_is_learnable_beyond_word_counting():
    """An MLP on the mean of one-hot tokens is what Embedding + pooling + Dense computes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    ds = load_builtin("sentiment", n_samples=2000, seed=5)
    bags = np.zeros((len(ds), ds.vocabulary_size))
    np.add.at(bags, (np.arange(len(ds))[:, None], ds.x), 1.0 / ds.x.shape[1])
    train, test = slice(0, 1500), slice(1500, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from scikit-learn
        mlp = MLPClassifier((16,), learning_rate_init=0.01, max_iter=400, random_state=0).fit(
            bags[train], ds.y[train]
        )
        linear = LogisticRegression(max_iter=1000).fit(bags[train], ds.y[train])
    assert mlp.score(bags[test], ds.y[test]) > 0.9
    # Negations make plain word counting fall short: the set is not trivially linear.
    assert linear.score(bags[test], ds.y[test]) < 0.9


def test_facade_returns_arrays_and_datasets():
    x, y = eds.load_moons(n_samples=60, noise=0.2, seed=1)
    assert x.shape == (60, 2) and y.shape == (60,)
    for fn in (eds.load_iris, eds.load_wine, eds.load_breast_cancer):
        x, y = fn()
        assert x.dtype == np.float32 and y.dtype == np.int64
    x, y = eds.load_sentiment(n_samples=40)
    assert x.dtype == np.int64 and x.shape == (40, 10)
    assert eds.load("iris").class_names[0] == "setosa"
    assert set(eds.list_datasets()) == set(BUILTIN_DATASETS)
    for name in BUILTIN_DATASETS:
        assert callable(getattr(eds, f"load_{name}"))


def test_unknown_name_and_option_are_named():
    with pytest.raises(DataError, match="unknown built-in dataset 'svhn'.*digits"):
        load_builtin("svhn")
    with pytest.raises(DataError, match="'nois'.*n_samples, noise, seed"):
        load_builtin("moons", nois=0.1)
    with pytest.raises(DataError, match="takes no options"):
        load_builtin("iris", n_samples=3)
    with pytest.raises(DataError, match="n_samples"):
        load_builtin("spirals", n_samples=0)
    with pytest.raises(DataError, match="noise"):
        load_builtin("moons", noise=-1)


def test_importing_the_data_package_pulls_in_neither_qt_nor_scikit_learn():
    code = (
        "import sys, engine.data, engine.datasets; "
        "engine.datasets.load_digits(); engine.datasets.load_iris(); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'sklearn')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]  # the repository, where engine/ lives
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root
    )
    assert done.returncode == 0, done.stdout + done.stderr

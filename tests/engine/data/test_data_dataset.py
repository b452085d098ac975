"""The Dataset object validates its arrays and describes itself."""

import json

import numpy as np
import pytest

from engine.data import DataError, Dataset


def make(**kw):
    args = {
        "x": np.zeros((4, 3), np.float32),
        "y": np.array([0, 1, 0, 1]),
        "task": "classification",
        "name": "t",
    }
    args.update(kw)
    return Dataset(**args)


def test_properties():
    ds = make(class_names=["a", "b"], feature_names=["f1", "f2", "f3"])
    assert len(ds) == 4 and ds.input_shape == (3,) and ds.target_shape == ()
    assert ds.num_classes == 2 and ds.vocabulary_size is None
    info = ds.info()
    json.dumps(info)
    assert info["input_shape"] == [3] and info["class_names"] == ["a", "b"]


def test_different_lengths():
    with pytest.raises(DataError, match="x has 4 samples but y has 3"):
        make(y=np.array([0, 1, 0]))


@pytest.mark.parametrize(("value", "word"), [(np.nan, "NaN"), (np.inf, "infinite")])
def test_nan_and_inf_name_the_sample(value, word):
    x = np.zeros((4, 3), np.float32)
    x[2, 1] = value
    with pytest.raises(DataError, match=f"dataset 't': x contains .*{word}.* at sample 3"):
        make(x=x)
    y = np.zeros((4, 1), np.float32)
    y[0] = value
    with pytest.raises(DataError, match="y contains .* at sample 1"):
        make(y=y, task="regression")


def test_bad_labels_and_types():
    with pytest.raises(DataError, match="integer class indices"):
        make(y=np.array([0.0, 1.0, 0.0, 1.0]))
    with pytest.raises(DataError, match="negative class label -1 at sample 2"):
        make(y=np.array([0, -1, 0, 1]))
    with pytest.raises(DataError, match="label 2 at sample 3 but only 2 class names"):
        make(y=np.array([0, 1, 2, 1]), class_names=["a", "b"])
    with pytest.raises(DataError, match="must hold numbers"):
        make(x=np.array([["a"], ["b"], ["c"], ["d"]]))
    with pytest.raises(DataError, match="unknown task"):
        make(task="clustering")
    with pytest.raises(DataError, match="sample axis"):
        make(x=np.zeros(4, np.float32))
    with pytest.raises(DataError, match="no samples"):
        make(x=np.zeros((0, 3), np.float32), y=np.zeros(0, np.int64))
    with pytest.raises(DataError, match="token ids must lie in"):
        make(x=np.full((4, 3), 5), vocabulary=["<pad>", "<oov>", "w"])


def test_subset_keeps_metadata():
    ds = make(class_names=["a", "b"], texts=["p", "q", "r", "s"], notes=["n"])
    sub = ds.subset(np.array([3, 1]))
    assert sub.texts == ["s", "q"] and list(sub.y) == [1, 1]
    assert sub.class_names == ["a", "b"] and sub.notes == ["n"]
    sub.notes.append("more")
    assert ds.notes == ["n"]  # the copy's notes are its own

"""The digits loader's ``classes`` and ``samples_per_class`` options (a new task made of some
digits, and little data of it), directly and from a project file's dataset dict."""

import numpy as np
import pytest

from engine.data import DataError, load_builtin, load_dataset, prepare


@pytest.fixture(scope="module")
def all_digits():
    return load_builtin("digits")


def test_classes_keeps_those_digits_relabelled_in_the_order_given(all_digits):
    ds = load_builtin("digits", classes=[9, 5, 7])
    kept = np.isin(all_digits.y, [9, 5, 7])
    assert len(ds) == int(kept.sum())
    np.testing.assert_array_equal(ds.x, all_digits.x[kept])  # same images, same order
    mapping = {9: 0, 5: 1, 7: 2}
    np.testing.assert_array_equal(ds.y, [mapping[d] for d in all_digits.y[kept]])
    assert ds.class_names == ["9", "5", "7"]
    assert ds.num_classes == 3
    assert "digits 9, 5, 7" in ds.description


def test_samples_per_class_keeps_the_first_images_of_each_class(all_digits):
    ds = load_builtin("digits", classes=[5, 6, 7, 8, 9], samples_per_class=20)
    assert np.bincount(ds.y).tolist() == [20] * 5
    for label, digit in enumerate(range(5, 10)):
        first = np.flatnonzero(all_digits.y == digit)[:20]
        np.testing.assert_array_equal(ds.x[ds.y == label], all_digits.x[first])
    everything = load_builtin("digits", samples_per_class=3)
    assert len(everything) == 30 and everything.class_names == [str(d) for d in range(10)]


def test_defaults_are_the_whole_set(all_digits):
    assert len(all_digits) == 1797 and all_digits.num_classes == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"classes": [5]}, "at least two"),
        ({"classes": [5, 5, 6]}, "twice"),
        ({"classes": [5, 10]}, "digits 0-9"),
        ({"classes": "5-9"}, "digits 0-9"),
        ({"classes": [True, 2]}, "digits 0-9"),
        ({"samples_per_class": 0}, "samples_per_class"),
        ({"samples_per_class": 2.5}, "samples_per_class"),
    ],
)
def test_bad_options_are_refused_clearly(options, message):
    with pytest.raises(DataError, match=message):
        load_builtin("digits", **options)


def test_a_project_dataset_with_classes_and_a_large_held_out_part():
    spec = {"name": "digits", "classes": [5, 6, 7, 8, 9], "validation_split": 0.95, "seed": 0}
    data = prepare(load_dataset(spec))
    assert (len(data.train), len(data.validation)) == (45, 851)
    assert np.bincount(data.train.y).tolist() == [9] * 5  # stratified
    with pytest.raises(DataError, match="unknown key.*clases.*allowed:.*classes"):
        load_dataset({"name": "digits", "clases": [1, 2]})

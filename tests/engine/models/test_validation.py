"""Bad data gives one clear ValueError naming what is wrong and where."""

import numpy as np
import pytest

from engine import Input, Model, Sequential, losses
from engine.layers import Dense, Flatten
from engine.models import validation


@pytest.fixture
def digits_model():
    return Sequential([Input((1, 8, 8)), Flatten(), Dense(10, activation="softmax")])


def test_wrong_input_shape_names_both_shapes(digits_model):
    with pytest.raises(
        ValueError, match=r"^model expects input of shape \(None, 1, 8, 8\), got \(32, 64\)$"
    ):
        digits_model.predict(np.zeros((32, 64), np.float32))


def test_nan_in_inputs_names_the_sample(digits_model):
    x = np.zeros((5, 1, 8, 8), np.float32)
    x[3, 0, 2, 2] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or infinity at sample 3"):
        digits_model.predict(x)
    x[3, 0, 2, 2] = np.inf
    with pytest.raises(ValueError, match="at sample 3"):
        digits_model.predict(x)


def test_non_numeric_inputs(digits_model):
    with pytest.raises(ValueError, match="must hold numbers"):
        digits_model.predict(np.full((2, 1, 8, 8), "a"))


def test_length_mismatch():
    with pytest.raises(ValueError, match="x has 100, y has 90"):
        validation.check_same_length([np.zeros((100, 2))], [np.zeros(90)])
    with pytest.raises(ValueError, match="no samples"):
        validation.check_same_length([np.zeros((0, 2))], None)


def test_labels_out_of_range_name_sample_and_classes(digits_model):
    loss = losses.get("sparse_categorical_crossentropy")
    y = np.array([0, 3, 10, 2])
    with pytest.raises(
        ValueError,
        match=r"labels out of range: y has class id 10 at sample 2, "
        r"but output '.*' has 10 units \(class ids 0 to 9\)",
    ):
        validation.target_arrays(digits_model, y, [loss])
    with pytest.raises(ValueError, match="class id -1 at sample 0"):
        validation.target_arrays(digits_model, np.array([-1, 0]), [loss])
    with pytest.raises(ValueError, match="integer class ids"):
        validation.target_arrays(digits_model, np.array([0.5, 1.0]), [loss])


def test_sparse_labels_accept_a_column_and_become_int64(digits_model):
    loss = losses.get("sparse_categorical_crossentropy")
    (y,) = validation.target_arrays(digits_model, np.array([[1.0], [9.0]]), [loss])
    assert y.dtype == np.int64 and y.shape == (2,)


def test_targets_must_match_the_output_shape(digits_model):
    with pytest.raises(ValueError, match=r"has shape \(4,\), but output .* \(None, 10\).*sparse"):
        validation.target_arrays(
            digits_model, np.zeros(4), [losses.get("categorical_crossentropy")]
        )
    regression = Sequential([Input((3,)), Dense(1)])
    (y,) = validation.target_arrays(regression, np.arange(4.0), [losses.get("mse")])
    assert y.shape == (4, 1) and y.dtype == np.float32
    with pytest.raises(ValueError, match="between 0 and 1"):
        validation.target_arrays(
            regression, np.array([0.0, 2.0]), [losses.get("binary_crossentropy")]
        )
    with pytest.raises(ValueError, match="y contains NaN or infinity at sample 1"):
        validation.target_arrays(regression, np.array([0.0, np.nan]), [losses.get("mse")])


def test_several_inputs_need_several_arrays():
    a, b = Input((2,), name="a"), Input((3,), name="b")
    model = Model([a, b], Dense(1)(a))
    with pytest.raises(ValueError, match="has 2 inputs"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="2 inputs, but x holds 3 arrays"):
        model.predict([np.zeros((4, 2))] * 3)
    with pytest.raises(
        ValueError, match=r"input 'b' expects input of shape \(None, 3\), got \(4, 2\)"
    ):
        model.predict([np.zeros((4, 2)), np.zeros((4, 2))])
    with pytest.raises(ValueError, match="no entry for 'b'"):
        model.predict({"a": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="entry 'c'"):
        model.predict({"a": np.zeros((4, 2)), "b": np.zeros((4, 3)), "c": 1})


def test_one_feature_may_be_given_flat():
    model = Sequential([Input((1,)), Dense(2)])
    assert model.predict(np.arange(5.0)).shape == (5, 2)


def test_float64_inputs_are_computed_in_float32():
    model = Sequential([Input((2,)), Dense(2)])
    assert model.predict(np.ones((3, 2), np.float64)).dtype == np.float32

"""Sequential: starting from an Input or from data, add/pop, and clear errors."""

import numpy as np
import pytest

import engine
from engine import Input, Sequential
from engine.layers import Dense, InputLayer, ShapeError


def test_input_first_builds_at_once():
    model = Sequential([Input((3,), name="features"), Dense(4, name="h"), Dense(2, name="o")])
    assert model.built
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["h", "o"]  # the input is not a layer
    assert model.inputs[0].layer.name == "features"
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2


def test_input_layer_instance_first():
    model = Sequential([InputLayer(shape=(5,)), Dense(1)])
    assert model.input_shape == (None, 5)


def test_builds_lazily_from_the_first_data():
    model = Sequential([Dense(4), Dense(2)])
    assert not model.built
    assert model.weights == []
    with pytest.raises(ValueError, match="no input yet"):
        model.inputs  # noqa: B018
    out = model.predict(np.ones((3, 6), np.float32))
    assert out.shape == (3, 2)
    assert model.input_shape == (None, 6)
    assert model.count_params() == 6 * 4 + 4 + 4 * 2 + 2


def test_build_with_explicit_shape_drops_a_leading_none():
    model = Sequential([Dense(2)])
    model.build((None, 7))
    assert model.input_shape == (None, 7)
    model.build((3,))  # already built: no change
    assert model.input_shape == (None, 7)


def test_add_and_pop():
    model = Sequential([Input((3,))])
    model.add(Dense(4, name="a"))
    model.add(Dense(5, name="b"))
    assert model.output_shape == (None, 5)
    popped = model.pop()
    assert popped.name == "b"
    assert model.output_shape == (None, 4)
    assert model.predict(np.ones((2, 3))).shape == (2, 4)
    model.pop()
    with pytest.raises(ValueError, match="no layer to remove"):
        model.pop()


def test_a_layer_that_does_not_fit_is_refused_and_the_model_kept():
    model = Sequential([Input((2, 3)), Dense(4)])
    with pytest.raises(ShapeError, match="cannot turn"):
        model.add(engine.layers.Reshape((5,)))  # 2 * 4 values cannot become 5
    assert len(model.layers) == 1
    assert model.output_shape == (None, 2, 4)
    model.add(engine.layers.Reshape((8,)))
    assert model.output_shape == (None, 8)


def test_multi_input_layers_and_misplaced_inputs_are_refused():
    model = Sequential([Input((3,))])
    with pytest.raises(TypeError, match="Functional API"):
        model.add(engine.layers.Concatenate())
    with pytest.raises(ValueError, match="first element"):
        model.add(Input((3,)))
    with pytest.raises(TypeError, match="expects a layer"):
        model.add("dense")
    layer = Dense(2)
    model.add(layer)
    with pytest.raises(ValueError, match="already in this model"):
        model.add(layer)


def test_integer_data_builds_an_int64_input_for_embeddings():
    if not hasattr(engine.layers, "Embedding"):
        pytest.skip("engine.layers.Embedding is not available yet")
    model = Sequential([engine.layers.Embedding(input_dim=10, output_dim=3)])
    out = model.predict(np.array([[1, 2, 9], [0, 0, 4]], dtype=np.int64))
    assert out.shape == (2, 3, 3)
    assert model.inputs[0].layer.dtype == "int64"


def test_empty_model_cannot_run():
    with pytest.raises(ValueError, match="no layers"):
        Sequential().predict(np.ones((2, 3)))

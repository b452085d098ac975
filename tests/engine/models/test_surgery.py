"""Model surgery: cutting a model at a layer, new heads and freezing, on Functional and
Sequential models, with a branched graph for the cases a chain cannot show."""

import numpy as np
import pytest

import engine
from engine.layers import Add, Concatenate, Dense, Flatten, Input
from engine.models import GraphError
from engine.models.surgery import feature_extractor, freeze, layer_output, replace_head


def mlp():
    x = Input((4,), name="x")
    h = Dense(8, activation="tanh", name="hidden")(x)
    f = Dense(6, activation="relu", name="features")(h)
    return engine.Model(x, Dense(3, activation="softmax", name="head")(f), name="mlp")


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def test_feature_extractor_computes_the_model_up_to_the_cut_and_shares_its_layers():
    model = mlp()
    extractor = feature_extractor(model, "features")
    assert [layer.name for layer in extractor.layers] == ["x", "hidden", "features"]
    assert extractor.get_layer("hidden") is model.get_layer("hidden")
    x, _ = data()
    # A numpy reference of the first two layers, from the model's own weights.
    (w1, b1), (w2, b2) = (model.get_layer(n).get_weights() for n in ("hidden", "features"))
    expected = np.maximum(np.tanh(x.astype(np.float64) @ w1 + b1) @ w2 + b2, 0.0)
    np.testing.assert_allclose(extractor.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_replace_head_keeps_the_base_drops_the_old_head_and_trains_the_new_one():
    model = mlp()
    engine.set_random_seed(3)
    new = replace_head(model, "features", Dense(2, activation="softmax", name="new_head"))
    assert [layer.name for layer in new.layers] == ["x", "hidden", "features", "new_head"]
    assert new.output_shape == (None, 2)
    x, y = data()
    before = new.get_layer("new_head").get_weights()[0]
    new.compile("adam", "sparse_categorical_crossentropy")
    new.fit(x, y % 2, epochs=2, verbose=0, seed=0)
    assert np.abs(new.get_layer("new_head").get_weights()[0] - before).max() > 0
    # Shared layers, as in Keras: training the new model changed the old model's base too.
    np.testing.assert_array_equal(
        model.get_layer("hidden").get_weights()[0], new.get_layer("hidden").get_weights()[0]
    )


def test_replace_head_with_several_layers_and_clear_errors():
    model = mlp()
    new = replace_head(model, "hidden", [Dense(5, activation="relu", name="a"), Dense(1, name="b")])
    assert new.output_shape == (None, 1)
    with pytest.raises(ValueError, match="at least one"):
        replace_head(model, "hidden", [])
    with pytest.raises(TypeError, match="Add"):
        replace_head(model, "hidden", Add(name="add"))
    with pytest.raises(GraphError, match="named 'hidden'"):
        replace_head(model, "features", Dense(2, name="hidden"))  # clashes with a kept layer
    # The dropped head's name is free again.
    assert replace_head(model, "features", Dense(2, name="head")).output_shape == (None, 2)
    with pytest.raises(ValueError, match="no layer named 'nope'.*hidden"):
        replace_head(model, "nope", Dense(2))


def test_freeze_up_to_takes_the_layers_below_a_cut_in_a_branched_graph():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    left = Dense(4, name="left")(a)
    right = Dense(4, name="right")(b)
    top = Dense(4, name="top")(left)
    merged = Concatenate(name="merge")([top, right])
    model = engine.Model([a, b], Dense(1, name="out")(merged))
    assert freeze(model, up_to="top") == ["a", "left", "top"]
    assert model.get_layer("right").trainable and model.get_layer("out").trainable
    assert [w.name for w in model.non_trainable_weights] == [
        "left/kernel",
        "left/bias",
        "top/kernel",
        "top/bias",
    ]
    # A cut on one branch keeps only the input that branch reads.
    branch = feature_extractor(model, "top")
    assert [t.layer.name for t in branch.inputs] == ["a"]
    assert freeze(model, layers=["out"]) == ["out"]
    assert freeze(mlp()) == ["x", "hidden", "features", "head"]
    with pytest.raises(ValueError, match="not both"):
        freeze(model, up_to="top", layers=["out"])


def test_a_layer_called_twice_has_no_single_output():
    x = Input((3,), name="x")
    shared = Dense(3, name="shared")
    y = shared(shared(x))
    model = engine.Model(x, Add(name="add")([y, x]))
    with pytest.raises(GraphError, match="called 2 times"):
        layer_output(model, "shared")


def test_surgery_on_a_sequential_model():
    model = engine.Sequential(
        [Input((2, 3)), Flatten(name="flat"), Dense(4, name="d1"), Dense(2, name="d2")]
    )
    extractor = feature_extractor(model, "d1")
    assert extractor.output_shape == (None, 4)
    x = np.ones((2, 2, 3), np.float32)
    w, b = model.get_layer("d1").get_weights()
    np.testing.assert_allclose(extractor.predict(x), x.reshape(2, 6) @ w + b, rtol=1e-6)

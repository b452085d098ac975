"""The Functional API: graphs with several inputs and outputs, shared layers, weights."""

import numpy as np
import pytest

import engine
from engine import GradientTape, Input, Model
from engine.autodiff.tensor import Tensor
from engine.layers import Dense
from engine.models.plan import GraphError


def _two_in_two_out():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, name="shared")
    ha, hb = shared(a), shared(b)
    out1 = Dense(2, activation="softmax", name="out1")(engine.layers.Add(name="add")([ha, hb]))
    out2 = Dense(1, name="out2")(hb)
    return Model([a, b], [out1, out2], name="two_by_two"), shared


def test_two_inputs_two_outputs_shapes_and_layers():
    model, shared = _two_in_two_out()
    assert model.input_shape == [(None, 4), (None, 4)]
    assert model.output_shape == [(None, 2), (None, 1)]
    assert [layer.name for layer in model.layers] == ["a", "b", "shared", "add", "out1", "out2"]
    assert model.output_names == ["out1", "out2"]
    xa = np.ones((5, 4), np.float32)
    p1, p2 = model.predict([xa, 2 * xa])
    assert p1.shape == (5, 2) and p2.shape == (5, 1)
    # Dicts by input name are accepted as in Keras.
    d1, d2 = model.predict({"b": 2 * xa, "a": xa})
    np.testing.assert_array_equal(d1, p1)
    np.testing.assert_array_equal(d2, p2)


def test_shared_layer_has_one_set_of_weights_and_gradients_from_both_uses():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    shared = Dense(2, name="shared")  # linear: the gradient has a closed form
    model = Model([a, b], [shared(a), shared(b)])
    assert len(model.weights) == 2
    assert model.count_params() == 3 * 2 + 2
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((5, 3)).astype(np.float32)
    xb = rng.standard_normal((5, 3)).astype(np.float32)
    with GradientTape() as tape:
        ya, yb = model([xa, xb])
        total = engine.ops.add(engine.ops.sum_(ya), engine.ops.sum_(yb))
    g_kernel, g_bias = tape.gradient(total, [shared.kernel, shared.bias])
    # d/dW sum(x W + b) = x^T 1 for each use; both uses add up.
    expected_kernel = (xa.sum(axis=0) + xb.sum(axis=0))[:, None] * np.ones((1, 2))
    np.testing.assert_allclose(g_kernel.numpy(), expected_kernel, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(g_bias.numpy(), np.full(2, 10.0), rtol=1e-6)


def test_concatenate_branches():
    if not hasattr(engine.layers, "Concatenate"):
        pytest.skip("engine.layers.Concatenate (merge layers) is not available yet")
    inp = Input((6,), name="inp")
    left = Dense(4, activation="relu", name="left")(inp)
    right = Dense(3, activation="tanh", name="right")(inp)
    merged = engine.layers.Concatenate(name="merged")([left, right])
    model = Model(inp, Dense(2, name="head")(merged))
    assert model.get_layer("merged").compute_output_shape([(4,), (3,)]) == (7,)
    assert model.count_params() == (6 * 4 + 4) + (6 * 3 + 3) + (7 * 2 + 2)
    x = np.random.default_rng(3).standard_normal((5, 6)).astype(np.float32)
    got = model.predict(x)
    w = {layer.name: layer.get_weights() for layer in model.layers}
    relu = np.maximum(x @ w["left"][0] + w["left"][1], 0)
    tanh = np.tanh(x @ w["right"][0] + w["right"][1])
    expected = np.concatenate([relu, tanh], axis=1) @ w["head"][0] + w["head"][1]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_get_layer_by_name_and_index():
    model, shared = _two_in_two_out()
    assert model.get_layer("shared") is shared
    assert model.get_layer(index=2) is shared
    assert model.get_layer(index=-1).name == "out2"
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=10)
    with pytest.raises(ValueError, match="exactly one"):
        model.get_layer()


def test_get_and_set_weights_round_trip_in_layer_order():
    model, _ = _two_in_two_out()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(4, 3), (3,), (3, 2), (2,), (3, 1), (1,)]
    changed = [w + 1.0 for w in weights]
    model.set_weights(changed)
    for got, want in zip(model.get_weights(), changed):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="has 6 weight arrays, got 5"):
        model.set_weights(changed[:5])


def test_trainable_flag_freezes_every_layer():
    model, _ = _two_in_two_out()
    assert len(model.trainable_weights) == 6
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True
    assert len(model.trainable_weights) == 6


def test_duplicate_layer_names_are_refused():
    a = Input((2,))
    h = Dense(2, name="same")(a)
    with pytest.raises(GraphError, match="named 'same'"):
        Model(a, Dense(2, name="same")(h))


def test_outputs_must_be_symbolic():
    a = Input((2,))
    with pytest.raises(GraphError, match="symbolic"):
        Model(a, np.zeros(3))


def test_eager_call_keeps_tensor_history_and_checks_shapes():
    a = Input((3,))
    model = Model(a, Dense(1, name="d")(a))
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with GradientTape() as tape:
        y = model(x)
    (gx,) = [tape.gradient(engine.ops.sum_(y), x)]
    kernel = model.get_layer("d").get_weights()[0]
    np.testing.assert_allclose(gx.numpy(), np.tile(kernel.T, (2, 1)), rtol=1e-6)
    with pytest.raises(ValueError, match=r"expects input of shape \(None, 3\), got \(2, 4\)"):
        model(Tensor(np.ones((2, 4), np.float32)))


def test_model_cannot_be_nested_as_a_layer_yet():
    a = Input((2,))
    model = Model(a, Dense(1)(a))
    with pytest.raises(NotImplementedError, match="model as a layer"):
        model(Input((2,)))

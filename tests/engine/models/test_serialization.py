"""get_config / from_config: JSON round trips, shared layers, and malformed configs."""

import json

import numpy as np
import pytest

import engine
from engine import Input, Model, Sequential
from engine.layers import Dense
from engine.models import ModelConfigError
from engine.models.serialization import deserialize_model, serialize_model


def _through_json(config):
    return json.loads(json.dumps(config))


def test_sequential_round_trip_gives_the_same_predictions():
    model = Sequential([Input((5,)), Dense(4, activation="relu"), Dense(2)], name="seq")
    config = _through_json(model.get_config())
    assert config["layers"][0]["class_name"] == "Input"
    clone = Sequential.from_config(config)
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    assert clone.name == "seq"
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_functional_round_trip_with_a_shared_layer():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    out = Dense(1, name="out")(engine.layers.Add(name="add")([ha, hb]))
    model = Model([a, b], [out, hb], name="fn")
    config = _through_json(model.get_config())
    entry = next(e for e in config["layers"] if e["name"] == "shared")
    assert entry["inbound_nodes"] == [[["a", 0, 0]], [["b", 0, 0]]]
    assert config["output_layers"] == [["out", 0, 0], ["shared", 1, 0]]
    clone = Model.from_config(config)
    assert len(clone.weights) == len(model.weights)
    clone.set_weights(model.get_weights())
    xa, xb = np.ones((2, 3), np.float32), np.full((2, 3), 0.5, np.float32)
    for got, want in zip(clone.predict([xa, xb]), model.predict([xa, xb])):
        np.testing.assert_array_equal(got, want)


def test_nodes_may_refer_to_layers_listed_later():
    # The shared layer is listed before the layer that feeds its second call.
    x = Input((2,), name="x")
    shared = Dense(2, name="shared")
    first = shared(x)
    middle = Dense(2, name="middle")(first)
    second = shared(middle)
    model = Model(x, second)
    config = _through_json(model.get_config())
    assert [e["name"] for e in config["layers"]] == ["x", "shared", "middle"]
    clone = Model.from_config(config)
    clone.set_weights(model.get_weights())
    data = np.ones((1, 2), np.float32)
    np.testing.assert_array_equal(clone.predict(data), model.predict(data))


def test_serialize_names_the_model_class():
    seq = Sequential([Input((2,)), Dense(1)])
    assert serialize_model(seq)["class_name"] == "Sequential"
    a = Input((2,))
    assert serialize_model(Model(a, Dense(1)(a)))["class_name"] == "Functional"
    assert isinstance(deserialize_model(_through_json(serialize_model(seq))), Sequential)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["config"]["layers"][1].update(class_name="os.system"), "unknown layer type"),
        (lambda c: c["config"]["layers"][1]["config"].update(units=-3), "units"),
        (lambda c: c["config"]["layers"][1]["config"].update(evil=1), "unknown parameter"),
        (lambda c: c["config"]["layers"][1].update(inbound_nodes=[[["ghost", 0, 0]]]), "ghost"),
        (lambda c: c["config"].update(output_layers=[["dense_x", 5, 0]]), "output_layers"),
        (lambda c: c["config"].update(layers="nope"), "layers"),
        (lambda c: c.update(class_name="Pickle"), "unknown model class"),
    ],
)
def test_malformed_configs_raise_model_config_error(mutate, message):
    a = Input((2,), name="inp")
    config = serialize_model(Model(a, Dense(1, name="dense_x")(a)))
    config = _through_json(config)
    mutate(config)
    with pytest.raises(ModelConfigError, match=message):
        deserialize_model(config)


def test_weight_budget_refuses_configs_larger_than_the_file():
    config = _through_json(serialize_model(Sequential([Input((1000,)), Dense(1000)])))
    with pytest.raises(ModelConfigError, match="more weights"):
        deserialize_model(config, param_budget=10_000)
    assert deserialize_model(config, param_budget=2_000_000).count_params() == 1_001_000

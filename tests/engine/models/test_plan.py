"""The static execution plan: order, slots, released activations, and parity with eager calls."""

import numpy as np
import pytest

import engine
from engine import Input, Model, Sequential
from engine.autodiff.tensor import Tensor
from engine.layers import Dense
from engine.models import plan as plan_module
from engine.models.plan import ExecutionPlan, GraphError


def _chain():
    x = Input((4,), name="x")
    h1 = Dense(5, activation="tanh", name="h1")(x)
    h2 = Dense(3, activation="relu", name="h2")(h1)
    out = Dense(2, name="out")(h2)
    return x, [h1, h2, out]


def test_steps_follow_the_graph_with_known_shapes():
    x, (h1, h2, out) = _chain()
    plan = ExecutionPlan([x], [out])
    assert [s.layer.name for s in plan.steps] == ["h1", "h2", "out"]
    assert plan.input_slots == (0,)
    assert plan.output_slots == (3,)
    assert [s.inputs for s in plan.steps] == [(0,), (1,), (2,)]
    assert plan.shapes == ((4,), (5,), (3,), (2,))


def test_each_activation_is_released_after_its_last_reader():
    x, (h1, h2, out) = _chain()
    plan = ExecutionPlan([x], [out, h1])  # h1 is also an output: it must be kept
    releases = {s.layer.name: s.release for s in plan.steps}
    assert releases["h1"] == (0,)
    assert releases["h2"] == ()  # h1 (slot 1) is an output, never released
    assert releases["out"] == (2,)


def test_plan_is_compiled_once_and_never_rewalks_the_graph(monkeypatch):
    x, (_, _, out) = _chain()
    model = Model(x, out)
    data = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    first = model.predict(data)
    compiled = model.plan()

    def fail(*args, **kwargs):
        raise AssertionError("the graph was walked again")

    monkeypatch.setattr(plan_module, "graph_nodes", fail)
    second = model.predict(data)
    assert model.plan() is compiled
    np.testing.assert_array_equal(first, second)


def test_plan_and_eager_layer_calls_give_identical_numbers():
    x, (h1, h2, out) = _chain()
    model = Model(x, out)
    data = np.random.default_rng(1).standard_normal((7, 4)).astype(np.float32)
    eager = data
    for name in ("h1", "h2", "out"):
        eager = model.get_layer(name)(Tensor(eager) if isinstance(eager, np.ndarray) else eager)
    np.testing.assert_array_equal(model.predict(data, batch_size=7), eager.numpy())
    np.testing.assert_array_equal(model(data).numpy(), eager.numpy())


def test_sequential_plan_matches_eager_calls():
    layers = [Dense(6, activation="relu"), Dense(3, activation="softmax")]
    model = Sequential([Input((5,)), *layers])
    data = np.random.default_rng(2).random((4, 5)).astype(np.float32)
    eager = layers[1](layers[0](Tensor(data)))
    np.testing.assert_array_equal(model.predict(data, batch_size=4), eager.numpy())


def test_output_that_needs_a_missing_input_is_refused():
    a, b = Input((2,), name="in_a"), Input((2,), name="in_b")
    total = engine.layers.Add()([Dense(2)(a), Dense(2)(b)])
    with pytest.raises(GraphError, match="depends on input 'in_b'"):
        Model(a, total)


def test_inputs_must_be_input_tensors():
    a = Input((2,))
    hidden = Dense(2)(a)
    with pytest.raises(GraphError, match=r"engine\.Input"):
        ExecutionPlan([hidden], [Dense(1)(hidden)])


def test_input_can_be_an_output_directly():
    a = Input((3,))
    out = Dense(2)(a)
    model = Model(a, [out, a])
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    _, same = model.predict(data)
    np.testing.assert_array_equal(same, data)


def test_describe_lists_every_step():
    x, (_, _, out) = _chain()
    text = ExecutionPlan([x], [out]).describe()
    assert "Dense(h1)" in text and "outputs <- slots [3]" in text

"""Regularizer and constraint arguments on the weighted layers, against Keras 3: the argument
names, ``layer.losses`` on the same weights and inputs, ``model.losses`` recorded by the
execution plan inside one tape, frozen layers, configs, model files and ONNX export."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import engine
from engine import backend, constraints, regularizers
from engine.autodiff.tensor import GradientTape
from engine.layers import LAYER_TYPES, get_layer_class
from tests.engine.keras_reference import keras, keras_tensor, to_numpy

WEIGHTED = ("Dense", "Conv2D", "Embedding", "SimpleRNN", "LSTM", "GRU")
NORMALIZATION = ("BatchNormalization", "LayerNormalization")


def _penalty_names(cls) -> set[str]:
    return {p.name for p in cls.params if p.kind in ("regularizer", "constraint")}


@pytest.mark.parametrize("type_name", WEIGHTED + NORMALIZATION)
def test_arguments_have_keras_names(type_name):
    ours = _penalty_names(get_layer_class(type_name))
    signature = inspect.signature(getattr(keras.layers, type_name).__init__).parameters
    theirs = {n for n in signature if n.endswith(("_regularizer", "_constraint"))}
    assert theirs <= ours
    # Keras takes activity_regularizer on every layer through **kwargs.
    assert ours - theirs <= {"activity_regularizer"}
    if type_name in WEIGHTED:
        assert "activity_regularizer" in ours


def test_every_layer_with_trainable_weights_takes_regularizers():
    for cls in LAYER_TYPES.values():
        for example in cls.examples[:1]:
            layer = cls(**example["config"])
            shape = example["input_shape"]
            if any(spec.trainable for spec in layer.weight_specs(shape)):
                assert any(p.kind == "regularizer" for p in cls.params), cls.type_name


# -- layer.losses against Keras on the same weights -------------------------------------------

L1L2 = {"name": "l1_l2", "l1": 0.003, "l2": 0.02}


KERAS_REGULARIZER = {
    "l1": "L1",
    "l2": "L2",
    "l1_l2": "L1L2",
    "orthogonal_regularizer": "OrthogonalRegularizer",
}


def _keras_arguments(arguments: dict) -> dict:
    """The same arguments for Keras, each regularizer as Keras's own object."""
    result = dict(arguments)
    for key, value in arguments.items():
        if key.endswith("_regularizer"):
            ours = regularizers.get(value)
            result[key] = getattr(keras.regularizers, KERAS_REGULARIZER[ours.name])(
                **ours.get_config()
            )
    return result


def _to_keras_weights(type_name, arrays):
    if type_name == "Conv2D":  # (filters, in, kh, kw) -> (kh, kw, in, filters)
        return [arrays[0].transpose(2, 3, 1, 0), *arrays[1:]]
    return arrays


CASES = [
    (
        "Dense",
        {"units": 3, "kernel_regularizer": "l2", "bias_regularizer": L1L2},
        {"activity_regularizer": "l1"},
        (4, 5),
    ),
    (
        "Conv2D",
        {"filters": 2, "kernel_size": 2, "kernel_regularizer": "l1", "bias_regularizer": "l2"},
        {"activity_regularizer": {"name": "l2", "l2": 0.1}},
        (3, 2, 4, 4),
    ),
    (
        "Embedding",
        {"input_dim": 6, "output_dim": 3, "embeddings_regularizer": L1L2},
        {"activity_regularizer": "l2"},
        (3, 4),
    ),
    (
        "SimpleRNN",
        {"units": 3, "kernel_regularizer": "l1", "recurrent_regularizer": "l2"},
        {"activity_regularizer": "l1"},
        (2, 4, 3),
    ),
    (
        "LSTM",
        {
            "units": 3,
            "kernel_regularizer": "l2",
            "recurrent_regularizer": {"name": "orthogonal_regularizer", "factor": 0.5},
            "bias_regularizer": "l1",
        },
        {"activity_regularizer": "l2"},
        (2, 4, 3),
    ),
    (
        "GRU",
        {"units": 2, "kernel_regularizer": L1L2, "bias_regularizer": "l2"},
        {"activity_regularizer": "l1", "return_sequences": True},
        (3, 4, 2),
    ),
    (
        "BatchNormalization",
        {"gamma_regularizer": "l2", "beta_regularizer": "l1"},
        {},
        (5, 3),
    ),
    (
        "LayerNormalization",
        {"gamma_regularizer": "l1", "beta_regularizer": L1L2},
        {},
        (5, 3),
    ),
]


@pytest.mark.parametrize(("type_name", "config", "extra", "batch_shape"), CASES, ids=str)
def test_layer_losses_match_keras(type_name, config, extra, batch_shape):
    rng = np.random.default_rng(0)
    if type_name == "Embedding":
        x = rng.integers(0, config["input_dim"], size=batch_shape).astype(np.int64)
    else:
        x = rng.normal(size=batch_shape).astype(np.float32)
    ours = get_layer_class(type_name)(**config, **extra)
    ours(x)  # builds
    arrays = [
        w + rng.uniform(0.05, 0.2, size=w.shape).astype(np.float32) for w in ours.get_weights()
    ]
    ours.set_weights(arrays)
    ours(x)
    theirs = getattr(keras.layers, type_name)(**_keras_arguments({**config, **extra}))
    keras_x = x.transpose(0, 2, 3, 1) if type_name == "Conv2D" else x  # Keras: channels last
    theirs(keras_tensor(keras_x) if type_name != "Embedding" else keras_x)
    theirs.set_weights(_to_keras_weights(type_name, arrays))
    out = theirs(keras_tensor(keras_x) if type_name != "Embedding" else keras_x)
    got = sorted(float(loss.numpy()) for loss in ours.losses)
    want = [float(to_numpy(loss)) for loss in theirs.losses]
    if type_name == "SimpleRNN":
        # Keras 3.15's SimpleRNN takes activity_regularizer but never passes it on to the
        # base layer (LSTM and GRU do): the documented penalty, from Keras's own output.
        want.append(0.01 * float(np.abs(to_numpy(out)).sum()) / batch_shape[0])
    want = sorted(want)
    expected_terms = sum(1 for key in {**config, **extra} if key.endswith("_regularizer"))
    assert len(got) == len(want) == expected_terms
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_layer_losses_hold_the_last_call_only_and_frozen_weights_drop_out():
    layer = get_layer_class("Dense")(2, kernel_regularizer="l2", activity_regularizer="l1")
    layer(np.ones((4, 3), np.float32))
    first = [float(loss.numpy()) for loss in layer.losses]
    layer(np.ones((4, 3), np.float32) * 2)
    second = [float(loss.numpy()) for loss in layer.losses]
    assert len(first) == len(second) == 2
    assert second[0] != first[0] and second[1] == first[1]  # activity changed, kernel did not
    layer.trainable = False  # Keras regularizes trainable weights only
    assert len(layer.losses) == 1


# -- model.losses through the execution plan, inside one tape ----------------------------------


def _small_model(activity="l2"):
    inputs = engine.Input((3,))
    hidden = engine.layers.Dense(
        4, activation="tanh", kernel_regularizer="l2", activity_regularizer=activity
    )(inputs)
    outputs = engine.layers.Dense(2, bias_regularizer="l1")(hidden)
    return engine.Model(inputs, outputs)


def test_model_losses_match_keras_after_a_forward_pass():
    model = _small_model()
    rng = np.random.default_rng(1)
    arrays = [
        w + rng.uniform(0.1, 0.3, size=w.shape).astype(np.float32) for w in model.get_weights()
    ]
    model.set_weights(arrays)
    x = rng.normal(size=(5, 3)).astype(np.float32)
    model(x)
    keras_model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                4, activation="tanh", kernel_regularizer="l2", activity_regularizer="l2"
            ),
            keras.layers.Dense(2, bias_regularizer="l1"),
        ]
    )
    keras_model.set_weights(arrays)
    keras_model(keras_tensor(x))
    got = sum(float(loss.numpy()) for loss in model.losses)
    want = sum(float(to_numpy(loss)) for loss in keras_model.losses)
    assert len(model.losses) == len(keras_model.losses) == 3
    assert got == pytest.approx(want, rel=1e-5)
    model(x[:2])  # a new forward pass replaces the activity term, never adds to it
    assert len(model.losses) == 3


def test_penalties_read_after_the_forward_pass_are_differentiable_on_the_same_tape():
    inputs = engine.Input((3,))
    dense = engine.layers.Dense(2, activity_regularizer={"name": "l2", "l2": 0.1})
    model = engine.Model(inputs, dense(inputs))
    x = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    with GradientTape() as tape:
        y = model(x)
        total = model.losses[0]
    kernel_grad, bias_grad = tape.gradient(total, [dense.kernel, dense.bias])
    # d/dW of 0.1 * sum(y**2) / N, with y = x @ W + b: 0.2 * x^T y / N.
    y = y.numpy()
    np.testing.assert_allclose(kernel_grad.numpy(), 0.2 * x.T @ y / 4, rtol=1e-5)
    np.testing.assert_allclose(bias_grad.numpy(), 0.2 * y.sum(axis=0) / 4, rtol=1e-5)


# -- configs, model files, ONNX ------------------------------------------------------------------

FULL = {
    "units": 3,
    "kernel_regularizer": {"name": "l2", "l2": 1e-4},
    "bias_regularizer": "l1",
    "activity_regularizer": regularizers.L1L2(l1=0.01, l2=0.5),
    "kernel_constraint": {"name": "max_norm", "max_value": 3, "axis": 0},
    "bias_constraint": constraints.NonNeg(),
}


def test_config_round_trip_keeps_regularizers_and_constraints():
    layer = get_layer_class("Dense")(**FULL)
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"name": "l2", "l2": 1e-4}
    assert config["bias_regularizer"] == {"name": "l1", "l1": 0.01}
    assert config["activity_regularizer"] == {"name": "l1_l2", "l1": 0.01, "l2": 0.5}
    assert config["bias_constraint"] == {"name": "non_neg"}
    again = get_layer_class("Dense").from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    assert again.kernel_regularizer == regularizers.L2(1e-4)
    assert again.kernel_constraint == constraints.MaxNorm(3, 0)


def test_model_files_keep_regularizers_and_constraints(tmp_path):
    inputs = engine.Input((1, 6, 6))
    conv = engine.layers.Conv2D(
        2,
        3,
        kernel_regularizer="l2",
        kernel_constraint={"name": "unit_norm", "axis": [0, 1, 2]},
    )(inputs)
    flat = engine.layers.Flatten()(conv)
    outputs = engine.layers.Dense(**FULL | {"units": 2})(flat)
    model = engine.Model(inputs, outputs)
    path = tmp_path / "m.lcmodel"
    model.save(path)
    loaded = engine.load_model(path)
    for before, after in zip(model.layers, loaded.layers, strict=True):
        assert after.get_config() == before.get_config()
        for var_before, var_after in zip(before.weights, after.weights, strict=True):
            assert var_after.constraint == var_before.constraint
    x = np.random.default_rng(3).normal(size=(2, 1, 6, 6)).astype(np.float32)
    model(x)
    loaded(x)
    want = [float(loss.numpy()) for loss in model.losses]
    assert [float(loss.numpy()) for loss in loaded.losses] == pytest.approx(want, rel=1e-6)
    assert loaded.get_layer(index=1).kernel.constraint.axis == (2, 3, 1)  # engine layout


def test_onnx_export_ignores_regularizers_and_constraints(tmp_path):
    pytest.importorskip("onnxruntime")
    from engine.onnx.export import export_model  # noqa: PLC0415

    model = _small_model()
    report = export_model(model, tmp_path / "m.onnx")
    assert report.checker_passed and report.max_relative_error < 1e-4


def test_penalties_keep_working_under_the_backend_namespace():
    layer = get_layer_class("Dense")(2, kernel_regularizer="l2", kernel_constraint="non_neg")
    layer.build((3,))
    projected = layer.kernel.constraint(layer.kernel)
    assert hasattr(projected, "__array_namespace__")
    assert projected.__array_namespace__() is backend.xp


def test_training_keeps_constrained_kernels_inside_their_bounds():
    """The optimizer projects each variable with its constraint after every update."""
    model = engine.Sequential(
        [
            engine.Input((1, 5, 5)),
            engine.layers.Conv2D(
                3, 3, kernel_constraint={"name": "max_norm", "max_value": 0.5, "axis": [0, 1, 2]}
            ),
            engine.layers.Flatten(),
            engine.layers.Dense(2, kernel_constraint={"name": "max_norm", "max_value": 0.3}),
        ]
    )
    model.compile(optimizer={"name": "sgd", "learning_rate": 0.5}, loss="mse")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 1, 5, 5)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32) * 10
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    conv, _, dense = model.layers
    filter_norms = np.sqrt((conv.get_weights()[0] ** 2).sum(axis=(1, 2, 3)))
    unit_norms = np.sqrt((dense.get_weights()[0] ** 2).sum(axis=0))
    assert filter_norms.max() <= 0.5 + 1e-5 and unit_norms.max() <= 0.3 + 1e-5
    # Large steps push the norms to the bound: the projection really ran.
    assert filter_norms.max() > 0.49 and unit_norms.max() > 0.29


# -- every layer example that declares penalties -------------------------------------------------


def _penalty_examples():
    cases = []
    for cls in LAYER_TYPES.values():
        for example in cls.examples:
            if any(k.endswith("_regularizer") for k in example["config"]):
                cases.append(pytest.param(cls, example, id=f"{cls.type_name}-{example['config']}"))
    return cases


@pytest.mark.parametrize(("cls", "example"), _penalty_examples())
def test_every_regularized_example_reports_one_differentiable_scalar_per_penalty(cls, example):
    from tests.engine.layers import harness  # noqa: PLC0415

    layer = harness.new_layer(cls, example)
    arrays = harness.make_inputs(cls, example, 3)
    harness.call(layer, arrays)  # builds; then weights away from 0, where |w| has no slope
    layer.set_weights([w + np.float32(0.05) for w in layer.get_weights()])
    with GradientTape() as tape:
        harness.call(layer, arrays, training=True)
        losses = layer.losses
        total = sum(losses[1:], losses[0])
    given = [k for k, v in example["config"].items() if k.endswith("_regularizer") and v]
    weight_terms = [k for k in given if k != "activity_regularizer"]
    # A regularizer on a weight the configuration leaves out (use_bias=False) adds nothing.
    present = {spec.name for spec in layer.weight_specs(layer.input_shape)}
    expected = sum(
        1 for w, (reg, _) in cls.weight_penalties.items() if reg in weight_terms and w in present
    ) + ("activity_regularizer" in given)
    assert len(losses) == expected
    assert all(loss.shape == () and np.isfinite(loss.numpy()) for loss in losses)
    grads = tape.gradient(total, layer.trainable_weights)
    assert any(g is not None and np.any(g.numpy() != 0) for g in grads)

"""Constraints against Keras 3: projections of the same kernels (Dense in Keras's layout,
Conv2D transposed between the engine's (filters, in, kh, kw) and Keras's (kh, kw, in,
filters)), the constraint a layer puts on its variables, identifiers, configs, bad
arguments, and the strict array-API namespace."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest

from engine import backend, constraints
from engine.layers import get_layer_class
from engine.layers.schema import ParameterError
from tests.engine.keras_reference import keras, keras_tensor, to_numpy

KERAS_CLASS = {
    "max_norm": "MaxNorm",
    "min_max_norm": "MinMaxNorm",
    "non_neg": "NonNeg",
    "unit_norm": "UnitNorm",
}
# Engine axis of each Keras axis of a Conv2D kernel, so also the transposition that turns
# an engine kernel (filters, in, kh, kw) into Keras's (kh, kw, in, filters).
CONV_LAYOUT = (2, 3, 1, 0)

CASES = [
    "max_norm",
    {"name": "max_norm", "max_value": 0.7, "axis": 1},
    {"name": "max_norm", "max_value": 1.5, "axis": [0, 1, 2]},
    "min_max_norm",
    {"name": "min_max_norm", "min_value": 0.5, "max_value": 0.9, "rate": 0.3, "axis": -1},
    "non_neg",
    "unit_norm",
    {"name": "unit_norm", "axis": [0, 1]},
]


def _keras_twin(constraint: constraints.Constraint):
    return getattr(keras.constraints, KERAS_CLASS[constraint.name])(**constraint.get_config())


def _kernel(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _dense_cases():
    # Axis lists that name Conv2D's axes 2 and 3 do not exist for a rank-2 kernel.
    return [c for c in CASES if "[0, 1, 2]" not in str(c)]


@pytest.mark.parametrize("identifier", _dense_cases(), ids=str)
def test_dense_kernel_projection_matches_keras(identifier):
    layer = get_layer_class("Dense")(4, kernel_constraint=identifier, bias_constraint="non_neg")
    layer.build((6,))
    kernel = _kernel((6, 4)) * 0.6
    layer.set_weights([kernel, np.zeros(4, np.float32)])
    got = backend.to_numpy(layer.kernel.constraint(layer.kernel))
    want = to_numpy(_keras_twin(layer.kernel_constraint)(keras_tensor(kernel)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert layer.bias.constraint is not None


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_conv2d_kernel_projection_matches_keras_on_the_transposed_kernel(identifier):
    layer = get_layer_class("Conv2D")(3, 2, kernel_constraint=identifier)
    layer.build((2, 5, 5))
    engine_kernel = _kernel((3, 2, 2, 2), seed=1) * 0.5  # (filters, in, kh, kw)
    layer.set_weights([engine_kernel, np.zeros(3, np.float32)])
    got = backend.to_numpy(layer.kernel.constraint(layer.kernel))
    keras_kernel = engine_kernel.transpose(CONV_LAYOUT)  # (kh, kw, in, filters)
    want = to_numpy(_keras_twin(layer.kernel_constraint)(keras_tensor(keras_kernel)))
    np.testing.assert_allclose(got.transpose(CONV_LAYOUT), want, rtol=1e-6, atol=1e-7)
    # The config keeps Keras's axis; only the bound constraint speaks the engine layout.
    assert layer.get_config()["kernel_constraint"] == constraints.canonical(identifier)


def test_per_filter_max_norm_bounds_each_filter_of_an_engine_kernel():
    layer = get_layer_class("Conv2D")(
        4, 3, kernel_constraint={"name": "max_norm", "max_value": 1.0, "axis": [0, 1, 2]}
    )
    layer.build((2, 6, 6))
    layer.set_weights([_kernel((4, 2, 3, 3), seed=2) * 3, np.zeros(4, np.float32)])
    projected = backend.to_numpy(layer.kernel.constraint(layer.kernel))
    norms = np.sqrt((projected**2).sum(axis=(1, 2, 3)))  # one per filter, engine layout
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_constraint_is_set_on_the_variables_of_every_weighted_layer():
    cases = [
        ("Dense", {"units": 2}, (3,), {"kernel": "kernel", "bias": "bias"}),
        ("Embedding", {"input_dim": 5, "output_dim": 2}, (3,), {"embeddings": "embeddings"}),
        (
            "LSTM",
            {"units": 2},
            (3, 2),
            {"kernel": "kernel", "recurrent": "recurrent_kernel", "bias": "bias"},
        ),
        ("BatchNormalization", {}, (3,), {"gamma": "gamma", "beta": "beta"}),
        ("LayerNormalization", {}, (3,), {"gamma": "gamma", "beta": "beta"}),
    ]
    for type_name, config, shape, weights in cases:
        arguments = {f"{arg}_constraint": "non_neg" for arg in weights}
        layer = get_layer_class(type_name)(**config, **arguments)
        layer.build(shape)
        for weight in weights.values():
            assert isinstance(getattr(layer, weight).constraint, constraints.NonNeg), weight
        bare = get_layer_class(type_name)(**config)
        bare.build(shape)
        assert all(var.constraint is None for var in bare.weights)


def test_identifiers_and_defaults_follow_keras():
    assert constraints.get(None) is None
    assert constraints.get("MaxNorm") == constraints.MaxNorm(2, 0)
    keras_form = {"class_name": "MinMaxNorm", "config": {"max_value": 3.0}}
    assert constraints.get(keras_form) == constraints.MinMaxNorm(max_value=3.0)
    for cls_name in KERAS_CLASS.values():
        ours = getattr(constraints, cls_name)()
        theirs = getattr(keras.constraints, cls_name)()
        assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_config_round_trip_and_canonical_form(identifier):
    constraint = constraints.get(identifier)
    assert type(constraint).from_config(constraint.get_config()) == constraint
    canonical = constraints.canonical(identifier)
    assert constraints.canonical(canonical) == canonical
    assert _keras_twin(constraint).get_config() == constraint.get_config()


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("max_nrom", ["unknown constraint 'max_nrom'", "'max_norm'", "'unit_norm'"]),
        ("maxnorm", ["did you mean 'max_norm'?"]),
        ({"name": "max_norm", "max_value": -1}, ["max_value", ">= 0", "-1"]),
        ({"name": "min_max_norm", "min_value": 2, "max_value": 1}, ["max_value", "min_value"]),
        ({"name": "unit_norm", "axis": "rows"}, ["axis", "'rows'"]),
        ({"name": "unit_norm", "axis": [0, 0]}, ["axis", "distinct"]),
        ({"name": "non_neg", "axis": 0}, ["bad options", "NonNeg", "no arguments"]),
    ],
)
def test_bad_identifiers_say_what_is_wrong(identifier, words):
    with pytest.raises(ValueError) as info:
        constraints.get(identifier)
    for word in words:
        assert word in str(info.value)


def test_an_axis_the_weight_lacks_is_a_parameter_error_naming_the_argument():
    # Found when the layer is made (weight ranks are known from the configuration).
    with pytest.raises(ParameterError, match=r"Dense.kernel_constraint: .*axis 2.*rank 2"):
        get_layer_class("Dense")(3, kernel_constraint={"name": "unit_norm", "axis": 2})
    with pytest.raises(ParameterError, match=r"Conv2D.bias_constraint: .*axis 1.*rank 1"):
        get_layer_class("Conv2D")(3, 2, bias_constraint={"name": "max_norm", "axis": 1})
    # GRU's bias is (2, 3 * units) with reset_after, as in Keras, so axis 1 exists there.
    get_layer_class("GRU")(2, bias_constraint={"name": "unit_norm", "axis": 1})
    with pytest.raises(ParameterError, match="GRU.bias_constraint"):
        get_layer_class("GRU")(
            2, reset_after=False, bias_constraint={"name": "unit_norm", "axis": 1}
        )
    # Conv2D's kernel takes Keras's four axes, whatever the engine's layout.
    get_layer_class("Conv2D")(3, 2, kernel_constraint={"name": "max_norm", "axis": [0, 1, 2]})


@pytest.mark.parametrize("identifier", CASES, ids=str)
def test_projections_run_in_the_strict_array_namespace(identifier):
    constraint = constraints.get(identifier).for_layout(CONV_LAYOUT, 4)
    kernel = _kernel((3, 2, 2, 2), seed=4)
    want = backend.to_numpy(constraint(kernel))
    with backend.use_namespace(array_api_strict, "strict"):
        got = constraint(backend.asarray(kernel))
        assert type(got).__module__.startswith("array_api_strict")
        got = backend.to_numpy(got)
    np.testing.assert_allclose(got, want, rtol=1e-6)

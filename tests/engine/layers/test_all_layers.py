"""Runs the generic layer harness on every registered layer type and every one of its examples.

Layer types added later (convolution, pooling, recurrent, ...) are picked up automatically
because the cases are read from the registry after ``import engine.layers``.
"""

from __future__ import annotations

import json

import pytest

import engine.layers  # noqa: F401 - registers every layer type
from engine.layers.base import LAYER_TYPES
from tests.engine.layers import harness

# Only Input has no examples: it is the start of a model, not something applied to data.
WITHOUT_EXAMPLES = {"Input"}

CASES = [
    pytest.param(cls, example, id=f"{name}-{i}")
    for name, cls in sorted(LAYER_TYPES.items())
    for i, example in enumerate(cls.examples)
]

# Small examples keep the finite-difference checks fast: two forward passes per input value
# (times the batch of 3) and per weight.
MAX_EXAMPLE_VALUES = 256
MAX_EXAMPLE_PARAMS = 1000


def test_every_layer_type_has_examples():
    missing = sorted(
        name
        for name, cls in LAYER_TYPES.items()
        if not cls.examples and name not in WITHOUT_EXAMPLES
    )
    assert not missing, f"layer types without examples: {missing}"


@pytest.mark.parametrize("name", sorted(LAYER_TYPES))
def test_declarations(name):
    cls = LAYER_TYPES[name]
    assert cls.type_name == name
    assert cls.display_name and cls.description and cls.category
    assert cls.min_inputs >= 0
    assert cls.max_inputs is None or cls.max_inputs >= cls.min_inputs
    assert len({p.name for p in cls.params}) == len(cls.params)
    json.dumps([p.to_json() for p in cls.params])  # the inspector reads the schema as JSON
    assert cls.__doc__, f"{name} needs a docstring (its weight layout, if any)"


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_example_is_small(cls, example):
    values = harness.example_count_in_elements(cls, example)
    assert values <= MAX_EXAMPLE_VALUES, f"{values} input values per sample: use a smaller example"
    params = cls(**example["config"]).count_params(harness.input_shape_of(cls, example))
    assert params <= MAX_EXAMPLE_PARAMS, f"{params} weights: use a smaller example"


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_output_shape(cls, example):
    harness.check_output_shape(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_training_flag(cls, example):
    harness.check_training_flag(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_weights(cls, example):
    harness.check_weights(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_config_roundtrip(cls, example):
    harness.check_config_roundtrip(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_weights_roundtrip(cls, example):
    harness.check_weights_roundtrip(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_gradients(cls, example):
    harness.check_layer_gradients(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_training_step(cls, example):
    harness.check_training_step(cls, example)


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_model_file_roundtrip(cls, example):
    harness.check_model_file_roundtrip(cls, example)

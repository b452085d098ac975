"""The generic layer test (Keras's ``run_layer_test``), run on every registered layer type.

Each check takes a layer class and one entry of its ``examples``::

    {"config": {...}, "input_shape": shape or [shape, ...],
     "input_dtype": "int64", "input_range": [low, high)}     # the last two optional

and knows nothing about any particular type: everything it needs comes from the class's
declarations (``params``, ``compute_output_shape``, ``weight_specs``, ``uses_training_flag``,
``max_inputs``) and from the example dict. ``tests/engine/layers/test_all_layers.py``
parametrises these checks over :data:`engine.layers.LAYER_TYPES`; other layer tests may call
:func:`run_layer_test` on extra configurations.
"""

from __future__ import annotations

import importlib.util
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest

from engine import backend, random
from engine.autodiff import ops
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.tensor import Tensor, grad
from engine.layers.base import Input, KerasTensor, Layer

GRADIENT_TOLERANCE = 1e-5
BATCH_SIZES = (1, 3)


# -- reading an example ------------------------------------------------------------------------


def is_multi_input(cls: type[Layer]) -> bool:
    """Multi-input layers (``max_inputs != 1``) take a list of tensors and of shapes."""
    return cls.max_inputs != 1


def input_shape_of(cls: type[Layer], example: dict):
    """The example's per-sample input shape: a tuple, or a list of tuples for multi-input."""
    shape = example["input_shape"]
    if is_multi_input(cls):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _shapes_list(cls, example) -> list[tuple[int, ...]]:
    shape = input_shape_of(cls, example)
    return shape if is_multi_input(cls) else [shape]


def is_integer_input(example: dict) -> bool:
    return example.get("input_dtype", "float32") != "float32"


def make_inputs(cls, example, batch: int, dtype=np.float32, seed: int = 1) -> list[np.ndarray]:
    """Random host inputs for ``batch`` samples: always a list, one array per input port.

    Float inputs are standard normal in ``dtype``; integer inputs are uniform in the
    example's ``input_range`` (``[low, high)``).
    """
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in _shapes_list(cls, example):
        full = (batch, *shape)
        if is_integer_input(example):
            low, high = example.get("input_range", (0, 2))
            arrays.append(
                rng.integers(low, high, size=full, dtype=np.dtype(example["input_dtype"]))
            )
        else:
            arrays.append(rng.standard_normal(full).astype(dtype))
    return arrays


def as_layer_input(cls, arrays):
    """What ``layer(...)`` takes: the list itself for multi-input layers, else its one item."""
    return list(arrays) if is_multi_input(cls) else arrays[0]


def new_layer(cls, example) -> Layer:
    return cls(**example["config"])


def call(layer, arrays, training: bool = False) -> Tensor:
    return layer(as_layer_input(type(layer), [Tensor(a) for a in arrays]), training=training)


def _trainings(cls) -> tuple[bool, ...]:
    return (False, True) if cls.uses_training_flag else (False,)


# -- the checks ----------------------------------------------------------------------------------


def check_output_shape(cls, example) -> None:
    """Inferred shape (before building) == actual shape, for batches of 1 and 3, symbolic too."""
    shape = input_shape_of(cls, example)
    expected = tuple(new_layer(cls, example).compute_output_shape(shape))
    layer = new_layer(cls, example)
    for batch in BATCH_SIZES:
        for training in _trainings(cls):
            out = call(layer, make_inputs(cls, example, batch), training)
            assert isinstance(out, Tensor)
            assert out.shape == (batch, *expected), (training, out.shape, expected)
            # Kernels must keep float32 (a stray float64 host array would promote it).
            assert out.dtype == backend.xp.float32, out.dtype

    dtype = example.get("input_dtype", "float32")
    symbolic = [Input(s, dtype=dtype) for s in _shapes_list(cls, example)]
    result = new_layer(cls, example)(as_layer_input(cls, symbolic))
    assert isinstance(result, KerasTensor)
    assert result.shape == expected


def check_training_flag(cls, example) -> None:
    """A layer that does not declare ``uses_training_flag`` ignores ``training``."""
    layer = new_layer(cls, example)
    arrays = make_inputs(cls, example, 3)
    random.set_random_seed(0)
    at_inference = call(layer, arrays, training=False).numpy()
    random.set_random_seed(0)
    at_training = call(layer, arrays, training=True).numpy()
    if not cls.uses_training_flag:
        np.testing.assert_array_equal(at_training, at_inference)


def check_weights(cls, example) -> None:
    """Weight shapes and order match ``weight_specs``; ``count_params`` matches them."""
    shape = input_shape_of(cls, example)
    specs = new_layer(cls, example).weight_specs(shape)
    declared_count = new_layer(cls, example).count_params(shape)  # without building

    layer = new_layer(cls, example)
    call(layer, make_inputs(cls, example, 2))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [tuple(s.shape) for s in specs]
    assert all(w.dtype == np.float32 for w in weights)
    assert layer.count_params() == sum(w.size for w in weights) == declared_count
    assert [v.name.rsplit("/", 1)[-1] for v in layer.weights] == [s.name for s in specs]
    assert len(layer.trainable_weights) == sum(1 for s in specs if s.trainable)
    assert len(layer.non_trainable_weights) == sum(1 for s in specs if not s.trainable)
    assert layer.flops(shape) >= 0


def check_config_roundtrip(cls, example) -> None:
    """``from_config(get_config())`` reproduces the config, also through JSON."""
    layer = new_layer(cls, example)
    config = layer.get_config()
    assert {p.name for p in cls.params} <= set(config)
    assert cls.from_config(config).get_config() == config
    through_json = json.loads(json.dumps(config))
    assert cls.from_config(through_json).get_config() == config


def _perturb_weights(layer, seed: int = 2) -> None:
    """Move every weight away from its initial value, keeping signs (variances stay > 0)."""
    rng = np.random.default_rng(seed)
    layer.set_weights([w + rng.uniform(0.0, 0.1, size=w.shape) for w in layer.get_weights()])


def check_weights_roundtrip(cls, example) -> None:
    """A fresh layer from the config with ``set_weights(old.get_weights())`` is identical."""
    arrays = make_inputs(cls, example, 3)
    layer = new_layer(cls, example)
    for training in _trainings(cls):  # a training call may change non-trainable state
        random.set_random_seed(0)
        call(layer, arrays, training)
    _perturb_weights(layer)
    expected = call(layer, arrays).numpy()

    clone = cls.from_config(layer.get_config())
    call(clone, arrays)  # builds it with fresh weights
    clone.set_weights(layer.get_weights())
    for mine, theirs in zip(clone.get_weights(), layer.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(call(clone, arrays).numpy(), expected)


def check_layer_gradients(cls, example) -> None:
    """Finite differences in float64 w.r.t. float inputs and every trainable weight."""
    shape = input_shape_of(cls, example)
    for batch in BATCH_SIZES:
        for training in _trainings(cls):
            random.set_random_seed(0)
            layer = new_layer(cls, example)
            layer.build(shape)
            _perturb_weights(layer)
            for var in layer.weights:
                var.data = backend.xp.astype(var.data, backend.xp.float64)
            arrays = make_inputs(cls, example, batch, dtype=np.float64, seed=batch)

            def forward(*tensors, layer=layer, training=training):
                random.set_random_seed(0)  # the same dropout mask on every evaluation
                out = layer(as_layer_input(cls, list(tensors)), training=training)
                assert out.dtype == backend.xp.float64, "the layer lost float64 precision"
                return out

            error = check_gradients(forward, arrays, variables=layer.trainable_weights)
            assert error < GRADIENT_TOLERANCE, (
                f"batch={batch} training={training}: relative gradient error {error:.2e}"
            )


def check_training_step(cls, example, learning_rate: float = 0.01) -> None:
    """One SGD step on a mean-squared-error loss lowers the loss.

    The step moves the trainable weights, or the float inputs of a layer without weights.
    """
    random.set_random_seed(0)
    layer = new_layer(cls, example)
    arrays = make_inputs(cls, example, 4)
    inputs = [Tensor(a, requires_grad=not is_integer_input(example)) for a in arrays]
    call(layer, arrays)  # build
    _perturb_weights(layer)
    params = layer.trainable_weights or [t for t in inputs if t.requires_grad]
    if not params:
        pytest.skip("nothing to train: no trainable weights and no float inputs")

    out_shape = call(layer, arrays).shape
    target = Tensor(np.random.default_rng(3).standard_normal(out_shape).astype(np.float32))

    def loss() -> Tensor:
        random.set_random_seed(0)
        out = layer(as_layer_input(cls, inputs), training=True)
        return ops.mean(ops.square(out - target))

    before = loss()
    grads = grad(before, params)
    assert all(g is not None for g in grads), "a trainable weight got no gradient"
    for param, g in zip(params, grads, strict=True):
        param.data = param.data - learning_rate * g
    after = loss()
    assert after.item() < before.item(), (before.item(), after.item())


def roundtrip_through_model_file(
    layer: Layer, input_shape, input_dtype: str = "float32", input_range=(0, 2)
) -> None:
    """Save a one-layer model holding ``layer`` to a model file, load it, compare predictions.

    Skipped until ``engine.io`` (model files, by the models engineer) exists; written against
    the DESIGN.md contract: ``engine.Model``, ``model.save``, ``engine.load_model``,
    ``predict``.
    """
    if importlib.util.find_spec("engine.io") is None:
        pytest.skip("engine.io (model files) does not exist yet")
    import engine  # noqa: PLC0415

    cls = type(layer)
    example = {"input_shape": input_shape, "input_dtype": input_dtype, "input_range": input_range}
    symbolic = [Input(s, dtype=input_dtype) for s in _shapes_list(cls, example)]
    model = engine.Model(as_layer_input(cls, symbolic), layer(as_layer_input(cls, symbolic)))
    x = as_layer_input(cls, make_inputs(cls, example, 3))
    expected = np.asarray(model.predict(x))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layer.lcmodel"
        model.save(path)
        loaded = engine.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(x)), expected, rtol=1e-6, atol=1e-7)


def check_model_file_roundtrip(cls, example) -> None:
    roundtrip_through_model_file(
        new_layer(cls, example),
        input_shape_of(cls, example),
        example.get("input_dtype", "float32"),
        example.get("input_range", (0, 2)),
    )


ALL_CHECKS = (
    check_output_shape,
    check_training_flag,
    check_weights,
    check_config_roundtrip,
    check_weights_roundtrip,
    check_layer_gradients,
    check_training_step,
)


def run_layer_test(cls, example) -> None:
    """Every check above on one (class, example) pair."""
    for check in ALL_CHECKS:
        check(cls, example)


def example_count_in_elements(cls, example) -> int:
    """Total input values of one sample (tests keep gradient-checked examples small)."""
    return sum(math.prod(s) for s in _shapes_list(cls, example))


def check_strict_namespace(cls, example) -> None:
    """Forward and backward under ``array_api_strict`` equal the numpy run.

    The layer is built inside the strict namespace (so its weights are strict arrays) and
    given the numpy layer's weights; any numpy-only spelling in its kernels raises there.
    Not in :data:`ALL_CHECKS`: layer families opt in by calling it from their own tests.
    """
    import array_api_strict  # noqa: PLC0415 - a test-only dependency

    arrays = make_inputs(cls, example, 2, dtype=np.float64)

    def run():
        projection = np.random.default_rng(4).standard_normal
        random.set_random_seed(0)
        layer = new_layer(cls, example)
        layer.build(input_shape_of(cls, example))
        random.set_random_seed(0)
        _perturb_weights(layer)
        for var in layer.weights:
            var.data = backend.xp.astype(var.data, backend.xp.float64)
        tensors = [
            Tensor(backend.asarray(a), requires_grad=not is_integer_input(example)) for a in arrays
        ]
        results = {}
        for training in _trainings(cls):
            random.set_random_seed(0)
            out = layer(as_layer_input(cls, tensors), training=training)
            sources = [t for t in tensors if t.requires_grad] + layer.trainable_weights
            weights = backend.asarray(projection(out.shape))
            grads = grad(out, sources, grad_output=weights)
            results[training] = [backend.to_numpy(out.data)] + [
                None if g is None else backend.to_numpy(g) for g in grads
            ]
        return results

    expected = run()
    with backend.use_namespace(array_api_strict, "strict"):
        got = run()
    for training, arrays_expected in expected.items():
        for want, have in zip(arrays_expected, got[training], strict=True):
            assert (want is None) == (have is None)
            if want is not None:
                np.testing.assert_allclose(have, want, rtol=1e-10, atol=1e-12)

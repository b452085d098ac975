"""Keras 3 (torch backend) as the independent reference of the optimizer tests: the same
float32 weights and gradient sequence through a Keras optimizer and an engine one. Keras is
imported once, with its import-time warnings silenced (pytest turns warnings into errors,
and these come from Keras and PyTorch, not from the engine)."""

from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
import pytest

from engine import optimizers
from engine.autodiff.tensor import Variable

os.environ.setdefault("KERAS_BACKEND", "torch")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    keras = pytest.importorskip("keras")

# A matrix, a vector and a rank-3 array: Adafactor factors the first and last, not the
# vector; the others treat all three alike.
SHAPES = [(4, 3), (3,), (2, 3, 5)]

# Keras's class name for each engine identifier.
KERAS_NAMES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
    "lion": "Lion",
    "adafactor": "Adafactor",
    "ftrl": "Ftrl",
}


def problem(steps: int, seed: int = 0, dtype=np.float32):
    """Starting weights and ``steps`` lists of gradients, one per weight."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return weights, grads


def keras_history(name: str, options: dict, weights, grads, constraint=None):
    """The weights after each step of Keras's optimizer, and its final ``iterations``."""
    with keras_floatx(str(weights[0].dtype)):
        variables = [keras.Variable(w.copy(), dtype=str(w.dtype)) for w in weights]
        if constraint is not None:
            for v in variables:
                v.constraint = constraint
        opt = getattr(keras.optimizers, KERAS_NAMES[name])(**options)
        history = []
        for step in grads:
            opt.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in step], variables))
            history.append([to_numpy(v) for v in variables])
    return history, int(to_numpy(opt.iterations))


@contextlib.contextmanager
def keras_floatx(dtype: str):
    """Keras's default float type (and its warnings silenced) for a while: under float64
    its learning-rate variable and scalar casts are float64 too, so the reference is exact
    to ~1e-12 and the comparison can be much tighter than float32 noise allows."""
    before = keras.config.floatx()
    keras.config.set_floatx(dtype)
    try:
        # Keras's torch Nadam and get_config turn tensors to numpy with a copy= argument
        # torch's __array__ does not take (a numpy 2 DeprecationWarning, not the engine's).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        keras.config.set_floatx(before)


def to_numpy(value) -> np.ndarray:
    """A Keras variable's value as numpy (through torch: Keras's own conversion passes
    ``copy=`` to a torch ``__array__`` that warns under numpy 2)."""
    value = getattr(value, "value", value)
    return value.detach().cpu().numpy().copy()


def engine_history(opt, weights, grads, make_variable=Variable):
    """The weights after each step of an engine optimizer."""
    variables = [make_variable(w.copy()) for w in weights]
    history = []
    for step in grads:
        opt.apply_gradients(zip([g.copy() for g in step], variables))
        history.append([v.numpy().copy() for v in variables])
    return history, variables


# Float32: the task's bound. Float64: ten times tighter, still well above what Keras's own
# float32 corners leave (its clipping and Adafactor keep a few float32 scalars: 4e-8).
TOLERANCES = {np.float32: (1e-5, 1e-6), np.float64: (1e-6, 1e-7)}


def assert_close_histories(got, expected, rtol=None, atol=None):
    if rtol is None:
        rtol, atol = TOLERANCES[expected[0][0].dtype.type]
    for step, (g_step, e_step) in enumerate(zip(got, expected, strict=True)):
        for i, (g, e) in enumerate(zip(g_step, e_step, strict=True)):
            assert g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=f"step {step}, w{i}")


def engine_optimizer(name: str, options: dict):
    return optimizers.get({"name": name, **options})

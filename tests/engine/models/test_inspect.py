"""engine.models.inspect: every layer's output for one sample, and its statistics."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Input, Model, layers
from engine.models.inspect import activation_size, layer_outputs, tensor_stats


def _model():
    x = Input((3,), name="x")
    h = layers.Dense(4, activation="relu", name="h")(x)
    y = layers.Dense(2, name="y")(h)
    return Model(x, y)


def test_layer_outputs_match_a_manual_forward_pass():
    model = _model()
    sample = np.array([0.5, -1.0, 2.0], np.float32)
    out = layer_outputs(model, sample)
    assert list(out) == ["x", "h", "y"]
    w1, b1 = model.get_layer("h").get_weights()
    w2, b2 = model.get_layer("y").get_weights()
    h = np.maximum(sample @ w1 + b1, 0)
    np.testing.assert_allclose(out["h"], h, atol=1e-6)
    np.testing.assert_allclose(out["y"], h @ w2 + b2, atol=1e-6)
    np.testing.assert_allclose(out["y"], model.predict(sample[None])[0], atol=1e-6)
    # After the weights change the same call sees the new weights.
    model.get_layer("y").set_weights([w2 * 2, b2])
    np.testing.assert_allclose(layer_outputs(model, sample, ["y"])["y"], h @ (w2 * 2) + b2, 1e-6)
    with pytest.raises(KeyError, match="no layer named 'nope'"):
        layer_outputs(model, sample, ["nope"])


def test_tensor_stats_equal_numpy():
    a = np.array([[0.0, -2.0], [3.5, 0.0], [1.0, np.nan]])
    s = tensor_stats(a)
    finite = a[np.isfinite(a)]
    assert (s.min, s.max) == (finite.min(), finite.max())
    assert s.mean == pytest.approx(finite.mean())
    assert s.zeros == pytest.approx(2 / 6) and s.shape == (3, 2)
    assert "zeros 33.3%" in s.text()


def test_activation_size_counts_every_value_of_one_sample():
    model = _model()
    out = layer_outputs(model, np.zeros(3, np.float32))
    assert activation_size(model) == sum(v.size for v in out.values()) == 3 + 4 + 2

"""SimpleRNN, LSTM and GRU as layers: Keras's weight layout, shapes, messages and numbers.

The forward references here take the layers' own ``get_weights()`` and apply the per-step
formulas from the Keras documentation, one gate at a time, so a gate order or bias row
mixed up between the layer and its kernel shows as a wrong value. (The kernels' gradients
are checked in tests/engine/autodiff/test_kernels_rnn.py; the generic harness covers every
example here as well.)
"""

import numpy as np
import pytest

from engine import backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor, grad
from engine.layers import GRU, LSTM, ShapeError, SimpleRNN
from engine.layers.base import Input
from engine.layers.schema import ParameterError
from tests.engine.layers import harness


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference(layer, x):
    """Keras's per-step formulas on the layer's weights (float64, default activations)."""
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    kernel, rec = weights[0], weights[1]
    u = layer.units
    n, t, _ = x.shape
    h, c = np.zeros((n, u)), np.zeros((n, u))
    outs = []
    for s in range(t):
        xt = x[:, s].astype(np.float64)
        if isinstance(layer, SimpleRNN):
            b = weights[2] if layer.use_bias else 0.0
            h = np.tanh(xt @ kernel + h @ rec + b)
        elif isinstance(layer, LSTM):
            b = weights[2] if layer.use_bias else np.zeros(4 * u)
            z = xt @ kernel + h @ rec + b
            i, f = sigmoid(z[:, :u]), sigmoid(z[:, u : 2 * u])
            cand, o = np.tanh(z[:, 2 * u : 3 * u]), sigmoid(z[:, 3 * u :])
            c = f * c + i * cand
            h = o * np.tanh(c)
        else:
            bias = weights[2] if layer.use_bias else None
            if bias is None:
                b_x = b_h = np.zeros(3 * u)
            elif layer.reset_after:
                b_x, b_h = bias[0], bias[1]
            else:
                b_x, b_h = bias, np.zeros(3 * u)
            x_z, x_r, x_h = np.split(xt @ kernel + b_x, 3, axis=1)
            h_z, h_r, _ = np.split(h @ rec + b_h, 3, axis=1)
            z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
            if layer.reset_after:
                cand = np.tanh(x_h + r * (h @ rec[:, 2 * u :] + b_h[2 * u :]))
            else:
                cand = np.tanh(x_h + (r * h) @ rec[:, 2 * u :])
            h = z * h + (1.0 - z) * cand
        outs.append(h)
    return np.stack(outs, axis=1) if layer.return_sequences else h


def randomize(layer, input_shape, seed=0):
    layer.build(input_shape)
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(-0.5, 0.5, w.shape) for w in layer.get_weights()])


LAYERS = [
    pytest.param(lambda: SimpleRNN(5), id="SimpleRNN"),
    pytest.param(lambda: SimpleRNN(4, use_bias=False, return_sequences=True), id="SimpleRNN-seq"),
    pytest.param(lambda: LSTM(5), id="LSTM"),
    pytest.param(lambda: LSTM(3, return_sequences=True), id="LSTM-seq"),
    pytest.param(lambda: LSTM(4, use_bias=False), id="LSTM-nobias"),
    pytest.param(lambda: GRU(5), id="GRU"),
    pytest.param(lambda: GRU(3, return_sequences=True, reset_after=False), id="GRU-before"),
    pytest.param(lambda: GRU(4, use_bias=False, return_sequences=True), id="GRU-nobias"),
]


@pytest.mark.parametrize("make", LAYERS)
def test_forward_matches_keras_formulas(make):
    layer = make()
    randomize(layer, (6, 3))
    x = np.random.default_rng(1).standard_normal((4, 6, 3)).astype(np.float32)
    out = layer(Tensor(x))
    assert out.dtype == np.float32
    assert out.shape == (4, *layer.compute_output_shape((6, 3)))
    np.testing.assert_allclose(out.numpy(), reference(layer, x), rtol=1e-5, atol=1e-6)


# -- weights: Keras's shapes, counts and initial values -----------------------------------------


@pytest.mark.parametrize(
    ("layer", "input_shape", "shapes", "count"),
    [
        # The counts Keras prints in model.summary() for these layers.
        (LSTM(128), (28, 28), [(28, 512), (128, 512), (512,)], 80384),
        (GRU(128), (28, 28), [(28, 384), (128, 384), (2, 384)], 60672),
        (GRU(128, reset_after=False), (28, 28), [(28, 384), (128, 384), (384,)], 60288),
        (SimpleRNN(32), (10, 8), [(8, 32), (32, 32), (32,)], 1312),
        (LSTM(7, use_bias=False), (3, 2), [(2, 28), (7, 28)], 252),
    ],
)
def test_weight_shapes_and_counts_match_keras(layer, input_shape, shapes, count):
    assert [s.shape for s in layer.weight_specs(input_shape)] == shapes
    assert layer.count_params(input_shape) == count
    layer.build(input_shape)
    assert [w.shape for w in layer.get_weights()] == shapes
    assert [w.name.rsplit("/", 1)[-1] for w in layer.weights] == [
        "kernel",
        "recurrent_kernel",
        "bias",
    ][: len(shapes)]


def test_initial_values_follow_keras():
    layer = LSTM(6)
    layer.build((4, 3))
    kernel, rec, bias = layer.get_weights()
    limit = np.sqrt(6.0 / (3 + 24))  # glorot_uniform over fan_in=F, fan_out=4*units
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.5 * limit
    np.testing.assert_allclose(rec @ rec.T, np.eye(6), atol=1e-5)  # orthogonal rows
    expected_bias = np.zeros(24, dtype=np.float32)
    expected_bias[6:12] = 1.0  # unit_forget_bias: the f block
    np.testing.assert_array_equal(bias, expected_bias)

    plain = LSTM(6, unit_forget_bias=False)
    plain.build((4, 3))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(24, dtype=np.float32))

    gru = GRU(5)
    gru.build((4, 3))
    np.testing.assert_array_equal(gru.get_weights()[2], np.zeros((2, 15), dtype=np.float32))


def test_forget_bias_set_once_not_on_rebuild():
    layer = LSTM(2)
    layer.build((3, 1))
    layer.set_weights([np.full(w.shape, 0.25) for w in layer.get_weights()])
    layer.build((3, 1))  # already built: must keep the weights it has
    np.testing.assert_array_equal(layer.get_weights()[2], np.full(8, 0.25, dtype=np.float32))


# -- shapes and messages ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_output_shapes(cls):
    assert cls(7).compute_output_shape((5, 3)) == (7,)
    assert cls(7, return_sequences=True).compute_output_shape((5, 3)) == (5, 7)
    symbolic = cls(4, return_sequences=True)(Input((9, 2)))
    assert symbolic.shape == (9, 4)


def test_image_input_is_refused_with_a_reshape_suggestion():
    with pytest.raises(ShapeError) as info:
        LSTM(8).compute_output_shape((1, 8, 8))
    assert str(info.value) == (
        "LSTM expects a sequence (timesteps, features), got (1, 8, 8): insert Reshape to (8, 8)"
    )
    with pytest.raises(
        ShapeError, match=r"GRU expects .* got \(3, 4, 5\): insert Reshape to \(12, 5\)"
    ):
        GRU(2).weight_specs((3, 4, 5))
    with pytest.raises(ShapeError, match=r"got \(10,\): insert Reshape to \(10, 1\)"):
        SimpleRNN(2)(Input((10,)))


def test_parameters_are_validated_and_positional_like_keras():
    layer = LSTM(16, "relu", "tanh", False)
    assert (layer.units, layer.activation, layer.recurrent_activation, layer.use_bias) == (
        16,
        "relu",
        "tanh",
        False,
    )
    with pytest.raises(ParameterError, match="units"):
        GRU(0)
    with pytest.raises(ParameterError, match="activation"):
        SimpleRNN(3, activation="softmax")
    with pytest.raises(ParameterError, match="reset_after"):
        LSTM(3, reset_after=True)


def test_flops_estimate_scales_with_sequence_length():
    layer = LSTM(10)
    assert layer.flops((20, 4)) == 2 * layer.flops((10, 4))
    assert layer.flops((10, 4)) > 10 * 2 * (4 + 10) * 40  # at least the two GEMMs per step


# -- the harness's strict-namespace check (our kernels opt in) ---------------------------------


@pytest.mark.parametrize(
    ("cls", "example"),
    [
        pytest.param(cls, example, id=f"{cls.type_name}-{i}")
        for cls in (SimpleRNN, LSTM, GRU)
        for i, example in enumerate(cls.examples)
    ],
)
def test_strict_namespace(cls, example):
    harness.check_strict_namespace(cls, example)


# -- learning through time -------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_learns_to_recall_the_first_step(cls):
    """The target is the first input of a 6-step sequence: only backpropagation through all
    six steps can teach that, so a broken BPTT leaves the loss high."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6, 1)).astype(np.float32)
    y = x[:, 0, :]
    layer = cls(8)
    out_kernel = Tensor(rng.standard_normal((8, 1)).astype(np.float32) * 0.3, requires_grad=True)
    layer.build((6, 1))
    params = [*layer.trainable_weights, out_kernel]

    def loss():
        pred = ops.matmul(layer(Tensor(x)), out_kernel)
        return ops.mean(ops.square(pred - Tensor(y)))

    first = loss().item()
    # Adam written out (the optimizers module is tested on its own).
    m = [np.zeros(p.shape, np.float32) for p in params]
    v = [np.zeros(p.shape, np.float32) for p in params]
    for step in range(1, 301):
        grads = grad(loss(), params)
        for j, (p, g) in enumerate(zip(params, grads, strict=True)):
            m[j] = 0.9 * m[j] + 0.1 * g
            v[j] = 0.999 * v[j] + 0.001 * g * g
            update = 0.02 * (m[j] / (1 - 0.9**step)) / (np.sqrt(v[j] / (1 - 0.999**step)) + 1e-7)
            p.data = p.data - backend.asarray(update.astype(np.float32))
    last = loss().item()
    assert last < 0.1 * first, (first, last)

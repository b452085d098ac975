"""LAYERS-C's sequence layer types against PyTorch, in float64: forward values and the
gradients of the input and of every weight agree to rel <= 1e-4. Bidirectional against
``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` with ``bidirectional=True`` (weights converted from
PyTorch's layout to Keras's), TimeDistributed against the PyTorch op on folded steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch.func import functional_call

import engine.layers as L  # noqa: N812
from tests.engine.layers.test_torch_parity_layers_a import engine_run, normal, parity

RTOL = 1e-4

# Keras gate block j is PyTorch gate block KERAS_FROM_TORCH[kind][j] (PyTorch GRU: r, z, n).
KERAS_FROM_TORCH = {"LSTM": [0, 1, 2, 3], "GRU": [1, 0, 2], "SimpleRNN": [0]}
TORCH_MODULE = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}


def _blocks(matrix: np.ndarray, order: list[int], units: int) -> np.ndarray:
    return np.concatenate([matrix[..., k * units : (k + 1) * units] for k in order], axis=-1)


def torch_direction(kind: str, features: int, units: int, seed: int):
    """PyTorch weights of one direction and their Keras-layout equivalents."""
    rng = np.random.default_rng(seed)
    k = len(KERAS_FROM_TORCH[kind])
    w_ih = rng.standard_normal((k * units, features)) * 0.5
    w_hh = rng.standard_normal((k * units, units)) * 0.5
    b_ih = rng.standard_normal(k * units) * 0.3
    b_hh = rng.standard_normal(k * units) * 0.3
    order = KERAS_FROM_TORCH[kind]
    kernel = _blocks(w_ih.T, order, units)
    recurrent = _blocks(w_hh.T, order, units)
    if kind == "GRU":
        bias = np.stack([_blocks(b_ih, order, units), _blocks(b_hh, order, units)])
    else:
        bias = _blocks(b_ih + b_hh, order, units)
    return [w_ih, w_hh, b_ih, b_hh], [kernel, recurrent, bias]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_matches_torch(kind, return_sequences, merge_mode):
    features, units = 3, 4
    x = normal(2, 5, features)
    torch_fwd, keras_fwd = torch_direction(kind, features, units, 1)
    torch_bwd, keras_bwd = torch_direction(kind, features, units, 2)
    module = TORCH_MODULE[kind](features, units, batch_first=True, bidirectional=True).double()
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    names += [f"{n}_reverse" for n in names]
    layer = L.Bidirectional(
        layer=kind, units=units, return_sequences=return_sequences, merge_mode=merge_mode
    )
    result = engine_run(layer, x, keras_fwd + keras_bwd)

    def reference(xt, *weights):
        out, state = functional_call(module, dict(zip(names, weights, strict=True)), (xt,))
        h_n = state[0] if kind == "LSTM" else state
        if return_sequences:
            forward, backward = out[..., :units], out[..., units:]
        else:
            forward, backward = h_n[0], h_n[1]
        return {
            "concat": lambda: torch.cat([forward, backward], dim=-1),
            "sum": lambda: forward + backward,
            "mul": lambda: forward * backward,
            "ave": lambda: (forward + backward) / 2,
        }[merge_mode]()

    tensors = [torch.tensor(a, requires_grad=True) for a in [x, *torch_fwd, *torch_bwd]]
    y = reference(*tensors)
    (y * torch.tensor(result[2])).sum().backward()
    out, (gx, *gw), _ = result
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(gx, tensors[0].grad.numpy(), rtol=RTOL, atol=1e-9)
    # The weight gradients, brought to Keras's layout, direction by direction.
    for direction, offset in ((0, 1), (1, 5)):
        g_ih, g_hh, g_bih, g_bhh = (t.grad.numpy() for t in tensors[offset : offset + 4])
        order = KERAS_FROM_TORCH[kind]
        mine = gw[3 * direction : 3 * direction + 3]
        np.testing.assert_allclose(mine[0], _blocks(g_ih.T, order, units), rtol=RTOL, atol=1e-9)
        np.testing.assert_allclose(mine[1], _blocks(g_hh.T, order, units), rtol=RTOL, atol=1e-9)
        if kind == "GRU":
            theirs = np.stack([_blocks(g_bih, order, units), _blocks(g_bhh, order, units)])
        else:  # b_ih and b_hh are one Keras bias: both get its gradient
            theirs = _blocks(g_bih, order, units)
        np.testing.assert_allclose(mine[2], theirs, rtol=RTOL, atol=1e-9)


def test_time_distributed_dense_matches_torch_linear():
    x, kernel, bias = normal(2, 4, 3), normal(3, 5), normal(5)
    layer = L.TimeDistributed(layer="Dense", units=5, activation="tanh")
    parity(layer, x, [kernel, bias], lambda xt, k, b: torch.tanh(xt @ k + b))


def test_time_distributed_conv2d_matches_torch_on_every_step():
    x, kernel, bias = normal(2, 3, 2, 5, 5), normal(4, 2, 3, 3), normal(4)
    layer = L.TimeDistributed(layer="Conv2D", filters=4, kernel_size=3, padding="same")

    def reference(xt, k, b):
        folded = F.conv2d(xt.reshape(6, 2, 5, 5), k, b, padding=1)
        return folded.reshape(2, 3, 4, 5, 5)

    parity(layer, x, [kernel, bias], reference)


def test_time_distributed_pooling_uses_the_pooling_default_strides():
    layer = L.TimeDistributed(layer="MaxPooling2D", pool_size=2)
    assert layer.compute_output_shape((3, 2, 6, 6)) == (3, 2, 3, 3)
    x = normal(2, 3, 2, 6, 6)
    parity(layer, x, [], lambda xt: F.max_pool2d(xt.reshape(6, 2, 6, 6), 2).reshape(2, 3, 2, 3, 3))


def test_time_distributed_names_the_step_shape_in_a_shape_error():
    layer = L.TimeDistributed(layer="Conv2D", filters=2)
    with pytest.raises(L.ShapeError, match=r"each step of shape \(4,\)"):
        layer.compute_output_shape((3, 4))
    with pytest.raises(L.ShapeError, match="timesteps"):
        layer.compute_output_shape((3,))


def test_a_wrapped_layer_refusing_a_value_names_the_wrapper():
    with pytest.raises(L.ParameterError, match="TimeDistributed.units"):
        L.TimeDistributed(layer="Dense", units=0)
    with pytest.raises(L.ParameterError, match="merge_mode"):
        L.Bidirectional(layer="LSTM", merge_mode=None)

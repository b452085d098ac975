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
from engine.autodiff.tensor import Tensor, grad
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


# -- MultiHeadAttention ------------------------------------------------------------------------


def _mha_torch_weights(embed: int, heads: int, seed: int):
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((3 * embed, embed)) * 0.4,  # in_proj_weight (q, k, v rows)
        rng.standard_normal(3 * embed) * 0.3,  # in_proj_bias
        rng.standard_normal((embed, embed)) * 0.4,  # out_proj.weight
        rng.standard_normal(embed) * 0.3,  # out_proj.bias
    ]


def _mha_keras_weights(torch_weights, embed: int, heads: int):
    """PyTorch's packed projections in Keras's (d, heads, head_dim) layout."""
    in_w, in_b, out_w, out_b = torch_weights
    hd = embed // heads
    weights = []
    for part in range(3):
        rows = slice(part * embed, (part + 1) * embed)
        weights += [in_w[rows].T.reshape(embed, heads, hd), in_b[rows].reshape(heads, hd)]
    return weights + [out_w.T.reshape(heads, hd, embed), out_b]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("self_attention", [True, False])
def test_multi_head_attention_matches_torch(causal, self_attention):
    embed, heads, steps = 6, 2, 4
    query = normal(2, steps, embed)
    value = query if self_attention else normal(2, steps, embed)
    torch_weights = _mha_torch_weights(embed, heads, 3)
    keras_weights = _mha_keras_weights(torch_weights, embed, heads)
    module = torch.nn.MultiheadAttention(embed, heads, batch_first=True).double()
    names = ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    layer = L.MultiHeadAttention(num_heads=heads, key_dim=embed // heads, use_causal_mask=causal)
    layer.build([(steps, embed), (steps, embed)])
    for var, value_ in zip(layer.weights, keras_weights, strict=True):
        var.data = np.asarray(value_, dtype=np.float64)
    tq = Tensor(query, requires_grad=True)
    tv = tq if self_attention else Tensor(value, requires_grad=True)
    out = layer([tq, tv])
    r = np.random.default_rng(5).standard_normal(out.shape)
    sources = [tq] + ([] if self_attention else [tv]) + layer.weights
    grads = grad(out, sources, grad_output=r)

    tensors = [torch.tensor(a, requires_grad=True) for a in torch_weights]
    t_query = torch.tensor(query, requires_grad=True)
    t_value = t_query if self_attention else torch.tensor(value, requires_grad=True)
    mask = torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1) if causal else None
    y, _ = functional_call(
        module,
        dict(zip(names, tensors, strict=True)),
        (t_query, t_value, t_value),
        {"attn_mask": mask, "need_weights": False},
    )
    (y * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out.numpy(), y.detach().numpy(), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(grads[0], t_query.grad.numpy(), rtol=RTOL, atol=1e-9)
    if not self_attention:
        np.testing.assert_allclose(grads[1], t_value.grad.numpy(), rtol=RTOL, atol=1e-9)
    torch_grads = [t.grad.numpy() for t in tensors]
    expected = _mha_keras_weights(torch_grads, embed, heads)
    for mine, theirs in zip(grads[-8:], expected, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=1e-9)


def test_multi_head_attention_matches_keras_with_key_value_dims_and_output_shape():
    """Keras itself (torch backend) with different query/key/value widths, value_dim and
    output_shape: the engine's weights are Keras's, unchanged."""
    from tests.engine.keras_reference import keras, keras_tensor, to_numpy  # noqa: PLC0415

    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3, 4), (2, 5, 6), (2, 5, 2)]]
    layer = L.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, output_shape=7)
    layer([Tensor(a) for a in arrays])
    weights = [rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    theirs = keras.layers.MultiHeadAttention(num_heads=3, key_dim=2, value_dim=4, output_shape=7)
    query, value, key = (keras_tensor(a) for a in arrays)
    theirs(query, value, key=key)
    theirs.set_weights(weights)
    expected = to_numpy(theirs(query, value, key=key, use_causal_mask=False))
    got = layer([Tensor(a) for a in arrays]).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_multi_head_attention_shape_errors_name_the_fix():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3)
    with pytest.raises(L.ShapeError, match="key has 4 steps but its value has 5"):
        layer.compute_output_shape([(3, 8), (5, 8), (4, 8)])
    with pytest.raises(L.ShapeError, match="query as a sequence"):
        layer.compute_output_shape([(8,), (5, 8)])
    causal = L.MultiHeadAttention(num_heads=2, key_dim=3, use_causal_mask=True)
    with pytest.raises(L.ShapeError, match="use_causal_mask"):
        causal.compute_output_shape([(3, 8), (5, 8)])

"""The padding mask of ``Embedding(mask_zero=True)`` against Keras 3 itself (torch backend):
the same model, the same weights, ids with zeros at the end and in the middle, give the same
predictions, through layers that pass the mask on (Dense on sequences, Dropout,
LayerNormalization, TimeDistributed) to layers that consume it (SimpleRNN / LSTM / GRU with
and without return_sequences, Bidirectional, GlobalAveragePooling1D, MultiHeadAttention).
The masked recurrence's gradients are checked by finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.layers as L  # noqa: N812
from engine import backend
from engine.autodiff.gradcheck import check_gradients
from engine.autodiff.kernels_rnn_masked import masked_recurrence
from engine.autodiff.tensor import Tensor
from tests.engine.keras_reference import keras, to_numpy

VOCAB, STEPS, DIM = 6, 5, 3
# Right padding, padding in the middle, a row padded from the start, and no padding at all.
IDS = np.array([[3, 1, 2, 0, 0], [4, 0, 5, 1, 0], [0, 0, 2, 3, 1], [1, 2, 3, 4, 5]], dtype=np.int64)

# (name, [(engine type, config), ...]) after Embedding(VOCAB, DIM, mask_zero=True).
STACKS = [
    ("lstm", [("LSTM", {"units": 4})]),
    ("lstm_seq", [("LSTM", {"units": 4, "return_sequences": True})]),
    ("gru_seq", [("GRU", {"units": 3, "return_sequences": True})]),
    ("gru_before", [("GRU", {"units": 3, "reset_after": False})]),
    ("simple_rnn_seq", [("SimpleRNN", {"units": 2, "return_sequences": True})]),
    (
        "dense_dropout_norm_rnn",
        [
            ("Dense", {"units": 4, "activation": "tanh"}),
            ("Dropout", {"rate": 0.5}),
            ("LayerNormalization", {}),
            ("SimpleRNN", {"units": 3}),
        ],
    ),
    (
        "stacked_lstm_pool",
        [("LSTM", {"units": 3, "return_sequences": True}), ("GlobalAveragePooling1D", {})],
    ),
    (
        "bidirectional_seq",
        [("Bidirectional", {"layer": "LSTM", "units": 2, "return_sequences": True})],
    ),
    ("bidirectional_sum", [("Bidirectional", {"layer": "GRU", "units": 2, "merge_mode": "sum"})]),
    (
        "time_distributed_rnn",
        [("TimeDistributed", {"layer": "Dense", "units": 2}), ("SimpleRNN", {"units": 2})],
    ),
    ("pool", [("GlobalAveragePooling1D", {})]),
]


def keras_layer(type_name: str, config: dict):
    if type_name == "Bidirectional":
        inner = dict(config)
        kind, merge = inner.pop("layer"), inner.pop("merge_mode", "concat")
        return keras.layers.Bidirectional(getattr(keras.layers, kind)(**inner), merge_mode=merge)
    if type_name == "TimeDistributed":
        inner = dict(config)
        return keras.layers.TimeDistributed(getattr(keras.layers, inner.pop("layer"))(**inner))
    return getattr(keras.layers, type_name)(**config)


def build_both(stack):
    rng = np.random.default_rng(0)
    ids_in = engine.Input((STEPS,), dtype="int64")
    k_in = keras.Input((STEPS,), dtype="int64")
    x = L.Embedding(VOCAB, DIM, mask_zero=True)(ids_in)
    kx = keras.layers.Embedding(VOCAB, DIM, mask_zero=True)(k_in)
    for type_name, config in stack:
        x = L.LAYER_TYPES[type_name](**config)(x)
        kx = keras_layer(type_name, config)(kx)
    ours, theirs = engine.Model(ids_in, x), keras.Model(k_in, kx)
    for mine, other in zip(ours.layers[1:], theirs.layers[1:], strict=True):
        weights = [rng.normal(0, 0.6, size=w.shape).astype(np.float32) for w in mine.get_weights()]
        mine.set_weights(weights)
        other.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize(("name", "stack"), STACKS, ids=[s[0] for s in STACKS])
def test_masked_predictions_match_keras(name, stack):
    ours, theirs = build_both(stack)
    expected = to_numpy(theirs(IDS, training=False))
    got = ours.predict(IDS, verbose=0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)


def test_mask_changes_the_result_like_keras_does():
    """Without mask_zero, padding steps are read like any token: a different answer."""
    ours, _ = build_both([("LSTM", {"units": 4})])
    masked = ours.predict(IDS, verbose=0)
    ours.layers[1].mask_zero = False
    unmasked = ours.predict(IDS, verbose=0)
    np.testing.assert_allclose(masked[3], unmasked[3], rtol=1e-6)  # no padding in row 3
    assert np.abs(masked[0] - unmasked[0]).max() > 1e-4


def test_multi_head_attention_hides_padded_keys_like_keras():
    ids_in = engine.Input((STEPS,), dtype="int64")
    k_in = keras.Input((STEPS,), dtype="int64")
    emb = L.Embedding(VOCAB, 4, mask_zero=True)
    x = emb(ids_in)
    k_emb = keras.layers.Embedding(VOCAB, 4, mask_zero=True)
    kx = k_emb(k_in)
    attention = L.MultiHeadAttention(num_heads=2, key_dim=2)
    k_attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2)
    ours = engine.Model(ids_in, attention([x, x]))
    theirs = keras.Model(k_in, k_attention(kx, kx))
    rng = np.random.default_rng(1)
    for mine, other in ((emb, k_emb), (attention, k_attention)):
        weights = [rng.normal(0, 0.6, size=w.shape).astype(np.float32) for w in mine.get_weights()]
        mine.set_weights(weights)
        other.set_weights(weights)
    expected = to_numpy(theirs(IDS, training=False))
    got = ours.predict(IDS, verbose=0)
    # Keras's additive -1e9 leaves a fully padded query row a uniform average; only the
    # real query steps are compared (the padded ones are masked downstream anyway).
    real = IDS != 0
    np.testing.assert_allclose(got[real], expected[real], rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})],
)
def test_masked_recurrence_gradients_by_finite_differences(kind, extra):
    layer = L.LAYER_TYPES[kind](units=3, return_sequences=True, **extra)
    layer.build((4, 2))
    rng = np.random.default_rng(2)
    for var in layer.weights:
        var.data = backend.asarray(rng.normal(0, 0.5, size=var.shape))
    mask = np.array([[True, True, False, True], [False, True, True, False]])
    x = rng.standard_normal((2, 4, 2))

    def forward(xt):
        return masked_recurrence(
            kind,
            xt,
            layer.kernel,
            layer.recurrent_kernel,
            layer.bias,
            mask,
            recurrent_activation=getattr(layer, "recurrent_activation", "sigmoid"),
            return_sequences=True,
            reset_after=getattr(layer, "reset_after", True),
        )

    assert check_gradients(forward, [x], variables=layer.weights) < 1e-5


def test_an_all_true_mask_gives_the_fused_kernel_result():
    layer = L.LSTM(units=3, return_sequences=True)
    x = np.random.default_rng(3).standard_normal((2, 4, 2)).astype(np.float32)
    plain = layer(Tensor(x)).numpy()
    masked = layer(Tensor(x), mask=np.ones((2, 4), dtype=bool)).numpy()
    np.testing.assert_allclose(masked, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_masked_recurrence_runs_under_the_strict_array_api(kind):
    """Only array-API spellings (so CuPy runs it too): the strict namespace gives the
    numpy result."""
    array_api_strict = pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(4)
    layer = L.LAYER_TYPES[kind](units=3, return_sequences=True)
    layer.build((4, 2))
    weights = [rng.normal(0, 0.5, size=w.shape) for w in layer.weights]
    x = rng.standard_normal((2, 4, 2))
    mask = np.array([[True, False, True, True], [False, False, True, False]])

    def run():
        args = [Tensor(backend.asarray(w)) for w in weights]
        out = masked_recurrence(
            kind,
            Tensor(backend.asarray(x)),
            *args,
            backend.asarray(mask),
            return_sequences=True,
        )
        return backend.to_numpy(out.data)

    expected = run()
    with backend.use_namespace(array_api_strict, "strict"):
        got = run()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["MultiHeadAttention", "Bidirectional", "TimeDistributed"])
def test_new_layers_run_under_the_strict_array_api(name):
    from tests.engine.layers import harness  # noqa: PLC0415

    cls = L.LAYER_TYPES[name]
    for example in cls.examples:
        harness.check_strict_namespace(cls, example)


def test_layers_that_keep_the_steps_pass_the_mask_on_like_keras():
    """Each layer Keras marks ``supports_masking`` hands the mask to the LSTM after it."""
    for type_name, config in [
        ("ReLU", {}),
        ("LeakyReLU", {}),
        ("ELU", {}),
        ("PReLU", {}),
        ("GaussianNoise", {"stddev": 0.1}),
        ("GaussianDropout", {"rate": 0.1}),
        ("SpatialDropout1D", {"rate": 0.1}),
        ("Activation", {"activation": "tanh"}),
    ]:
        ours, theirs = build_both([(type_name, config), ("LSTM", {"units": 3})])
        expected = to_numpy(theirs(IDS, training=False))
        got = ours.predict(IDS, verbose=0)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5, err_msg=type_name)

"""The exported nn.Module computes the engine's outputs (max abs error <= 1e-5, float32) for
every shipped example and for every layer family, and untranslatable nodes are refused by
name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import engine  # noqa: E402
from engine import layers as L  # noqa: E402
from engine.export_pytorch import PyTorchExportError  # noqa: E402
from engine.export_pytorch.model_code import build_model_code  # noqa: E402
from tests.engine.export_pytorch.torch_package import torch_module  # noqa: E402

EXAMPLES = sorted((Path(__file__).parents[3] / "resources" / "examples").glob("*.lcproj"))


def _inputs(model, n=4, seed=0):
    rng = np.random.default_rng(seed)
    xs = []
    for t in model.inputs:
        shape = (n, *t.layer.config["shape"])
        if t.layer.config.get("dtype") == "int64":
            xs.append(rng.integers(0, 10, size=shape))
        else:
            xs.append(rng.standard_normal(shape).astype(np.float32))
    return xs


def _compare(model, tmp_path, tol=1e-5):
    _, net, _ = torch_module(model, tmp_path)
    net.eval()
    xs = _inputs(model)
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    with torch.no_grad():
        got = net(*[torch.from_numpy(x) for x in xs])
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, tuple) else (got,)
    for e, g in zip(expected, got):
        assert g.shape == e.shape
        assert np.abs(g.numpy() - e).max() <= tol


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_matches_the_engine(path, tmp_path):
    from engine.graph.convert import copy_matching_weights, model_from_document
    from engine.graph.project import load_project
    from engine.io import load_model

    project = load_project(path)
    engine.set_random_seed(0)
    model = model_from_document(project.graph)
    if project.weights is not None:  # transfer_learning starts from a pre-trained base
        copy_matching_weights(load_model(project.weights_path, compile=False), model)
    # Moving statistics away from 0/1 so BatchNormalization's inference form is checked.
    for layer in model.layers:
        if layer.type_name == "BatchNormalization":
            w = layer.get_weights()
            layer.set_weights([w[0] * 1.5, w[1] + 0.2, w[2] + 0.3, w[3] * 2.0])
    _compare(model, tmp_path)


def _model(shape, build, dtype="float32"):
    engine.set_random_seed(1)
    x = engine.Input(shape=shape, dtype=dtype)
    return engine.Model(x, build(x), name="case")


CASES = {
    "conv1d_causal_pools": (
        (12, 3),
        lambda x: L.GlobalMaxPooling1D()(
            L.AveragePooling1D(2, padding="same")(
                L.MaxPooling1D(3, strides=2, padding="same")(
                    L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu")(x)
                )
            )
        ),
    ),
    "gru_simple_rnn": (
        (6, 3),
        lambda x: L.Dense(3, activation="sigmoid")(
            L.GRU(5)(L.SimpleRNN(4, return_sequences=True)(x))
        ),
    ),
    "lstm_sequences_layernorm": (
        (5, 3),
        lambda x: L.GlobalAveragePooling1D()(
            L.LayerNormalization()(L.LSTM(4, return_sequences=True)(x))
        ),
    ),
    "conv_strided_same_bn_axis": (
        (3, 9, 7),
        lambda x: L.Flatten()(
            L.BatchNormalization()(L.Conv2D(4, 3, strides=2, padding="same", activation="elu")(x))
        ),
    ),
    "transpose_depthwise_separable": (
        (2, 5, 5),
        lambda x: L.SeparableConv2D(3, 3, padding="same")(
            L.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(
                L.Conv2DTranspose(2, 3, strides=2, padding="same")(x)
            )
        ),
    ),
    "transpose_valid_groupnorm": (
        (4, 4, 4),
        lambda x: L.GroupNormalization(groups=2)(L.Conv2DTranspose(4, 2, strides=3)(x)),
    ),
    "resample_pad_crop": (
        (2, 6, 6),
        lambda x: L.Cropping2D(((1, 0), (0, 2)))(
            L.UpSampling2D(2, interpolation="bilinear")(L.ZeroPadding2D(1)(L.UpSampling2D(2)(x)))
        ),
    ),
    "pool_same_activations": (
        (2, 7, 7),
        lambda x: L.PReLU()(
            L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2)(
                L.LeakyReLU(0.1)(
                    L.AveragePooling2D(3, strides=1, padding="same")(
                        L.MaxPooling2D(3, strides=2, padding="same")(x)
                    )
                )
            )
        ),
    ),
    "merges": (
        (6,),
        lambda x: L.Concatenate()(
            [
                L.Add()([L.Dense(4)(x), L.Dense(4)(x)]),
                L.Subtract()([L.Dense(4)(x), L.Dense(4)(x)]),
                L.Multiply()([L.Dense(4)(x), L.Dense(4)(x)]),
                L.Average()([L.Dense(4)(x), L.Dense(4)(x)]),
                L.Maximum()([L.Dense(4)(x), L.Dense(4)(x)]),
                L.Minimum()([L.Dense(4, activation="gelu")(x), L.Dense(4, activation="swish")(x)]),
                L.GELU(approximate=True)(x),
            ]
        ),
    ),
    "reshape_permute_softmax": (
        (12,),
        lambda x: L.Softmax()(L.Flatten()(L.Permute((2, 1))(L.Reshape((3, 4))(x)))),
    ),
    "embedding_noise_identity": (
        (5,),
        lambda x: L.Flatten()(
            L.GaussianDropout(0.3)(
                L.GaussianNoise(0.2)(L.SpatialDropout1D(0.3)(L.Embedding(10, 3)(x)))
            )
        ),
        "int64",
    ),
    "bidirectional_lstm_gru_rnn": (
        (6, 3),
        lambda x: L.Concatenate()(
            [
                L.Bidirectional(layer="LSTM", units=4)(x),
                L.GlobalAveragePooling1D()(
                    L.Bidirectional(layer="GRU", units=3, merge_mode="sum", return_sequences=True)(
                        x
                    )
                ),
                L.Bidirectional(layer="SimpleRNN", units=2, merge_mode="ave")(x),
                L.Bidirectional(layer="LSTM", units=2, merge_mode="mul", use_bias=False)(x),
            ]
        ),
    ),
    "time_distributed": (
        (4, 1, 6, 6),
        lambda x: L.TimeDistributed(layer="Dense", units=3, activation="softmax")(
            L.TimeDistributed(layer="Flatten")(
                L.TimeDistributed(layer="Conv2D", filters=2, kernel_size=3)(x)
            )
        ),
    ),
    "dot_sequences_and_cosine": (
        (5, 4),
        lambda x: L.Concatenate()(
            [
                L.Flatten()(L.Dot(axes=(2, 2))([x, L.Dense(4)(x)])),
                L.Dot(axes=-1, normalize=True)([L.Flatten()(x), L.Dense(20)(L.Flatten()(x))]),
                L.Flatten()(L.Dot(axes=(1, 1))([x, L.Dense(3)(x)])),
            ]
        ),
    ),
    "attention": (
        (6, 4),
        lambda x: L.Add()(
            [
                L.MultiHeadAttention(num_heads=2, key_dim=3, use_causal_mask=True)([x, x]),
                L.MultiHeadAttention(
                    num_heads=3, key_dim=2, value_dim=5, output_shape=4, use_bias=False
                )([x, L.Dense(6)(x), L.Dense(2)(x)]),
            ]
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_families_match_the_engine(case, tmp_path):
    shape, build, *dtype = CASES[case]
    model = _model(shape, build, *dtype)
    # Every weight moved off its initial value (PReLU's zero slopes, zero biases, unit
    # variances would hide a wrong mapping).
    rng = np.random.default_rng(5)
    for layer in model.layers:
        arrays = [
            w + 0.2 * rng.standard_normal(w.shape).astype(w.dtype) for w in layer.get_weights()
        ]
        if layer.type_name == "BatchNormalization":
            arrays[-1] = np.abs(arrays[-1]) + 0.5  # a variance
        layer.set_weights(arrays)
    _compare(model, tmp_path)


def test_repeat_vector_and_dropouts_are_identity_at_inference(tmp_path):
    model = _model(
        (4,),
        lambda x: L.Flatten()(
            L.SpatialDropout2D(0.5)(
                L.Reshape((2, 1, 4))(L.Flatten()(L.RepeatVector(2)(L.Dropout(0.5)(x))))
            )
        ),
    )
    _compare(model, tmp_path)


def test_nodes_without_a_pytorch_form_are_refused_by_name():
    model = _model(
        (4,),
        lambda x: L.Dense(3, name="head")(L.Dense(5, kernel_regularizer="l2", name="hidden")(x)),
    )
    with pytest.raises(PyTorchExportError, match="'hidden'.*kernel_regularizer"):
        build_model_code(model)
    model = _model((4, 3), lambda x: L.GRU(2, reset_after=False, name="old_gru")(x))
    with pytest.raises(PyTorchExportError, match="'old_gru'.*reset_after"):
        build_model_code(model)

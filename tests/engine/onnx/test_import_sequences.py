"""ONNX import of LAYERS-C's patterns: PyTorch's bidirectional ``nn.LSTM`` / ``nn.GRU`` /
``nn.RNN`` (``batch_first=True``, exported at opset 17 by the TorchScript exporter) become
one ``Bidirectional`` layer matching onnxruntime; ours come back with their merge mode;
PyTorch's ``nn.MultiheadAttention`` becomes one ``MultiHeadAttention``; patterns without a
LayerCanvas equivalent (a bidirectional output read another way) are refused naming the
node."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import engine
import engine.layers as L  # noqa: N812
from engine.onnx import OnnxImportError, export_model, import_model
from tests.engine.onnx.test_import_layers_a import check, torch_onnx


class Around(nn.Module):
    """``fn(inner, x)``, with ``inner``'s weights registered (exported as weights)."""

    def __init__(self, inner: nn.Module, fn):
        super().__init__()
        self.inner, self.fn = inner, fn

    def forward(self, x):
        return self.fn(self.inner, x)


TORCH_MODULE = {"LSTM": nn.LSTM, "GRU": nn.GRU, "RNN": nn.RNN}
LAYER_OF = {"LSTM": "LSTM", "GRU": "GRU", "RNN": "SimpleRNN"}


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_pytorch_bidirectional_sequences_are_one_bidirectional_layer(kind):
    torch.manual_seed(0)
    module = TORCH_MODULE[kind](4, 3, batch_first=True, bidirectional=True)
    result = check(torch_onnx(Around(module, lambda m, x: m(x)[0]), (5, 4)), ["Bidirectional"])
    layer = result.model.layers[1]
    assert (layer.layer, layer.merge_mode, layer.return_sequences) == (
        LAYER_OF[kind],
        "concat",
        True,
    )


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_our_bidirectional_comes_back_with_its_merge_mode(tmp_path, merge_mode, return_sequences):
    inputs = engine.Input((4, 3))
    layer = L.Bidirectional(
        layer="GRU", units=2, merge_mode=merge_mode, return_sequences=return_sequences
    )
    model = engine.Model(inputs, layer(inputs))
    export_model(model, tmp_path / "m.onnx")
    imported = import_model(tmp_path / "m.onnx").model
    again = imported.layers[1]
    assert (again.type_name, again.merge_mode, again.layer) == ("Bidirectional", merge_mode, "GRU")
    x = np.random.default_rng(0).standard_normal((3, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        imported.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_bidirectional_last_state_read_by_index_is_refused_by_name():
    """PyTorch's ``h_n[0] + h_n[1]`` (a Gather per direction on h_n, added) is not one of
    Bidirectional's merges in PyTorch's export form: the node is named in the refusal."""
    torch.manual_seed(0)
    module = nn.LSTM(4, 3, batch_first=True, bidirectional=True)
    model = torch_onnx(Around(module, lambda m, x: m(x)[1][0] + m(x)[1][1]), (5, 4))
    with pytest.raises(OnnxImportError, match="node '.*bidirectional direction"):
        import_model(model)


def test_pytorch_multi_head_attention_is_one_layer():
    """PyTorch's nn.MultiheadAttention (packed in_proj, scale from shapes) is one
    MultiHeadAttention layer (engine/onnx/import_transformer.py); refusals of what it
    cannot compute are in test_import_transformer.py."""
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    model = torch_onnx(Around(attention, lambda m, x: m(x, x, x, need_weights=False)[0]), (4, 8))
    check(model, ["MultiHeadAttention"])


@pytest.mark.parametrize(
    ("config", "shapes"),
    [
        ({"num_heads": 2, "key_dim": 3}, [(4, 6)]),
        ({"num_heads": 2, "key_dim": 2, "use_causal_mask": True}, [(5, 4)]),
        (
            {"num_heads": 3, "key_dim": 2, "value_dim": 4, "output_shape": 5},
            [(3, 4), (6, 5), (6, 2)],
        ),
    ],
)
def test_our_multi_head_attention_comes_back_as_one_layer(tmp_path, config, shapes):
    inputs = [engine.Input(s) for s in shapes]
    layer = L.MultiHeadAttention(**config)
    ports = [inputs[0], inputs[0]] if len(inputs) == 1 else inputs
    model = engine.Model(inputs, layer(ports))
    rng = np.random.default_rng(0)
    layer.set_weights([rng.normal(0, 0.5, size=w.shape) for w in layer.get_weights()])
    export_model(model, tmp_path / "m.onnx")
    imported = import_model(tmp_path / "m.onnx").model
    again = [x for x in imported.layers if x.type_name != "Input"]
    assert [x.type_name for x in again] == ["MultiHeadAttention"]
    for key, value in config.items():
        assert getattr(again[0], key) == value
    for mine, theirs in zip(again[0].get_weights(), layer.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6)
    arrays = [rng.standard_normal((3, *s)).astype(np.float32) for s in shapes]
    feed = arrays if len(arrays) > 1 else arrays[0]
    np.testing.assert_allclose(
        imported.predict(feed, verbose=0), model.predict(feed, verbose=0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("config", "shape"),
    [
        ({"layer": "Dense", "units": 3, "activation": "relu"}, (4, 5)),
        ({"layer": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "same"}, (3, 1, 5, 5)),
        ({"layer": "MaxPooling2D", "pool_size": 2}, (3, 2, 4, 4)),
    ],
)
def test_our_time_distributed_comes_back_as_one_layer(tmp_path, config, shape):
    inputs = engine.Input(shape)
    model = engine.Model(inputs, L.TimeDistributed(**config)(inputs))
    export_model(model, tmp_path / "m.onnx")
    imported = import_model(tmp_path / "m.onnx").model
    again = [x for x in imported.layers if x.type_name != "Input"]
    assert [(x.type_name, x.layer) for x in again] == [("TimeDistributed", config["layer"])]
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        imported.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_fold_whose_steps_hold_two_layers_is_refused_by_name(tmp_path):
    """Reshape / Dense / Dense / Reshape: TimeDistributed wraps one layer."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    rng = np.random.default_rng(0)
    inits = [
        helper.make_tensor("fold", TensorProto.INT64, [2], [-1, 4]),
        helper.make_tensor("unfold", TensorProto.INT64, [3], [-1, 3, 2]),
        helper.make_tensor("w1", TensorProto.FLOAT, [4, 2], rng.normal(size=8).tolist()),
        helper.make_tensor("w2", TensorProto.FLOAT, [2, 2], rng.normal(size=4).tolist()),
    ]
    nodes = [
        helper.make_node("Reshape", ["x", "fold"], ["f"], name="fold_steps"),
        helper.make_node("MatMul", ["f", "w1"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="relu"),
        helper.make_node("MatMul", ["b", "w2"], ["c"], name="second"),
        helper.make_node("Reshape", ["c", "unfold"], ["y"], name="unfold_steps"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 2])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(OnnxImportError, match="fold_steps.*TimeDistributed wraps one layer"):
        import_model(model)

"""The ONNX files ``torch.onnx.export`` (opset 17, eval mode) writes for torchvision's
classifiers and for plain PyTorch sequence models import with onnxruntime's numbers.

Each model is built here with random weights (fixed seed; BatchNorm statistics of a random
batch, so the outputs are of real size), exported at test time, imported, run on a
224x224 image at batch 1 and compared with onnxruntime on the same file (max abs <= 1e-4);
the imported model is exported again and onnxruntime on that file must agree too. The
parameter count is PyTorch's: in eval mode the exporter folds each BatchNorm that follows
a convolution into it (the convolution keeps a bias, the scale and shift go), so a file
has the count of PyTorch's own Conv+BatchNorm fusion (torch.fx), and a file exported with
the BatchNorms kept (``training=PRESERVE``) has ``sum(p.numel() for p in
model.parameters())`` exactly.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import pytest
import torch

from engine.onnx import import_model
from engine.onnx.export import build_onnx_model
from tests.engine.onnx.onnx_graphs import run_onnxruntime
from tests.torchvision_models import (
    FAMILIES,
    SEQUENCE_MODELS,
    build,
    export_onnx,
    fused_parameter_count,
    parameter_count,
)

IMAGE = (3, 224, 224)
TOLERANCE = 1e-4  # max abs, the bar


def trainable_count(model) -> int:
    return int(sum(w.size for w in model.trainable_weights))


def assert_reads_top_to_bottom(result) -> None:
    """Every edge of the imported graph points down its column, or on to a column further
    right (long graphs wrap into columns, read like a newspaper)."""
    doc = result.graph_document()
    at = {node.id: node.position for node in doc.nodes}
    for edge in doc.edges:
        (sx, sy), (tx, ty) = at[edge.source], at[edge.target]
        assert ty > sy or tx > sx + 100, (edge.source, edge.target)


def check_parity(proto: onnx.ModelProto, result, x: np.ndarray, min_scale=0.05) -> float:
    """The imported model and its re-export both match onnxruntime on ``proto``."""
    (expected,) = run_onnxruntime(proto, {proto.graph.input[0].name: x})
    assert np.abs(expected).max() > min_scale  # vanishing outputs would prove nothing
    got = result.model.predict(x, verbose=0)
    assert got.shape == expected.shape
    error = float(np.abs(got - expected).max())
    assert error <= TOLERANCE
    again = build_onnx_model(result.model)
    (back,) = run_onnxruntime(again, {again.graph.input[0].name: x})
    assert float(np.abs(back - expected).max()) <= TOLERANCE
    return error


@pytest.mark.parametrize("name", list(FAMILIES))
def test_torchvision_classifier_imports_with_onnxruntime_parity(name):
    module = build(name)
    proto = export_onnx(module, IMAGE)
    result = import_model(proto)
    x = np.random.default_rng(1).normal(size=(1, *IMAGE)).astype(np.float32)
    check_parity(proto, result, x)
    assert trainable_count(result.model) == fused_parameter_count(module)
    assert_reads_top_to_bottom(result)


def test_batchnorms_kept_in_the_file_give_pytorchs_parameter_count_exactly():
    module = build("resnet18")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.randn(1, *IMAGE),),
            buffer,
            opset_version=17,
            dynamo=False,
            training=torch.onnx.TrainingMode.PRESERVE,
            input_names=["input"],
        )
    proto = onnx.load_from_string(buffer.getvalue())
    assert any(n.op_type == "BatchNormalization" for n in proto.graph.node)
    result = import_model(proto)
    assert trainable_count(result.model) == parameter_count(module)
    types = {layer.type_name for layer in result.model.layers}
    assert "BatchNormalization" in types
    x = np.random.default_rng(2).normal(size=(1, *IMAGE)).astype(np.float32)
    check_parity(proto, result, x)


def test_plain_pytorch_1d_cnn_imports_with_parity():
    builder, shape = SEQUENCE_MODELS["conv1d"]
    torch.manual_seed(0)
    module = builder().eval()
    proto = export_onnx(module, shape)
    result = import_model(proto)
    x = np.random.default_rng(3).normal(size=(4, *shape)).astype(np.float32)
    check_parity(proto, result, x)
    assert trainable_count(result.model) == fused_parameter_count(module)


@pytest.mark.parametrize("name", ["bilstm", "bigru"])
def test_bidirectional_lstm_and_gru_import_with_parity(name):
    """nn.LSTM / nn.GRU (batch_first, bidirectional) with ``out[:, -1]`` classified: one
    Bidirectional layer, the last step picked by a crop, onnxruntime's numbers."""
    builder, shape = SEQUENCE_MODELS[name]
    torch.manual_seed(0)
    module = builder().eval()
    proto = export_onnx(module, shape)
    result = import_model(proto)
    types = [layer.type_name for layer in result.model.layers]
    assert types.count("Bidirectional") == 1 and types[-1] == "Dense"
    x = np.random.default_rng(4).normal(size=(3, *shape)).astype(np.float32)
    check_parity(proto, result, x, min_scale=0.01)
    # Keras's LSTM has one bias where PyTorch's has two (b_ih + b_hh, summed on import).
    merged = sum(p.numel() for n, p in module.named_parameters() if "bias_hh" in n)
    expected = parameter_count(module) - (merged if name == "bilstm" else 0)
    assert trainable_count(result.model) == expected


def test_transformer_encoder_imports_with_parity():
    """nn.TransformerEncoder (batch_first, two layers): each self-attention block becomes
    one MultiHeadAttention layer (the transposes around it fold away), onnxruntime's
    numbers, PyTorch's parameter count, a graph that reads top to bottom. Other variants
    and refusals: tests/engine/onnx/test_import_transformer.py."""
    builder, shape = SEQUENCE_MODELS["transformer"]
    torch.manual_seed(0)
    module = builder().eval()
    proto = export_onnx(module, shape)
    result = import_model(proto)
    types = [layer.type_name for layer in result.model.layers]
    assert types.count("MultiHeadAttention") == 2 and "Permute" not in types
    x = np.random.default_rng(4).normal(size=(3, *shape)).astype(np.float32)
    check_parity(proto, result, x, min_scale=0.01)
    assert trainable_count(result.model) == parameter_count(module)
    assert_reads_top_to_bottom(result)


def test_cli_imports_a_torchvision_file_into_a_project(tmp_path, capsys):
    """``layercanvas import squeezenet.onnx --out P.lcproj`` writes a project whose weights
    give onnxruntime's numbers."""
    from app import cli  # noqa: PLC0415
    from engine.graph.project import load_project  # noqa: PLC0415
    from engine.io import load_model  # noqa: PLC0415

    source = tmp_path / "squeezenet.onnx"
    proto = export_onnx(build("squeezenet1_1"), IMAGE)
    onnx.save(proto, source)
    project_path = tmp_path / "imported" / "squeezenet.lcproj"
    code = cli.main(["import", str(source), "--out", str(project_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "imported" in out
    project = load_project(project_path)
    model = load_model(project.weights_path)
    x = np.random.default_rng(5).normal(size=(1, *IMAGE)).astype(np.float32)
    (expected,) = run_onnxruntime(proto, {"input": x})
    assert float(np.abs(model.predict(x, verbose=0) - expected).max()) <= TOLERANCE

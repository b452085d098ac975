"""PyTorch's self-attention (``nn.MultiheadAttention``, inside ``nn.TransformerEncoder`` or
alone), exported by ``torch.onnx.export`` (opset 17), imports as one ``MultiHeadAttention``
layer per block: onnxruntime on the same file is the judge (max abs <= 1e-4), the imported
model trains and exports again with the same numbers, and the weights are PyTorch's own
(``in_proj`` split into query / key / value per head). What MultiHeadAttention cannot
compute (a mask that is not causal, a mask given to the model, attention along the axis
LayerCanvas keeps for the batch) is refused, naming the block and the node responsible.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import helper

from engine.onnx import OnnxImportError, import_model
from engine.onnx.export import build_onnx_model
from engine.onnx.import_transformer_check import CheckRefused, run_checked
from tests.engine.onnx.onnx_graphs import run_onnxruntime
from tests.torchvision_models import SelfAttention, SmallTransformer, export_onnx

TOLERANCE = 1e-4  # max abs, the issue's bar
STEPS, FEATURES = 12, 16


def attention_layers(model) -> list:
    return [layer for layer in model.layers if layer.type_name == "MultiHeadAttention"]


def assert_matches_onnxruntime(proto, result, x: np.ndarray) -> None:
    """The imported model and its re-export both give onnxruntime's numbers on ``proto``."""
    (expected,) = run_onnxruntime(proto, {proto.graph.input[0].name: x})
    assert np.abs(expected).max() > 0.05  # vanishing outputs would prove nothing
    got = result.model.predict(x, verbose=0)
    assert got.shape == expected.shape
    assert float(np.abs(got - expected).max()) <= TOLERANCE
    again = build_onnx_model(result.model)
    (back,) = run_onnxruntime(again, {again.graph.input[0].name: x})
    assert float(np.abs(back - expected).max()) <= TOLERANCE


@pytest.mark.parametrize(
    "options",
    [{}, {"norm_first": True}, {"mask": "causal"}],
    ids=["post-norm", "pre-norm", "causal"],
)
def test_transformer_encoder_blocks_are_multi_head_attention_layers(options):
    torch.manual_seed(0)
    module = SmallTransformer(**options).eval()
    proto = export_onnx(module, (STEPS, FEATURES))
    result = import_model(proto)
    layers = attention_layers(result.model)
    assert len(layers) == 2
    for layer in layers:
        assert (layer.num_heads, layer.key_dim, layer.use_bias) == (4, 4, True)
        assert layer.use_causal_mask == (options.get("mask") == "causal")
    x = np.random.default_rng(1).normal(size=(3, STEPS, FEATURES)).astype(np.float32)
    assert_matches_onnxruntime(proto, result, x)
    trainable = sum(w.size for w in result.model.trainable_weights)
    assert trainable == sum(p.numel() for p in module.parameters())


def test_in_proj_is_split_per_head_into_kerass_layout():
    """The first block's weights are PyTorch's: ``in_proj_weight`` (3D, D) transposed and
    cut in query / key / value, each (D, heads, head_dim); ``out_proj`` (heads, head_dim, D)."""
    torch.manual_seed(0)
    module = SmallTransformer().eval()
    result = import_model(export_onnx(module, (STEPS, FEATURES)))
    layer = attention_layers(result.model)[0]
    names = [w.name.split("/")[-1] for w in layer.weights]
    weights = dict(zip(names, layer.get_weights(), strict=True))
    torch_attention = module.encoder.layers[0].self_attn
    packed = torch_attention.in_proj_weight.detach().numpy()
    packed_bias = torch_attention.in_proj_bias.detach().numpy()
    for i, role in enumerate(("query", "key", "value")):
        rows = slice(i * FEATURES, (i + 1) * FEATURES)
        kernel = weights[next(n for n in names if n.startswith(f"{role}_kernel"))]
        bias = weights[next(n for n in names if n.startswith(f"{role}_bias"))]
        np.testing.assert_array_equal(kernel, packed[rows].T.reshape(FEATURES, 4, 4))
        np.testing.assert_array_equal(bias, packed_bias[rows].reshape(4, 4))
    out = weights[next(n for n in names if n.startswith("attention_output_kernel"))]
    np.testing.assert_array_equal(
        out, torch_attention.out_proj.weight.detach().numpy().T.reshape(4, 4, FEATURES)
    )


def test_imported_transformer_trains_one_step_with_a_finite_loss():
    torch.manual_seed(0)
    result = import_model(export_onnx(SmallTransformer().eval(), (STEPS, FEATURES)))
    model = result.model
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, STEPS, FEATURES)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    layer = attention_layers(model)[0]
    before = [w.copy() for w in layer.get_weights()]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, layer.get_weights(), strict=True))


@pytest.mark.parametrize(
    "options",
    [{}, {"bias": False}, {"layout": "transposed"}],
    ids=["batch_first", "no-bias", "steps-first-inside"],
)
def test_a_lone_multihead_attention_is_one_layer(options):
    """``nn.MultiheadAttention`` alone: batch first, without biases, and PyTorch's default
    (steps, batch, features) module behind transposes (which fold away: no Permute)."""
    torch.manual_seed(0)
    proto = export_onnx(SelfAttention(**options).eval(), (7, 12))
    result = import_model(proto)
    types = [layer.type_name for layer in result.model.layers]
    assert types == ["Input", "MultiHeadAttention"]
    layer = result.model.layers[1]
    assert (layer.num_heads, layer.key_dim, layer.use_bias) == (3, 4, options.get("bias", True))
    x = np.random.default_rng(3).normal(size=(2, 7, 12)).astype(np.float32)
    assert_matches_onnxruntime(proto, result, x)


@pytest.mark.parametrize("options", [{}, {"mask": "causal"}], ids=["plain", "causal"])
def test_a_steps_first_encoder_behind_a_transpose_imports_without_permutes(options):
    torch.manual_seed(0)
    module = SmallTransformer(batch_first=False, **options).eval()
    proto = export_onnx(module, (STEPS, FEATURES))
    result = import_model(proto)
    types = [layer.type_name for layer in result.model.layers]
    assert types.count("MultiHeadAttention") == 2 and "Permute" not in types
    x = np.random.default_rng(6).normal(size=(3, STEPS, FEATURES)).astype(np.float32)
    assert_matches_onnxruntime(proto, result, x)


def test_a_mask_that_is_not_causal_is_refused_naming_the_block_and_the_mask():
    torch.manual_seed(0)
    proto = export_onnx(SmallTransformer(mask="band").eval(), (STEPS, FEATURES))
    softmax = next(n for n in proto.graph.node if n.op_type == "Softmax")
    mask_add = next(n for n in proto.graph.node if softmax.input[0] in n.output)
    with pytest.raises(OnnxImportError) as refused:
        import_model(proto)
    (issue,) = refused.value.issues  # the second block reads the first: not reported again
    assert issue.node == softmax.name.rsplit("/", 1)[0]  # the block's scope
    assert mask_add.op_type == "Add" and repr(mask_add.name) in issue.reason
    assert "causal" in issue.reason
    assert issue.node in str(refused.value)


def test_a_padding_mask_given_to_the_model_is_refused_naming_the_node_reading_it():
    torch.manual_seed(0)
    proto = export_onnx(SelfAttention(padding_mask=True).eval(), (7, 12), (7,))
    mask_input = proto.graph.input[1].name
    readers = {n.name for n in proto.graph.node if mask_input in n.input}
    with pytest.raises(OnnxImportError) as refused:
        import_model(proto)
    (issue,) = refused.value.issues
    assert repr(mask_input) in issue.reason and "mask" in issue.reason
    assert any(repr(name) in issue.reason for name in readers)


def test_attention_along_the_batch_axis_is_refused_with_the_fix():
    """A model that takes (steps, batch, features): LayerCanvas's batch is axis 0, and
    the attention runs along it."""
    torch.manual_seed(0)
    proto = export_onnx(SelfAttention(layout="steps_first").eval(), (2, 12))
    with pytest.raises(OnnxImportError, match="batch_first=True") as refused:
        import_model(proto)
    (issue,) = refused.value.issues
    assert "axis 0" in issue.reason


def _graph(nodes, inputs, output="y"):
    floats = onnx.TensorProto.FLOAT
    return helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(name, floats, None) for name in inputs],
        [helper.make_tensor_value_info(output, floats, None)],
    )


def test_the_check_run_gives_onnxs_numbers_and_refuses_a_result_past_its_budget():
    """A block's check run is ONNX's reference implementation; a file whose block would
    broadcast two vectors into 10**10 values is refused before anything is allocated."""
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415

    small = _graph([helper.make_node("MatMul", ["a", "b"], ["y"])], ["a", "b"])
    rng = np.random.default_rng(5)
    feeds = {"a": rng.normal(size=(2, 3, 4)), "b": rng.normal(size=(4, 5))}
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    model = helper.make_model(small, opset_imports=[helper.make_opsetid("", 17)])
    (expected,) = ReferenceEvaluator(model).run(None, feeds)
    np.testing.assert_array_equal(run_checked(small, feeds, 17)[0], expected)
    huge = _graph([helper.make_node("Add", ["a", "b"], ["y"])], ["a", "b"])
    column, row = np.zeros((100_000, 1), np.float32), np.zeros((1, 100_000), np.float32)
    with pytest.raises(CheckRefused, match="Add"):
        run_checked(huge, {"a": column, "b": row}, 17)
    unknown = _graph([helper.make_node("Resize", ["a"], ["y"])], ["a"])
    with pytest.raises(CheckRefused, match="Resize"):
        run_checked(unknown, {"a": column}, 17)

"""ONNX import of LAYERS-B's operators and patterns: PyTorch modules exported with
``torch.onnx.export`` (opset 17, the TorchScript exporter) or graphs built with
``onnx.helper`` import into the expected layers and match onnxruntime (the independent
reference) on a fresh batch; the engine's own export of each type imports back to it."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import pytest
import torch
from torch import nn

import engine.layers as L  # noqa: N812
from engine.layers.base import Input
from engine.onnx import OnnxImportError, export_model, import_model
from tests.engine.onnx.onnx_graphs import run_onnxruntime
from tests.engine.onnx.test_onnx_import_patterns import node

RNG = np.random.default_rng(0)


def torch_onnx(module: nn.Module, *shapes) -> onnx.ModelProto:
    """``module`` exported by PyTorch at opset 17 with a dynamic batch axis."""
    module.eval()
    names = [f"x{i}" for i in range(len(shapes))]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(torch.randn(2, *s) for s in shapes),
            buffer,
            opset_version=17,
            dynamo=False,
            input_names=names,
            output_names=["y"],
            dynamic_axes={n: {0: "batch"} for n in [*names, "y"]},
        )
    return onnx.load_from_string(buffer.getvalue())


def check(model: onnx.ModelProto, expected_types: list[str], batch: int = 3):
    """Import ``model``: its layers are ``expected_types`` and it matches onnxruntime."""
    result = import_model(model)
    types = [layer.type_name for layer in result.model.layers if layer.type_name != "Input"]
    assert types == expected_types
    feeds = {}
    for value_info in model.graph.input:
        dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim][1:]
        feeds[value_info.name] = (RNG.normal(size=(batch, *dims)) * 3).astype(np.float32)
    expected = run_onnxruntime(model, feeds)
    arrays = list(feeds.values())
    got = result.model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    got = got if isinstance(got, list) else [got]
    for want, have in zip(expected, got, strict=True):
        assert have.shape == want.shape
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5)
    return result


# -- activations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "activation"),
    [
        (nn.SiLU(), "silu"),
        (nn.Mish(), "mish"),
        (nn.GELU(), "gelu"),
        (nn.ReLU6(), "relu6"),
        (nn.Hardswish(), "hard_silu"),
        (nn.Hardsigmoid(), "hard_sigmoid"),
        (nn.SELU(), "selu"),
        (nn.Softsign(), "softsign"),
        (nn.Sigmoid(), "sigmoid"),
        (nn.Tanh(), "tanh"),
    ],
)
def test_torch_activation_after_linear_fuses_into_dense(module, activation):
    result = check(torch_onnx(nn.Sequential(nn.Linear(5, 4), module), (5,)), ["Dense"])
    assert result.model.layers[-1].activation == activation


@pytest.mark.parametrize(
    ("module", "activation"),
    [(nn.SiLU(), "silu"), (nn.Mish(), "mish"), (nn.Hardswish(), "hard_silu")],
)
def test_torch_activation_on_its_own_is_an_activation_layer(module, activation):
    result = check(torch_onnx(module, (3, 4)), ["Activation"])
    assert result.model.layers[-1].activation == activation


def test_torch_tanh_gelu_becomes_one_gelu_layer():
    result = check(torch_onnx(nn.GELU(approximate="tanh"), (6,)), ["GELU"])
    assert result.model.layers[-1].approximate is True


def test_torch_prelu_per_channel_after_conv():
    module = nn.Sequential(nn.Conv2d(2, 3, 3), nn.PReLU(3))
    with torch.no_grad():
        module[1].weight.uniform_(0.05, 0.5)
    result = check(torch_onnx(module, (2, 6, 6)), ["Conv2D", "PReLU"])
    prelu = result.model.layers[-1]
    assert prelu.shared_axes == (2, 3) and prelu.get_weights()[0].shape == (3, 1, 1)


def test_clip_with_a_ceiling_is_a_relu_layer():
    graph = onnx.helper.make_graph(
        [node("Clip", ["x", "lo", "hi"], ["y"], "clip")],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])],
        [
            onnx.numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
            onnx.numpy_helper.from_array(np.array(2.5, np.float32), "hi"),
        ],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    result = check(model, ["ReLU"])
    assert result.model.layers[-1].max_value == 2.5


def test_keras_2_hard_sigmoid_is_refused_with_the_reason():
    graph = onnx.helper.make_graph(
        [node("HardSigmoid", ["x"], ["y"], "hs")],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4])],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    with pytest.raises(OnnxImportError, match="alpha 1/6"):
        import_model(model)


@pytest.mark.parametrize(
    ("make", "shape", "types"),
    [
        (lambda: L.GELU(approximate=True), (5,), ["GELU"]),
        (lambda: L.GELU(), (5,), ["Activation"]),
        (lambda: L.ReLU(max_value=6.0), (5,), ["Activation"]),
        (lambda: L.ReLU(max_value=2.0), (5,), ["ReLU"]),
        (lambda: L.ReLU(threshold=0.5), (5,), ["ReLU"]),
        (lambda: L.PReLU(shared_axes=[2, 3]), (3, 4, 4), ["PReLU"]),
        (lambda: L.Activation("swish"), (5,), ["Activation"]),
        (lambda: L.Activation("mish"), (2, 5), ["Activation"]),
    ],
)
def test_engine_export_imports_back(tmp_path, make, shape, types):
    from engine.models.functional import Model  # noqa: PLC0415

    x = Input(shape)
    layer = make()
    model = Model(x, layer(x))
    if layer.weights:
        layer.set_weights([RNG.uniform(0.1, 0.4, size=w.shape) for w in layer.get_weights()])
    path = tmp_path / "m.onnx"
    export_model(model, path)
    check(onnx.load(path), types)


# -- merging --------------------------------------------------------------------------------


class _Pair(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 3)

    def forward(self, x):
        return self.fn(self.a(x), self.b(x))


@pytest.mark.parametrize(("fn", "merge"), [(torch.maximum, "Maximum"), (torch.minimum, "Minimum")])
def test_torch_maximum_and_minimum_become_merge_layers(fn, merge):
    check(torch_onnx(_Pair(fn), (4,)), ["Dense", "Dense", merge])


def test_onnx_mean_of_three_branches_is_an_average_layer():
    inputs = [
        onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["N", 2, 3])
        for n in ("a", "b", "c")
    ]
    graph = onnx.helper.make_graph(
        [node("Mean", ["a", "b", "c"], ["y"], "mean")],
        "g",
        inputs,
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 2, 3])],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    check(model, ["Average"])


class _Einsum(nn.Module):
    def __init__(self, equation):
        super().__init__()
        self.equation = equation

    def forward(self, x, y):
        return torch.einsum(self.equation, x, y)


@pytest.mark.parametrize(
    ("equation", "shapes", "axes"),
    [("bij,bkj->bik", [(3, 4), (5, 4)], (2, 2)), ("bji,bjk->bik", [(4, 3), (4, 2)], (1, 1))],
)
def test_torch_einsum_batch_dot_becomes_a_dot_layer(equation, shapes, axes):
    result = check(torch_onnx(_Einsum(equation), *shapes), ["Dot"])
    assert result.model.layers[-1].axes == axes


def test_einsum_that_is_not_a_batch_dot_is_refused():
    with pytest.raises(OnnxImportError, match="not a batch dot product"):
        import_model(torch_onnx(_Einsum("bij,bij->bij"), (3, 4), (3, 4)))


@pytest.mark.parametrize(
    ("axes", "shapes"), [(-1, [(4,), (4,)]), ((2, 2), [(3, 4), (2, 4)]), ((1, 1), [(3,), (3, 2)])]
)
@pytest.mark.parametrize("normalize", [False, True])
def test_engine_dot_export_imports_back_as_one_dot(tmp_path, axes, shapes, normalize):
    from engine.models.functional import Model  # noqa: PLC0415

    inputs = [Input(s) for s in shapes]
    model = Model(inputs, L.Dot(axes=axes, normalize=normalize)(inputs))
    path = tmp_path / "m.onnx"
    export_model(model, path)
    result = check(onnx.load(path), ["Dot"])
    assert result.model.layers[-1].normalize is normalize


# -- normalization ----------------------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
def test_torch_group_norm_becomes_one_group_normalization(affine):
    module = nn.Sequential(nn.Conv2d(2, 6, 3), nn.GroupNorm(3, 6, affine=affine))
    if affine:
        with torch.no_grad():
            module[1].weight.uniform_(0.5, 1.5)
            module[1].bias.normal_()
    result = check(torch_onnx(module, (2, 5, 5)), ["Conv2D", "GroupNormalization"])
    layer = result.model.layers[-1]
    assert (layer.groups, layer.axis) == (3, 1)  # without affine, PyTorch writes ones/zeros
    assert layer.epsilon == pytest.approx(1e-5)


def test_torch_instance_norm_is_group_normalization_per_channel():
    module = nn.InstanceNorm2d(3, affine=True)
    with torch.no_grad():
        module.weight.uniform_(0.5, 1.5)
        module.bias.normal_()
    result = check(torch_onnx(module, (3, 4, 4)), ["GroupNormalization"])
    assert result.model.layers[-1].groups == -1


def test_opset_21_group_normalization_operator():
    scale = np.array([0.5, 2.0, 1.0, 1.5], np.float32)
    bias = np.array([0.1, -0.3, 0.0, 0.2], np.float32)
    graph = onnx.helper.make_graph(
        [node("GroupNormalization", ["x", "s", "b"], ["y"], "gn", num_groups=2, epsilon=1e-3)],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 4, 3, 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 4, 3, 3])],
        [onnx.numpy_helper.from_array(scale, "s"), onnx.numpy_helper.from_array(bias, "b")],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 21)])
    result = check(model, ["GroupNormalization"])
    np.testing.assert_array_equal(result.model.layers[-1].get_weights()[0], scale)


@pytest.mark.parametrize(
    ("fn", "shapes", "axes"),
    [
        (torch.bmm, [(3, 4), (4, 5)], (2, 1)),
        (lambda x, y: torch.bmm(x, y.transpose(1, 2)), [(3, 4), (5, 4)], (2, 2)),
        (lambda x, y: torch.matmul(x.transpose(1, 2), y), [(4, 3), (4, 2)], (1, 1)),
    ],
)
def test_torch_bmm_of_two_inputs_becomes_a_dot_layer(fn, shapes, axes):
    result = check(torch_onnx(_Merge(fn), *shapes), ["Dot"])
    assert result.model.layers[-1].axes == axes


class _Merge(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x, y):
        return self.fn(x, y)

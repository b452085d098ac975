"""ONNX import of LAYERS-A's patterns: PyTorch modules exported with ``torch.onnx.export``
(opset 17, the TorchScript exporter) or graphs built with ``onnx.helper`` import into the
expected layers (one layer per PyTorch module) and match onnxruntime on a fresh batch."""

from __future__ import annotations

import io
import warnings

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from engine.onnx import OnnxImportError, import_model
from tests.engine.onnx.onnx_graphs import make_model, run_onnxruntime
from tests.engine.onnx.test_onnx_import_patterns import node

RNG = np.random.default_rng(0)


def torch_onnx(module: nn.Module, *shapes) -> onnx.ModelProto:
    """``module`` exported by PyTorch at opset 17 (TorchScript exporter), dynamic batch."""
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
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim][1:]
    x = RNG.normal(size=(batch, *dims)).astype(np.float32)
    (expected,) = run_onnxruntime(model, {model.graph.input[0].name: x})
    got = result.model.predict(x, verbose=0)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return result


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_pytorch_strided_conv_with_padding_1_is_one_conv2d():
    model = torch_onnx(nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU()), (3, 9, 8))
    result = check(model, ["Conv2D"])
    layer = result.model.layers[1]
    assert layer.padding == ((1, 1), (1, 1)) and layer.activation == "relu"
    assert layer.strides == (2, 2)


def test_pytorch_resnet_stem_pooling_is_one_max_pooling2d():
    model = torch_onnx(nn.MaxPool2d(3, stride=2, padding=1), (2, 9, 10))
    layer = check(model, ["MaxPooling2D"]).model.layers[1]
    assert layer.padding == ((1, 1), (1, 1)) and layer.pool_size == (3, 3)


def test_pytorch_average_pooling_without_padding_in_the_count():
    model = torch_onnx(nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 7, 7))
    check(model, ["AveragePooling2D"])


def test_pytorch_average_pooling_that_counts_the_padding_is_refused_with_the_reason():
    model = torch_onnx(nn.AvgPool2d(3, stride=2, padding=1), (2, 7, 7))
    with pytest.raises(OnnxImportError, match="count_include_pad=1"):
        import_model(model)


def test_grouped_conv_is_conv2d_with_groups():
    model = torch_onnx(nn.Conv2d(4, 6, 3, padding=1, groups=2), (4, 5, 5))
    assert check(model, ["Conv2D"]).model.layers[1].groups == 2


def test_zero_pad_and_negative_pad():
    model = torch_onnx(nn.ZeroPad2d((1, 2, 0, 3)), (2, 4, 5))
    layer = check(model, ["ZeroPadding2D"]).model.layers[1]
    assert layer.padding == ((0, 3), (1, 2))
    crop = make_model(
        [node("Pad", ["x", "pads"], ["y"], "crop", mode="constant")],
        [("x", [2, 6, 6])],
        [("y", [2, 4, 3])],
        {"pads": np.array([0, 0, -1, -2, 0, 0, -1, -1], dtype=np.int64)},
    )
    assert check(crop, ["Cropping2D"]).model.layers[1].cropping == ((1, 1), (2, 1))


def test_reflection_padding_is_refused():
    model = torch_onnx(nn.ReflectionPad2d(1), (2, 4, 5))
    with pytest.raises(OnnxImportError, match="only zero padding"):
        import_model(model)


def test_slicing_height_and_width_is_cropping2d():
    model = torch_onnx(Lambda(lambda x: x[:, :, 1:, 2:-1]), (3, 5, 6))
    assert check(model, ["Cropping2D"]).model.layers[1].cropping == ((1, 0), (2, 1))


@pytest.mark.parametrize(
    ("module", "interpolation"),
    [
        (nn.Upsample(scale_factor=2, mode="nearest"), "nearest"),
        (nn.Upsample(scale_factor=(3, 2), mode="nearest"), "nearest"),
        (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), "bilinear"),
    ],
)
def test_pytorch_upsample_is_upsampling2d(module, interpolation):
    layer = check(torch_onnx(module, (2, 3, 4)), ["UpSampling2D"]).model.layers[1]
    assert layer.interpolation == interpolation


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        (nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), "samples other"),
        (nn.Upsample(scale_factor=1.5, mode="nearest"), "whole enlargement"),
        (nn.Upsample(scale_factor=2, mode="bicubic"), "mode 'cubic'"),
    ],
)
def test_resizes_without_a_layer_are_refused_with_the_reason(module, reason):
    with pytest.raises(OnnxImportError, match=reason):
        import_model(torch_onnx(module, (2, 4, 4)))


def test_permute_and_repeat_vector():
    model = torch_onnx(Lambda(lambda x: x.permute(0, 2, 3, 1)), (2, 3, 4))
    assert check(model, ["Permute"]).model.layers[1].dims == (2, 3, 1)
    model = torch_onnx(Lambda(lambda x: x.unsqueeze(1).repeat(1, 4, 1)), (5,))
    assert check(model, ["RepeatVector"]).model.layers[1].n == 4
    expand = make_model(
        [
            node("Unsqueeze", ["x", "axes"], ["column"], "unsqueeze"),
            node("Expand", ["column", "shape"], ["y"], "repeat"),
        ],
        [("x", [5])],
        [("y", [3, 5])],
        {"axes": np.array([1], np.int64), "shape": np.array([1, 3, 5], np.int64)},
    )
    assert check(expand, ["RepeatVector"]).model.layers[1].n == 3


class SequenceConv(nn.Module):
    """PyTorch's text-CNN shape: (N, T, F) -> transpose -> Conv1d -> ReLU -> pool -> back."""

    def __init__(self, pool: str):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=1)
        self.pool = pool

    def forward(self, x):
        y = torch.relu(self.conv(x.transpose(1, 2)))
        if self.pool == "max":
            return nn.functional.max_pool1d(y, 2).transpose(1, 2)
        if self.pool == "mean":
            return y.mean(dim=2)
        return y.transpose(1, 2)


@pytest.mark.parametrize(
    ("pool", "types"),
    [
        ("none", ["Conv1D"]),
        ("max", ["Conv1D", "MaxPooling1D"]),
        ("mean", ["Conv1D", "GlobalAveragePooling1D"]),
    ],
)
def test_pytorch_conv1d_on_sequences(pool, types):
    result = check(torch_onnx(SequenceConv(pool), (7, 4)), types)
    conv = result.model.layers[1]
    assert conv.padding == "same" and conv.activation == "relu"


def test_pytorch_conv1d_on_channels_first_data_gets_permutes():
    model = torch_onnx(nn.Conv1d(3, 5, 2, stride=2), (3, 8))
    check(model, ["Permute", "Conv1D", "Permute"])


@pytest.mark.parametrize(
    ("module", "padding", "output_padding"),
    [
        (nn.ConvTranspose2d(3, 4, 2, stride=2), "valid", None),
        # The same rows as padding=1 + output_padding=1: one dropped at the top only.
        (
            nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
            ((1, 0), (1, 0)),
            None,
        ),
        (nn.ConvTranspose2d(3, 2, 3, stride=1, padding=1), "same", None),
    ],
)
def test_pytorch_conv_transpose(module, padding, output_padding):
    layer = check(torch_onnx(module, (3, 4, 5)), ["Conv2DTranspose"]).model.layers[1]
    assert (layer.padding, layer.output_padding) == (padding, output_padding)


def test_pytorch_depthwise_and_separable():
    depthwise = nn.Conv2d(4, 8, 3, padding=1, groups=4)
    layer = check(torch_onnx(depthwise, (4, 5, 6)), ["DepthwiseConv2D"]).model.layers[1]
    assert layer.depth_multiplier == 2
    separable = nn.Sequential(
        nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False), nn.Conv2d(4, 6, 1), nn.ReLU()
    )
    layer = check(torch_onnx(separable, (4, 7, 6)), ["SeparableConv2D"]).model.layers[1]
    assert (layer.filters, layer.activation, layer.padding) == (6, "relu", ((1, 1), (1, 1)))


@pytest.mark.parametrize(
    ("module", "layer_type"),
    [
        (nn.AdaptiveAvgPool1d(1), "GlobalAveragePooling1D"),
        (nn.AdaptiveMaxPool1d(1), "GlobalMaxPooling1D"),
    ],
)
def test_pytorch_adaptive_pooling_over_steps(module, layer_type):
    squeezed = Lambda(lambda x: module(x.transpose(1, 2)).squeeze(-1))
    layer = check(torch_onnx(squeezed, (7, 4)), [layer_type]).model.layers[1]
    assert layer.keepdims is False
    # Without the Squeeze the (N, C, 1) result is the keepdims layer, seen transposed.
    kept = check(
        torch_onnx(Lambda(lambda x: module(x.transpose(1, 2))), (7, 4)), [layer_type, "Permute"]
    )
    assert kept.model.layers[1].keepdims is True


def _resize(scales, shape, mode="linear", coordinates="half_pixel"):
    return make_model(
        [node("Resize", ["x", "", "scales"], ["y"], "up", mode=mode,
              coordinate_transformation_mode=coordinates, nearest_mode="floor")],
        [("x", shape)],
        [("y", ["C", "H", "W"])],
        {"scales": np.array(scales, np.float32)},
    )  # fmt: skip


def test_resize_of_a_large_image_is_checked_at_its_edges_and_matches():
    # 300 rows: the sampling is compared on 64 pixels at each edge, the numbers everywhere.
    check(_resize([1, 1, 2, 3], [1, 300, 20]), ["UpSampling2D"], batch=1)
    with pytest.raises(OnnxImportError, match="samples other pixels"):
        import_model(_resize([1, 1, 2, 2], [1, 300, 200], coordinates="align_corners"))


def test_resize_by_an_absurd_factor_is_refused_by_name():
    with pytest.raises(OnnxImportError, match="up to 1024"):
        import_model(_resize([1, 1, 1e30, 2], [2, 5, 5], mode="nearest"))

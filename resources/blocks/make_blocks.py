"""Writes the shipped block library (``resources/blocks/*.lcblock``) from the recipes below.

Run ``python resources/blocks/make_blocks.py`` after changing a recipe; the files are the
source the app reads (this script is how they were made, like ``train_pretrained.py``).
Shapes are channels-first. Each block keeps its input's shape (the skip connections need
it), so the channel counts inside match the input channels named in its description; edit
the filters inside a block to fit other widths.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from engine.graph.block_definition import BlockDefinition  # noqa: E402
from engine.graph.block_library import block_to_json  # noqa: E402
from engine.graph.document import GraphDocument, Node  # noqa: E402
from engine.graph.layout import arrange  # noqa: E402
from engine.graph.project_json import dumps_readable  # noqa: E402


def conv(filters, kernel, **more):
    return {"filters": filters, "kernel_size": kernel, "padding": "same", **more}


def build(name, title, description, layers, output):
    """``layers``: (id, type, params, [sources]) in order; ``x`` is the input port."""
    graph = GraphDocument(name)
    graph.add_node(Node("x", "BlockInput"))
    for node_id, type_name, params, sources in layers:
        graph.add_node(Node(node_id, type_name, params))
        for port, source in enumerate(sources):
            graph.connect(source, node_id, port)
    places = arrange([n.id for n in graph.nodes], [(e.source, e.target) for e in graph.edges])
    for node_id, position in places.items():
        graph.move_node(node_id, position)
    return BlockDefinition(name, title, description, graph, ["x"], output)


BN = ("BatchNormalization", {})


def residual_basic():
    c = 32
    return build(
        "residual_basic",
        "Residual block (basic)",
        f"ResNet's basic block: 3x3 Conv-BN-ReLU, 3x3 Conv-BN, plus the input (identity "
        f"skip), then ReLU. Keeps the shape; the input needs {c} channels.",
        [
            ("conv1", "Conv2D", conv(c, 3, use_bias=False), ["x"]),
            ("bn1", *BN, ["conv1"]),
            ("relu1", "Activation", {"activation": "relu"}, ["bn1"]),
            ("conv2", "Conv2D", conv(c, 3, use_bias=False), ["relu1"]),
            ("bn2", *BN, ["conv2"]),
            ("add", "Add", {}, ["bn2", "x"]),
            ("relu_out", "Activation", {"activation": "relu"}, ["add"]),
        ],
        "relu_out",
    )


def residual_bottleneck():
    f = 16
    return build(
        "residual_bottleneck",
        "Residual block (bottleneck)",
        f"ResNet's bottleneck block: 1x1 Conv ({f}) - 3x3 Conv ({f}) - 1x1 Conv ({4 * f}, "
        f"4x expansion), each with BatchNorm, plus the input (identity skip), then ReLU. "
        f"Keeps the shape; the input needs {4 * f} channels.",
        [
            ("reduce", "Conv2D", conv(f, 1, use_bias=False), ["x"]),
            ("bn1", *BN, ["reduce"]),
            ("relu1", "Activation", {"activation": "relu"}, ["bn1"]),
            ("conv3x3", "Conv2D", conv(f, 3, use_bias=False), ["relu1"]),
            ("bn2", *BN, ["conv3x3"]),
            ("relu2", "Activation", {"activation": "relu"}, ["bn2"]),
            ("expand", "Conv2D", conv(4 * f, 1, use_bias=False), ["relu2"]),
            ("bn3", *BN, ["expand"]),
            ("add", "Add", {}, ["bn3", "x"]),
            ("relu_out", "Activation", {"activation": "relu"}, ["add"]),
        ],
        "relu_out",
    )


def inverted_residual():
    c, t = 16, 6
    return build(
        "inverted_residual",
        "Inverted residual (MobileNetV2)",
        f"MobileNetV2's block: 1x1 Conv expands {c} channels {t}x to {c * t}, a depthwise "
        f"3x3 Conv (groups={c * t}) filters each channel, a linear 1x1 Conv projects back to "
        f"{c}, each with BatchNorm (ReLU6 after the first two), plus the input. Keeps the "
        f"shape; the input needs {c} channels.",
        [
            ("expand", "Conv2D", conv(c * t, 1, use_bias=False), ["x"]),
            ("bn1", *BN, ["expand"]),
            ("relu1", "Activation", {"activation": "relu6"}, ["bn1"]),
            ("depthwise", "Conv2D", conv(c * t, 3, groups=c * t, use_bias=False), ["relu1"]),
            ("bn2", *BN, ["depthwise"]),
            ("relu2", "Activation", {"activation": "relu6"}, ["bn2"]),
            ("project", "Conv2D", conv(c, 1, use_bias=False), ["relu2"]),
            ("bn3", *BN, ["project"]),
            ("add", "Add", {}, ["bn3", "x"]),
        ],
        "add",
    )


def squeeze_excitation():
    c, r = 32, 4
    return build(
        "squeeze_excitation",
        "Squeeze-and-excitation",
        f"Reweights the channels of a ({c}, H, W) input: global average pooling, Dense "
        f"{c // r} ReLU, Dense {c} sigmoid, reshaped to ({c}, 1, 1) and multiplied with the "
        f"input. Keeps the shape; the input needs {c} channels.",
        [
            ("squeeze", "GlobalAveragePooling2D", {}, ["x"]),
            ("reduce", "Dense", {"units": c // r, "activation": "relu"}, ["squeeze"]),
            ("excite", "Dense", {"units": c, "activation": "sigmoid"}, ["reduce"]),
            ("gate", "Reshape", {"target_shape": [c, 1, 1]}, ["excite"]),
            ("scale", "Multiply", {}, ["x", "gate"]),
        ],
        "scale",
    )


def inception():
    return build(
        "inception",
        "Inception module",
        "GoogLeNet's Inception module: four branches side by side - 1x1 Conv (16), 1x1 (16) "
        "then 3x3 Conv (24), 1x1 (4) then 5x5 Conv (8), 3x3 max pooling then 1x1 Conv (8) - "
        "all ReLU, joined on the channels: 56 channels out, same height and width.",
        [
            ("b1_1x1", "Conv2D", conv(16, 1, activation="relu"), ["x"]),
            ("b2_1x1", "Conv2D", conv(16, 1, activation="relu"), ["x"]),
            ("b2_3x3", "Conv2D", conv(24, 3, activation="relu"), ["b2_1x1"]),
            ("b3_1x1", "Conv2D", conv(4, 1, activation="relu"), ["x"]),
            ("b3_5x5", "Conv2D", conv(8, 5, activation="relu"), ["b3_1x1"]),
            ("b4_pool", "MaxPooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, ["x"]),
            ("b4_1x1", "Conv2D", conv(8, 1, activation="relu"), ["b4_pool"]),
            ("concat", "Concatenate", {"axis": 1}, ["b1_1x1", "b2_3x3", "b3_5x5", "b4_1x1"]),
        ],
        "concat",
    )


def transformer_encoder():
    d, heads, ff = 32, 4, 64
    return build(
        "transformer_encoder",
        "Transformer encoder layer",
        f"The encoder layer of 'Attention Is All You Need' (post-norm, as PyTorch's "
        f"nn.TransformerEncoderLayer and Keras's examples): {heads}-head self-attention "
        f"(key_dim {d // heads}), dropout 0.1, plus the input, LayerNormalization; then a "
        f"feed-forward Dense {ff} ReLU - Dense {d}, dropout 0.1, plus its input, "
        f"LayerNormalization. Keeps the shape; the input is a (steps, {d}) sequence.",
        [
            (
                "attention",
                "MultiHeadAttention",
                {"num_heads": heads, "key_dim": d // heads},
                ["x", "x"],
            ),
            ("drop1", "Dropout", {"rate": 0.1, "seed": 1}, ["attention"]),
            ("add1", "Add", {}, ["x", "drop1"]),
            ("norm1", "LayerNormalization", {}, ["add1"]),
            ("ff1", "Dense", {"units": ff, "activation": "relu"}, ["norm1"]),
            ("ff2", "Dense", {"units": d}, ["ff1"]),
            ("drop2", "Dropout", {"rate": 0.1, "seed": 2}, ["ff2"]),
            ("add2", "Add", {}, ["norm1", "drop2"]),
            ("norm2", "LayerNormalization", {}, ["add2"]),
        ],
        "norm2",
    )


RECIPES = (
    residual_basic,
    residual_bottleneck,
    inverted_residual,
    squeeze_excitation,
    inception,
    transformer_encoder,
)


def main() -> None:
    for recipe in RECIPES:
        definition = recipe()
        data = block_to_json(definition, GraphDocument())
        path = HERE / f"{definition.name}.lcblock"
        path.write_text(dumps_readable(data) + "\n", encoding="utf-8")
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()

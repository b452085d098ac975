"""Each supported operator pattern, hand-written as exporters write it, imports into the
expected layers and reproduces onnxruntime's outputs (the independent reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from onnx import TensorProto, helper

from engine.onnx import OnnxImportError, import_model
from tests.engine.onnx.onnx_graphs import make_model, run_onnxruntime

RNG = np.random.default_rng(0)


def weights(*shape, scale: float = 0.5) -> np.ndarray:
    return (RNG.normal(size=shape) * scale).astype(np.float32)


def check(model, expected_types: list[str], batch: int = 3, int_inputs: dict | None = None):
    """Import ``model``; its layers are ``expected_types`` and it matches onnxruntime."""
    result = import_model(model)
    types = [layer.type_name for layer in result.model.layers if layer.type_name != "Input"]
    assert types == expected_types
    feeds = {}
    for value_info in model.graph.input:
        if value_info.name in {t.name for t in model.graph.initializer}:
            continue
        dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim][1:]
        if int_inputs and value_info.name in int_inputs:
            feeds[value_info.name] = RNG.integers(
                0, int_inputs[value_info.name], size=(batch, *dims)
            ).astype(np.int64)
        else:
            feeds[value_info.name] = RNG.normal(size=(batch, *dims)).astype(np.float32)
    expected = run_onnxruntime(model, feeds)
    arrays = list(feeds.values())
    got = result.model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
    got = got if isinstance(got, list) else [got]
    for want, have in zip(expected, got, strict=True):
        assert have.shape == want.shape
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5)
    return result


def node(op, inputs, outputs, name=None, **attrs):
    return helper.make_node(op, inputs, outputs, name=name or f"{op.lower()}_node", **attrs)


# -- Dense ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "b_shape", "c_shape"),
    [
        ({}, (4, 3), (3,)),
        ({"transB": 1}, (3, 4), (3,)),
        ({"transB": 1, "alpha": 0.5, "beta": 2.0}, (3, 4), (1, 3)),
        ({}, (4, 3), None),
        ({"beta": 0.25}, (4, 3), ()),
    ],
    ids=["plain", "transB", "alpha-beta", "no-bias", "scalar-bias"],
)
def test_gemm_becomes_dense_with_alpha_and_beta_folded(attrs, b_shape, c_shape):
    inits = {"B": weights(*b_shape)}
    inputs = ["x", "B"]
    if c_shape is not None:
        inits["C"] = weights(*c_shape) if c_shape else np.float32(0.7)
        inputs.append("C")
    model = make_model(
        [node("Gemm", inputs, ["y"], "fc", **attrs)], [("x", [4])], [("y", [3])], inits
    )
    result = check(model, ["Dense"])
    dense = result.model.get_layer("fc")
    assert dense.use_bias == (c_shape is not None)


def test_matmul_then_add_becomes_one_dense_with_bias():
    model = make_model(
        [node("MatMul", ["x", "W"], ["h"], "proj"), node("Add", ["h", "b"], ["y"], "proj_bias")],
        [("x", [5, 4])],
        [("y", [5, 3])],
        {"W": weights(4, 3), "b": weights(3)},
    )
    result = check(model, ["Dense"])
    assert result.model.get_layer("proj").use_bias


def test_matmul_alone_becomes_dense_without_bias():
    model = make_model(
        [node("MatMul", ["x", "W"], ["y"], "proj")],
        [("x", [4])],
        [("y", [2])],
        {"W": weights(4, 2)},
    )
    assert not check(model, ["Dense"]).model.get_layer("proj").use_bias


def test_an_activation_after_dense_is_fused_and_node_names_become_layer_names():
    model = make_model(
        [
            node("Gemm", ["x", "W1", "b1"], ["h"], "/encoder/fc1/Gemm"),
            node("Relu", ["h"], ["r"], "/encoder/relu"),
            node("Gemm", ["r", "W2", "b2"], ["logits"], "/head/Gemm"),
            node("Softmax", ["logits"], ["y"], "/head/softmax", axis=-1),
        ],
        [("x", [6])],
        [("y", [4])],
        {"W1": weights(6, 5), "b1": weights(5), "W2": weights(5, 4), "b2": weights(4)},
    )
    result = check(model, ["Dense", "Dense"])
    names = [layer.name for layer in result.model.layers]
    assert names == ["x", "encoder_fc1_Gemm", "head_Gemm"]
    assert result.model.get_layer("encoder_fc1_Gemm").activation == "relu"
    assert result.model.get_layer("head_Gemm").activation == "softmax"
    assert result.node_layers["/encoder/fc1/Gemm"] == ["encoder_fc1_Gemm"]


def test_an_activation_is_not_fused_when_the_raw_output_is_also_used():
    model = make_model(
        [
            node("Gemm", ["x", "W"], ["h"], "fc"),
            node("Relu", ["h"], ["r"], "act"),
            node("Add", ["h", "r"], ["y"], "sum"),
        ],
        [("x", [3])],
        [("y", [3])],
        {"W": weights(3, 3)},
    )
    check(model, ["Dense", "Activation", "Add"])


# -- activations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "attrs", "layer", "config"),
    [
        ("Relu", {}, "Activation", {"activation": "relu"}),
        ("Sigmoid", {}, "Activation", {"activation": "sigmoid"}),
        ("Tanh", {}, "Activation", {"activation": "tanh"}),
        ("Softplus", {}, "Activation", {"activation": "softplus"}),
        ("Elu", {}, "Activation", {"activation": "elu"}),
        ("Elu", {"alpha": 0.5}, "ELU", {"alpha": 0.5}),
        ("LeakyRelu", {"alpha": 0.2}, "Activation", {"activation": "leaky_relu"}),
        ("LeakyRelu", {}, "LeakyReLU", {"negative_slope": 0.01}),
        ("Gelu", {}, "Activation", {"activation": "gelu"}),
        ("Softmax", {}, "Activation", {"activation": "softmax"}),
        ("Softmax", {"axis": 1}, "Softmax", {"axis": 1}),
    ],
)
def test_activation_operators(op, attrs, layer, config):
    opset = 20 if op == "Gelu" else 17
    model = make_model(
        [node(op, ["x"], ["y"], "act", **attrs)], [("x", [3, 4])], [("y", [3, 4])], opset=opset
    )
    result = check(model, [layer])
    got = result.model.get_layer("act").get_config()
    for key, value in config.items():
        assert got[key] == pytest.approx(value)


@pytest.mark.parametrize("style", ["pytorch", "layercanvas"])
def test_the_erf_formula_of_gelu_before_opset_20_becomes_gelu(style):
    sqrt2 = np.float32(math.sqrt(2.0))
    consts = {"sqrt2": sqrt2, "one": np.float32(1.0), "half": np.float32(0.5)}
    if style == "pytorch":  # (x * (1 + erf(x / sqrt2))) * 0.5
        nodes = [
            node("Div", ["x", "sqrt2"], ["d"], "/act/Div"),
            node("Erf", ["d"], ["e"], "/act/Erf"),
            node("Add", ["e", "one"], ["a"], "/act/Add"),
            node("Mul", ["x", "a"], ["m"], "/act/Mul"),
            node("Mul", ["m", "half"], ["y"], "/act/Mul_1"),
        ]
    else:  # (x * 0.5) * (1 + erf(x / sqrt2)), the exporter's order
        nodes = [
            node("Div", ["x", "sqrt2"], ["d"], "Div_node"),
            node("Erf", ["d"], ["e"], "Erf_node"),
            node("Add", ["e", "one"], ["a"], "Add_node"),
            node("Mul", ["x", "half"], ["h"], "Mul_node"),
            node("Mul", ["h", "a"], ["y"], "gelu"),
        ]
    model = make_model(nodes, [("x", [7])], [("y", [7])], consts)
    result = check(model, ["Activation"])
    assert result.model.layers[-1].activation == "gelu"


def test_gelu_with_the_tanh_approximation_is_a_gelu_layer():
    model = make_model(
        [node("Gelu", ["x"], ["y"], "g", approximate="tanh")], [("x", [3])], [("y", [3])], opset=20
    )
    result = check(model, ["GELU"])
    assert result.model.layers[-1].approximate is True


# -- shapes ---------------------------------------------------------------------------------


def test_flatten_and_reshape():
    model = make_model(
        [
            node("Flatten", ["x"], ["f"], "flat", axis=1),
            node("Reshape", ["f", "shape"], ["y"], "reshape"),
        ],
        [("x", [2, 3, 4])],
        [("y", [4, 6])],
        {"shape": np.array([-1, 4, 6], np.int64)},
    )
    result = check(model, ["Flatten", "Reshape"])
    assert result.model.get_layer("reshape").target_shape == (4, 6)


def test_pytorch_view_with_the_batch_size_from_shape_is_folded():
    """``x.view(x.size(0), -1)``: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        node("Shape", ["x"], ["s"], "/Shape"),
        node("Gather", ["s", "zero"], ["n"], "/Gather", axis=0),
        node("Unsqueeze", ["n", "axes"], ["n1"], "/Unsqueeze"),
        node("Concat", ["n1", "minus_one"], ["shape"], "/Concat", axis=0),
        node("Reshape", ["x", "shape"], ["y"], "/Reshape"),
    ]
    model = make_model(
        nodes,
        [("x", [2, 3, 4])],
        [("y", [24])],
        {
            "zero": np.array(0, np.int64),
            "axes": np.array([0], np.int64),
            "minus_one": np.array([-1], np.int64),
        },
    )
    check(model, ["Reshape"])


def test_a_reshape_that_moves_the_batch_is_refused():
    model = make_model(
        [node("Reshape", ["x", "shape"], ["y"], "bad")],
        [("x", [6])],
        [("y", [2])],
        {"shape": np.array([-1, 2], np.int64)},
    )
    with pytest.raises(OnnxImportError, match="changes the batch dimension"):
        import_model(model)


# -- normalisation --------------------------------------------------------------------------


def test_batch_normalization_inference_form():
    model = make_model(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "bn", epsilon=1e-3)],
        [("x", [3, 4, 4])],
        [("y", [3, 4, 4])],
        {
            "s": weights(3),
            "b": weights(3),
            "m": weights(3),
            "v": RNG.uniform(0.5, 2, 3).astype(np.float32),
        },
    )
    layer = check(model, ["BatchNormalization"]).model.get_layer("bn")
    assert layer.axis == 1 and layer.epsilon == pytest.approx(1e-3)


@pytest.mark.parametrize("axis", [-1, 2, 1])
def test_layer_normalization_over_one_or_several_trailing_axes(axis):
    shape = [3, 4, 5]
    normalized = shape[axis - 1 :] if axis > 0 else shape[axis:]  # axis counts the batch
    model = make_model(
        [node("LayerNormalization", ["x", "g", "b"], ["y"], "ln", axis=axis, epsilon=1e-5)],
        [("x", shape)],
        [("y", shape)],
        {"g": weights(*normalized), "b": weights(*normalized)},
    )
    expected = (
        ["LayerNormalization"] if axis == -1 else ["Reshape", "LayerNormalization", "Reshape"]
    )
    check(model, expected)


# -- merges, embedding, dropout, identity -----------------------------------------------------


def test_merges_and_a_chain_of_adds_becomes_one_layer():
    nodes = [
        node("Add", ["a", "b"], ["ab"], "add_1"),
        node("Add", ["ab", "c"], ["abc"], "add_2"),
        node("Sub", ["abc", "a"], ["d"], "sub"),
        node("Mul", ["d", "b"], ["e"], "mul"),
        node("Concat", ["e", "c"], ["y"], "cat", axis=-1),
    ]
    model = make_model(nodes, [("a", [4]), ("b", [4]), ("c", [4])], [("y", [8])])
    result = check(model, ["Add", "Subtract", "Multiply", "Concatenate"])
    assert len(result.model.get_layer("add_2").input_shape) == 3


def test_broadcasting_merges_are_refused():
    model = make_model(
        [node("Add", ["a", "b"], ["y"], "add")], [("a", [4, 2]), ("b", [1, 2])], [("y", [4, 2])]
    )
    with pytest.raises(OnnxImportError, match="do not broadcast"):
        import_model(model)


def test_gather_of_a_constant_table_becomes_embedding():
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", 5])
    model = make_model(
        [node("Gather", ["table", "ids"], ["y"], "embed", axis=0)],
        [ids],
        [("y", [5, 3])],
        {"table": weights(10, 3)},
    )
    result = check(model, ["Embedding"], int_inputs={"ids": 10})
    assert result.model.get_layer("embed").input_dim == 10


def test_dropout_and_identity():
    model = make_model(
        [
            node("Dropout", ["x", "ratio"], ["d"], "drop"),
            node("Identity", ["d"], ["i"], "same"),
            node("Relu", ["i"], ["y"], "act"),
        ],
        [("x", [4])],
        [("y", [4])],
        {"ratio": np.float32(0.3)},
    )
    result = check(model, ["Dropout", "Activation"])
    assert result.model.get_layer("drop").rate == pytest.approx(0.3)


def test_an_output_that_is_an_input_gets_a_layer():
    model = make_model([node("Identity", ["x"], ["y"], "id")], [("x", [3])], [("y", [3])])
    check(model, ["Activation"])


# -- convolution ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "padding"),
    [
        ({"pads": [1, 1, 1, 1]}, "same"),
        ({}, "valid"),
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, "same"),
        ({"pads": [0, 0, 1, 1], "strides": [2, 2]}, "same"),
    ],
    ids=["pads-same", "valid", "same-upper", "asymmetric-same"],
)
def test_conv_with_bias_and_relu_becomes_one_conv2d(attrs, padding):
    model = make_model(
        [
            node("Conv", ["x", "W", "B"], ["c"], "conv", kernel_shape=[3, 3], **attrs),
            node("Relu", ["c"], ["y"], "relu"),
        ],
        [("x", [2, 6, 6])],
        [("y", ["C", "H", "W"])],
        {"W": weights(4, 2, 3, 3), "B": weights(4)},
    )
    layer = check(model, ["Conv2D"]).model.get_layer("conv")
    assert (layer.padding, layer.activation, layer.filters) == (padding, "relu", 4)


def test_conv_padding_that_is_neither_valid_nor_same_is_kept_explicit():
    model = make_model(
        [node("Conv", ["x", "W"], ["y"], "conv", pads=[2, 0, 2, 0])],
        [("x", [1, 5, 5])],
        [("y", ["C", "H", "W"])],
        {"W": weights(2, 1, 3, 3)},
    )
    layer = check(model, ["Conv2D"]).model.get_layer("conv")
    assert layer.padding == ((2, 2), (0, 0))


# -- pooling --------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize(
    ("attrs", "padding"),
    [
        ({"kernel_shape": [2, 2], "strides": [2, 2]}, "valid"),
        ({"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}, "same"),
        ({"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}, "same"),
    ],
    ids=["valid", "pads-same", "same-upper"],
)
def test_pooling(op, attrs, padding):
    model = make_model(
        [node(op, ["x"], ["y"], "pool", **attrs)], [("x", [2, 5, 5])], [("y", ["C", "H", "W"])]
    )
    layer_type = "MaxPooling2D" if op == "MaxPool" else "AveragePooling2D"
    assert check(model, [layer_type]).model.get_layer("pool").padding == padding


def test_average_pooling_that_counts_the_padding_is_refused():
    model = make_model(
        [
            node(
                "AveragePool",
                ["x"],
                ["y"],
                "pool",
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                count_include_pad=1,
            )
        ],
        [("x", [2, 5, 5])],
        [("y", [2, 5, 5])],
    )
    with pytest.raises(OnnxImportError, match="count_include_pad=1"):
        import_model(model)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("then", ["Flatten", "Reshape", "Squeeze", None])
def test_global_pooling_and_what_follows_it(op, then):
    nodes = [node(op, ["x"], ["p" if then else "y"], "gap")]
    inits = {}
    if then == "Flatten":
        nodes.append(node("Flatten", ["p"], ["y"], "flat", axis=1))
    elif then == "Reshape":
        nodes.append(node("Reshape", ["p", "shape"], ["y"], "reshape"))
        inits["shape"] = np.array([0, -1], np.int64)
    elif then == "Squeeze":
        nodes.append(node("Squeeze", ["p", "axes"], ["y"], "squeeze"))
        inits["axes"] = np.array([2, 3], np.int64)
    out_shape = [3] if then else [3, 1, 1]
    model = make_model(nodes, [("x", [3, 4, 5])], [("y", out_shape)], inits)
    layer_type = "GlobalAveragePooling2D" if op == "GlobalAveragePool" else "GlobalMaxPooling2D"
    result = check(model, [layer_type])
    assert result.model.get_layer("gap").keepdims == (then is None)


# -- recurrent ------------------------------------------------------------------------------


def recurrent_weights(op: str, features: int, units: int, bias: bool = True) -> dict:
    k = {"RNN": 1, "LSTM": 4, "GRU": 3}[op]
    found = {"W": weights(1, k * units, features), "R": weights(1, k * units, units)}
    if bias:
        found["B"] = weights(1, 2 * k * units)
    return found


@pytest.mark.parametrize("op", ["RNN", "LSTM", "GRU"])
def test_pytorch_batch_first_sequence_output(op):
    """Transpose -> op -> Y -> Squeeze(1) -> Transpose: return_sequences=True."""
    attrs = {"hidden_size": 4}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    nodes = [
        node("Transpose", ["x"], ["xt"], "/rnn/Transpose", perm=[1, 0, 2]),
        node(op, ["xt", "W", "R", "B"], ["Y", "Y_h"], "/rnn/op", **attrs),
        node("Squeeze", ["Y", "one"], ["ys"], "/rnn/Squeeze"),
        node("Transpose", ["ys"], ["y"], "/rnn/Transpose_1", perm=[1, 0, 2]),
    ]
    inits = recurrent_weights(op, 3, 4) | {"one": np.array([1], np.int64)}
    model = make_model(nodes, [("x", [5, 3])], [("y", [5, 4])], inits)
    result = check(model, [{"RNN": "SimpleRNN"}.get(op, op)])
    assert result.model.layers[-1].return_sequences


@pytest.mark.parametrize("pick", ["Squeeze", "Gather"])
@pytest.mark.parametrize("op", ["RNN", "LSTM", "GRU"])
def test_last_state_output(op, pick):
    """Transpose -> op -> Y_h -> Squeeze(0) or Gather(-1): return_sequences=False."""
    attrs = {"hidden_size": 2} | ({"linear_before_reset": 0} if op == "GRU" else {})
    nodes = [
        node("Transpose", ["x"], ["xt"], "t", perm=[1, 0, 2]),
        node(op, ["xt", "W", "R", "B"], ["", "Y_h"], "cell", **attrs),
    ]
    if pick == "Squeeze":
        nodes.append(node("Squeeze", ["Y_h", "zero"], ["y"], "pick"))
        index = np.array([0], np.int64)
    else:
        nodes.append(node("Gather", ["Y_h", "zero"], ["y"], "pick", axis=0))
        index = np.array(-1, np.int64)
    model = make_model(
        nodes, [("x", [6, 3])], [("y", [2])], recurrent_weights(op, 3, 2) | {"zero": index}
    )
    layer = check(model, [{"RNN": "SimpleRNN"}.get(op, op)]).model.get_layer("cell")
    assert not layer.return_sequences
    if op == "GRU":
        assert not layer.reset_after


def test_batch_first_layout_against_the_reference_evaluator():
    """``layout=1`` needs no transposes (onnxruntime cannot run it: the pure-NumPy
    reference evaluator is the check)."""
    from onnx.reference import ReferenceEvaluator  # noqa: PLC0415

    nodes = [node("LSTM", ["x", "W", "R", "B"], ["", "Y_h"], "lstm", hidden_size=3, layout=1)]
    model = make_model(nodes, [("x", [4, 2])], [("Y_h", [1, 3])], recurrent_weights("LSTM", 2, 3))
    result = import_model(model)
    assert [layer.type_name for layer in result.model.layers] == ["Input", "LSTM", "Reshape"]
    x = RNG.normal(size=(3, 4, 2)).astype(np.float32)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    np.testing.assert_allclose(result.model.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_sequence_and_last_state_both_used_become_two_layers():
    nodes = [
        node("Transpose", ["x"], ["xt"], "t", perm=[1, 0, 2]),
        node("GRU", ["xt", "W", "R"], ["Y", "Y_h"], "gru", hidden_size=3),
        node("Squeeze", ["Y", "one"], ["ys"], "sq"),
        node("Transpose", ["ys"], ["seq"], "back", perm=[1, 0, 2]),
        node("Squeeze", ["Y_h", "zero"], ["last"], "sq_h"),
    ]
    inits = recurrent_weights("GRU", 2, 3, bias=False) | {
        "one": np.array([1], np.int64),
        "zero": np.array([0], np.int64),
    }
    model = make_model(nodes, [("x", [4, 2])], [("seq", [4, 3]), ("last", [3])], inits)
    result = check(model, ["GRU", "GRU"])
    assert any("two layers" in w for w in result.warnings)


def test_time_major_data_straight_from_the_input_is_refused():
    """A fixed (T, N, F) input, as ONNX's own RNN tests have: axis 0 would be read as the
    batch, so the operator is refused rather than silently mixing time and batch."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [7, 2, 3])
    model = make_model(
        [node("RNN", ["x", "W", "R"], ["", "y"], "rnn", hidden_size=2)],
        [x],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 2])],
        recurrent_weights("RNN", 3, 2, bias=False),
    )
    with pytest.raises(OnnxImportError, match="time-major"):
        import_model(model)


# -- what PyTorch's exporters write around recurrent layers and pooling ---------------------


def test_lstm_with_zero_initial_states_of_the_batch_size_and_the_last_step_picked():
    """``torch.onnx.export`` of ``out, _ = lstm(x); fc(out[:, -1, :])`` (TorchScript
    exporter): zero states from ConstantOfShape(Shape(x)...), then Gather(-1, axis=1)."""
    zeros = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    nodes = [
        node("Shape", ["x"], ["s"], "/Shape"),
        node("Gather", ["s", "i0"], ["n"], "/Gather", axis=0),
        node("Unsqueeze", ["n", "a0"], ["n1"], "/Unsqueeze"),
        node("Concat", ["one", "n1", "hidden"], ["state_shape"], "/Concat", axis=0),
        node("ConstantOfShape", ["state_shape"], ["h0"], "/ConstantOfShape", value=zeros),
        node("Transpose", ["x"], ["xt"], "/Transpose", perm=[1, 0, 2]),
        node("LSTM", ["xt", "W", "R", "B", "", "h0", "h0"], ["Y", "Y_h", "Y_c"], "/lstm/LSTM",
             hidden_size=4),
        node("Squeeze", ["Y", "a1"], ["ys"], "/Squeeze"),
        node("Transpose", ["ys"], ["out"], "/Transpose_1", perm=[1, 0, 2]),
        node("Gather", ["out", "last"], ["h"], "/Gather_1", axis=1),
        node("Gemm", ["h", "Wfc", "bfc"], ["y"], "/fc/Gemm", transB=1),
    ]  # fmt: skip
    inits = recurrent_weights("LSTM", 3, 4) | {
        "i0": np.array(0, np.int64),
        "a0": np.array([0], np.int64),
        "a1": np.array([1], np.int64),
        "one": np.array([1], np.int64),
        "hidden": np.array([4], np.int64),
        "last": np.array(-1, np.int64),
        "Wfc": weights(2, 4),
        "bfc": weights(2),
    }
    model = make_model(nodes, [("x", [6, 3])], [("y", [2])], inits)
    result = check(model, ["LSTM", "Dense"])
    assert not result.model.get_layer("lstm_LSTM").return_sequences
    assert result.warnings == []  # the unused every-step layer is not in the model


def test_dynamo_style_gru_output_reshaped_through_shape_arithmetic():
    """``torch.onnx.export(..., dynamo=True)``: zero state by Expand, ``Y`` transposed to
    (T, N, 1, H) and reshaped to (T, N, H) with a shape computed from Shape / Slice / Mul."""
    nodes = [
        node("Shape", ["x"], ["batch"], "shape_x", start=0, end=1),
        node("Concat", ["one", "batch", "hidden"], ["state_shape"], "concat", axis=0),
        node("Expand", ["zero", "state_shape"], ["h0"], "zeros"),
        node("Transpose", ["x"], ["xt"], "to_time_major", perm=[1, 0, 2]),
        node("GRU", ["xt", "W", "R", "B", "", "h0"], ["Y"], "gru", hidden_size=5,
             linear_before_reset=1),
        node("Transpose", ["Y"], ["yt"], "swap", perm=[0, 2, 1, 3]),
        node("Shape", ["yt"], ["ys"], "shape_y"),
        node("Slice", ["ys", "s0", "s1"], ["d0"], "slice0"),
        node("Slice", ["ys", "s1", "s2"], ["d1"], "slice1"),
        node("Slice", ["ys", "s2", "s3"], ["d2"], "slice2"),
        node("Slice", ["ys", "s3", "s4"], ["d3"], "slice3"),
        node("Mul", ["d2", "d3"], ["d23"], "mul"),
        node("Concat", ["d0", "d1", "d23"], ["target"], "target", axis=0),
        node("Reshape", ["yt", "target"], ["seq_tm"], "reshape"),
        node("Transpose", ["seq_tm"], ["seq"], "to_batch_first", perm=[1, 0, 2]),
        node("MatMul", ["seq", "Wfc"], ["m"], "fc"),
        node("Add", ["m", "bfc"], ["y"], "fc_bias"),
    ]  # fmt: skip
    inits = recurrent_weights("GRU", 4, 5) | {
        **{f"s{i}": np.array([i], np.int64) for i in range(5)},
        "one": np.array([1], np.int64),
        "hidden": np.array([5], np.int64),
        "zero": np.array(0.0, np.float32),
        "Wfc": weights(5, 3),
        "bfc": weights(3),
    }
    model = make_model(nodes, [("x", [7, 4])], [("y", [7, 3])], inits)
    result = check(model, ["GRU", "Dense"])
    assert result.model.get_layer("gru").return_sequences


@pytest.mark.parametrize("opset", [17, 18])
def test_reduce_mean_over_height_and_width_is_global_pooling(opset):
    axes = np.array([-2, -1], np.int64)
    if opset >= 18:
        reduce = node("ReduceMean", ["x", "axes"], ["m"], "mean", keepdims=1)
        inits = {"axes": axes}
    else:
        reduce = node("ReduceMean", ["x"], ["m"], "mean", axes=[2, 3], keepdims=1)
        inits = {}
    nodes = [reduce, node("Reshape", ["m", "shape"], ["y"], "view")]
    inits["shape"] = np.array([-1, 3], np.int64)
    model = make_model(nodes, [("x", [3, 4, 4])], [("y", [3])], inits, opset=opset)
    check(model, ["GlobalAveragePooling2D"])


def test_unsqueeze_then_squeeze_costs_no_layer():
    nodes = [
        node("Unsqueeze", ["x", "axes"], ["u"], "unsqueeze"),
        node("Relu", ["u"], ["r"], "relu"),
        node("Squeeze", ["r", "axes"], ["y"], "squeeze"),
    ]
    model = make_model(nodes, [("x", [4])], [("y", [4])], {"axes": np.array([0], np.int64)})
    check(model, ["Activation"])

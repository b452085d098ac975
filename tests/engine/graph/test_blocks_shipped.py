"""The shipped blocks: each compiles to the model written out by hand, trains, and exports.

The hand-written models below use the engine's Keras-style API directly (no graph document,
no expansion), with the same layer names as the blocks' inner nodes, so weights copy across
by name. Both models get the same random weights (moving statistics included); outputs and
gradients (with respect to the input and every weight) must agree, in inference and in
training mode. The ONNX export of a block model is checked by onnxruntime.
"""

from pathlib import Path

import numpy as np
import pytest

import engine
from engine import GradientTape, Input, Model
from engine import layers as L
from engine.graph.block_library import SHIPPED_DIR, insert_block, list_blocks
from engine.graph.builder import build_model
from engine.graph.checker import check_graph
from engine.graph.document import GraphDocument, Node
from engine.onnx.export import export_model


def conv(name, filters, kernel, **more):
    return L.Conv2D(filters, kernel, padding="same", name=name, **more)


def bn(name):
    return L.BatchNormalization(name=name)


def act(name, fn):
    return L.Activation(fn, name=name)


def residual_basic(x):
    h = act("relu1", "relu")(bn("bn1")(conv("conv1", 32, 3, use_bias=False)(x)))
    h = bn("bn2")(conv("conv2", 32, 3, use_bias=False)(h))
    return act("relu_out", "relu")(L.Add(name="add")([h, x]))


def residual_bottleneck(x):
    h = act("relu1", "relu")(bn("bn1")(conv("reduce", 16, 1, use_bias=False)(x)))
    h = act("relu2", "relu")(bn("bn2")(conv("conv3x3", 16, 3, use_bias=False)(h)))
    h = bn("bn3")(conv("expand", 64, 1, use_bias=False)(h))
    return act("relu_out", "relu")(L.Add(name="add")([h, x]))


def inverted_residual(x):
    h = act("relu1", "relu6")(bn("bn1")(conv("expand", 96, 1, use_bias=False)(x)))
    depthwise = conv("depthwise", 96, 3, groups=96, use_bias=False)
    h = act("relu2", "relu6")(bn("bn2")(depthwise(h)))
    h = bn("bn3")(conv("project", 16, 1, use_bias=False)(h))
    return L.Add(name="add")([h, x])


def squeeze_excitation(x):
    s = L.GlobalAveragePooling2D(name="squeeze")(x)
    s = L.Dense(8, activation="relu", name="reduce")(s)
    s = L.Dense(32, activation="sigmoid", name="excite")(s)
    s = L.Reshape((32, 1, 1), name="gate")(s)
    return L.Multiply(name="scale")([x, s])


def inception(x):
    relu = {"activation": "relu"}
    b1 = conv("b1_1x1", 16, 1, **relu)(x)
    b2 = conv("b2_3x3", 24, 3, **relu)(conv("b2_1x1", 16, 1, **relu)(x))
    b3 = conv("b3_5x5", 8, 5, **relu)(conv("b3_1x1", 4, 1, **relu)(x))
    pool = L.MaxPooling2D(pool_size=3, strides=1, padding="same", name="b4_pool")(x)
    b4 = conv("b4_1x1", 8, 1, **relu)(pool)
    return L.Concatenate(axis=1, name="concat")([b1, b2, b3, b4])


def transformer_encoder(x):
    attention = L.MultiHeadAttention(num_heads=4, key_dim=8, name="attention")([x, x])
    h = L.LayerNormalization(name="norm1")(
        L.Add(name="add1")([x, L.Dropout(0.1, seed=1, name="drop1")(attention)])
    )
    f = L.Dense(32, name="ff2")(L.Dense(64, activation="relu", name="ff1")(h))
    f = L.Dropout(0.1, seed=2, name="drop2")(f)
    return L.LayerNormalization(name="norm2")(L.Add(name="add2")([h, f]))


HAND = {
    "residual_basic": (residual_basic, (32, 6, 6)),
    "residual_bottleneck": (residual_bottleneck, (64, 5, 5)),
    "inverted_residual": (inverted_residual, (16, 6, 6)),
    "squeeze_excitation": (squeeze_excitation, (32, 5, 5)),
    "inception": (inception, (8, 7, 7)),
    "transformer_encoder": (transformer_encoder, (6, 32)),
}


def block_document(name: str, head: bool = False) -> GraphDocument:
    """Input -> the shipped block ``name`` as node 'b' (-> pooling and a Dense head)."""
    doc = GraphDocument(name)
    doc.add_node(Node("input", "Input", {"shape": list(HAND[name][1])}))
    plan = insert_block(doc, SHIPPED_DIR / f"{name}.lcblock", linked=True)
    for definition in plan.definitions:
        doc.add_block(definition)
    doc.add_node(Node("b", "Block", plan.node_params()))
    doc.connect("input", "b")
    if head:
        sequence = len(HAND[name][1]) == 2  # (steps, features): pool over the steps
        pool = "GlobalAveragePooling1D" if sequence else "GlobalAveragePooling2D"
        doc.add_node(Node("pool", pool))
        doc.add_node(Node("out", "Dense", {"units": 3, "activation": "softmax"}))
        doc.connect("b", "pool")
        doc.connect("pool", "out")
    return doc


def randomize(model, rng) -> None:
    for layer in model.layers:
        weights = [
            rng.uniform(0.5, 1.5, w.shape) if "variance" in w.name else rng.normal(0, 0.3, w.shape)
            for w in layer.weights
        ]
        layer.set_weights([w.astype(np.float32) for w in weights])


def test_every_recipe_is_shipped_and_listed():
    names = {e.name for e in list_blocks(None) if e.source == "shipped"}
    assert names == set(HAND)
    assert {p.stem for p in Path(SHIPPED_DIR).glob("*.lcblock")} == set(HAND)


@pytest.mark.parametrize("name", sorted(HAND))
def test_block_model_equals_the_hand_written_model_outputs_and_gradients(name):
    rng = np.random.default_rng(0)
    model = build_model(block_document(name))
    randomize(model, rng)
    builder, shape = HAND[name]
    x_in = Input(shape, name="input")
    hand = Model(x_in, builder(x_in))
    inner = [layer for layer in hand.layers if layer.name != "input"]
    assert sorted(f"b.{layer.name}" for layer in inner) == sorted(
        layer.name for layer in model.layers if layer.name != "input"
    )
    for layer in inner:
        layer.set_weights(model.get_layer(f"b.{layer.name}").get_weights())
    assert hand.count_params() == model.count_params()
    assert check_graph(block_document(name)).nodes["b"].param_count == hand.count_params()

    x = rng.normal(0, 1, (3, *shape)).astype(np.float32)
    for training in (False, True):
        results = []
        for m in (model, hand):
            xt = engine.constant(x)
            weights = [w for layer in inner for w in _layer_of(m, layer.name).trainable_weights]
            with GradientTape() as tape:
                tape.watch(xt)
                y = m(xt, training=training)
                seed = engine.constant(np.linspace(-1, 1, y.numpy().size).reshape(y.shape))
                loss = engine.ops.sum_(engine.ops.mul(y, seed))
            grads = tape.gradient(loss, [xt, *weights])
            results.append([y.numpy()] + [g.numpy() for g in grads])
        assert len(results[0]) == len(results[1]) > 2
        for got, want in zip(results[0], results[1], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def _layer_of(model, hand_name):
    names = {layer.name for layer in model.layers}
    return model.get_layer(hand_name if hand_name in names else f"b.{hand_name}")


@pytest.mark.parametrize("name", sorted(HAND))
def test_block_model_trains_and_exports_to_onnx(name, tmp_path):
    model = build_model(block_document(name, head=True))
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (16, *HAND[name][1])).astype(np.float32)
    y = rng.integers(0, 3, 16)
    model.compile(optimizer=engine.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    losses = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    report = export_model(model, tmp_path / f"{name}.onnx")
    assert report.max_relative_error <= 1e-4


def test_squeeze_excitation_matches_torch_outputs_and_gradients():
    """The per-channel gate (Multiply repeating a (C, 1, 1) input) against PyTorch."""
    torch = pytest.importorskip("torch")
    model = build_model(block_document("squeeze_excitation"))
    rng = np.random.default_rng(2)
    randomize(model, rng)
    x = rng.normal(0, 1, (2, 32, 5, 5)).astype(np.float32)
    seed = rng.normal(0, 1, x.shape).astype(np.float32)
    xt = engine.constant(x)
    with GradientTape() as tape:
        tape.watch(xt)
        y = model(xt)
        loss = engine.ops.sum_(engine.ops.mul(y, engine.constant(seed)))
    (gx,) = tape.gradient(loss, [xt])

    w1, b1 = (torch.tensor(w) for w in model.get_layer("b.reduce").get_weights())
    w2, b2 = (torch.tensor(w) for w in model.get_layer("b.excite").get_weights())
    xr = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    s = torch.relu(xr.mean(dim=(2, 3)) @ w1.double() + b1.double())
    s = torch.sigmoid(s @ w2.double() + b2.double())
    yr = xr * s[:, :, None, None]
    (yr * torch.tensor(seed, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(y.numpy(), yr.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx.numpy(), xr.grad.numpy(), rtol=1e-4, atol=1e-5)

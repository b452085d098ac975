"""End to end, as a user builds Keras's text CNN: ``Embedding -> Conv1D -> GlobalMaxPooling1D
-> Dense`` from a graph document (the canvas's JSON) checks with the shapes and parameter
counts Keras gives, trains to separate a pattern only a convolution over steps can see,
and reports a shape mistake on the node with its fix."""

from __future__ import annotations

import numpy as np

from engine.graph.builder import build_model
from engine.graph.checker import check_graph
from engine.graph.document import GraphDocument


def _graph(conv_params: dict, pool: str = "GlobalMaxPooling1D") -> GraphDocument:
    nodes = [
        ("tokens", "Input", {"shape": [12], "dtype": "int64"}),
        ("embed", "Embedding", {"input_dim": 10, "output_dim": 8}),
        ("conv", "Conv1D", conv_params),
        ("pool", pool, {}),
        ("out", "Dense", {"units": 2, "activation": "softmax"}),
    ]
    return GraphDocument.from_json(
        {
            "nodes": [
                {"id": i, "type": t, "params": p, "position": [0, 90 * k]}
                for k, (i, t, p) in enumerate(nodes)
            ],
            "edges": [
                {"source": a[0], "target": b[0], "target_port": 0}
                for a, b in zip(nodes, nodes[1:], strict=False)
            ],
        }
    )


def _data(n: int, rng):
    """Label 1 when the bigram (3, 4) occurs anywhere in the sequence: order matters, so
    neither a bag of words nor one position decides it."""
    x = rng.integers(1, 10, size=(n, 12))
    y = np.zeros(n, dtype=np.int64)
    for i in range(n):
        if rng.random() < 0.5:
            at = rng.integers(0, 11)
            x[i, at], x[i, at + 1] = 3, 4
        y[i] = any(x[i, t] == 3 and x[i, t + 1] == 4 for t in range(11))
    return x, y


def test_text_cnn_checks_and_trains():
    doc = _graph({"filters": 16, "kernel_size": 2, "activation": "relu"})
    result = check_graph(doc)
    assert not result.errors
    model = build_model(doc)
    shapes = {
        layer.name: layer.compute_output_shape(layer.input_shape) for layer in model.layers[1:]
    }
    assert shapes["conv"] == (11, 16) and shapes["pool"] == (16,)
    # Keras's counts: Conv1D 2*8*16 + 16; Dense 16*2 + 2.
    assert model.get_layer("conv").count_params() == 272
    assert model.get_layer("out").count_params() == 34
    rng = np.random.default_rng(0)
    x, y = _data(600, rng)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    x_test, y_test = _data(300, rng)
    accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))
    assert accuracy > 0.9


def test_a_conv2d_pooling_on_a_sequence_is_reported_with_the_fix():
    doc = _graph({"filters": 4, "kernel_size": 3}, pool="GlobalMaxPooling2D")
    [error] = [e for e in check_graph(doc).errors if "pool" in e.node_ids]
    assert "image" in error.message and "Reshape" in (error.fix or "")
    doc = _graph({"filters": 4, "kernel_size": 20})
    [error] = [e for e in check_graph(doc).errors if "conv" in e.node_ids]
    assert "does not fit in 12 steps" in error.message and "causal" in error.fix

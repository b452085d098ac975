"""Models to documents and back: same structure, same configuration, same predictions."""

import numpy as np
import pytest

import engine
from engine.graph.compiler import check_graph
from engine.graph.convert import (
    ConversionError,
    auto_layout,
    copy_weights,
    document_from_model,
    model_from_document,
)
from engine.graph.document import GraphDocument
from engine.layers import Concatenate, Dense, Flatten


def functional_model():
    inputs = engine.Input((1, 8, 8), name="image")
    flat = Flatten(name="flat")(inputs)
    a = Dense(16, activation="relu", name="a")(flat)
    b = Dense(8, activation="tanh", name="b")(flat)
    b2 = Dense(8, name="b2", use_bias=False)(b)
    merged = Concatenate(name="merge")([b2, a])
    out = Dense(3, activation="softmax", name="out")(merged)
    return engine.Model(inputs, out, name="two_branch")


def test_functional_model_round_trip_gives_the_same_predictions():
    model = functional_model()
    doc = document_from_model(model)
    assert doc.name == "two_branch"
    ids = [n.id for n in doc.nodes]
    assert sorted(ids) == sorted(["image", "flat", "a", "b", "b2", "merge", "out"])
    assert all(ids.index(e.source) < ids.index(e.target) for e in doc.edges)  # inputs first
    assert doc.node("merge").type == "Concatenate"
    assert [e.id for e in doc.edges if e.target == "merge"] == ["b2->merge:0", "a->merge:1"]
    assert doc.node("b2").params == {"units": 8, "use_bias": False}  # defaults left out
    assert doc.node("image").params == {"shape": [1, 8, 8]}
    assert check_graph(doc).ok

    again = model_from_document(doc)
    assert copy_weights(model, again) == 4
    x = np.random.default_rng(0).normal(size=(6, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6, atol=1e-7)
    # And back to a document: identical.
    assert document_from_model(again).to_json() == doc.to_json()


def test_sequential_model_becomes_a_chain():
    model = engine.Sequential(
        [engine.Input((4,)), Dense(5, activation="relu", name="h"), Dense(2, name="o")]
    )
    doc = document_from_model(model, name="seq")
    assert [n.type for n in doc.nodes] == ["Input", "Dense", "Dense"]
    assert [(e.source, e.target) for e in doc.edges] == [
        (doc.nodes[0].id, "h"),
        ("h", "o"),
    ]
    again = model_from_document(doc)
    copy_weights(model, again)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)


def test_int_input_keeps_its_dtype():
    inputs = engine.Input((5,), name="ids", dtype="int64")
    out = engine.layers.Embedding(input_dim=10, output_dim=3, name="emb")(inputs)
    doc = document_from_model(engine.Model(inputs, Flatten(name="f")(out)))
    assert doc.node("ids").params == {"shape": [5], "dtype": "int64"}
    assert doc.node("emb").params == {"input_dim": 10, "output_dim": 3}


def test_a_shared_layer_has_no_document():
    shared = Dense(4, name="shared")
    inputs = engine.Input((4,), name="x")
    out = shared(shared(inputs))
    with pytest.raises(ConversionError, match="more than once"):
        document_from_model(engine.Model(inputs, out))


def test_an_unbuilt_sequential_is_refused():
    with pytest.raises(ConversionError, match="build it"):
        document_from_model(engine.Sequential([Dense(3)]))


def test_copy_weights_needs_every_layer_with_weights():
    model = functional_model()
    other = engine.Sequential([engine.Input((64,)), Dense(3, name="elsewhere")])
    with pytest.raises(ConversionError, match="elsewhere"):
        copy_weights(model, other)


def test_auto_layout_goes_top_to_bottom_by_longest_path():
    doc = document_from_model(functional_model())
    positions = auto_layout(doc)
    assert positions["a"][1] == positions["b"][1]  # one row: both two steps below the image
    assert positions["a"][0] != positions["b"][0]  # side by side, not on top of each other
    assert positions["merge"][1] > positions["b2"][1]  # after b2, the longer branch
    for e in doc.edges:  # a small graph is not wrapped: every edge points down
        assert positions[e.source][1] < positions[e.target][1]


def test_auto_layout_survives_cycles_and_dangling_edges():
    doc = GraphDocument.from_json(
        {
            "nodes": [{"id": i, "type": "Dense"} for i in "abc"],
            "edges": [
                {"source": "a", "target": "b"},
                {"source": "b", "target": "c"},
                {"source": "c", "target": "b"},
                {"source": "ghost", "target": "a"},
            ],
        }
    )
    positions = auto_layout(doc)
    assert set(positions) == {"a", "b", "c"}
    assert positions["a"][1] < positions["b"][1] < positions["c"][1]


def test_auto_layout_of_a_long_chain_wraps_into_columns_without_recursing():
    doc = GraphDocument()
    doc.create_node("Input", {"shape": [2]}, node_id="n0")
    for i in range(1, 3000):
        doc.create_node("Dense", {"units": 2}, node_id=f"n{i}")
        doc.connect(f"n{i - 1}", f"n{i}")
    positions = auto_layout(doc)
    assert len({tuple(p) for p in positions.values()}) == 3000  # no two cards on one spot
    assert len({p[0] for p in positions.values()}) > 1  # wrapped into several columns
    assert positions["n1"][1] > positions["n0"][1]

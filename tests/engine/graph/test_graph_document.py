"""The graph document: mutations, their events, undo data, and the JSON round trip."""

import copy
import json

import pytest

from engine.graph.document import Edge, GraphDocument, GraphFormatError, Node

GRAPH = {
    "nodes": [
        {"id": "input", "type": "Input", "params": {"shape": [1, 8, 8]}, "position": [0, 0]},
        {"id": "flat", "type": "Flatten", "params": {}, "position": [220, 0]},
        {
            "id": "out",
            "type": "Dense",
            "params": {"units": 10, "activation": "softmax"},
            "position": [440.5, -12],
            "note": "kept",
        },
    ],
    "edges": [
        {"source": "input", "target": "flat", "target_port": 0},
        {"source": "flat", "target": "out", "target_port": 0, "style": {"color": "red"}},
    ],
    "view": {"zoom": 1.5},
}


def recorder(doc):
    events = []
    doc.subscribe(events.append)
    return events


def test_json_round_trip_is_identical_including_unknown_keys():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH), name="g")
    assert doc.to_json() == GRAPH
    # Also through text, as a file would go.
    again = GraphDocument.from_json(json.loads(json.dumps(doc.to_json())))
    assert json.dumps(again.to_json()) == json.dumps(GRAPH)
    assert sorted(doc.unknown_keys()) == ["edges[1].style", "nodes[2].note", "view"]


def test_to_json_returns_copies():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH))
    data = doc.to_json()
    data["nodes"][2]["params"]["units"] = 99
    assert doc.node("out").params["units"] == 10


def test_missing_optional_keys_get_defaults():
    doc = GraphDocument.from_json(
        {"nodes": [{"id": "a", "type": "Dense"}], "edges": [{"source": "a", "target": "b"}]}
    )
    assert doc.node("a").params == {} and doc.node("a").position == [0, 0]
    assert doc.edges[0].target_port == 0


@pytest.mark.parametrize(
    "graph, key",
    [
        ([], ""),
        ({"nodes": {}}, "nodes"),
        ({"nodes": [3]}, "nodes[0]"),
        ({"nodes": [{"type": "Dense"}]}, "nodes[0].id"),
        ({"nodes": [{"id": "a"}]}, "nodes[0].type"),
        ({"nodes": [{"id": "a", "type": "Dense", "params": [1]}]}, "nodes[0].params"),
        ({"nodes": [{"id": "a", "type": "Dense", "position": [1]}]}, "nodes[0].position"),
        ({"nodes": [{"id": "a", "type": "Dense", "position": [1, "x"]}]}, "nodes[0].position"),
        ({"edges": [{"source": "a"}]}, "edges[0].target"),
        ({"edges": [{"source": "a", "target": "b", "target_port": "0"}]}, "edges[0].target_port"),
        ({"edges": [{"source": "a", "target": "b", "target_port": True}]}, "edges[0].target_port"),
    ],
)
def test_malformed_json_names_the_key(graph, key):
    with pytest.raises(GraphFormatError) as info:
        GraphDocument.from_json(graph)
    assert info.value.key == key


def test_add_move_params_rename_emit_events_and_bump_revision():
    doc = GraphDocument("g")
    events = recorder(doc)
    node = doc.create_node("Dense", {"units": 4}, (10, 20))
    assert node.id == "dense_1"
    assert doc.create_node("Dense").id == "dense_2"
    doc.move_node("dense_1", (30, 40))
    old = doc.set_params("dense_1", {"units": 8})
    doc.set_param("dense_1", "activation", "relu")
    doc.rename("h")
    assert old == {"units": 4}
    assert doc.node("dense_1").params == {"units": 8, "activation": "relu"}
    assert [e.kind for e in events] == [
        "node_added",
        "node_added",
        "node_moved",
        "params_changed",
        "params_changed",
        "renamed",
    ]
    assert events[2].old == [10, 20] and events[2].new == [30, 40]
    assert events[5].old == "g" and events[5].new == "h" and doc.name == "h"
    assert doc.revision == 6


def test_set_param_none_restores_the_default():
    doc = GraphDocument()
    doc.create_node("Dense", {"units": 4, "activation": "relu"}, node_id="d")
    doc.set_param("d", "activation", None)
    assert doc.node("d").params == {"units": 4}


def test_unsubscribe_stops_events():
    doc = GraphDocument()
    events = []
    unsubscribe = doc.subscribe(events.append)
    doc.create_node("Dense")
    unsubscribe()
    doc.create_node("Dense")
    assert len(events) == 1


def test_duplicate_ids_are_refused_by_mutations():
    doc = GraphDocument()
    doc.add_node(Node("a", "Dense"))
    with pytest.raises(ValueError, match="already exists"):
        doc.add_node(Node("a", "Flatten"))
    with pytest.raises(ValueError):
        doc.add_node(Node("", "Flatten"))


def test_remove_node_removes_its_edges_and_restore_puts_everything_back():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH))
    doc.connect("input", "out", 1)  # a third edge after the node's others
    before = doc.to_json()
    events = recorder(doc)
    removed = doc.remove_node("flat")
    assert "flat" not in doc
    assert [e.id for e in doc.edges] == ["input->out:1"]
    assert [ev.kind for ev in events] == ["edge_removed", "edge_removed", "node_removed"]
    assert [i for i, _ in removed.edges] == [0, 1]
    doc.restore_node(removed)
    assert doc.to_json() == before


def test_remove_and_readd_edge_at_its_index():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH))
    before = doc.to_json()
    edge = doc.edges[0]
    index = doc.remove_edge(edge)
    doc.add_edge(edge, index)
    assert doc.to_json() == before
    with pytest.raises(KeyError):
        doc.remove_edge(Edge("x", "y"))


def test_rename_node_rewires_edges():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH))
    events = recorder(doc)
    doc.rename_node("flat", "flatten")
    assert [e.id for e in doc.edges] == ["input->flatten:0", "flatten->out:0"]
    assert doc.edges[1].extra == {"style": {"color": "red"}}
    assert events[0].kind == "node_renamed" and events[0].old == "flat"
    with pytest.raises(ValueError):
        doc.rename_node("flatten", "out")


def test_edge_id_is_stable_and_equality_ignores_extra():
    assert Edge("a", "b", 1).id == "a->b:1"
    assert Edge("a", "b", 1, {"x": 1}) == Edge("a", "b", 1)


def test_copy_is_independent():
    doc = GraphDocument.from_json(copy.deepcopy(GRAPH))
    events = recorder(doc)
    twin = doc.copy()
    twin.move_node("flat", (0, 0))
    twin.set_param("out", "units", 3)
    assert doc.node("flat").position == [220, 0]
    assert doc.node("out").params["units"] == 10
    assert events == []


def test_unique_id_skips_taken_ids():
    doc = GraphDocument()
    doc.add_node(Node("conv2d_1", "Conv2D"))
    assert doc.unique_id("Conv2D") == "conv2d_2"
    assert doc.unique_id("!!!") == "node_1"


def test_unique_id_is_snake_case_like_keras_layer_names():
    doc = GraphDocument()
    assert doc.unique_id("BatchNormalization") == "batch_normalization_1"
    assert doc.unique_id("SimpleRNN") == "simple_rnn_1"

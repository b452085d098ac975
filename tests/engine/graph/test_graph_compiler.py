"""The compiler's diagnostics: one broken graph per kind, checking the ids it names and the
fix it suggests; several at once; no cascades; per-node shapes, parameters and FLOPs."""

import numpy as np
import pytest

from engine.graph.compiler import GraphError, build_model, check_graph
from engine.graph.diagnostics import CODES
from engine.graph.document import Edge, GraphDocument, Node
from engine.layers.base import LAYER_TYPES, Layer


def make(nodes, edges=()):
    """``nodes``: (id, type, params); ``edges``: (source, target[, port])."""
    doc = GraphDocument("test")
    for node_id, type_name, params in nodes:
        doc._nodes.append(Node(node_id, type_name, dict(params)))  # allows duplicate ids
    for edge in edges:
        doc.add_edge(Edge(*edge))
    return doc


def only(result, code):
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, [str(d) for d in result.diagnostics]
    return found[0]


INPUT = ("input", "Input", {"shape": [4]})
MLP = [
    INPUT,
    ("hidden", "Dense", {"units": 8, "activation": "relu"}),
    ("out", "Dense", {"units": 3}),
]
MLP_EDGES = [("input", "hidden"), ("hidden", "out")]


def test_valid_graph_has_no_diagnostics_and_reports_every_node():
    result = check_graph(make(MLP, MLP_EDGES))
    assert result.ok and result.diagnostics == []
    assert result.order == ["input", "hidden", "out"]
    assert result.inputs == ["input"] and result.outputs == ["out"]
    hidden = result.nodes["hidden"]
    assert hidden.status == "ok" and hidden.input_shapes == ((4,),)
    assert hidden.output_shape == (8,)
    assert hidden.param_count == 4 * 8 + 8
    assert hidden.flops == 2 * 4 * 8 + 8
    assert result.nodes["out"].output_shape == (3,)
    assert result.total_params == 40 + 27


def test_duplicate_id():
    doc = make([*MLP, ("hidden", "Flatten", {})], MLP_EDGES)
    d = only(check_graph(doc), "duplicate_id")
    assert d.node_ids == ("hidden",) and d.severity == "error"
    assert "rename" in d.fix


def test_unknown_type_suggests_the_closest_name():
    doc = make([INPUT, ("d", "Dence", {"units": 3})], [("input", "d")])
    d = only(check_graph(doc), "unknown_type")
    assert d.node_ids == ("d",)
    assert "'Dense'" in d.fix
    doc = make([INPUT, ("d", "flatten", {})], [("input", "d")])
    assert "'Flatten'" in only(check_graph(doc), "unknown_type").fix


def test_every_bad_parameter_is_reported_and_named():
    doc = make(
        [INPUT, ("d", "Dense", {"units": -2, "activation": "rleu", "unitz": 3})], [("input", "d")]
    )
    found = {d.param: d for d in check_graph(doc).diagnostics if d.code == "parameter"}
    assert set(found) == {"units", "activation", "unitz"}
    assert all(d.node_ids == ("d",) for d in found.values())
    assert "out of range" in found["units"].message and ">= 1" in found["units"].fix
    assert found["activation"].fix == "did you mean 'relu'?"
    assert "'units'" in found["unitz"].fix


def test_parameter_of_wrong_type_and_missing_required():
    doc = make([("input", "Input", {}), ("d", "Dense", {"units": "ten"})], [("input", "d")])
    found = {d.param: d for d in check_graph(doc).diagnostics if d.code == "parameter"}
    assert "expected an integer" in found["units"].message
    assert found["shape"].node_ids == ("input",) and "required" in found["shape"].message


def test_dangling_edge():
    doc = make(MLP, [*MLP_EDGES, ("ghost", "out", 1), ("out", "nowhere")])
    dangling = [d for d in check_graph(doc).diagnostics if d.code == "dangling_edge"]
    assert [d.edge_ids for d in dangling] == [("ghost->out:1",), ("out->nowhere:0",)]
    assert "'ghost'" in dangling[0].message and "delete the edge" in dangling[0].fix
    assert dangling[1].node_ids == ("out",)


def test_port_out_of_range():
    doc = make([INPUT, ("d", "Dense", {"units": 2})], [("input", "d", 1)])
    result = check_graph(doc)
    d = only(result, "port_out_of_range")
    assert d.edge_ids == ("input->d:1",) and d.node_ids == ("d",)
    assert "port 0" in d.fix
    doc = make([INPUT, ("d", "Dense", {"units": 2})], [("input", "d"), ("input", "d", -1)])
    assert only(check_graph(doc), "port_out_of_range").edge_ids == ("input->d:-1",)


def test_two_edges_into_one_port():
    doc = make(
        [
            INPUT,
            ("a", "Dense", {"units": 2}),
            ("b", "Dense", {"units": 2}),
            ("c", "Dense", {"units": 1}),
        ],
        [("input", "a"), ("input", "b"), ("a", "c"), ("b", "c")],
    )
    d = only(check_graph(doc), "port_conflict")
    assert d.node_ids == ("c",) and set(d.edge_ids) == {"a->c:0", "b->c:0"}
    assert "Add or Concatenate" in d.fix


def test_unconnected_input_port():
    doc = make([*MLP, ("lonely", "Dense", {"units": 1})], MLP_EDGES)
    d = only(check_graph(doc), "unconnected_port")
    assert d.node_ids == ("lonely",) and "connect" in d.fix


def test_too_few_inputs_for_a_merge():
    doc = make(
        [INPUT, ("a", "Dense", {"units": 2}), ("cat", "Concatenate", {})],
        [("input", "a"), ("a", "cat")],
    )
    d = only(check_graph(doc), "too_few_inputs")
    assert d.node_ids == ("cat",) and "at least 2" in d.message


def test_too_many_inputs():
    doc = make(
        [INPUT, ("a", "Dense", {"units": 2}), ("b", "Dense", {"units": 2})],
        [("input", "a"), ("input", "b"), ("a", "b", 1)],
    )
    d = only(check_graph(doc), "too_many_inputs")
    assert d.node_ids == ("b",) and d.edge_ids == ("a->b:1",)
    assert "takes 1 input" in d.message
    doc = make(
        [INPUT, ("i2", "Input", {"shape": [4]}), ("d", "Dense", {"units": 1})],
        [("input", "i2"), ("i2", "d")],
    )
    d = only(check_graph(doc), "too_many_inputs")
    assert d.node_ids == ("i2",) and "takes no inputs" in d.message


def test_cycle_names_its_nodes_and_the_edge_to_cut():
    doc = make(
        [
            INPUT,
            ("cat", "Concatenate", {}),
            ("a", "Dense", {"units": 4}),
            ("b", "Dense", {"units": 4}),
            ("tail", "Dense", {"units": 1}),
        ],
        [("input", "cat", 0), ("b", "cat", 1), ("cat", "a"), ("a", "b"), ("b", "tail")],
    )
    result = check_graph(doc)
    d = only(result, "cycle")
    assert d.node_ids == ("cat", "a", "b")
    assert set(d.edge_ids) == {"b->cat:1", "cat->a:0", "a->b:0"}
    assert "cat -> a -> b -> cat" in d.message
    assert d.fix == "remove the edge from 'b' to 'cat'"
    # Nothing after the cycle gets an error of its own.
    assert result.nodes["tail"].status == "unknown"
    assert result.for_node("tail") == []


def test_self_loop_is_a_cycle():
    doc = make([INPUT, ("add", "Add", {})], [("input", "add", 0), ("add", "add", 1)])
    d = only(check_graph(doc), "cycle")
    assert d.node_ids == ("add",) and d.edge_ids == ("add->add:1",)


def test_shape_mismatch_message_names_the_source_and_the_fix():
    doc = make(
        [("input", "Input", {"shape": [16, 8, 8]}), ("dense", "Dense", {"units": 3})],
        [("input", "dense")],
    )
    d = only(check_graph(doc), "shape")
    assert d.message == "Dense expects a flat input of rank 2, got (16, 8, 8) from input"
    assert "Flatten" in d.fix
    assert d.node_ids == ("dense",) and d.edge_ids == ("input->dense:0",)


def test_concatenate_mismatch_names_the_axis():
    doc = make(
        [
            ("input", "Input", {"shape": [3, 8, 8]}),
            ("small", "Reshape", {"target_shape": [3, 4, 16]}),
            ("cat", "Concatenate", {}),
        ],
        [("input", "small"), ("input", "cat", 0), ("small", "cat", 1)],
    )
    d = only(check_graph(doc), "shape")
    assert "differ on axis 2: (3, 8, 8) vs (3, 4, 16)" in d.message
    assert set(d.edge_ids) == {"input->cat:0", "small->cat:1"}


def test_no_input():
    d = only(check_graph(make([("d", "Dense", {"units": 1})])), "no_input")
    assert d.node_ids == () and "Input" in d.fix


def test_no_output():
    d = only(check_graph(make([INPUT])), "no_output")
    assert d.node_ids == ("input",)


def test_unused_input_is_a_warning_and_left_out():
    doc = make([*MLP, ("spare", "Input", {"shape": [2]})], MLP_EDGES)
    result = check_graph(doc)
    d = only(result, "unused_input")
    assert d.severity == "warning" and d.node_ids == ("spare",)
    assert result.ok and result.inputs == ["input"]
    assert build_model(doc, result).input_names == ["input"]


class _Source(Layer):
    """A test-only layer with no inputs (no real type has one besides Input)."""

    type_name = "TestSource"
    min_inputs = 0
    max_inputs = 0

    def compute_output_shape(self, input_shape=None):
        return (4,)


class _Broken(Layer):
    type_name = "TestBroken"

    def compute_output_shape(self, input_shape):
        raise RuntimeError("bug in the layer")


def test_unreachable_node(monkeypatch):
    monkeypatch.setitem(LAYER_TYPES, "TestSource", _Source)
    doc = make(
        [*MLP, ("src", "TestSource", {}), ("side", "Dense", {"units": 1})],
        [*MLP_EDGES, ("src", "side")],
    )
    result = check_graph(doc)
    found = [d for d in result.diagnostics if d.code == "unreachable"]
    assert [d.node_ids for d in found] == [("src",), ("side",)]
    assert all(d.severity == "warning" for d in found)


def test_a_failing_layer_type_becomes_an_internal_diagnostic(monkeypatch):
    monkeypatch.setitem(LAYER_TYPES, "TestBroken", _Broken)
    doc = make(
        [INPUT, ("b", "TestBroken", {}), ("d", "Dense", {"units": 1})], [("input", "b"), ("b", "d")]
    )
    result = check_graph(doc)
    d = only(result, "internal")
    assert d.node_ids == ("b",) and "RuntimeError" in d.message
    assert result.nodes["d"].status == "unknown"


def test_all_problems_are_reported_at_once():
    doc = make(
        [
            INPUT,
            ("a", "Dense", {"units": 0}),
            ("b", "Dence", {}),
            ("c", "Dense", {"units": 2}),
            ("flat", "Flatten", {}),
            ("x", "Add", {}),
        ],
        [("input", "a"), ("a", "b"), ("ghost", "c"), ("input", "x", 0), ("x", "x", 1)],
    )
    codes = sorted(d.code for d in check_graph(doc).diagnostics)
    assert codes == [
        "cycle",
        "dangling_edge",
        "parameter",
        "unconnected_port",
        "unconnected_port",
        "unknown_type",
    ]


def test_no_cascade_after_a_shape_error():
    doc = make(
        [
            ("input", "Input", {"shape": [2, 3, 3]}),
            ("bad", "Dense", {"units": 4}),
            ("next", "Dense", {"units": 4}),
            ("last", "Dense", {"units": 2}),
        ],
        [("input", "bad"), ("bad", "next"), ("next", "last")],
    )
    result = check_graph(doc)
    assert [d.code for d in result.diagnostics] == ["shape"]
    assert result.nodes["bad"].status == "error"
    assert result.nodes["next"].status == "unknown" and result.nodes["next"].output_shape is None
    assert result.nodes["last"].status == "unknown"
    assert result.order == ["input"]


def test_parameter_errors_downstream_of_a_broken_node_are_still_reported():
    doc = make(
        [INPUT, ("b", "Dence", {}), ("c", "Dense", {"units": -1})], [("input", "b"), ("b", "c")]
    )
    codes = sorted(d.code for d in check_graph(doc).diagnostics)
    assert codes == ["parameter", "unknown_type"]


def test_every_code_is_documented():
    # Each code the tests above provoke is in CODES (and the training ones in project tests).
    assert len(CODES) == len(set(CODES))


def test_build_model_uses_node_ids_as_layer_names_and_runs():
    doc = make(MLP, MLP_EDGES)
    model = build_model(doc)
    assert [layer.name for layer in model.layers] == ["input", "hidden", "out"]
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    assert model.predict(x).shape == (5, 3)


def test_build_model_refuses_a_broken_graph_with_every_error():
    doc = make([INPUT, ("a", "Dense", {"units": 0}), ("b", "Flatten", {})], [("input", "a")])
    with pytest.raises(GraphError) as info:
        build_model(doc)
    assert len(info.value.result.errors) == 2
    assert "and 1 more" in str(info.value)


def test_merge_inputs_follow_port_order_not_edge_order():
    doc = make(
        [
            INPUT,
            ("a", "Dense", {"units": 2}),
            ("b", "Dense", {"units": 5}),
            ("cat", "Concatenate", {}),
        ],
        [("input", "a"), ("input", "b"), ("b", "cat", 0), ("a", "cat", 1)],
    )
    result = check_graph(doc)
    assert result.nodes["cat"].input_shapes == ((5,), (2,))
    model = build_model(doc, result)
    x = np.ones((1, 4), np.float32)
    out = model.predict(x)
    expected = np.concatenate(
        [model.get_layer("b")(x).numpy(), model.get_layer("a")(x).numpy()], axis=-1
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)

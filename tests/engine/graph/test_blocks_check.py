"""Checking documents with blocks: reports and diagnostics land on the Block node."""

from pathlib import Path

import numpy as np
import pytest

from engine.graph.block_definition import BlockDefinition
from engine.graph.block_expand import MAX_FLAT_NODES, expand_blocks
from engine.graph.blocks import apply_group, plan_group
from engine.graph.builder import build_model
from engine.graph.checker import GraphChecker, check_graph
from engine.graph.document import Edge, GraphDocument, Node
from engine.graph.project import load_project

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def grouped_cnn():
    """digits_cnn with conv2 -> pool2 grouped into block 'stage'."""
    doc = load_project(EXAMPLES / "digits_cnn.lcproj").graph
    apply_group(plan_group(doc, ["conv2", "pool2"], "stage", "Stage"), doc)
    return doc


def dense_block(name="mlp", units=(8, 4)) -> BlockDefinition:
    inner = GraphDocument(name)
    inner.add_node(Node("x", "BlockInput"))
    previous = "x"
    for i, u in enumerate(units):
        inner.add_node(Node(f"d{i}", "Dense", {"units": u, "activation": "tanh"}))
        inner.connect(previous, f"d{i}")
        previous = f"d{i}"
    return BlockDefinition(name, name.upper(), "", inner, ["x"], previous)


def chain(definition_names, width=5) -> GraphDocument:
    """Input(width) -> one Block node per name, in a chain."""
    doc = GraphDocument("chain")
    doc.add_node(Node("input", "Input", {"shape": [width]}))
    previous = "input"
    for i, name in enumerate(definition_names):
        doc.add_node(Node(f"b{i}", "Block", {"block": name}))
        doc.connect(previous, f"b{i}")
        previous = f"b{i}"
    return doc


def test_block_report_has_output_shape_and_summed_counts():
    doc = grouped_cnn()
    plain = check_graph(load_project(EXAMPLES / "digits_cnn.lcproj").graph)
    result = check_graph(doc)
    assert result.ok
    block = result.nodes["stage"]
    assert block.type_name == "Block" and block.status == "ok"
    assert block.output_shape == plain.nodes["pool2"].output_shape
    assert block.input_shapes == (plain.nodes["pool1"].output_shape,)
    assert block.param_count == plain.nodes["conv2"].param_count + plain.nodes["pool2"].param_count
    assert block.flops == plain.nodes["conv2"].flops + plain.nodes["pool2"].flops
    assert result.total_params == plain.total_params
    assert result.order == ["input", "conv1", "pool1", "stage", "flatten", "hidden", "output"]
    assert result.flat.nodes["stage.conv2"].param_count == plain.nodes["conv2"].param_count
    assert result.memory.total == plain.memory.total


def test_a_diagnostic_inside_a_block_is_reported_on_the_block_node():
    doc = grouped_cnn()
    doc.blocks["stage"].graph.set_param("conv2", "filters", -1)
    result = check_graph(doc)
    [error] = result.errors
    assert error.node_ids == ("stage",) and error.param is None
    assert error.message.startswith("conv2: ") and "filters" in error.message
    assert result.nodes["stage"].status == "error"
    assert result.nodes["flatten"].status == "unknown"  # no cascade downstream


def test_a_shape_error_inside_names_the_edge_into_the_block():
    doc = grouped_cnn()
    inner = doc.blocks["stage"].graph
    inner.set_params("conv2", {"filters": 4, "kernel_size": 9, "padding": "valid"})
    [error] = check_graph(doc).errors
    assert error.code == "shape" and error.node_ids == ("stage",)
    assert error.edge_ids == ("pool1->stage:0",)


def test_a_linked_edit_changes_every_use_in_the_compiled_model():
    doc = chain(["mlp", "mlp"])
    doc.add_block(dense_block())
    model = build_model(doc)
    assert model.predict(np.zeros((1, 5), np.float32), verbose=0).shape == (1, 4)
    doc.blocks["mlp"].graph.set_param("d1", "units", 5)  # one edit of the definition
    result = check_graph(doc)
    assert result.nodes["b0"].output_shape == (5,) and result.nodes["b1"].output_shape == (5,)
    model = build_model(doc, result)
    assert model.get_layer("b0.d1").units == 5 and model.get_layer("b1.d1").units == 5
    # An independent copy is not linked.
    doc.set_params("b1", {"block": doc.copy_block("mlp")})
    doc.blocks["mlp_2"].graph.set_param("d1", "units", 3)
    assert check_graph(doc).nodes["b0"].output_shape == (5,)
    assert check_graph(doc).nodes["b1"].output_shape == (3,)


def test_a_block_containing_itself_is_a_diagnostic():
    outer = dense_block("outer")
    inner = outer.graph
    inner.add_node(Node("again", "Block", {"block": "outer"}))
    inner.remove_edge(Edge("d0", "d1"))
    inner.connect("d0", "again")
    inner.connect("again", "d1")
    doc = chain(["outer"])
    doc.add_block(outer)
    result = check_graph(doc)
    [error] = result.errors
    assert error.code == "block_recursive" and error.node_ids == ("b0",)
    assert "outer -> outer" in error.message


def test_exponential_nesting_is_refused_without_expanding():
    doc = chain(["level0"], width=2)
    for level in range(40):
        inner = GraphDocument()
        inner.add_node(Node("x", "BlockInput"))
        inner.add_node(Node("a", "Block", {"block": f"level{level + 1}"}))
        inner.add_node(Node("b", "Block", {"block": f"level{level + 1}"}))
        inner.connect("x", "a")
        inner.connect("a", "b")
        doc.add_block(BlockDefinition(f"level{level}", "", "", inner, ["x"], "b"))
    doc.add_block(dense_block("level40", (2,)))
    expanded = expand_blocks(doc)
    assert len(expanded.flat) <= MAX_FLAT_NODES + 10
    codes = {d.code for d in check_graph(doc).errors}
    assert codes & {"block_too_large", "block_too_deep"}


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        (lambda d: d.set_params("b0", {"block": "nope"}), "block_unknown", "'nope'"),
        (lambda d: d.set_params("b0", {"block": "mlp", "x": 1}), "parameter", "only"),
        (lambda d: d.remove_edge(Edge("input", "b0")), "unconnected_port", "input 0"),
        (lambda d: d.connect("input", "b0", 1), "port_out_of_range", "port(s) 1"),
        (
            lambda d: d.add_node(Node("stray", "BlockInput")),
            "block_input_outside",
            "belongs inside",
        ),
        (
            lambda d: d.blocks["mlp"].graph.add_node(Node("z", "Dense", {"units": 2})),
            "block_definition",
            "'z' goes nowhere",
        ),
    ],
)
def test_block_wiring_problems_are_one_clear_diagnostic(change, code, words):
    doc = chain(["mlp"])
    doc.add_block(dense_block())
    change(doc)
    errors = check_graph(doc).errors
    assert [e.code for e in errors] == [code], [e.text() for e in errors]
    assert words in errors[0].message


def test_incremental_checks_agree_with_fresh_ones_across_block_edits():
    doc = grouped_cnn()
    checker = GraphChecker()
    for filters in (8, 12, -3, 16):
        doc.blocks["stage"].graph.set_param("conv2", "filters", filters)
        again, fresh = checker.check(doc), check_graph(doc)
        assert again.nodes == fresh.nodes and again.diagnostics == fresh.diagnostics


def test_nested_blocks_compile_to_the_same_model_as_the_ungrouped_graph():
    doc = load_project(EXAMPLES / "digits_cnn.lcproj").graph
    plain = build_model(doc.copy())
    stage = plan_group(doc, ["conv2", "pool2"], "stage", "Stage")
    apply_group(stage, doc)
    apply_group(plan_group(doc, ["pool1", stage.block_node.id, "flatten"], "body", "Body"), doc)
    nested = build_model(doc)
    names = sorted(layer.name for layer in nested.layers)
    assert "body.stage.conv2" in names and "body.pool1" in names
    for layer in nested.layers:
        plain.get_layer(layer.name.rsplit(".", 1)[-1]).set_weights(layer.get_weights())
    x = np.random.default_rng(0).random((4, 1, 8, 8), np.float32)
    np.testing.assert_allclose(nested.predict(x, verbose=0), plain.predict(x, verbose=0), 1e-6)
    conv2 = plain.get_layer("conv2").count_params()
    assert check_graph(doc).nodes["body"].param_count == conv2  # summed through the nesting


def test_memory_is_estimated_through_blocks_and_refusals_name_the_block():
    doc = grouped_cnn()
    doc.blocks["stage"].graph.set_param("conv2", "filters", 4096)
    result = GraphChecker(memory_limit=16 * 1024 * 1024).check(doc)
    [error] = [d for d in result.errors if d.code == "memory"]
    assert error.node_ids == ("stage",) and "stage.conv2" in error.text()
    plain = load_project(EXAMPLES / "digits_cnn.lcproj").graph
    plain.set_param("conv2", "filters", 4096)
    assert result.memory.total == check_graph(plain).memory.total

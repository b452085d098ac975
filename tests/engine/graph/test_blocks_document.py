"""Block definitions in the document: JSON round trip, events, group and ungroup."""

import json
from pathlib import Path

import pytest

from engine.graph.blocks import (
    BlockError,
    apply_group,
    apply_ungroup,
    plan_group,
    plan_ungroup,
)
from engine.graph.checker import check_graph
from engine.graph.document import GraphDocument, GraphFormatError
from engine.graph.project import load_project, save_project

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def example(name: str) -> GraphDocument:
    return load_project(EXAMPLES / f"{name}.lcproj").graph


def shape_of(doc: GraphDocument):
    """Nodes (id, type, params, rounded position) in order, and the edge set."""
    nodes = [(n.id, n.type, n.params, [round(v) for v in n.position]) for n in doc.nodes]
    return nodes, sorted(e.id for e in doc.edges)


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.lcproj")))
def test_files_without_blocks_are_unchanged_byte_for_byte(name, tmp_path):
    source = EXAMPLES / f"{name}.lcproj"
    project = load_project(source)
    assert "blocks" not in project.graph.to_json()
    out = tmp_path / "again.lcproj"
    save_project(project, out)
    first = out.read_bytes()
    save_project(load_project(out), out)
    assert out.read_bytes() == first
    assert json.loads(first)["graph"] == json.loads(source.read_text())["graph"]


GROUPS = [
    ("digits_cnn", ["conv1", "pool1"]),
    ("digits_cnn", ["conv2", "pool2", "flatten"]),
    ("digits_cnn", ["pool1", "conv2", "pool2", "flatten"]),
    ("two_branch_functional", ["deep1", "deep2"]),
    ("two_branch_functional", ["wide", "deep1", "deep2", "merge"]),
    ("two_branch_functional", ["merge", "output"]),
]


@pytest.mark.parametrize(("name", "selection"), GROUPS)
def test_group_then_ungroup_restores_the_graph_exactly(name, selection):
    doc = example(name)
    before = doc.to_json()
    plan = plan_group(doc, selection, "my block", "My block")
    apply_group(plan, doc)
    block = plan.block_node.id
    assert [n.id for n in doc.nodes if n.type == "Block"] == [block]
    assert not set(selection) & {n.id for n in doc.nodes}
    definition = doc.blocks[plan.definition.name]
    assert definition.name == "my_block" and definition.title == "My block"
    assert {n.id for n in definition.graph.nodes} >= set(selection)
    # The grouped document survives a file round trip.
    again = GraphDocument.from_json(json.loads(json.dumps(doc.to_json())))
    assert again.to_json() == doc.to_json()

    apply_ungroup(plan_ungroup(doc, block), doc)
    assert doc.blocks == {}
    assert shape_of(doc) == shape_of(GraphDocument.from_json(before))
    assert doc.to_json()["nodes"] == before["nodes"]


def test_group_makes_ports_for_each_outside_source_and_one_output():
    doc = example("two_branch_functional")
    plan = plan_group(doc, ["wide", "deep1", "deep2", "merge"], "branches", "Branches")
    definition = plan.definition
    assert definition.inputs == ["x"]  # both branches read 'flatten': one port
    assert definition.output == "merge"
    assert [e.id for e in plan.add_edges] == ["flatten->branches:0", "branches->output:0"]
    inner = definition.graph
    assert inner.node("x").type == "BlockInput"
    assert sorted(e.source for e in inner.edges_into("wide") + inner.edges_into("deep1")) == [
        "x",
        "x",
    ]


@pytest.mark.parametrize(
    ("selection", "words"),
    [
        ([], "select the layers"),
        (["input", "flatten"], "Input"),
        (["wide", "deep1"], "one output"),
        (["nope"], "no node 'nope'"),
    ],
)
def test_impossible_selections_are_refused_clearly(selection, words):
    doc = example("two_branch_functional")
    with pytest.raises(BlockError, match=words):
        plan_group(doc, selection, "b", "B")


def test_blocks_nest_and_ungroup_one_level_at_a_time():
    doc = example("digits_cnn")
    inner = plan_group(doc, ["conv2", "pool2"], "stage", "Stage")
    apply_group(inner, doc)
    outer = plan_group(doc, ["pool1", inner.block_node.id, "flatten"], "body", "Body")
    apply_group(outer, doc)
    assert set(doc.blocks) == {"stage", "body"}
    assert doc.blocks["body"].uses() == ["stage"]
    with pytest.raises(ValueError, match="still used"):
        doc.remove_block("stage")
    again = GraphDocument.from_json(json.loads(json.dumps(doc.to_json())))
    assert again.to_json() == doc.to_json()
    apply_ungroup(plan_ungroup(doc, outer.block_node.id), doc)
    assert set(doc.blocks) == {"stage"}
    apply_ungroup(plan_ungroup(doc, inner.block_node.id), doc)
    assert shape_of(doc) == shape_of(example("digits_cnn"))


def test_ungroup_renames_inner_ids_that_are_taken():
    doc = example("digits_cnn")
    plan = plan_group(doc, ["conv1", "pool1"], "stem", "Stem")
    apply_group(plan, doc)
    copy_name = doc.copy_block("stem")
    assert copy_name == "stem_2"
    doc.create_node("Block", {"block": "stem"}, node_id="second")
    doc.create_node("Conv2D", {"filters": 2, "kernel_size": 3}, node_id="conv1")
    ungroup = plan_ungroup(doc, "second")
    assert ungroup.renamed == {"conv1": "second_conv1"}
    assert ungroup.remove_definition is None  # the first use still needs it


def test_block_mutations_emit_blocks_changed_and_inner_edits_are_relayed():
    doc = example("digits_cnn")
    plan = plan_group(doc, ["conv1", "pool1"], "stem", "Stem")
    events = []
    doc.subscribe(events.append)
    apply_group(plan, doc)
    assert events[0].kind == "blocks_changed" and events[0].block == "stem"
    revision = doc.revision
    doc.blocks["stem"].graph.set_param("conv1", "filters", 4)
    assert doc.revision == revision + 1
    assert events[-1].kind == "blocks_changed" and events[-1].inner.kind == "params_changed"
    old = doc.set_block_meta("stem", title="Stem!", description="two layers")
    assert old == ("Stem", "") and doc.blocks["stem"].title == "Stem!"
    copy = doc.copy()
    copy.blocks["stem"].graph.set_param("conv1", "filters", 8)
    assert doc.blocks["stem"].graph.node("conv1").params["filters"] == 4


@pytest.mark.parametrize(
    ("blocks", "key"),
    [
        ([], "blocks"),
        ({"b": 3}, "blocks.b"),
        ({"b": {"title": 1, "output": "o", "graph": {}}}, "blocks.b.title"),
        ({"b": {"inputs": "x", "output": "o", "graph": {}}}, "blocks.b.inputs"),
        ({"b": {"inputs": [], "graph": {}}}, "blocks.b.output"),
        ({"b": {"inputs": [], "output": "o"}}, "blocks.b.graph"),
        ({"b": {"output": "o", "graph": {"nodes": [{"id": 3}]}}}, "blocks.b.graph.nodes[0].id"),
        ({"b": {"output": "o", "graph": {"blocks": {}}}}, None),
    ],
)
def test_malformed_block_definitions_name_the_key(blocks, key):
    data = {"nodes": [], "edges": [], "blocks": blocks}
    if key is None:  # an empty inner "blocks" is harmless
        GraphDocument.from_json(data)
        return
    with pytest.raises(GraphFormatError) as err:
        GraphDocument.from_json(data)
    assert err.value.key == key


def test_a_selection_with_a_second_model_output_is_refused():
    doc = example("digits_cnn")
    doc.create_node("Dense", {"units": 3}, node_id="side")
    doc.connect("pool1", "side")
    with pytest.raises(BlockError, match="'conv2', 'side'|'side', 'conv2'"):
        plan_group(doc, ["conv2", "side"], "b", "B")


def test_group_and_ungroup_inside_a_definition():
    doc = example("digits_cnn")
    outer = plan_group(doc, ["conv2", "pool2", "flatten"], "body", "Body")
    apply_group(outer, doc)
    inner_graph = doc.blocks["body"].graph
    before = inner_graph.to_json()
    plan = plan_group(inner_graph, ["conv2", "pool2"], "body", "Stage", root=doc)
    assert plan.definition.name == "body_2"  # unique among the project's definitions
    apply_group(plan, inner_graph, root=doc)
    assert doc.blocks["body_2"].uses() == [] and doc.blocks["body"].uses() == ["body_2"]
    assert check_graph(doc).ok
    ungroup = plan_ungroup(inner_graph, plan.block_node.id, root=doc)
    assert ungroup.remove_definition == "body_2"
    apply_ungroup(ungroup, inner_graph, root=doc)
    assert set(doc.blocks) == {"body"}
    assert shape_of(inner_graph) == shape_of(GraphDocument.from_json(before))

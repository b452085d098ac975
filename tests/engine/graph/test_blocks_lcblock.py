"""The block library: saving, listing, loading, inserting, and refusing bad block files."""

import json
import os

import pytest

from engine.graph.block_library import (
    MAX_BLOCK_BYTES,
    SHIPPED_DIR,
    BlockFileError,
    insert_block,
    list_blocks,
    load_block,
    save_block,
)
from engine.graph.blocks import apply_group, plan_group
from engine.graph.checker import check_graph
from engine.graph.document import GraphDocument, Node
from engine.user_errors import user_error_types


def nested_project() -> GraphDocument:
    """Input -> Dense -> block 'outer' (Dense, block 'inner' (Dense, Dense)) -> Dense."""
    doc = GraphDocument("p")
    doc.add_node(Node("input", "Input", {"shape": [4]}))
    previous = "input"
    for i, units in enumerate((8, 6, 5, 3, 2)):
        doc.add_node(Node(f"d{i}", "Dense", {"units": units, "activation": "tanh"}))
        doc.connect(previous, f"d{i}")
        previous = f"d{i}"
    inner = plan_group(doc, ["d2", "d3"], "inner", "Inner")
    apply_group(inner, doc)
    apply_group(plan_group(doc, ["d1", inner.block_node.id], "outer", "Outer"), doc)
    return doc


def test_save_then_load_round_trips_with_dependencies(tmp_path):
    doc = nested_project()
    path = save_block(doc.blocks["outer"], doc, tmp_path)
    assert path == tmp_path / "blocks" / "outer.lcblock"
    definition, dependencies = load_block(path)
    assert definition.to_json() == doc.blocks["outer"].to_json()
    assert set(dependencies) == {"inner"}
    assert dependencies["inner"].to_json() == doc.blocks["inner"].to_json()
    entries = list_blocks(tmp_path)
    assert [(e.name, e.source) for e in entries if e.source == "user"] == [("outer", "user")]
    assert {e.source for e in entries} == {"shipped", "user"}
    # Saving again replaces the file atomically, leaving no temporary files behind.
    save_block(doc.blocks["outer"], doc, tmp_path)
    assert sorted(p.name for p in (tmp_path / "blocks").iterdir()) == ["outer.lcblock"]


def test_insert_linked_or_independent(tmp_path):
    source = nested_project()
    path = save_block(source.blocks["outer"], source, tmp_path)
    doc = GraphDocument("target")
    doc.add_node(Node("input", "Input", {"shape": [8]}))
    first = insert_block(doc, path, linked=True)
    assert first.name == "outer" and [d.name for d in first.definitions] == ["inner", "outer"]
    for definition in first.definitions:
        doc.add_block(definition)
    again = insert_block(doc, path, linked=True)
    assert again.name == "outer" and again.definitions == ()
    copy = insert_block(doc, path, linked=False)
    assert copy.name == "outer_2"
    assert [d.name for d in copy.definitions] == ["outer_2"]  # 'inner' is the same: shared
    # A project whose 'inner' differs gets a renamed copy, and the outer block uses it.
    doc.blocks["inner"].graph.set_param("d2", "units", 7)
    other = insert_block(doc, path, linked=False)
    assert [d.name for d in other.definitions] == ["inner_2", "outer_2"]
    uses = [n.params["block"] for n in other.definitions[1].graph.nodes if n.type == "Block"]
    assert uses == ["inner_2"]


def test_an_inserted_block_checks_and_counts_its_parameters():
    doc = GraphDocument("t")
    doc.add_node(Node("input", "Input", {"shape": [32, 4, 4]}))
    plan = insert_block(doc, SHIPPED_DIR / "squeeze_excitation.lcblock", linked=False)
    for definition in plan.definitions:
        doc.add_block(definition)
    doc.add_node(Node("se", "Block", plan.node_params()))
    doc.connect("input", "se")
    result = check_graph(doc)
    assert result.ok, [d.text() for d in result.errors]
    assert result.nodes["se"].output_shape == (32, 4, 4)
    assert result.nodes["se"].param_count == (32 * 8 + 8) + (8 * 32 + 32)


def good_file() -> dict:
    return json.loads((SHIPPED_DIR / "squeeze_excitation.lcblock").read_text())


def mutate(change):
    data = good_file()
    change(data)
    return data


HOSTILE = [
    ("not json", "{", "invalid JSON"),
    ("a number", "1", "not a LayerCanvas block file"),
    ("project", {"format": "layercanvas-project", "version": 1}, "not a LayerCanvas block"),
    ("newer", mutate(lambda d: d.update(version=99)), "newer LayerCanvas"),
    ("no block", mutate(lambda d: d.pop("block")), "block: expected the block's definition"),
    ("path name", mutate(lambda d: d["block"].update(name="../../evil")), "block.name"),
    (
        "huge param",
        mutate(lambda d: d["block"]["graph"]["nodes"][2]["params"].update(units=10**300)),
        "block.graph.nodes[2].params.units",
    ),
    (
        "bad node",
        mutate(lambda d: d["block"]["graph"]["nodes"].append({"id": 5})),
        "block.graph.nodes[6].id",
    ),
    ("no output", mutate(lambda d: d["block"].update(output="nope")), "'nope' does not exist"),
    (
        "missing dependency",
        mutate(
            lambda d: d["block"]["graph"]["nodes"].append(
                {"id": "q", "type": "Block", "params": {"block": "ghost"}}
            )
        ),
        "'ghost', which the file does not include",
    ),
    ("deep", '{"format": "layercanvas-block", "version": 1, "block": ' + "[" * 5000, "nested"),
    (
        "many dependencies",
        mutate(lambda d: d.update(dependencies={f"d{i}": {} for i in range(500)})),
        "at most 100",
    ),
]


@pytest.mark.parametrize(("label", "content", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_bad_block_files_get_one_clear_error(tmp_path, label, content, words):
    path = tmp_path / "blocks" / "bad.lcblock"
    path.parent.mkdir()
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(BlockFileError) as err:
        load_block(path)
    assert words in str(err.value) and str(path) in str(err.value)
    assert isinstance(err.value, user_error_types())
    assert all(e.path != path for e in list_blocks(tmp_path))  # listed without it


def test_a_block_file_that_contains_itself_is_refused(tmp_path):
    doc = nested_project()
    path = save_block(doc.blocks["outer"], doc, tmp_path)
    data = json.loads(path.read_text())
    inner = data["dependencies"]["inner"]["graph"]
    inner["nodes"].append({"id": "loop", "type": "Block", "params": {"block": "outer"}})
    last = inner["edges"][-1]
    inner["edges"][-1] = {"source": last["source"], "target": "loop", "target_port": 0}
    inner["edges"].append({"source": "loop", "target": last["target"], "target_port": 0})
    path.write_text(json.dumps(data))
    with pytest.raises(BlockFileError, match="contains itself"):
        load_block(path)


def test_oversized_and_special_files_are_refused_before_reading(tmp_path):
    big = tmp_path / "big.lcblock"
    big.write_bytes(b" " * (MAX_BLOCK_BYTES + 1))
    with pytest.raises(BlockFileError, match="too large|larger|MiB"):
        load_block(big)
    with pytest.raises(BlockFileError, match="folder"):
        load_block(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.lcblock"
        os.mkfifo(fifo)
        with pytest.raises(BlockFileError):
            load_block(fifo)


def test_registry_info_describes_block_nodes_and_ports():
    from engine.graph.registry_info import block_info, block_input_info, by_category

    definition, _ = load_block(SHIPPED_DIR / "inception.lcblock")
    info = block_info(definition)
    assert info.type_name == "Block" and info.display_name == "Inception module"
    assert info.port_count() == 1 and info.category == "Blocks"
    assert info.param("block")["default"] == "inception"
    assert block_input_info().port_count() == 0
    assert "Blocks" not in by_category()  # the palette lists the library itself

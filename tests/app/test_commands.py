"""Undo commands change the document only, and undo restores it exactly (order included)."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QUndoStack  # noqa: E402

from app import commands  # noqa: E402
from engine.graph.document import Edge, GraphDocument  # noqa: E402
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def doc() -> GraphDocument:
    return load_project(EXAMPLES / "two_branch_functional.lcproj").graph


@pytest.fixture
def stack():
    stack = QUndoStack()
    yield stack
    stack.clear()


def snapshot(doc: GraphDocument) -> str:
    return json.dumps(doc.to_json(), sort_keys=False)


def test_add_node_gets_a_fresh_id_and_undo_redo_give_back_the_same_node(doc, stack):
    before = snapshot(doc)
    command = commands.AddNode(doc, "Dense", [100, 200], {"units": 8})
    stack.push(command)
    assert command.node_id == "dense_1"
    added = doc.node("dense_1")
    assert (added.type, added.params, added.position) == ("Dense", {"units": 8}, [100, 200])
    after = snapshot(doc)
    stack.undo()
    assert snapshot(doc) == before
    stack.redo()
    assert snapshot(doc) == after


def test_add_node_keeps_its_own_copy_of_the_params(doc, stack):
    params = {"units": 8}
    stack.push(commands.AddNode(doc, "Dense", [0, 0], params))
    params["units"] = 99
    doc.node("dense_1").params["units"] = 5  # what a later command would change
    stack.undo()
    stack.redo()
    assert doc.node("dense_1").params == {"units": 8}


def test_remove_items_is_one_macro_that_restores_exactly(doc, stack):
    before = snapshot(doc)
    lone = Edge("wide", "merge", 0)
    command = commands.RemoveItems(doc, ["deep1", "flatten"], [lone])
    assert len(command.steps) == 3 and command.count == 3
    stack.push(command)
    assert stack.count() == 1
    assert "deep1" not in doc and "flatten" not in doc
    assert lone not in doc.edges
    # Every edge touching a removed node went with it.
    assert all({"deep1", "flatten"}.isdisjoint((e.source, e.target)) for e in doc.edges)
    after = snapshot(doc)
    stack.undo()
    assert snapshot(doc) == before
    stack.redo()
    assert snapshot(doc) == after


def test_remove_items_skips_edges_a_removed_node_takes_along(doc):
    command = commands.RemoveItems(doc, ["merge"], [Edge("wide", "merge", 0)])
    assert command.count == 1
    assert command.text() == "Delete 'merge'"


@pytest.mark.parametrize("seed", range(12))
def test_random_deletions_undo_exactly(doc, stack, seed):
    rng = random.Random(seed)
    before = snapshot(doc)
    nodes = rng.sample([n.id for n in doc.nodes], rng.randint(0, 4))
    edges = rng.sample(list(doc.edges), rng.randint(0, 4))
    command = commands.RemoveItems(doc, nodes, edges)
    stack.push(command)
    stack.undo()
    assert snapshot(doc) == before


def test_move_nodes_is_one_step_for_many_nodes(doc, stack):
    old = {i: list(doc.node(i).position) for i in ("wide", "deep1")}
    stack.push(commands.MoveNodes(doc, {"wide": [10, 20], "deep1": [30, 40]}))
    assert stack.count() == 1
    assert doc.node("wide").position == [10, 20]
    assert doc.node("deep1").position == [30, 40]
    stack.undo()
    assert {i: doc.node(i).position for i in old} == old


def test_consecutive_changes_of_one_parameter_merge(doc, stack):
    original = copy.deepcopy(doc.node("wide").params)
    for units in (65, 66, 67):
        params = dict(doc.node("wide").params, units=units)
        stack.push(commands.SetParams(doc, "wide", params, changed="units"))
    assert stack.count() == 1
    assert doc.node("wide").params["units"] == 67
    stack.push(
        commands.SetParams(
            doc, "wide", dict(doc.node("wide").params, activation="tanh"), "activation"
        )
    )
    assert stack.count() == 2  # another parameter is another step
    stack.undo()
    stack.undo()
    assert doc.node("wide").params == original


def test_stepping_a_value_back_leaves_nothing_to_undo(doc, stack):
    original = copy.deepcopy(doc.node("wide").params)
    stack.push(commands.SetParams(doc, "wide", dict(original, units=65), "units"))
    stack.push(commands.SetParams(doc, "wide", dict(original), "units"))
    assert stack.count() == 0
    assert doc.node("wide").params == original


def test_rename_node_rewires_edges_and_undoes_exactly(doc, stack):
    before = snapshot(doc)
    stack.push(commands.RenameNode(doc, "flatten", "flat"))
    assert "flat" in doc and "flatten" not in doc
    assert Edge("flat", "wide", 0) in doc.edges and Edge("input", "flat", 0) in doc.edges
    stack.undo()
    assert snapshot(doc) == before


def test_connect_replaces_the_edge_on_an_occupied_port_in_one_command(doc, stack):
    before = snapshot(doc)
    stack.push(commands.Connect(doc, "wide", "merge", 1))
    into_port = [e for e in doc.edges if e.target == "merge" and e.target_port == 1]
    assert into_port == [Edge("wide", "merge", 1)]
    assert Edge("deep2", "merge", 1) not in doc.edges
    assert stack.count() == 1
    stack.undo()
    assert snapshot(doc) == before


def test_connect_a_free_port_adds_an_edge(doc, stack):
    stack.push(commands.Connect(doc, "flatten", "merge", 2))
    assert doc.edges[-1] == Edge("flatten", "merge", 2)
    stack.undo()
    assert Edge("flatten", "merge", 2) not in doc.edges


def test_disconnect_undo_puts_the_edge_back_in_place(doc, stack):
    before = snapshot(doc)
    stack.push(commands.Disconnect(doc, Edge("flatten", "deep1", 0)))
    assert Edge("flatten", "deep1", 0) not in doc.edges
    stack.undo()
    assert snapshot(doc) == before


def test_paste_gives_fresh_ids_and_keeps_only_inner_edges(doc, stack):
    data = commands.nodes_to_clip(doc, ["deep1", "deep2"])
    assert [n["id"] for n in data["nodes"]] == ["deep1", "deep2"]
    assert data["edges"] == [{"source": "deep1", "target": "deep2", "target_port": 0}]
    before = snapshot(doc)
    command = commands.PasteNodes(doc, json.loads(json.dumps(data)), offset=(40, 30))
    stack.push(command)
    assert command.created == {"deep1": "deep1_1", "deep2": "deep2_1"}
    assert doc.node("deep1_1").position == [480, 100]
    assert doc.node("deep2_1").params == doc.node("deep2").params
    assert Edge("deep1_1", "deep2_1", 0) in doc.edges
    assert not [e for e in doc.edges if e.target == "deep1_1"]  # the outer edge stays out
    assert stack.count() == 1
    stack.undo()
    assert snapshot(doc) == before


def test_paste_numbers_on_from_a_numbered_id(stack):
    doc = GraphDocument(nodes=[])
    doc.create_node("Dense", node_id="dense_3")
    data = commands.nodes_to_clip(doc, ["dense_3"])
    stack.push(commands.PasteNodes(doc, data))
    stack.push(commands.PasteNodes(doc, data))
    assert [n.id for n in doc.nodes] == ["dense_3", "dense_4", "dense_5"]


@pytest.mark.parametrize(
    "data",
    [None, "text", {"nodes": []}, {"format": "something-else", "nodes": []},
     {"format": commands.CLIP_FORMAT, "nodes": [{"id": 3}]},
     {"format": commands.CLIP_FORMAT, "nodes": None}],
)  # fmt: skip
def test_clipboard_data_that_is_not_ours_is_refused_clearly(doc, data):
    with pytest.raises(ValueError, match="clipboard|copied layers"):
        commands.PasteNodes(doc, data)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        (" pad", "space"),
        ("9lives", "starting with a letter"),
        ("has space", "use letters"),
        ("x" * 65, "at most 64"),
        ("wide", "already called 'wide'"),
        ("fine_name-2.b", None),
        ("deep1", None),  # its own id
    ],
)
def test_node_id_problem(doc, name, problem):
    found = commands.node_id_problem(doc, name, old_id="deep1")
    if problem is None:
        assert found is None
    else:
        assert problem in found


def test_rename_graph(doc, stack):
    stack.push(commands.RenameGraph(doc, "Renamed"))
    assert doc.name == "Renamed"
    stack.undo()
    assert doc.name == "Two branches (Functional)"


class _Settings:
    """Stands in for the EditorDocument: holds settings and records what was applied."""

    def __init__(self):
        self.values = {"dataset": {"name": "digits"}, "training": {"epochs": 3}}
        self.applied = []

    def settings(self, key):
        return copy.deepcopy(self.values[key])

    def apply_settings(self, key, value):
        self.values[key] = value
        self.applied.append(key)


def test_set_settings_replaces_and_restores(stack):
    target = _Settings()
    stack.push(commands.SetSettings(target, "training", {"epochs": 9}))
    assert target.values["training"] == {"epochs": 9}
    stack.undo()
    assert target.values["training"] == {"epochs": 3}
    assert target.applied == ["training", "training"]
    with pytest.raises(ValueError, match="dataset"):
        commands.SetSettings(target, "graph", {})


def test_move_edge_replugs_an_edge_in_one_step(doc, stack):
    before = snapshot(doc)
    stack.push(commands.MoveEdge(doc, Edge("deep2", "merge", 1), "output", 0))
    assert Edge("deep2", "merge", 1) not in doc.edges
    assert [e for e in doc.edges if e.target == "output"] == [Edge("deep2", "output", 0)]
    assert stack.count() == 1
    stack.undo()
    assert snapshot(doc) == before

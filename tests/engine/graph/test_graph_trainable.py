"""Frozen layers and pre-trained starts in graph documents and projects: a node's
``"trainable": false``, weights copied by layer name into a graph with a new head, and the
messages when that goes wrong."""

import copy

import numpy as np
import pytest

from engine.graph.compiler import build_model, check_graph
from engine.graph.convert import copy_matching_weights, document_from_model
from engine.graph.document import GraphDocument
from engine.graph.project import Project, ProjectError
from engine.graph.session import prepare_training


def graph(head="out", frozen=True):
    hidden = {"units": 4, "activation": "relu"}
    if frozen:
        hidden["trainable"] = False
    return {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},
            {"id": "hidden", "type": "Dense", "params": hidden, "position": [1, 0]},
            {
                "id": head,
                "type": "Dense",
                "params": {"units": 2, "activation": "softmax"},
                "position": [2, 0],
            },
        ],
        "edges": [
            {"source": "input", "target": "hidden", "target_port": 0},
            {"source": "hidden", "target": head, "target_port": 0},
        ],
    }


def project(doc, weights=None, path=None):
    data = {
        "format": "layercanvas-project",
        "version": 1,
        "name": "t",
        "graph": doc,
        "dataset": {"name": "moons", "n_samples": 100, "seed": 0},
        "training": {"loss": "sparse_categorical_crossentropy", "epochs": 2},
    }
    if weights is not None:
        data["weights"] = weights
    return Project.from_json(data, path)


def test_trainable_false_is_a_valid_param_that_freezes_the_layer():
    doc = GraphDocument.from_json(graph())
    result = check_graph(doc)
    assert result.ok, result.diagnostics
    assert result.nodes["hidden"].param_count == 12  # frozen weights still count
    model = build_model(doc, result)
    assert not model.get_layer("hidden").trainable
    assert [w.name for w in model.trainable_weights] == ["out/kernel", "out/bias"]
    # And back: a document made from the model keeps the flag.
    again = document_from_model(model)
    assert again.node("hidden").params["trainable"] is False
    assert "trainable" not in again.node("out").params


def test_a_trainable_that_is_not_a_boolean_is_a_parameter_diagnostic():
    data = graph()
    data["nodes"][1]["params"]["trainable"] = "no"
    result = check_graph(GraphDocument.from_json(data))
    (problem,) = result.errors
    assert problem.param == "trainable" and problem.node_ids == ("hidden",)
    assert "true or false" in problem.text()


def test_copy_matching_weights_fills_the_named_layers_and_keeps_the_rest():
    source = build_model(GraphDocument.from_json(graph(frozen=False)))
    target = build_model(GraphDocument.from_json(graph(head="new_head")))
    kept_before = target.get_layer("new_head").get_weights()
    copied, kept = copy_matching_weights(source, target)
    assert (copied, kept) == (["hidden"], ["new_head"])
    for a, b in zip(
        source.get_layer("hidden").get_weights(),
        target.get_layer("hidden").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(kept_before, target.get_layer("new_head").get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    wider = copy.deepcopy(graph(frozen=False))
    wider["nodes"][1]["params"]["units"] = 5
    with pytest.raises(ValueError, match="shape"):
        copy_matching_weights(build_model(GraphDocument.from_json(wider)), target)


def test_a_project_starts_its_base_from_a_model_file_and_its_new_head_fresh(tmp_path):
    trained = prepare_training(project(graph(frozen=False)))
    trained.model.fit(**trained.fit_arguments())
    trained.model.save(tmp_path / "base.lcmodel")

    setup = prepare_training(project(graph(head="new_head"), "base.lcmodel", tmp_path / "p.lcproj"))
    hidden = setup.model.get_layer("hidden")
    np.testing.assert_array_equal(
        hidden.get_weights()[0], trained.model.get_layer("hidden").get_weights()[0]
    )
    (note,) = setup.warnings
    assert note.key == "weights"
    assert "new_head is not in base.lcmodel" in note.text() and "fresh weights" in note.text()
    frozen = hidden.get_weights()
    setup.model.fit(**setup.fit_arguments())
    for a, b in zip(frozen, hidden.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_file_that_matches_no_node_is_an_error(tmp_path):
    other = copy.deepcopy(graph(frozen=False))
    for node in other["nodes"][1:]:
        node["id"] = "x_" + node["id"]
    for edge in other["edges"]:
        edge["source"] = edge["source"] if edge["source"] == "input" else "x_" + edge["source"]
        edge["target"] = "x_" + edge["target"]
    prepare_training(project(other)).model.save(tmp_path / "other.lcmodel")
    with pytest.raises(ProjectError, match="none of its layers"):
        prepare_training(project(graph(), "other.lcmodel", tmp_path / "p.lcproj"))

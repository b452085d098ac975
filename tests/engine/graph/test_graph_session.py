"""From a project to a run: the data must fit the graph, settings become engine objects,
and a project can start from the weights of a saved model."""

import copy

import numpy as np
import pytest

from engine.data import load_dataset
from engine.graph.project import Project, ProjectError
from engine.graph.session import ProjectInvalid, data_diagnostics, prepare_training


def project_json(nodes, edges, dataset, training=None):
    return {
        "format": "layercanvas-project",
        "version": 1,
        "name": "t",
        "graph": {
            "nodes": [
                {"id": i, "type": t, "params": copy.deepcopy(p), "position": [0, 0]}
                for i, t, p in nodes
            ],
            "edges": [{"source": s, "target": t, "target_port": 0} for s, t in edges],
        },
        "dataset": dataset,
        "training": training
        or {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "epochs": 1},
    }


MOONS = {"name": "moons", "n_samples": 100, "seed": 0}
MLP = [
    ("input", "Input", {"shape": [2]}),
    ("hidden", "Dense", {"units": 4, "activation": "relu"}),
    ("out", "Dense", {"units": 2, "activation": "softmax"}),
]
CHAIN = [("input", "hidden"), ("hidden", "out")]


def fit_problems(data):
    project = Project.from_json(data)
    check = project.check()
    assert check.ok, [str(d) for d in check.diagnostics]
    dataset = load_dataset(project.dataset, project.base_dir)
    return data_diagnostics(check.graph, project, dataset)


def test_a_fitting_project_has_no_data_problems():
    assert fit_problems(project_json(MLP, CHAIN, MOONS)) == []


def test_input_shape_must_match_the_samples():
    nodes = copy.deepcopy(MLP)
    nodes[0] = ("input", "Input", {"shape": [3]})
    (d,) = fit_problems(project_json(nodes, CHAIN, MOONS))
    assert d.key == "graph.nodes[0].params.shape"
    assert "(3,)" in d.message and "(2,)" in d.message and "[2]" in d.fix


def test_output_units_must_match_the_classes():
    nodes = copy.deepcopy(MLP)
    nodes[2] = ("out", "Dense", {"units": 5, "activation": "softmax"})
    (d,) = fit_problems(project_json(nodes, CHAIN, MOONS))
    assert d.key == "graph.nodes[2].params.units" and d.fix == "set units to 2"


def test_class_loss_on_a_regression_set():
    nodes = [("x", "Input", {"shape": [1]}), ("y", "Dense", {"units": 1})]
    (d,) = fit_problems(project_json(nodes, [("x", "y")], {"name": "sine", "n_samples": 50}))
    assert d.key == "training.loss" and "mse" in d.fix


def test_regression_output_must_match_the_targets():
    nodes = [("x", "Input", {"shape": [1]}), ("y", "Dense", {"units": 3})]
    data = project_json(nodes, [("x", "y")], {"name": "sine", "n_samples": 50}, {"loss": "mse"})
    (d,) = fit_problems(data)
    assert "(3,)" in d.message and "(1,)" in d.message


def test_word_ids_need_an_int64_input_and_a_big_enough_embedding():
    nodes = [
        ("words", "Input", {"shape": [10]}),
        ("emb", "Embedding", {"input_dim": 20, "output_dim": 4}),
        ("flat", "Flatten", {}),
        ("out", "Dense", {"units": 2, "activation": "softmax"}),
    ]
    edges = [("words", "emb"), ("emb", "flat"), ("flat", "out")]
    found = {d.key: d for d in fit_problems(project_json(nodes, edges, {"name": "sentiment"}))}
    assert set(found) == {"graph.nodes[0].params.dtype", "graph.nodes[1].params.input_dim"}
    assert "int64" in found["graph.nodes[0].params.dtype"].fix


def test_two_inputs_do_not_fit_one_array_of_samples():
    nodes = [*MLP, ("other", "Input", {"shape": [4]}), ("add", "Add", {})]
    edges = [("input", "hidden"), ("hidden", "add"), ("other", "add"), ("add", "out")]
    data = project_json(nodes, edges, MOONS)
    data["graph"]["edges"][2]["target_port"] = 1
    (d,) = fit_problems(data)
    assert "2 inputs" in d.message


def test_prepare_training_builds_a_compiled_model_and_the_fit_arguments():
    data = project_json(MLP, CHAIN, {**MOONS, "validation_split": 0.25})
    data["training"].update(
        optimizer={"name": "sgd", "learning_rate": 0.1},
        callbacks={"early_stopping": {"monitor": "val_loss", "patience": 2}},
        batch_size=8,
        epochs=4,
        seed=5,
    )
    setup = prepare_training(Project.from_json(data), epochs=2)
    assert setup.epochs == 2 and setup.batch_size == 8 and setup.seed == 5
    assert type(setup.model.optimizer).__name__ == "SGD"
    assert [type(c).__name__ for c in setup.callbacks] == ["EarlyStopping"]
    assert setup.train_samples == 75 and setup.steps_per_epoch == 10
    args = setup.fit_arguments()
    assert args["validation_data"][0].shape == (25, 2)
    history = setup.model.fit(**args)
    assert len(history.history["val_loss"]) == 2
    assert setup.model.metadata["project"] == "t"


def test_the_same_seed_gives_the_same_initial_weights():
    data = project_json(MLP, CHAIN, MOONS)
    first = prepare_training(Project.from_json(data)).model.get_weights()
    second = prepare_training(Project.from_json(data)).model.get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_settings_raise_project_invalid_with_the_key():
    data = project_json(MLP, CHAIN, MOONS)
    data["training"]["optimizer"] = {"name": "adam", "learning_rate": -1}
    with pytest.raises(ProjectInvalid) as info:
        prepare_training(Project.from_json(data))
    assert info.value.diagnostics[0].key == "training.optimizer"
    data["training"]["optimizer"] = "adam"
    data["training"]["callbacks"] = {"early_stopping": {"patience": "x", "bogus": 1}}
    with pytest.raises(ProjectInvalid, match="training.callbacks.early_stopping"):
        prepare_training(Project.from_json(data))


def test_a_graph_error_stops_before_loading_data():
    data = project_json(MLP, CHAIN, {"name": "no_such_dataset"})
    data["graph"]["nodes"][1]["params"]["units"] = 0
    with pytest.raises(ProjectInvalid, match="units"):
        prepare_training(Project.from_json(data))


def test_training_starts_from_the_weights_the_project_names(tmp_path):
    data = project_json(MLP, CHAIN, MOONS)
    trained = prepare_training(Project.from_json(data))
    trained.model.fit(**trained.fit_arguments())
    trained.model.save(tmp_path / "start.lcmodel")

    data["weights"] = "start.lcmodel"
    data["training"]["seed"] = 99  # different initial weights, then replaced
    path = tmp_path / "p.lcproj"
    project = Project.from_json(data, path)
    setup = prepare_training(project)
    for a, b in zip(setup.model.get_weights(), trained.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    project.weights = "missing.lcmodel"
    with pytest.raises(ProjectError, match="no such model file"):
        prepare_training(project)

"""Project files: round trip, unknown keys, clear load errors, migrations, atomic saving,
and the key paths project diagnostics point at."""

import copy
import json
import os

import pytest

from engine.graph import project as project_module
from engine.graph import project_migrations
from engine.graph.project import (
    CURRENT_VERSION,
    Project,
    ProjectError,
    load_project,
    migrate,
    save_project,
)

PROJECT = {
    "format": "layercanvas-project",
    "version": 1,
    "name": "Iris MLP",
    "description": "Reaches about 0.95 validation accuracy.",
    "graph": {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [4]}, "position": [0, 0]},
            {
                "id": "hidden",
                "type": "Dense",
                "params": {"units": 16, "activation": "relu"},
                "position": [220, 0],
            },
            {
                "id": "out",
                "type": "Dense",
                "params": {"units": 3, "activation": "softmax"},
                "position": [440, 0],
            },
        ],
        "edges": [
            {"source": "input", "target": "hidden", "target_port": 0},
            {"source": "hidden", "target": "out", "target_port": 0},
        ],
    },
    "dataset": {"name": "iris", "validation_split": 0.2, "seed": 0},
    "training": {
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"name": "adam", "learning_rate": 0.01},
        "metrics": ["accuracy"],
        "batch_size": 16,
        "epochs": 30,
        "callbacks": {"early_stopping": {"monitor": "val_loss", "patience": 5}},
        "seed": 0,
    },
    "weights": "pretrained/iris.lcmodel",
}


def write(path, data) -> str:
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_error(tmp_path, data) -> ProjectError:
    with pytest.raises(ProjectError) as info:
        load_project(write(tmp_path / "p.lcproj", data))
    return info.value


def test_round_trip_is_identical(tmp_path):
    text = project_module.dumps_readable(PROJECT) + "\n"
    assert '      {"source": "input", "target": "hidden", "target_port": 0},\n' in text
    assert json.loads(text) == PROJECT
    path = tmp_path / "p.lcproj"
    path.write_text(text, encoding="utf-8")
    project = load_project(path)
    assert project.to_json() == PROJECT
    assert project.dumps() == text
    assert project.name == "Iris MLP" and project.warnings == []
    assert project.weights_path == (tmp_path / "pretrained" / "iris.lcmodel").resolve()
    project.save(tmp_path / "copy.lcproj")
    assert (tmp_path / "copy.lcproj").read_text(encoding="utf-8") == text


def test_any_formatting_reads_back_to_the_same_data(tmp_path):
    path = tmp_path / "p.lcproj"
    path.write_text(json.dumps(PROJECT, indent=4, sort_keys=True), encoding="utf-8")
    assert load_project(path).to_json() == PROJECT


def test_readable_json_keeps_lines_within_100_characters():
    data = {"a": {"b": ["x" * 30] * 5, "c": list(range(40))}, "d": [], "e": {}}
    text = project_module.dumps_readable(data)
    assert json.loads(text) == data
    assert max(len(line) for line in text.splitlines()) <= 100


def test_unknown_keys_are_kept_and_reported(tmp_path):
    data = copy.deepcopy(PROJECT)
    data["ui"] = {"zoom": 2}
    data["training"]["warmup"] = 3
    data["graph"]["nodes"][1]["color"] = "blue"
    project = load_project(write(tmp_path / "p.lcproj", data))
    assert project.to_json() == data
    assert sorted(project.warnings) == [
        "unknown key 'graph.nodes[1].color' (kept as is)",
        "unknown key 'training.warmup' (kept as is)",
        "unknown key 'ui' (kept as is)",
    ]


def test_bad_json_gives_line_and_column(tmp_path):
    err = load_error(tmp_path, '{\n  "format": "layercanvas-project",\n  "version": 1,,\n}')
    assert "line 3, column 16" in str(err)
    assert err.file.endswith("p.lcproj")


def test_missing_file_folder_and_binary_file(tmp_path):
    with pytest.raises(ProjectError, match="no such project file"):
        load_project(tmp_path / "missing.lcproj")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)
    (tmp_path / "bin.lcproj").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="not UTF-8"):
        load_project(tmp_path / "bin.lcproj")


def test_oversized_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    monkeypatch.setattr(project_module, "MAX_PROJECT_BYTES", 1000)
    path = tmp_path / "big.lcproj"
    path.write_bytes(b"x" * 5000)
    with pytest.raises(ProjectError, match="at most"):
        load_project(path)


@pytest.mark.parametrize(
    "mutate, key, words",
    [
        (lambda d: d.update(format="something-else"), "format", "not a LayerCanvas project"),
        (lambda d: d.pop("format"), "format", "not a LayerCanvas project"),
        (lambda d: d.update(version="1"), "version", "positive integer"),
        (lambda d: d.update(version=CURRENT_VERSION + 1), "version", "newer LayerCanvas"),
        (lambda d: d.pop("graph"), "graph", "missing"),
        (lambda d: d["graph"]["nodes"][1].update(params=[16]), "graph.nodes[1].params", "object"),
        (
            lambda d: d["graph"]["edges"][0].update(target_port="a"),
            "graph.edges[0].target_port",
            "port",
        ),
        (lambda d: d.update(dataset="digits"), "dataset", "object"),
        (lambda d: d["training"].update(batch_size=0), "training.batch_size", "positive integer"),
        (lambda d: d["training"].update(epochs=2.5), "training.epochs", "positive integer"),
        (lambda d: d["training"].update(loss=3), "training.loss", "loss name"),
        (lambda d: d["training"].update(optimizer={"lr": 1}), "training.optimizer", "name"),
        (lambda d: d["training"].update(metrics="accuracy"), "training.metrics", "list"),
        (
            lambda d: d["training"].update(validation_split=1.5),
            "training.validation_split",
            "fraction",
        ),
        (
            lambda d: d["training"].update(callbacks=["early_stopping"]),
            "training.callbacks",
            "object",
        ),
        (lambda d: d.update(weights=5), "weights", "relative path"),
        (lambda d: d.update(name=["x"]), "name", "text"),
    ],
)
def test_structural_errors_name_file_key_and_problem(tmp_path, mutate, key, words):
    data = copy.deepcopy(PROJECT)
    mutate(data)
    err = load_error(tmp_path, data)
    assert err.key == key
    assert words in err.problem
    assert str(err).startswith(err.file + ": " + key)


def test_top_level_must_be_an_object(tmp_path):
    assert "expected a JSON object" in str(load_error(tmp_path, "[1, 2]"))


def test_migrations_upgrade_step_by_step():
    def v1_to_v2(data):
        data["graph"]["nodes"][0]["params"]["shape"] = [4]
        return data

    def v2_to_v3(data):
        data["training"]["renamed"] = data["training"].pop("epochs")
        return data

    old = {"version": 1, "graph": {"nodes": [{"params": {}}]}, "training": {"epochs": 3}}
    new = migrate(old, "f", migrations={1: v1_to_v2, 2: v2_to_v3}, current=3)
    assert new["version"] == 3
    assert new["graph"]["nodes"][0]["params"] == {"shape": [4]}
    assert new["training"] == {"renamed": 3}
    assert old["version"] == 1  # the input is not changed
    with pytest.raises(ProjectError, match="no way to upgrade"):
        migrate({"version": 1}, "f", migrations={}, current=2)


def test_the_migration_registry_refuses_two_steps_from_one_version(monkeypatch):
    monkeypatch.setattr(project_migrations, "MIGRATIONS", {})
    project_module.migration(1)(lambda d: d)
    with pytest.raises(ValueError):
        project_module.migration(1)(lambda d: d)


def test_atomic_save_leaves_the_old_file_on_failure(tmp_path, monkeypatch):
    project = Project.from_json(copy.deepcopy(PROJECT))
    path = tmp_path / "p.lcproj"
    save_project(project, path)
    before = path.read_text(encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    project.graph.rename("Changed")
    with pytest.raises(OSError):
        save_project(project, path)
    assert path.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.lcproj"]


def test_check_gives_key_paths_for_graph_problems():
    data = copy.deepcopy(PROJECT)
    data["graph"]["nodes"][1]["params"]["units"] = "many"
    data["graph"]["nodes"][2]["type"] = "Dens"
    data["graph"]["edges"].append({"source": "ghost", "target": "out", "target_port": 0})
    project = Project.from_json(data, "p.lcproj")
    keys = {d.code: d.key for d in project.check().diagnostics}
    assert keys["parameter"] == "graph.nodes[1].params.units"
    assert keys["unknown_type"] == "graph.nodes[2].type"
    assert keys["dangling_edge"] == "graph.edges[2]"


def test_check_reports_a_missing_loss_and_loss_keys_that_are_not_outputs():
    data = copy.deepcopy(PROJECT)
    data["training"].pop("loss")
    found = Project.from_json(data).check().errors
    assert [d.key for d in found] == ["training.loss"]
    data["training"]["loss"] = {"hidden": "mse"}
    found = Project.from_json(data).check()
    keys = [(d.severity, d.key) for d in found.diagnostics]
    assert ("error", "training.loss.hidden") in keys
    assert ("warning", "training.loss") in keys  # 'out' is then not trained


def test_check_reports_an_unknown_callback_and_no_dataset():
    data = copy.deepcopy(PROJECT)
    data["training"]["callbacks"] = {"early_stop": {}}
    data["dataset"] = {}
    found = {d.key: d for d in Project.from_json(data).check().diagnostics}
    assert "early_stopping" in found["training.callbacks.early_stop"].fix
    assert found["dataset"].severity == "warning"


@pytest.mark.parametrize(
    "key, value, where",
    [
        ("loss", "msee", "training.loss"),
        ("optimizer", {"name": "adamm"}, "training.optimizer"),
        ("metrics", ["acuracy"], "training.metrics[0]"),
    ],
)
def test_check_asks_the_engine_registries_about_names(key, value, where):
    pytest.importorskip("engine.losses")
    pytest.importorskip("engine.optimizers")
    pytest.importorskip("engine.metrics")
    data = copy.deepcopy(PROJECT)
    data["training"][key] = value
    found = Project.from_json(data).check()
    assert [d.key for d in found.errors] == [where]
    assert Project.from_json(copy.deepcopy(PROJECT)).check().ok

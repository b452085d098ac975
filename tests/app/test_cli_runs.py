"""``layercanvas train`` records each run in the project's run store (``X.runs/``), where
the window's Runs panel finds it; a store that cannot be written is a warning only."""

import copy
import json

import pytest

import engine
from app import cli
from engine.runs import RunStore, runs_dir_for
from tests.app.test_cli import TINY, run, write_project


def test_train_records_the_run(tmp_path, capsys):
    project = write_project(tmp_path, TINY, "tiny.lcproj")
    code, out, err = run(capsys, "train", project, "--out", str(tmp_path / "out"), "--seed", "3")
    assert code == 0, err
    records, problems = RunStore(tmp_path / "tiny.runs").list()
    assert problems == [] and len(records) == 1
    record = records[0]
    assert f"Recorded as '{record.name}' in {record.folder}" in out
    history = json.loads((tmp_path / "out" / "history.json").read_text())
    assert record.source == "cli" and record.status == "finished" and record.seed == 3
    assert record.history["loss"] == pytest.approx(history["loss"])
    assert record.project["graph"] == TINY["graph"] and record.epochs_done == 2
    assert set(record.final) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    model = engine.load_model(record.weights_path("last"))
    trained = engine.load_model(tmp_path / "out" / "model.lcmodel")
    for a, b in zip(model.get_weights(), trained.get_weights(), strict=True):
        assert (a == b).all()
    assert record.weights_path("best") is not None
    # A second run is a second record.
    assert cli.main(["train", project, "--out", str(tmp_path / "out")]) == 0
    assert len(RunStore(runs_dir_for(project)).list()[0]) == 2


def test_a_diverged_run_is_recorded_as_diverged(tmp_path, capsys):
    data = copy.deepcopy(TINY)
    data["training"]["optimizer"] = {"name": "sgd", "learning_rate": 1e30}
    project = write_project(tmp_path, data, "bad.lcproj")
    code, _, err = run(capsys, "train", project, "--out", str(tmp_path / "out"))
    assert code == 1 and "diverged" in err
    (record,), _ = RunStore(tmp_path / "bad.runs").list()
    assert record.status == "diverged" and "batch" in record.note


def test_an_unwritable_store_is_a_warning(tmp_path, capsys):
    project = write_project(tmp_path, TINY, "tiny.lcproj")
    (tmp_path / "tiny.runs").write_text("a file where the folder should be")
    code, _, err = run(capsys, "train", project, "--out", str(tmp_path / "out"))
    assert code == 0
    assert "warning: this run is not recorded" in err and "Traceback" not in err


def test_no_record_leaves_the_project_folder_without_a_run_store(tmp_path, capsys):
    """--no-record trains and writes the output folder, but records nothing beside the
    project (the test suite trains the shipped examples this way)."""
    from app import cli
    from tests.app.test_cli import TINY, write_project

    project = write_project(tmp_path, TINY)
    out = tmp_path / "out"
    assert cli.main(["train", project, "--epochs", "1", "--out", str(out), "--no-record"]) == 0
    assert "Recorded as" not in capsys.readouterr().out
    assert (out / "model.lcmodel").is_file()
    assert not any(p.name.endswith(".runs") for p in tmp_path.iterdir())

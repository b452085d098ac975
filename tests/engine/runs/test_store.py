"""The run store: records written and read back, listing, damaged and newer records
reported (never raised out of ``list``), and the last/best weights a recorded run leaves."""

import json
import math

import numpy as np
import pytest

import engine
from engine.graph.project import Project
from engine.graph.session import prepare_training
from engine.runs import RUN_VERSION, RunRecord, RunRecordError, RunStore, runs_dir_for
from engine.runs.compare import differing, run_parameters
from engine.runs.record import record_run
from engine.runs.resume import resume_setup
from tests.project_fixtures import tiny_project

TINY = tiny_project(epochs=6, learning_rate=0.05)


def project(**training):
    data = json.loads(json.dumps(TINY))
    data["training"].update(training)
    return Project.from_json(data)


def train(store, proj, **kw):
    setup = prepare_training(proj)
    recorder = record_run(store, setup, source="test", **kw)
    setup.model.fit(**setup.fit_arguments([recorder]))
    return setup, recorder.record


def test_runs_dir_is_beside_the_project(tmp_path):
    assert runs_dir_for(tmp_path / "My net.lcproj") == tmp_path / "My net.runs"


def test_write_read_list_round_trip(tmp_path):
    store = RunStore(tmp_path / "p.runs")
    assert store.list() == ([], [])  # no folder yet: empty, not an error
    a = store.create(TINY, seed=3, batch_size=16, epochs_planned=4)
    a.history = {"epoch": [1.0, 2.0], "loss": [0.9, math.nan], "val_loss": [1.0, 0.5]}
    a.final = {"loss": math.nan, "val_loss": 0.5}
    a.notes, a.starred = "wider", True
    store.save(a)
    b = store.create(TINY, seed=4, batch_size=16, epochs_planned=4)
    text = (a.folder / "run.json").read_text()
    assert "NaN" not in text  # strict JSON: NaN is written as null
    back = store.load(a.id)
    assert back.to_json() == a.to_json()
    assert math.isnan(back.history["loss"][1]) and back.epochs_done == 2
    records, problems = store.list()
    assert [r.id for r in records] == [a.id, b.id] and problems == []
    assert [r.name for r in records] == ["run 1", "run 2"]
    store.update(b.id, notes="lr test", starred=True, name="baseline")
    again = store.load(b.id)
    assert (again.notes, again.starred, again.name) == ("lr test", True, "baseline")
    with pytest.raises(ValueError, match="cannot set"):
        store.update(b.id, status="finished")


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"{not json", "damaged JSON at line 1"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"format": "something else"}', "not a LayerCanvas run record"),
        (json.dumps({"format": "layercanvas-run", "version": RUN_VERSION + 1}).encode(), "newer"),
        (
            json.dumps({"format": "layercanvas-run", "version": 1, "id": "x"}).encode(),
            "project: is missing",
        ),
        (
            json.dumps(
                {
                    "format": "layercanvas-run",
                    "version": 1,
                    "id": "x",
                    "project": {},
                    "weights": {"last": "../../etc/passwd"},
                }
            ).encode(),
            "weights.last",
        ),
        (
            json.dumps(
                {
                    "format": "layercanvas-run",
                    "version": 1,
                    "id": "x",
                    "project": {},
                    "history": {"loss": ["a"]},
                }
            ).encode(),
            "history.loss: must be a number",
        ),
    ],
)
def test_a_bad_record_is_reported_and_skipped(tmp_path, content, expected):
    store = RunStore(tmp_path)
    good = store.create(TINY, seed=0, batch_size=1, epochs_planned=1)
    bad = tmp_path / "00000000-bad"
    bad.mkdir()
    (bad / "run.json").write_bytes(content)
    records, problems = store.list()
    assert [r.id for r in records] == [good.id]
    assert len(problems) == 1 and expected in problems[0] and str(bad) in problems[0]
    with pytest.raises(RunRecordError, match=expected):
        store.load("00000000-bad")


def test_a_folder_without_record_and_a_moved_record_are_reported(tmp_path):
    store = RunStore(tmp_path)
    run = store.create(TINY, seed=0, batch_size=1, epochs_planned=1)
    (tmp_path / "empty").mkdir()
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "run.json").write_text((run.folder / "run.json").read_text())
    records, problems = store.list()
    assert [r.id for r in records] == [run.id]
    assert any("missing" in p for p in problems) and any("does not match" in p for p in problems)
    with pytest.raises(RunRecordError):
        store.load("../x")


def test_a_recorded_run_keeps_last_and_best_weights(tmp_path):
    store = RunStore(tmp_path / "p.runs")
    # A high SGD rate makes val_loss jump: its best epoch (4) is not the last (5).
    sgd = {"name": "sgd", "learning_rate": 3.0}
    setup, record = train(store, project(optimizer=sgd, epochs=5))
    record = store.load(record.id)
    history = setup.model.history.history
    assert record.status == "finished" and record.epochs_done == 5
    assert record.history["val_loss"] == pytest.approx(history["val_loss"])
    assert record.monitor == "val_loss" and record.wall_seconds > 0
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    assert record.best == {"epoch": best_epoch, "value": pytest.approx(min(history["val_loss"]))}
    data = setup.data
    last = engine.load_model(record.weights_path("last"))
    best = engine.load_model(record.weights_path("best"))
    for w, v in zip(last.get_weights(), setup.model.get_weights(), strict=True):
        np.testing.assert_array_equal(w, v)
    # The best file holds the weights of the best epoch: evaluated, it gives that val_loss.
    got = best.evaluate(data.validation.x, data.validation.y, verbose=0, return_dict=True)
    assert got["loss"] == pytest.approx(record.best["value"], rel=1e-5)
    assert best_epoch != 5
    assert not all(
        np.array_equal(a, b) for a, b in zip(best.get_weights(), last.get_weights(), strict=True)
    )


def test_without_validation_best_is_by_loss(tmp_path):
    data = json.loads(json.dumps(TINY))
    data["dataset"]["validation_split"] = 0.0
    store = RunStore(tmp_path)
    _, record = train(store, Project.from_json(data))
    record = store.load(record.id)
    assert record.monitor == "loss" and "val_loss" not in record.history
    assert record.best["value"] == pytest.approx(min(record.history["loss"]))


def test_a_stopped_run_is_marked_stopped(tmp_path):
    from engine.callbacks import LambdaCallback

    store = RunStore(tmp_path)
    setup = prepare_training(project())
    recorder = record_run(store, setup, source="test")

    def stop(epoch, logs):
        if epoch == 1:
            setup.model.stop_training = True

    setup.model.fit(**setup.fit_arguments([LambdaCallback(on_epoch_end=stop), recorder]))
    record = store.load(recorder.record.id)
    assert record.status == "stopped" and record.epochs_done == 2


def test_resume_continues_from_the_last_weights_and_optimizer_state(tmp_path):
    store = RunStore(tmp_path)
    first_setup, first = train(store, project(epochs=3))
    parent = store.load(first.id)
    saved = engine.load_model(parent.weights_path("last"), compile=True)
    steps = first_setup.steps_per_epoch
    assert int(saved.optimizer.iterations) == 3 * steps

    setup = prepare_training(Project.from_json(parent.project), epochs=2)
    resume_setup(setup, parent)
    recorder = record_run(store, setup, source="test", parent=parent.id)
    setup.model.fit(**setup.fit_arguments([recorder]))
    child = store.load(recorder.record.id)
    assert child.parent == parent.id and child.initial_epoch == 3
    assert child.history["epoch"] == [4.0, 5.0] and child.epochs_done == 5
    resumed = engine.load_model(child.weights_path("last"), compile=True)
    assert int(resumed.optimizer.iterations) == 5 * steps
    # An uninterrupted 5-epoch run ends where the resumed one does (float32 noise apart).
    whole = prepare_training(project(epochs=5))
    whole.model.fit(**whole.fit_arguments())
    for a, b in zip(whole.model.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_resume_without_weights_says_so(tmp_path):
    store = RunStore(tmp_path)
    record = store.create(TINY, seed=0, batch_size=32, epochs_planned=2)
    with pytest.raises(RunRecordError, match="no last weights"):
        resume_setup(prepare_training(project()), record)


def test_differing_parameters(tmp_path):
    store = RunStore(tmp_path)
    a = store.create(project().to_json(), seed=0, batch_size=32, epochs_planned=2)
    other = project(optimizer={"name": "adam", "learning_rate": 0.001}).to_json()
    other["graph"]["nodes"][1]["params"]["units"] = 16
    other["graph"]["nodes"][1]["position"] = [999, 999]  # moving a node changes nothing
    b = store.create(other, seed=1, batch_size=32, epochs_planned=2)
    diff = differing([a, b])
    assert diff == {
        "seed": ["0", "1"],
        "training.optimizer.learning_rate": ["0.05", "0.001"],
        "graph.hidden.units": ["8", "16"],
    }
    assert differing([a]) == {}
    assert run_parameters(a)["training.optimizer.name"] == "adam"


def test_record_from_json_rejects_wrong_types():
    with pytest.raises(RunRecordError, match="starred: must be true or false"):
        RunRecord.from_json(
            {"format": "layercanvas-run", "version": 1, "id": "x", "project": {}, "starred": 1}
        )

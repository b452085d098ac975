"""The experiment store: records written and read back, damaged ones refused with the
file and the key named, and the run store beside it unaffected by the experiments folder."""

import json

import pytest

from engine.experiments import ExperimentStore, SweepError, SweepParam
from engine.experiments.experiment import EXPERIMENT_VERSION
from engine.runs import RunRecord, RunStore
from engine.user_errors import user_error_types
from tests.project_fixtures import tiny_project

LR = SweepParam("learning_rate", "1e-3:1e-1:log:3", [0.001, 0.01, 0.1], "training", "learning rate")


def make(tmp_path, **kw):
    store = ExperimentStore(tmp_path / "p.runs")
    options = {"epochs": 4, "project": tiny_project(), "name": "lr"} | kw
    return store, store.create([LR], **options)


def test_round_trip(tmp_path):
    store, experiment = make(tmp_path, metric="val_loss")
    assert experiment.folder == tmp_path / "p.runs" / "experiments" / experiment.id
    assert experiment.mode == "min"  # a loss is better lower
    trial = experiment.trials[1]
    trial.status, trial.metric, trial.run_id = "finished", 0.25, "r1"
    trial.earlier_runs.append("r0")
    store.save(experiment)
    again = store.load(experiment.id)
    assert again.to_json() == experiment.to_json()
    assert [t.values for t in again.trials] == [{"learning_rate": v} for v in LR.values]
    assert again.project_json() == tiny_project()
    assert again.remaining() == [again.trials[0], again.trials[2]]
    assert again.best_trial().id == trial.id
    assert [e.id for e in store.list()] == [experiment.id]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(version=EXPERIMENT_VERSION + 1), "written by a newer LayerCanvas"),
        (lambda d: d.update(format="something"), "not a LayerCanvas experiment record"),
        (lambda d: d.update(strategy="bayes"), "strategy: must be one of grid, random, halving"),
        (lambda d: d["trials"][0].update(status="done"), "trials[0].status: must be one of"),
        (
            lambda d: d["trials"][1].update(metric="high"),
            "trials[1].metric: must be a finite number",
        ),
        (lambda d: d["trials"][1].update(id="t001"), "trials[1].id: 't001' is used twice"),
        (lambda d: d.update(epochs=0), "epochs: must be a whole number >= 1"),
        (lambda d: d.pop("params"), "params: is missing"),
    ],
)
def test_a_damaged_record_names_the_file_and_the_key(tmp_path, change, words):
    store, experiment = make(tmp_path)
    path = experiment.folder / "experiment.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(SweepError) as caught:
        store.load(experiment.id)
    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)
    assert isinstance(caught.value, user_error_types())
    found, problems = store.scan()
    assert found == [] and len(problems) == 1 and words in problems[0]


def test_broken_json_and_a_missing_experiment(tmp_path):
    store, experiment = make(tmp_path)
    (experiment.folder / "experiment.json").write_text('{"format": "layercanvas-exp')
    with pytest.raises(SweepError, match=r"damaged JSON at line 1, column \d+"):
        store.load(experiment.id)
    with pytest.raises(SweepError, match="no experiment 'nope'"):
        store.load("nope")
    with pytest.raises(SweepError, match="not an experiment id"):
        store.load("../x")


def test_the_run_store_ignores_the_experiments_folder_and_reads_tagged_runs(tmp_path):
    make(tmp_path)
    runs = RunStore(tmp_path / "p.runs")
    assert runs.list() == ([], [])
    tag = {"id": "e1", "trial": "t002", "name": "lr", "values": {"learning_rate": 0.01}}
    record = runs.create(tiny_project(), seed=0, batch_size=8, epochs_planned=2, experiment=tag)
    assert record.name == "run 1"  # the experiments folder is not counted as a run
    (read,), problems = runs.list()
    assert problems == [] and read.experiment == tag


def test_a_run_record_written_before_experiments_still_reads(tmp_path):
    runs = RunStore(tmp_path / "p.runs")
    record = runs.create(tiny_project(), seed=0, batch_size=8, epochs_planned=2)
    path = record.folder / "run.json"
    data = json.loads(path.read_text())
    del data["experiment"]
    path.write_text(json.dumps(data))
    assert runs.load(record.id).experiment is None
    data["experiment"] = {"id": 3}
    with pytest.raises(ValueError, match="experiment.id: must be text"):
        RunRecord.from_json(data, "r")


def test_the_metric_defaults_to_the_first_metrics_validation_value_and_must_be_logged(tmp_path):
    store = ExperimentStore(tmp_path / "p.runs")
    experiment = store.create([LR], epochs=2, project=tiny_project())
    assert (experiment.metric, experiment.mode) == ("val_accuracy", "max")
    with pytest.raises(
        SweepError, match="metric 'val_auc'.*val_accuracy, val_loss, accuracy, loss"
    ):
        store.create([LR], epochs=2, project=tiny_project(), metric="val_auc")

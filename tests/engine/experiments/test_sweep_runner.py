"""The runner on the shipped digits MLP (copied to a temporary folder), 1-2 epochs a trial:
every trial a process and a recorded run tagged with the experiment, checked against the
run records themselves (what each trained with, what it logged)."""

import shutil
import subprocess
import sys
import threading

import pytest

from engine.experiments import ExperimentStore, SweepError, resolve_params
from engine.experiments.runner import ExperimentRunner, blas_threads
from engine.graph.project import load_project
from engine.runs import RunStore, runs_dir_for

EXAMPLE = "resources/examples/digits_mlp.lcproj"


@pytest.fixture
def project_file(tmp_path):
    path = tmp_path / "digits_mlp.lcproj"
    shutil.copyfile(EXAMPLE, path)
    return path


def create(project_file, params, **kw):
    project = load_project(project_file)
    store = ExperimentStore(runs_dir_for(project_file))
    options = {"epochs": 2, "project": project.to_json(), "name": "sweep"} | kw
    return store, store.create(resolve_params(project, params), **options)


def runs_by_id(project_file):
    records, problems = RunStore(runs_dir_for(project_file)).list()
    assert problems == []
    return {r.id: r for r in records}


def test_six_learning_rates_two_at_a_time_record_six_tagged_runs(project_file):
    store, experiment = create(project_file, ["lr=1e-4:1e-1:log:6"])
    events = []
    runner = ExperimentRunner(project_file, experiment, parallel=2, on_event=events.append)
    assert runner.run() == "finished"

    runs = runs_by_id(project_file)
    assert len(runs) == 6
    lrs = resolve_params(load_project(project_file), ["lr=1e-4:1e-1:log:6"])[0].values
    for trial, lr in zip(experiment.trials, lrs, strict=True):
        record = runs[trial.run_id]
        assert trial.status == "finished" and record.status == "finished"
        assert record.experiment == {
            "id": experiment.id,
            "trial": trial.id,
            "name": "sweep",
            "values": {"learning_rate": lr},
        }
        assert record.project["training"]["optimizer"]["learning_rate"] == lr
        assert record.history["epoch"] == [1.0, 2.0]
        assert trial.metric == record.final["val_accuracy"]
    best = max(runs.values(), key=lambda r: r.final["val_accuracy"])
    assert experiment.best_trial().run_id == best.id
    # What the runner wrote is what a reload reads.
    assert store.load(experiment.id).to_json() == experiment.to_json()

    kinds = [e["kind"] for e in events]
    assert kinds.count("trial_started") == kinds.count("trial_finished") == 6
    assert kinds.count("epoch") == 12 and kinds[-1] == "experiment_finished"
    # Two at once: the second trial started before the first one ended.
    order = [(e["kind"], e.get("trial")) for e in events]
    assert order.index(("trial_started", "t002")) < order.index(("trial_finished", "t001"))


def test_blas_threads_split_the_cores():
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert blas_threads(1) == cores
    assert blas_threads(2) == max(1, cores // 2)
    assert blas_threads(10_000) == 1


def test_skip_stop_and_continue(project_file):
    store, experiment = create(project_file, ["lr=0.001,0.002,0.003,0.004"], epochs=60)
    experiment.trials[0].epochs = 1  # only t003 needs to be long enough to stop part way
    store.save(experiment)
    runner = None

    def on_event(event):
        if event["kind"] == "epoch" and event["trial"] == "t003" and event["epoch"] == 1:
            runner.stop()

    runner = ExperimentRunner(project_file, experiment, on_event=on_event)
    runner.skip("t002")
    done = threading.Event()
    threading.Thread(target=lambda: (runner.run(), done.set()), daemon=True).start()
    assert done.wait(60)
    statuses = [t.status for t in experiment.trials]
    assert statuses == ["finished", "skipped", "stopped", "pending"]
    assert experiment.status == "stopped"
    runs = runs_by_id(project_file)
    assert len(runs) == 2  # the skipped trial never started
    stopped = runs[experiment.trials[2].run_id]
    assert stopped.status == "stopped" and stopped.epochs_done < 60

    again = store.load(experiment.id)
    first_run = again.trials[0].run_id
    shorter = ExperimentRunner(project_file, again)
    # The rest only: t003 again (stopped part way), t004; t001 is not re-run, t002 stays skipped.
    for trial in again.trials:
        trial.epochs = 1
    assert shorter.run() == "finished"
    assert [t.status for t in again.trials] == ["finished", "skipped", "finished", "finished"]
    assert again.trials[0].run_id == first_run
    assert again.trials[2].earlier_runs == [stopped.id]
    assert len(runs_by_id(project_file)) == 4


def test_successive_halving_continues_the_better_half(project_file):
    store, experiment = create(
        project_file, ["lr=1e-4,1e-3,1e-2,5e-2"], strategy="halving", epochs=2
    )
    assert [t.epochs for t in experiment.trials] == [1, 1, 1, 1]
    assert ExperimentRunner(project_file, experiment, parallel=2).run() == "finished"
    first = experiment.trials[:4]
    second = experiment.trials[4:]
    assert len(second) == 2 and {t.rung for t in second} == {1}
    top_two = sorted(first, key=lambda t: t.metric, reverse=True)[:2]
    assert [t.parent for t in second] == [t.id for t in top_two]
    assert sorted(t.status for t in first) == ["finished", "finished", "pruned", "pruned"]
    runs = runs_by_id(project_file)
    for trial in second:
        parent = experiment.trial(trial.parent)
        record = runs[trial.run_id]
        # It continued its parent's run for the epoch it lacked, from its last weights.
        assert record.parent == parent.run_id
        assert record.history["epoch"] == [2.0]
        assert trial.values == parent.values
    assert experiment.best_trial() in second


def test_a_live_runner_is_not_run_twice(project_file):
    store, experiment = create(project_file, ["lr=0.001"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        experiment.runner = {"pid": other.pid}
        with pytest.raises(SweepError, match=f"already running in process {other.pid}"):
            ExperimentRunner(project_file, experiment).run()
    finally:
        other.kill()
        other.wait()
    assert runs_by_id(project_file) == {}
    assert ExperimentRunner(project_file, experiment).run() == "finished"


def test_a_schedule_trial_trains_with_the_steps_of_its_run(project_file):
    store, experiment = create(project_file, ["schedule=none,cosine_decay"], epochs=1)
    assert ExperimentRunner(project_file, experiment, parallel=2).run() == "finished"
    runs = runs_by_id(project_file)
    constant, cosine = (runs[t.run_id] for t in experiment.trials)
    assert constant.learning_rate == 0.003 and cosine.learning_rate == "schedule"
    schedule = cosine.project["training"]["optimizer"]["learning_rate"]
    # One epoch of the digits' 1438 training samples in batches of 32.
    assert schedule == {"name": "cosine_decay", "initial_learning_rate": 0.003, "decay_steps": 45}
    assert cosine.history["learning_rate"][-1] < 0.003 * 0.01

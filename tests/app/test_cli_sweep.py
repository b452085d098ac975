"""``layercanvas sweep``: a sweep of 6 learning rates on the digits MLP records 6 runs and
ranks them by what the runs logged; bad values stop it before anything starts; a sweep
killed with SIGKILL continues where it stopped without re-running finished trials."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import cli
from engine.experiments import ExperimentStore
from engine.runs import RunStore, runs_dir_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "digits_mlp.lcproj"


@pytest.fixture
def project(tmp_path):
    path = tmp_path / "digits_mlp.lcproj"
    shutil.copyfile(EXAMPLE, path)
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def recorded(project):
    records, problems = RunStore(runs_dir_for(project)).list()
    assert problems == []
    return records


def test_six_learning_rates_record_six_runs_ranked_by_the_metric(capsys, project):
    code, out, err = run(
        capsys,
        "sweep",
        project,
        "--param",
        "lr=1e-4:1e-1:log:6",
        "--epochs",
        "2",
        "--parallel",
        "2",
        "--name",
        "lr sweep",
    )
    assert code == 0, out + err
    records = recorded(project)
    assert len(records) == 6
    (experiment,) = ExperimentStore(runs_dir_for(project)).list()
    assert {r.experiment["id"] for r in records} == {experiment.id}
    assert all(r.source == "cli" and r.status == "finished" for r in records)
    assert sorted(r.project["training"]["optimizer"]["learning_rate"] for r in records) == sorted(
        experiment.params[0]["values"]
    )
    # The table lists the trials best first, by the value each run logged.
    by_run = {r.id: r.final["val_accuracy"] for r in records}
    rows = [line.split() for line in out.splitlines() if re.match(r"^\d+\s+t\d{3}\s", line)]
    assert len(rows) == 6
    ranked = [by_run[row[-1]] for row in rows]
    assert ranked == sorted(ranked, reverse=True)
    best = max(records, key=lambda r: r.final["val_accuracy"])
    assert f"Best: {best.experiment['trial']}" in out
    assert "[6/6] " in out and "lr sweep" in out

    code, out, err = run(capsys, "sweep", project, "--list")
    assert code == 0 and experiment.id in out and "6/6" in out and "finished" in out


@pytest.mark.parametrize(
    ("param", "words"),
    [
        ("lr=-1e-3:1e-1:log:6", "log range needs start and stop > 0, got start -0.001"),
        ("lr=-1e-3:1e-1:6", "learning_rate: -0.001 is not a usable learning rate"),
        ("nodes=1,2", "unknown parameter 'nodes'"),
        ("lr=", "parameter lr: no values after '=' (an empty list)"),
        ("hidden.units=8,,16", "an empty value in the list"),
        ("hidden.units=1:2:0", "count must be at least 1"),
    ],
)
def test_bad_values_stop_the_sweep_before_anything_starts(capsys, project, param, words):
    code, out, err = run(capsys, "sweep", project, "--param", param)
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert err.startswith("layercanvas: error: ") and words in err
    assert not runs_dir_for(project).exists()  # no experiment, no run


def test_other_mistakes_are_one_line_too(capsys, project):
    code, _, err = run(capsys, "sweep", project, "--param", "lr=0.1", "--metric", "val_auc")
    assert code == 1 and "metric 'val_auc'" in err and "val_accuracy" in err
    code, _, err = run(
        capsys, "sweep", project, "--param", "lr=0.1,0.2", "--strategy", "random", "--trials", "3"
    )
    assert code == 1 and "3 trials asked for, but the grid has only 2" in err
    code, _, err = run(capsys, "sweep", project)
    assert code == 2 and "--param" in err
    code, _, err = run(capsys, "sweep", project, "--continue", "nope")
    assert code == 1 and "no experiment 'nope'" in err
    assert not (runs_dir_for(project) / "experiments").exists() or not any(
        (runs_dir_for(project) / "experiments").iterdir()
    )


def _trial_processes(folder: Path) -> list[int]:
    """Trial processes of the experiment in ``folder`` still alive (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        ours = b"engine.experiments.trial" in command and str(folder).encode() in command
        if ours and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL and /proc")
def test_a_killed_sweep_continues_where_it_stopped(capsys, project):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "sweep",
            str(project),
            "--param",
            "lr=0.001,0.002,0.003",
            "--epochs",
            "15",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    experiments = runs_dir_for(project) / "experiments"
    deadline = time.monotonic() + 90
    record = None
    while True:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the first trial did not finish"
        files = list(experiments.glob("*/experiment.json")) if experiments.exists() else []
        if files:
            try:
                record = json.loads(files[0].read_text())
            except ValueError:
                record = None
            if record and record["trials"][0]["status"] == "finished":
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    folder = files[0].parent
    killed = json.loads(files[0].read_text())
    assert [t["status"] for t in killed["trials"]][0] == "finished"
    assert killed["trials"][2]["status"] == "pending"
    first_run = killed["trials"][0]["run_id"]
    # The running trial's process sees its runner gone and ends by itself.
    deadline = time.monotonic() + 20
    while _trial_processes(folder):
        assert time.monotonic() < deadline, "a trial process outlived its killed runner"
        time.sleep(0.05)
    cut_short = killed["trials"][1]["run_id"]

    code, out, err = run(capsys, "sweep", project, "--continue", folder.name)
    assert code == 0, out + err
    assert "2 to run" in out
    done = ExperimentStore(runs_dir_for(project)).load(folder.name)
    assert [t.status for t in done.trials] == ["finished"] * 3
    assert done.trials[0].run_id == first_run  # not re-run
    records = {r.id: r for r in recorded(project)}
    finished = [r for r in records.values() if r.status == "finished"]
    assert len(finished) == 3
    assert {r.experiment["trial"] for r in finished} == {"t001", "t002", "t003"}
    if cut_short is not None:  # t002 had begun its run: it stays, unfinished
        assert records[cut_short].status == "running"
        assert done.trials[1].earlier_runs == [cut_short]
        assert len(records) == 4
    else:
        assert len(records) == 3

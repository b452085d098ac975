"""The ``layercanvas`` command line: check and train on every example, and one clear line
(never a traceback) with the right exit status for every kind of bad input."""

import copy
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app import cli
from tests.project_fixtures import tiny_project

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.lcproj"))

TINY = tiny_project()


def write_project(folder: Path, data, name="p.lcproj") -> str:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clear_line(err: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("layercanvas")


# -- check ----------------------------------------------------------------------------------


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_check_passes_on_every_example(capsys, example):
    code, out, err = run(capsys, "check", str(example))
    assert code == 0, out + err
    assert "OK: no problems found" in out
    assert "Total params:" in out and "FLOPs" in out
    assert err == ""


def test_check_prints_a_summary_table(capsys, tmp_path):
    code, out, _ = run(capsys, "check", write_project(tmp_path, TINY))
    assert code == 0
    assert "hidden (Dense)" in out and "(None, 8)" in out and "24" in out  # 2*8 + 8 params
    assert "Total params: 42" in out


def test_check_lists_every_problem_and_exits_1(capsys, tmp_path):
    data = copy.deepcopy(TINY)
    data["graph"]["nodes"][1]["params"]["units"] = "eight"
    data["graph"]["nodes"][2]["type"] = "Dens"
    code, out, err = run(capsys, "check", write_project(tmp_path, data))
    assert code == 1
    assert "error: graph.nodes[1].params.units:" in out
    assert (
        "error: graph.nodes[2].type: 'out' has the unknown layer type 'Dens': did you mean" in out
    )
    assert "2 errors" in out
    assert_one_clear_line(err)
    assert "and 1 more" in err


def test_check_finds_a_dataset_that_does_not_fit(capsys, tmp_path):
    data = copy.deepcopy(TINY)
    data["graph"]["nodes"][2]["params"]["units"] = 3
    code, out, err = run(capsys, "check", write_project(tmp_path, data))
    assert code == 1
    assert "graph.nodes[2].params.units" in out and "2 classes" in out and "set units to 2" in out
    code, out, _ = run(capsys, "check", "--no-data", write_project(tmp_path, data))
    assert code == 0


# -- train ----------------------------------------------------------------------------------


def test_train_writes_model_and_history_and_the_model_reloads(capsys, tmp_path):
    import engine

    out_dir = tmp_path / "run"
    code, out, err = run(
        capsys, "train", write_project(tmp_path, TINY), "--epochs", "3", "--out", str(out_dir)
    )
    assert code == 0, err
    assert "Done after 3 epochs" in out and "samples/s" in out
    history = json.loads((out_dir / "history.json").read_text())
    assert history["epoch"] == [1, 2, 3]
    assert len(history["val_accuracy"]) == 3
    rows = (out_dir / "history.csv").read_text().splitlines()
    assert rows[0].split(",")[:5] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(rows) == 4 and rows[3].startswith("3,")
    assert float(rows[3].split(",")[1]) == pytest.approx(history["loss"][2])
    model = engine.load_model(out_dir / "model.lcmodel")
    assert [layer.name for layer in model.layers] == ["input", "hidden", "out"]
    x = np.zeros((2, 2), np.float32)
    assert model.predict(x).shape == (2, 2)
    assert (out_dir / "checkpoint.lcmodel").is_file()


def test_train_overrides_and_reproducibility(capsys, tmp_path):
    project = write_project(tmp_path, TINY)
    losses = []
    for run_dir in ("a", "b"):
        code, _, err = run(
            capsys,
            "train",
            project,
            "--epochs",
            "2",
            "--seed",
            "3",
            "--batch-size",
            "8",
            "--out",
            str(tmp_path / run_dir),
        )
        assert code == 0, err
        losses.append(json.loads((tmp_path / run_dir / "history.json").read_text())["loss"])
    assert losses[0] == losses[1]  # the same seed gives the same run


def test_train_default_out_is_runs_beside_the_project(capsys, tmp_path):
    project = write_project(tmp_path, TINY, "tiny.lcproj")
    code, _, err = run(capsys, "train", project, "--epochs", "1")
    assert code == 0, err
    assert (tmp_path / "runs" / "tiny" / "model.lcmodel").is_file()


def test_train_refuses_an_invalid_project_in_one_line(capsys, tmp_path):
    data = copy.deepcopy(TINY)
    data["graph"]["edges"].append({"source": "out", "target": "hidden", "target_port": 0})
    code, _, err = run(capsys, "train", write_project(tmp_path, data), "--out", str(tmp_path / "o"))
    assert code == 1
    assert_one_clear_line(err)
    assert not (tmp_path / "o").exists()


# -- malformed input: one line, non-zero, no traceback ------------------------------------


def _malformed(tmp_path) -> dict:
    def mutated(fn):
        data = copy.deepcopy(TINY)
        fn(data)
        return data

    def make_cycle(d):
        d["graph"]["nodes"].append({"id": "add", "type": "Add", "params": {}, "position": [0, 0]})
        d["graph"]["edges"] = [
            {"source": "input", "target": "add", "target_port": 0},
            {"source": "out", "target": "add", "target_port": 1},
            {"source": "add", "target": "hidden", "target_port": 0},
            {"source": "hidden", "target": "out", "target_port": 0},
        ]

    cycle = mutated(make_cycle)
    return {
        "bad_json": ('{"format": "layercanvas-project", "version": 1,\n  "name": }', "line 2"),
        "unknown_type": (
            mutated(lambda d: d["graph"]["nodes"][1].update(type="Dense2")),
            "unknown layer type",
        ),
        "wrong_param_type": (
            mutated(lambda d: d["graph"]["nodes"][1]["params"].update(units=[8])),
            "expected an integer",
        ),
        "cycle": (cycle, "cycle"),
        "dangling_edge": (
            mutated(
                lambda d: d["graph"]["edges"].append(
                    {"source": "x", "target": "out", "target_port": 1}
                )
            ),
            "does not exist",
        ),
        "not_a_project": ({"hello": 1}, "not a LayerCanvas project"),
        "bad_structure": (mutated(lambda d: d["training"].update(epochs=-1)), "training.epochs"),
    }


@pytest.mark.parametrize("command", ["check", "train"])
@pytest.mark.parametrize(
    "case",
    [
        "bad_json",
        "unknown_type",
        "wrong_param_type",
        "cycle",
        "dangling_edge",
        "not_a_project",
        "bad_structure",
    ],
)
def test_malformed_projects_give_one_clear_line(capsys, tmp_path, command, case):
    data, words = _malformed(tmp_path)[case]
    path = write_project(tmp_path, data)
    code, _, err = run(
        capsys, command, path, *(["--out", str(tmp_path / "o")] * (command == "train"))
    )
    assert code == 1
    assert_one_clear_line(err)
    assert words in err


def test_ten_megabytes_of_garbage_is_refused(capsys, tmp_path):
    path = tmp_path / "garbage.lcproj"
    path.write_bytes(
        np.random.default_rng(0).integers(0, 256, 10 * 1024 * 1024, np.uint8).tobytes()
    )
    code, _, err = run(capsys, "check", str(path))
    assert code == 1
    assert_one_clear_line(err)
    assert "is 10.0 MiB; a project file is at most 4.0 MiB" in err


def test_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "train", str(tmp_path / "nope.lcproj"))
    assert code == 1
    assert_one_clear_line(err)
    assert "no such project file" in err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "x.lcproj", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["train", "x.lcproj", "--epochs", "0"], "positive integer"),
        (["train", "x.lcproj", "--epochs", "ten"], "expected an integer"),
        (["train"], "required: project"),
        (["check", "a", "b"], "unrecognized arguments"),
        (["p.lcproj", "extra"], "unknown command"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_usage_errors_exit_2_in_one_line(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_clear_line(err)
    assert words in err


def test_gpu_without_a_gpu_is_a_clear_error(capsys, tmp_path, monkeypatch):
    from engine import backend

    monkeypatch.setattr(backend, "gpu_available", lambda: False)
    code, _, err = run(capsys, "train", write_project(tmp_path, TINY), "--device", "gpu")
    assert code == 1
    assert_one_clear_line(err)
    assert "GPU" in err


def test_help_exits_0(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "check" in out and "train" in out


def test_unexpected_errors_say_please_report_and_log_the_traceback(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERCANVAS_LOG_DIR", str(tmp_path / "logs"))

    def explode(args):
        raise RuntimeError("something impossible")

    monkeypatch.setattr(cli, "run_check", explode)
    code, _, err = run(capsys, "check", "whatever.lcproj")
    assert code == 1
    assert_one_clear_line(err)
    assert "please report" in err and "something impossible" in err
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()
    assert str(logs[0]) in err


# -- opening the app ------------------------------------------------------------------------------


def test_a_bare_project_path_opens_the_app(capsys, monkeypatch):
    calls = []
    fake = type(sys)("app.main_window")
    fake.run_gui = lambda project: calls.append(project) or 0
    monkeypatch.setitem(sys.modules, "app.main_window", fake)
    assert cli.main(["some.lcproj"]) == 0
    assert cli.main([]) == 0
    assert calls == ["some.lcproj", None]


def test_without_the_window_a_project_trains_headless(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "app.main_window", None)  # import fails
    project = write_project(tmp_path, TINY, "tiny.lcproj")
    code, out, err = run(capsys, project)
    assert code == 0
    assert "training" in err and "headless" in err
    assert (tmp_path / "runs" / "tiny" / "model.lcmodel").is_file()
    code, _, err = run(capsys)
    assert code == 1
    assert_one_clear_line(err)


# -- in a real process: the console entry, and Ctrl-C --------------------------------------


# Runs ``python -m app.cli`` with Ctrl-C turned into KeyboardInterrupt even when this test
# process inherited SIGINT as ignored (a shell starts background jobs that way, and Python
# then leaves it ignored in its children, so a test run from `cmd &` could never interrupt).
_CLI_WITH_CTRL_C = (
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('app.cli', run_name='__main__', alter_sys=True)"
)


def _subprocess(*argv, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", _CLI_WITH_CTRL_C, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_module_entry_point_reports_errors_without_traceback(tmp_path):
    proc = _subprocess("check", write_project(tmp_path, "{not json"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert_one_clear_line(err)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_keeps_the_last_checkpoint_and_the_history(tmp_path):
    import engine

    data = copy.deepcopy(TINY)
    data["dataset"]["n_samples"] = 2000
    out_dir = tmp_path / "run"
    proc = _subprocess(
        "train", write_project(tmp_path, data), "--epochs", "100000", "--out", str(out_dir)
    )
    deadline = time.monotonic() + 60
    while not (out_dir / "checkpoint.lcmodel").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    time.sleep(0.3)  # let a few more epochs pass
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        # Show where it hangs: PYTHONFAULTHANDLER makes SIGABRT print every thread's stack.
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"still running 120 s after Ctrl-C:\n{err[-4000:]}")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted after" in err
    history = json.loads((out_dir / "history.json").read_text())
    assert len(history["epoch"]) >= 1
    model = engine.load_model(out_dir / "model.lcmodel")
    assert model.predict(np.zeros((1, 2), np.float32)).shape == (1, 2)


def test_opening_the_window_without_a_display_says_what_to_do(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code = cli.main([])
    err = capsys.readouterr().err
    assert code == 1
    assert "no display" in err and "xvfb-run" in err and "Traceback" not in err

"""Hostile project files: things that are not regular files, numbers too large for any
setting, absurd nesting, invalid text, huge parameters; and the mode of saved projects.

Every case must end in one ProjectError naming the file (and, where there is one, the key
path), or, through ``layercanvas check``, in exit 1 with one clear line and no traceback.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.cli import main
from engine.graph.project import Project, ProjectError, load_project, save_project
from engine.graph.project_json import MAX_INT_DIGITS, MAX_JSON_DEPTH

ROOT = Path(__file__).resolve().parents[3]
PROJECT = {
    "format": "layercanvas-project",
    "version": 1,
    "name": "Tiny",
    "graph": {
        "nodes": [
            {"id": "input", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},
            {"id": "out", "type": "Dense", "params": {"units": 2}, "position": [220, 0]},
        ],
        "edges": [{"source": "input", "target": "out", "target_port": 0}],
    },
    "dataset": {"name": "xor"},
    "training": {"loss": "sparse_categorical_crossentropy", "epochs": 1, "seed": 0},
}


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _check(capsys, path) -> tuple[int, str]:
    """``layercanvas check --no-data PATH``: its exit code and everything it printed."""
    code = main(["check", "--no-data", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


# -- things that are not regular files ------------------------------------------------------


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda tmp: Path("/dev/zero"), "is a device, not a regular file"),
        (lambda tmp: Path("/dev/null"), "is a device, not a regular file"),
        (lambda tmp: tmp, "is a folder, not a project file"),
        (lambda tmp: tmp / "missing.lcproj", "no such project file"),
    ],
)
def test_non_regular_files_are_refused_with_their_own_message(tmp_path, make, words):
    path = make(tmp_path)
    if not path.exists() and "missing" not in str(path):
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(ProjectError, match=words) as err:
        load_project(path)
    assert err.value.file == str(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX feature")
def test_a_fifo_without_a_writer_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.lcproj"
    os.mkfifo(fifo)
    # In a child process with a timeout: if the FIFO were opened, the read would hang forever.
    code = textwrap.dedent(f"""
        from engine.graph.project import ProjectError, load_project
        try:
            load_project({str(fifo)!r})
        except ProjectError as err:
            print(err)
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "is a pipe (FIFO), not a regular file" in done.stdout, done.stderr


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="Unix sockets are POSIX")
def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.lcproj"
    if len(str(path)) > 100:
        pytest.skip("socket path too long for this system")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(ProjectError, match="is a socket"):
            load_project(path)
    finally:
        server.close()


def test_check_on_dev_zero_is_one_line_at_once():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    # In a child under a 2 GiB address-space cap: an unbounded read would fail there, not
    # take this machine's memory.
    code = textwrap.dedent("""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        from app.cli import main
        sys.exit(main(["check", "/dev/zero"]))
    """)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "/dev/zero: is a device, not a regular file" in _last_line(text)
    assert "Traceback" not in text and "internal error" not in text


# -- numbers and nesting that no project needs -----------------------------------------------


def test_an_integer_of_5000_digits_names_its_key(tmp_path, capsys):
    text = json.dumps(PROJECT).replace('"epochs": 1', '"epochs": ' + "9" * 5000)
    path = _write(tmp_path / "p.lcproj", text)
    with pytest.raises(ProjectError) as err:
        load_project(path)
    assert err.value.key == "training.epochs"
    assert "5000 digits" in err.value.problem
    code, out = _check(capsys, path)
    assert code == 1
    assert "training.epochs" in _last_line(out) and "internal error" not in out


def test_the_digit_limit_is_exact(tmp_path):
    data = copy.deepcopy(PROJECT)
    data["training"]["seed"] = 10**MAX_INT_DIGITS - 1  # 18 nines: fine
    assert load_project(_write(tmp_path / "ok.lcproj", data)).training["seed"] == 10**18 - 1
    data["graph"]["nodes"][1]["params"]["units"] = -(10**MAX_INT_DIGITS)  # 19 digits
    with pytest.raises(ProjectError) as err:
        load_project(_write(tmp_path / "bad.lcproj", data))
    assert err.value.key == "graph.nodes[1].params.units"


def test_a_huge_number_alone_is_not_a_project(tmp_path):
    with pytest.raises(ProjectError, match="not a project file"):
        load_project(_write(tmp_path / "n.lcproj", "1" * 30))


def test_deep_nesting_is_refused_by_key_path_not_by_a_crash(tmp_path, capsys):
    depth = MAX_JSON_DEPTH + 5
    text = json.dumps(PROJECT)[:-1] + ', "ui": ' + "[" * depth + "]" * depth + "}"
    path = _write(tmp_path / "deep.lcproj", text)
    with pytest.raises(ProjectError, match="nested more than") as err:
        load_project(path)
    assert err.value.key.startswith("ui[0]")
    # Nesting past Python's own parser limit is refused too.
    path = _write(tmp_path / "deeper.lcproj", "[" * 100_000 + "]" * 100_000)
    code, out = _check(capsys, path)
    assert code == 1 and "nested too deeply" in out and "internal error" not in out


def test_nesting_within_the_limit_still_loads_and_saves(tmp_path):
    depth = MAX_JSON_DEPTH - 10
    data = copy.deepcopy(PROJECT)
    data["ui"] = json.loads("[" * depth + "]" * depth)
    project = load_project(_write(tmp_path / "p.lcproj", data))
    save_project(project, tmp_path / "again.lcproj")
    assert load_project(tmp_path / "again.lcproj").extra["ui"] == data["ui"]


def test_a_lone_surrogate_is_refused_since_it_could_not_be_printed_or_saved(tmp_path, capsys):
    text = json.dumps(PROJECT).replace('"name": "Tiny"', '"name": "bad \\ud800 name"')
    path = _write(tmp_path / "s.lcproj", text)
    with pytest.raises(ProjectError, match="invalid \\\\u escape") as err:
        load_project(path)
    assert err.value.key == "name"
    # A proper escaped pair is fine.
    good = json.dumps(PROJECT).replace('"name": "Tiny"', '"name": "\\ud83d\\ude00"')
    assert load_project(_write(tmp_path / "ok.lcproj", good)).name == "\U0001f600"


@pytest.mark.parametrize(
    "node, param, value, key",
    [
        (0, "shape", [1e300], "graph.nodes[0].params.shape[0]"),
        (0, "shape", [10**17, 1], "graph.nodes[0].params.shape[0]"),
        (0, "shape", [10**9, 10**9], "graph.nodes[0].params.shape"),
        (0, "shape", [2**20] * 4, "graph.nodes[0].params.shape"),
        (1, "units", 2**55, "graph.nodes[1].params.units"),
        (1, "units", -(2**55), "graph.nodes[1].params.units"),
    ],
)
def test_huge_parameters_are_refused_naming_node_and_parameter(
    tmp_path, capsys, node, param, value, key
):
    data = copy.deepcopy(PROJECT)
    data["graph"]["nodes"][node]["params"][param] = value
    path = _write(tmp_path / "p.lcproj", data)
    with pytest.raises(ProjectError) as err:
        load_project(path)
    assert err.value.key == key
    assert repr(data["graph"]["nodes"][node]["id"]) in err.value.problem
    code, out = _check(capsys, path)
    assert code == 1 and key in _last_line(out)
    assert "Traceback" not in out and "internal error" not in out


@pytest.mark.parametrize(
    "node, param, value",
    [(1, "units", -3), (1, "units", 0), (0, "shape", [-5]), (1, "units", 10**12)],
)
def test_negative_or_out_of_range_parameters_are_diagnostics(tmp_path, capsys, node, param, value):
    data = copy.deepcopy(PROJECT)
    data["graph"]["nodes"][node]["params"][param] = value
    code, out = _check(capsys, _write(tmp_path / "p.lcproj", data))
    assert code == 1
    assert f"graph.nodes[{node}].params.{param}" in _last_line(out)
    assert "Traceback" not in out and "internal error" not in out


@pytest.mark.parametrize("position", ["[Infinity, 0]", "[0, NaN]", "[1e300, 0]"])
def test_positions_must_be_finite_and_sane(tmp_path, position):
    text = json.dumps(PROJECT).replace('"position": [220, 0]', f'"position": {position}')
    with pytest.raises(ProjectError) as err:
        load_project(_write(tmp_path / "p.lcproj", text))
    assert err.value.key == "graph.nodes[1].position"


# -- saving ----------------------------------------------------------------------------------


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_projects_get_the_mode_a_plain_open_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = tmp_path / "p.lcproj"
        save_project(Project.from_json(copy.deepcopy(PROJECT)), path)
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode) == mode
    assert load_project(path).to_json() == PROJECT

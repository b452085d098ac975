"""``layercanvas datasets list | download | add`` against a local server and real files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from tests.engine.datasets.archives import FileServer, make_files, pin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERCANVAS_CACHE_DIR", str(folder))
    return folder


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_set_with_its_size_and_state(capsys, cache):
    code, out, err = run(capsys, "datasets", "list")
    assert code == 0 and err == ""
    assert f"Dataset cache: {cache}" in out
    for name, size in (("mnist", "11.5 MB"), ("cifar10", "170.1 MB"), ("imdb", "17.5 MB")):
        line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert size in line and "not downloaded" in line
    assert "cifar-10-binary.tar.gz" in out


def test_download_from_a_server_then_list_says_cached(capsys, cache, tmp_path, monkeypatch):
    source = tmp_path / "served"
    make_files("reuters", source)
    with FileServer(source) as server:
        pin(monkeypatch, "reuters", source, server.url)
        code, out, err = run(capsys, "datasets", "download", "reuters")
        assert code == 0, err
        assert "reuters: downloaded and checked" in out
        assert "Downloading reuters.npz" in err and "100.0%" in err
        code, out, _ = run(capsys, "datasets", "download", "reuters")
        assert "already in the cache" in out and len(server.requests) == 1
    _, out, _ = run(capsys, "datasets", "list")
    line = next(line for line in out.splitlines() if line.strip().startswith("reuters "))
    assert "cached" in line and "not downloaded" not in line


def test_failures_are_one_line_naming_the_file_and_what_to_do(capsys, cache, tmp_path, monkeypatch):
    source = tmp_path / "served"
    make_files("mnist", source)
    with FileServer(source) as server:
        url = server.url
    pin(monkeypatch, "mnist", source, url)  # nothing listens there any more
    code, _, err = run(capsys, "datasets", "download", "mnist")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and len(lines) == 1 and "Traceback" not in err
    assert "could not download mnist.npz from http://127.0.0.1" in lines[0]
    assert "layercanvas datasets add mnist FILE" in lines[0]
    code, _, err = run(capsys, "datasets", "download", "svhn")
    assert code == 1 and "unknown downloadable dataset 'svhn'" in err
    bad = tmp_path / "mnist.npz"
    data = bytearray((source / "mnist.npz").read_bytes())
    data[7] ^= 0x10
    bad.write_bytes(bytes(data))
    code, _, err = run(capsys, "datasets", "add", "mnist", str(bad))
    assert code == 1 and "failed its checksum" in err
    assert not any((cache / "mnist").iterdir())
    code, out, err = run(capsys, "datasets", "add", "mnist", str(source / "mnist.npz"))
    assert code == 0, err
    assert "installed mnist.npz (SHA-256 checked)" in out and "mnist: complete" in out


def test_check_on_a_shipped_example_without_its_data(capsys, cache):
    example = ROOT / "resources" / "examples" / "imdb_lstm.lcproj"
    code, out, err = run(capsys, "check", str(example))
    assert code == 0, out + err
    assert "note: dataset 'imdb' is not downloaded yet" in out
    assert "OK: no problems found" in out


def test_train_on_a_set_not_downloaded_fails_in_one_line_in_a_real_process(tmp_path):
    env = {**os.environ, "LAYERCANVAS_CACHE_DIR": str(tmp_path / "empty")}
    example = ROOT / "resources" / "examples" / "mnist_cnn.lcproj"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "train", str(example), "--out", str(tmp_path / "o")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "dataset 'mnist' is not downloaded yet" in done.stderr
    assert "layercanvas datasets download mnist" in done.stderr

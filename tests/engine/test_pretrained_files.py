"""Pre-trained models: the manifest and model files are read with bounds, and only when
they are regular files (a FIFO or a folder in a model's place is named, never waited on)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from engine.applications import (
    ENV_VAR,
    MAX_MANIFEST_BYTES,
    PretrainedError,
    list_pretrained,
    pretrained_path,
)


def _folder(tmp_path: Path, model_bytes: bytes = b"not really a model") -> Path:
    """A folder with a manifest listing one .lcmodel file (its true size and SHA-256)."""
    folder = tmp_path / "pretrained"
    folder.mkdir()
    (folder / "m.lcmodel").write_bytes(model_bytes)
    record = {
        "path": "m.lcmodel",
        "bytes": len(model_bytes),
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
    }
    manifest = {
        "format": "layercanvas-pretrained",
        "models": {"m": {"description": "test", "files": {"lcmodel": record}}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_a_regular_model_file_passes_its_check(tmp_path, monkeypatch):
    folder = _folder(tmp_path, os.urandom(3 * 2**20 + 17))  # more than one hash chunk
    monkeypatch.setenv(ENV_VAR, str(folder))
    assert pretrained_path("m") == folder / "m.lcmodel"


def test_a_file_of_the_right_size_with_other_bytes_fails_its_hash(tmp_path, monkeypatch):
    folder = _folder(tmp_path, bytes(5000))
    (folder / "m.lcmodel").write_bytes(b"\x01" + bytes(4999))
    monkeypatch.setenv(ENV_VAR, str(folder))
    with pytest.raises(PretrainedError, match="SHA-256"):
        pretrained_path("m")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_the_model_is_refused_without_waiting(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    (folder / "m.lcmodel").unlink()
    os.mkfifo(folder / "m.lcmodel")
    monkeypatch.setenv(ENV_VAR, str(folder))
    outcome: list = []

    def run():
        try:
            pretrained_path("m")
        except PretrainedError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert outcome, "checking a FIFO did not end within 10 s"
    assert "is a pipe (FIFO)" in str(outcome[0])


def test_a_folder_in_place_of_the_model_is_named(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    (folder / "m.lcmodel").unlink()
    (folder / "m.lcmodel").mkdir()
    monkeypatch.setenv(ENV_VAR, str(folder))
    with pytest.raises(PretrainedError, match="m.lcmodel is a folder"):
        pretrained_path("m")


def test_a_huge_manifest_is_refused_by_its_size(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    with open(folder / "manifest.json", "ab") as handle:
        handle.write(b" " * MAX_MANIFEST_BYTES)
    monkeypatch.setenv(ENV_VAR, str(folder))
    with pytest.raises(PretrainedError, match="manifest.json is .*MiB"):
        list_pretrained()

"""The recovery folder: copies written and read back, versions, bad files set aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QLockFile  # noqa: E402

from app.recovery_store import (  # noqa: E402
    RECOVERY_VERSION,
    RecoveryStore,
    dumps_envelope,
    envelope,
)
from engine.graph.project import load_project  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def store(tmp_path):
    return RecoveryStore(tmp_path / "recovery")


def _copy(store, key, original=None, when=None, project=None):
    project = project or load_project(EXAMPLES / "digits_mlp.lcproj").to_json()
    when = when or datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    return store.write(key, dumps_envelope(envelope(project, original, when)))


def test_a_copy_reads_back_as_the_same_project_with_its_envelope(store, tmp_path):
    project = load_project(EXAMPLES / "digits_cnn.lcproj")
    project.graph.move_node(project.graph.nodes[1].id, (123, 456))
    project.training["epochs"] = 3
    original = tmp_path / "mine.lcproj"
    path = _copy(store, "k1", original, project=project.to_json())
    assert path.parent == store.root and path.suffix == ".lcrecover"
    raw = json.loads(path.read_text("utf-8"))
    assert raw["format"] == "layercanvas-recovery" and raw["version"] == RECOVERY_VERSION
    assert raw["original"] == str(original) and raw["saved"] == "2026-12-04T15:30:00+00:00"
    entries, problems = store.scan()
    assert problems == [] and len(entries) == 1
    entry = entries[0]
    assert entry.name == "Digits CNN" and entry.original == original
    assert entry.saved == datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    assert entry.project.to_json() == project.to_json()
    # Relative data and weights paths start at the user's file, as when it is opened.
    assert entry.project.path == original


def test_an_untitled_copy_has_no_original_and_scan_lists_newest_first(store):
    _copy(store, "old", when=datetime(2026, 1, 1, tzinfo=UTC))
    _copy(store, "new", when=datetime(2026, 6, 1, tzinfo=UTC))
    entries, _ = store.scan()
    assert [e.key for e in entries] == ["new", "old"]
    assert entries[0].original is None and entries[0].project.path is None


def test_copies_held_by_a_live_process_are_not_offered(store):
    _copy(store, "mine")
    store.claim("mine")
    _copy(store, "theirs")
    # Another running LayerCanvas holds this lock (this process stands in for it).
    other = QLockFile(str(store.root / "theirs.lock"))
    assert other.tryLock(0)
    _copy(store, "orphan")
    entries, _ = store.scan()
    assert [e.key for e in entries] == ["orphan"]
    other.unlock()
    assert {e.key for e in store.scan()[0]} == {"theirs", "orphan"}


def test_remove_and_discard_delete_the_copy(store):
    _copy(store, "a")
    store.claim("a")
    store.remove("a")
    assert not store.path_for("a").exists() and not (store.root / "a.lock").exists()
    _copy(store, "b")
    (entry,) = store.scan()[0]
    store.discard(entry)
    assert store.scan() == ([], [])


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        (b'{"format": "layercanvas-recovery", "version": 1, "proj', "", "invalid JSON at line 1"),
        (b"\xff\xfe garbage", "", "not UTF-8"),
        (b'{"format": "layercanvas-project", "version": 1}', "format", "not a recovery file"),
        (b'{"format": "layercanvas-recovery", "version": 99}', "version", "newer LayerCanvas"),
        (b'{"format": "layercanvas-recovery", "version": "1"}', "version", "whole number"),
    ],
)
def test_a_bad_file_is_reported_once_and_set_aside(store, content, where, problem):
    _copy(store, "good")
    store.root.joinpath("bad.lcrecover").write_bytes(content)
    entries, problems = store.scan()
    assert [e.key for e in entries] == ["good"]
    assert len(problems) == 1 and problems[0].startswith("bad.lcrecover")
    assert problem in problems[0] and (f"at {where}" in problems[0] if where else True)
    assert "corrupt" in problems[0]
    assert (store.corrupt_dir / "bad.lcrecover").read_bytes() == content
    assert not (store.root / "bad.lcrecover").exists()
    assert store.scan()[1] == []  # reported once


def test_the_project_inside_is_checked_like_a_project_file(store):
    data = envelope({"format": "layercanvas-project", "version": 1}, None, datetime.now(UTC))
    store.write("nograph", json.dumps(data))
    data = envelope(
        load_project(EXAMPLES / "sine_regression.lcproj").to_json(), None, datetime.now(UTC)
    )
    data["saved"] = "yesterday"
    store.write("badtime", json.dumps(data))
    entries, problems = store.scan()
    assert entries == []
    assert any("at project.graph" in p and "needs a graph" in p for p in problems)
    assert any("at saved" in p and "ISO time" in p for p in problems)


def test_an_oversized_file_is_refused_without_reading_it(store):
    store.root.mkdir(parents=True)
    huge = store.root / "huge.lcrecover"
    with open(huge, "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: costs nothing
    entries, problems = store.scan()
    assert entries == [] and "recovery file is at most" in problems[0]
    # A set-aside name already taken gets a fresh one.
    store.root.joinpath("huge.lcrecover").write_text("{}")
    store.scan()
    assert sorted(p.name for p in store.corrupt_dir.iterdir()) == [
        "huge-1.lcrecover",
        "huge.lcrecover",
    ]


def test_a_folder_that_cannot_be_read_is_a_message_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = RecoveryStore(blocker / "recovery")
    assert store.scan() == ([], [])  # nothing there: nothing to offer, nothing to say
    store.root = blocker  # a file where the folder should be
    assert store.scan() == ([], [])

"""The run writer: run files are written off the training thread, in order, the newest
bytes of a file asked for twice, and all of them on disk when ``fit`` returns."""

import json
import os
import threading

import numpy as np

import engine
from engine.graph.project import Project
from engine.graph.session import prepare_training
from engine.runs import RunStore
from engine.runs.record import record_run
from engine.runs.writer import RunWriter
from tests.project_fixtures import tiny_project


def _writer_threads():
    return [t for t in threading.enumerate() if t.name.startswith("run-writer")]


def test_writes_keep_their_order_and_a_file_asked_for_again_gets_the_newest_bytes(tmp_path):
    started, release = threading.Event(), threading.Event()
    written = []

    def write(path, payload):
        if payload == "a1":  # hold the first write while more are asked for
            started.set()
            release.wait(10)
        written.append((path.name, payload))

    writer = RunWriter(on_error=lambda path, err: None)
    writer.submit(tmp_path / "a", write, "a1")
    assert started.wait(10)
    writer.submit(tmp_path / "b", write, "b1")
    writer.submit(tmp_path / "a", write, "a2")
    writer.submit(tmp_path / "b", write, "b2")  # replaces b1, which has not started
    writer.submit(tmp_path / "a", write, "a3")  # replaces a2
    release.set()
    writer.flush()
    assert written == [("a", "a1"), ("b", "b2"), ("a", "a3")]
    assert _writer_threads() == []  # flush ends the worker thread


def test_a_failed_write_is_reported_and_the_later_ones_still_run(tmp_path):
    errors, written = [], []

    def write(path, payload):
        if payload == "bad":
            raise OSError(28, "No space left on device")
        written.append(payload)

    writer = RunWriter(on_error=lambda path, err: errors.append((path.name, str(err))))
    writer.submit(tmp_path / "x", write, "bad")
    writer.flush()
    writer.submit(tmp_path / "y", write, "good")  # a new worker after a flush
    writer.flush()
    assert errors == [("x", "[Errno 28] No space left on device")] and written == ["good"]


def test_a_recorded_run_syncs_its_files_off_the_training_thread(tmp_path, monkeypatch):
    synced_on = []
    real_fsync = os.fsync

    def fsync(fd):
        synced_on.append(threading.current_thread().name)
        return real_fsync(fd)

    proj = Project.from_json(tiny_project(epochs=4, learning_rate=0.05))
    setup = prepare_training(proj)
    store = RunStore(tmp_path / "p.runs")
    recorder = record_run(store, setup, source="test")
    monkeypatch.setattr(os, "fsync", fsync)
    setup.model.fit(**setup.fit_arguments([recorder]))
    monkeypatch.setattr(os, "fsync", real_fsync)
    training_thread = threading.current_thread().name
    assert synced_on and training_thread not in synced_on
    # Everything is on disk when fit returns: the record says finished, the last weights
    # are the model's.
    record = json.loads((recorder.record.folder / "run.json").read_text())
    assert record["status"] == "finished" and len(record["history"]["epoch"]) == 4
    last = engine.load_model(recorder.record.folder / "last.lcmodel")
    for saved, now in zip(last.get_weights(), setup.model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, now)
    assert recorder.problem is None and _writer_threads() == []


def test_an_unwritable_run_folder_stops_recording_with_a_message_not_the_run(tmp_path):
    proj = Project.from_json(tiny_project(epochs=3, learning_rate=0.05))
    setup = prepare_training(proj)
    store = RunStore(tmp_path / "p.runs")
    recorder = record_run(store, setup, source="test")
    (recorder.record.folder / "last.lcmodel").mkdir()  # the weights cannot replace a folder
    history = setup.model.fit(**setup.fit_arguments([recorder]))
    assert len(history.history["loss"]) == 3  # training went on
    assert recorder.problem is not None
    assert "cannot write the last weights of run" in recorder.problem
    assert "no longer being recorded" in recorder.problem

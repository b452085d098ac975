"""BLAS threads per training step (engine.models.blas_threads): fit measures the thread
counts on its own steps, keeps the faster, gives the same numbers as BLAS's default, and puts
the original count back."""

from __future__ import annotations

import time

import numpy as np
import pytest

import engine
from engine import layers
from engine.callbacks import Callback
from engine.models import blas_threads
from engine.models.blas_threads import StepThreads

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> int:
    # numpy's own BLAS: other libraries loaded by earlier tests (torch's, scipy's) may carry
    # a BLAS of their own whose count set_num_threads cannot change.
    infos = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    numpy_blas = [p for p in infos if "numpy" in p["filepath"]] or infos
    return max((p["num_threads"] for p in numpy_blas), default=1)


needs_threads = pytest.mark.skipif(_blas_threads() < 2, reason="BLAS runs one thread here")
_MACHINE_THREADS = _blas_threads()  # BLAS's count when the tests were collected


@pytest.fixture(autouse=True)
def _machine_default_threads():
    """Each test starts from BLAS's own thread count and no loop choosing: a training thread
    an earlier test left running (the app's tests stop windows mid-training) may still hold
    the choice, or have set its count, when this file runs."""
    blas_threads._owner = None
    threadpoolctl.threadpool_limits(limits=_MACHINE_THREADS, user_api="blas")
    yield
    blas_threads._owner = None


def _fit_losses(monkeypatch, setting: str | None, seen: list | None = None) -> list[float]:
    if setting is None:
        monkeypatch.delenv(blas_threads.ENV, raising=False)
    else:
        monkeypatch.setenv(blas_threads.ENV, setting)

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if seen is not None:
                seen.append(_blas_threads())

    engine.set_random_seed(0)
    model = engine.Sequential(
        [engine.Input((20,)), layers.Dense(64, activation="relu"), layers.Dense(3)]
    )
    model.compile(
        optimizer="sgd", loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    rng = np.random.default_rng(0)
    x = rng.standard_normal((640, 20)).astype(np.float32)
    y = rng.integers(0, 3, 640)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=1, callbacks=[Watch()])
    return history.history["loss"]


def test_choosing_threads_trains_to_the_same_numbers(monkeypatch):
    chosen = _fit_losses(monkeypatch, None)
    fixed = _fit_losses(monkeypatch, "all")
    np.testing.assert_allclose(chosen, fixed, rtol=1e-5)


@needs_threads
def test_fit_tries_both_counts_and_puts_the_original_back(monkeypatch):
    before = _blas_threads()
    seen: list[int] = []
    _fit_losses(monkeypatch, None, seen)
    assert set(seen) == {1, before}  # both were measured on real steps
    assert _blas_threads() == before


@needs_threads
def test_a_fixed_count_from_the_environment_is_used_for_every_step(monkeypatch):
    before = _blas_threads()
    seen: list[int] = []
    _fit_losses(monkeypatch, "1", seen)
    assert set(seen) == {1}
    assert _blas_threads() == before


@needs_threads
@pytest.mark.parametrize("slow", ["many", "one"])
def test_the_faster_count_wins_and_is_measured_again_later(slow):
    """Steps whose duration depends on the thread count they ran with: the chooser settles
    on the faster count, and re-measures after its run of steps."""
    threads = StepThreads()
    many = _blas_threads()
    slow_count = many if slow == "many" else 1
    counts = []
    try:
        for _ in range(1 + 4 + blas_threads.FIRST_RUN + 8):
            with threads:
                counts.append(_blas_threads())
                if counts[-1] == slow_count:
                    time.sleep(0.02)  # far above scheduling noise on a busy machine
    finally:
        threads.close()
    fast = 1 if slow == "many" else many
    assert counts[1:3] == [many, 1]  # the first step warms up; then each count is timed
    run = "".join("f" if n == fast else "s" for n in counts)
    settled = run.find("f" * blas_threads.FIRST_RUN)
    assert 3 <= settled <= 5  # after at most two more probes
    assert "s" in run[settled + blas_threads.FIRST_RUN :]  # measured again after the run
    assert _blas_threads() == many


@needs_threads
def test_predict_and_evaluate_use_the_fixed_count_and_put_the_original_back(monkeypatch):
    before = _blas_threads()
    monkeypatch.setenv(blas_threads.ENV, "1")
    seen: list[int] = []

    class Watch(Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append(_blas_threads())

        def on_test_batch_end(self, batch, logs=None):
            seen.append(_blas_threads())

    model = engine.Sequential([engine.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 4), np.float32)
    model.predict(x, batch_size=4, callbacks=[Watch()])
    model.evaluate(x, np.zeros((8, 2), np.float32), batch_size=4, callbacks=[Watch()])
    assert seen == [1, 1, 1, 1]
    assert _blas_threads() == before


@needs_threads
def test_the_next_fit_resumes_the_choice_instead_of_measuring_from_scratch(monkeypatch):
    monkeypatch.delenv(blas_threads.ENV, raising=False)
    model = engine.Sequential([engine.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((64, 4), np.float32), np.zeros((64, 2), np.float32)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    remembered = dict(blas_threads.memory_of(model, "fit"))
    assert remembered["chosen"] in (1, _blas_threads())
    seen: list[int] = []

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(_blas_threads())

    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[Watch()])
    if remembered["left"] > 1:  # no measurement due yet: the first step runs the choice
        assert seen[0] == remembered["chosen"]


def test_one_blas_thread_means_no_choice_and_steps_run_untouched(monkeypatch):
    # OPENBLAS_NUM_THREADS=1 (or a one-core machine): nothing to choose, the loop must still
    # answer what it runs with and time its steps without error.
    monkeypatch.delenv(blas_threads.ENV, raising=False)
    threadpoolctl.threadpool_limits(limits=1, user_api="blas")
    threads = StepThreads()
    try:
        assert threads.threads is None
        for _ in range(3):
            with threads:
                assert _blas_threads() == 1
    finally:
        threads.close()
    assert _blas_threads() == 1

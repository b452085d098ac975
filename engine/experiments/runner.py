"""Running an experiment's trials, each in its own process, at most ``parallel`` at once.

:class:`ExperimentRunner` ``run()`` blocks until the remaining trials have ended (or
:meth:`~ExperimentRunner.stop` is called from another thread); the app calls it from a
worker thread, ``layercanvas sweep`` from its main thread. Each trial is a process
``python -m engine.experiments.trial`` (:mod:`engine.experiments.trial`) that records its
run in the project's run store. With several at once, each gets ``cores // parallel`` BLAS
and OpenMP threads (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), so
together they do not oversubscribe the machine.

Only the runner writes the experiment record: a trial's state changes are saved at once,
so a killed runner loses at most the trials that were running. Starting again (on the
reloaded record) finds them ``running`` with no live runner, puts them back to
``pending`` (their cut-short run stays in the history, unfinished, and is listed in the
trial's ``earlier_runs``) and runs them again, as it does trials ``stopped`` by
:meth:`~ExperimentRunner.stop`; finished, failed and skipped trials are never re-run. A record
whose runner is still alive is refused.

``on_event(event)`` is called from the thread that called ``run()``, with::

    {"kind": "trial_started", "trial": id}
    {"kind": "run", "trial": id, "run_id": ...}               (its run is recorded)
    {"kind": "epoch", "trial": id, "epoch": n, "logs": {...}}
    {"kind": "trial_finished", "trial": id, "status": ..., "metric": ..., "run_id": ...,
     "error": ...}
    {"kind": "experiment_finished", "status": "finished" | "stopped"}
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.experiments.errors import SweepError
from engine.experiments.experiment import Experiment, ExperimentStore, Trial, add_trial
from engine.experiments.plan import promote

__all__ = ["ExperimentRunner", "blas_threads", "runner_alive"]

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_LOGS = "logs"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def blas_threads(parallel: int) -> int:
    """BLAS threads per trial when ``parallel`` trials run at once."""
    return max(1, _cores() // max(1, parallel))


def runner_alive(experiment: Experiment) -> bool:
    """Whether the process named in ``experiment.runner`` is running (not us, not a zombie)."""
    pid = (experiment.runner or {}).get("pid")
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process holds that id: it is alive
    except OSError:
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] == "Z":
            return False
    return True


class ExperimentRunner:
    """Runs ``experiment``'s remaining trials for the project file ``project_path``."""

    def __init__(
        self,
        project_path: str | os.PathLike,
        experiment: Experiment,
        *,
        parallel: int = 1,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        source: str | None = None,
    ):
        if experiment.folder is None:
            raise ValueError("the experiment has not been saved in a store yet")
        self.project_path = Path(project_path)
        self.experiment = experiment
        self.parallel = max(1, int(parallel))
        self.on_event = on_event or (lambda event: None)
        self.source = source or experiment.source
        self.store = ExperimentStore(experiment.folder.parent.parent)
        self._lock = threading.Lock()
        self._messages: queue.Queue = queue.Queue()
        self._processes: dict[str, subprocess.Popen] = {}
        self._ended: dict[str, dict[str, Any]] = {}
        self._stopping = threading.Event()
        self._skipped: set[str] = set()

    # -- control from other threads ------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything: running trials end as ``stopped``, the rest stay ``pending``."""
        self._stopping.set()
        with self._lock:
            processes = list(self._processes.values())
        for process in processes:
            _terminate(process)

    def skip(self, trial_id: str) -> None:
        """Stop ``trial_id`` if it runs, or never start it; it ends as ``skipped``."""
        with self._lock:
            self._skipped.add(trial_id)
            process = self._processes.get(trial_id)
        if process is not None:
            _terminate(process)

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> str:
        """Run the remaining trials; returns the experiment's status at the end."""
        experiment = self.experiment
        self._claim()
        try:
            while True:
                if not self._stopping.is_set():
                    self._start_more()
                with self._lock:
                    running = bool(self._processes)
                if not running:
                    if self._stopping.is_set() or not self._next_rung():
                        break
                    continue
                try:
                    trial_id, message = self._messages.get(timeout=0.25)
                except queue.Empty:
                    continue
                self._handle(trial_id, message)
        finally:
            self._release()
        status = experiment.status
        self.on_event({"kind": "experiment_finished", "status": status})
        return status

    def _claim(self) -> None:
        experiment = self.experiment
        if runner_alive(experiment):
            raise SweepError(
                f"experiment '{experiment.name}' ({experiment.id}) is already running in "
                f"process {experiment.runner['pid']}"
            )
        for trial in experiment.trials:
            # Running: its process died with the last runner. Stopped: cut short by stop().
            # Either way its run is partial; "Continue" runs it again.
            if trial.status in ("running", "stopped"):
                if trial.run_id:
                    trial.earlier_runs.append(trial.run_id)
                trial.run_id, trial.status, trial.error = None, "pending", None
        experiment.runner = {"pid": os.getpid()}
        experiment.status = "running"
        self._save()

    def _release(self) -> None:
        for process in list(self._processes.values()):
            _terminate(process, kill=True)
        experiment = self.experiment
        for trial_id in list(self._processes):
            trial = experiment.trial(trial_id)
            trial.status = "stopped"
        self._processes.clear()
        for trial in experiment.remaining():  # skipped while waiting, then stopped: keep it
            if trial.id in self._skipped:
                trial.status = "skipped"
        experiment.runner = None
        cut = any(t.status == "stopped" for t in experiment.trials)
        stopped = self._stopping.is_set() and (cut or bool(experiment.remaining()))
        experiment.status = "stopped" if stopped else "finished"
        self._save()

    def _next_rung(self) -> bool:
        """Successive halving: add the next rung once the current one is done."""
        experiment = self.experiment
        planned = promote(experiment)
        if not planned:
            return False
        promoted = {item["parent"] for item in planned}
        rung = planned[0]["rung"] - 1
        for trial in experiment.trials:
            if trial.rung == rung and trial.status == "finished" and trial.id not in promoted:
                trial.status = "pruned"
        for item in planned:
            add_trial(experiment, item)
        self._save()
        return True

    def _start_more(self) -> None:
        experiment = self.experiment
        while not self._stopping.is_set():
            with self._lock:
                if len(self._processes) >= self.parallel:
                    return
            trial = next(iter(experiment.remaining()), None)
            if trial is None:
                return
            if trial.id in self._skipped:
                trial.status = "skipped"
                self._save()
                self._finished(trial)
                continue
            self._launch(trial)

    def _launch(self, trial: Trial) -> None:
        experiment = self.experiment
        logs = experiment.folder / _LOGS
        logs.mkdir(exist_ok=True)
        threads = str(blas_threads(self.parallel))
        env = {**os.environ, **dict.fromkeys(_THREAD_VARIABLES, threads)}
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        command = [
            sys.executable,
            "-m",
            "engine.experiments.trial",
            str(self.project_path),
            str(experiment.folder),
            trial.id,
            "--source",
            self.source,
        ]
        trial.status, trial.error, trial.metric, trial.run_id = "running", None, None, None
        self._save()
        with open(logs / f"{trial.id}.log", "wb") as log:
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=env,
                    cwd=str(self.project_path.parent),
                    # Ctrl-C in a terminal goes to the runner alone, which stops the trials
                    # itself (so they record their runs as stopped, not failed).
                    start_new_session=os.name == "posix",
                )
            except OSError as err:
                trial.status, trial.error = "failed", f"cannot start the trial: {err}"
                self._save()
                self._finished(trial)
                return
        with self._lock:
            self._processes[trial.id] = process
            late = self._stopping.is_set() or trial.id in self._skipped
        if late:  # stop() or skip() came while it was starting
            _terminate(process)
        self.on_event({"kind": "trial_started", "trial": trial.id})
        threading.Thread(
            target=self._read, args=(trial.id, process), name=f"trial-{trial.id}", daemon=True
        ).start()

    def _read(self, trial_id: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            try:
                message = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(message, dict) and "kind" in message:
                self._messages.put((trial_id, message))
        process.stdout.close()  # the pipe is read to its end: release it (no ResourceWarning)
        code = process.wait()
        self._messages.put((trial_id, {"kind": "exit", "code": code}))

    def _handle(self, trial_id: str, message: dict[str, Any]) -> None:
        trial = self.experiment.trial(trial_id)
        kind = message.get("kind")
        if kind == "run":
            trial.run_id = message.get("run_id")
            self._save()
            self.on_event({"kind": "run", "trial": trial_id, "run_id": trial.run_id})
        elif kind == "epoch":
            self.on_event(
                {
                    "kind": "epoch",
                    "trial": trial_id,
                    "epoch": message.get("epoch"),
                    "logs": message.get("logs") or {},
                }
            )
        elif kind == "end":
            self._ended[trial_id] = message
        elif kind == "exit":
            with self._lock:
                process = self._processes.pop(trial_id, None)
            if process is not None and process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
            self._conclude(trial, self._ended.pop(trial_id, None), message.get("code"))

    def _conclude(self, trial: Trial, end: dict | None, code: int | None) -> None:
        """A trial's process ended: set its status and metric from its last message."""
        metric_name = self.experiment.metric
        if end is not None and end.get("run_id"):
            trial.run_id = end["run_id"]
        if trial.id in self._skipped:
            trial.status = "skipped"
        elif end is None:
            trial.status = "stopped" if self._stopping.is_set() else "failed"
            if trial.status == "failed":
                trial.error = (
                    f"the trial's process ended (exit status {code}) without a result; see "
                    f"{self.experiment.folder / _LOGS / (trial.id + '.log')}"
                )
        elif end.get("status") == "finished":
            final = end.get("final") or {}
            value = final.get(metric_name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                trial.status, trial.metric = "finished", float(value)
            else:
                logged = ", ".join(k for k in final if k != "learning_rate") or "nothing"
                trial.status = "failed"
                trial.error = f"the run logged no '{metric_name}' (it logged {logged})"
        elif end.get("status") == "diverged":
            trial.status = "failed"
            trial.error = f"diverged: {end.get('error')}"
        elif end.get("status") == "stopped":
            trial.status = "stopped"
        else:
            trial.status = "failed"
            trial.error = end.get("error") or "the trial failed"
        self._save()
        self._finished(trial)

    def _finished(self, trial: Trial) -> None:
        self.on_event(
            {
                "kind": "trial_finished",
                "trial": trial.id,
                "status": trial.status,
                "metric": trial.metric,
                "run_id": trial.run_id,
                "error": trial.error,
            }
        )

    def _save(self) -> None:
        self.store.save(self.experiment)


def _terminate(process: subprocess.Popen, kill: bool = False) -> None:
    """Ask a trial to stop (SIGTERM: it records its run as stopped); ``kill``: make sure."""
    with contextlib.suppress(OSError):
        if process.poll() is None:
            process.terminate()
    if kill:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

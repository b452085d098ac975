"""The Experiments view's behaviour: start a sweep, follow it, stop, skip, continue, and
apply the best trial's settings.

Where experiments are kept: beside the project's runs (``X.runs/experiments/<id>/``, the
store ``layercanvas sweep`` writes too, :class:`engine.experiments.ExperimentStore`), so an
experiment survives closing the app: opening the project lists its experiments and
"Continue" runs the trials left. An experiment needs the project saved to a file for that
reason; the trials train the project as it is on the canvas when Start is pressed (the
experiment keeps a copy of it).

Running: :class:`engine.experiments.runner.ExperimentRunner` runs on a ``QThread``
(:class:`_RunnerThread`); each trial runs in its own process, so the window stays
responsive. The runner's events arrive from that thread through the queued ``event``
signal and are handled here on the UI thread: the experiment record is read again (the
runner writes it atomically at every change), the Runs panel is refreshed when a trial
starts or ends (every trial is a recorded run), and epoch logs grow the running trials'
curves. Stop and Skip call the runner's thread-safe ``stop`` / ``skip``.

"Apply best" pushes one :class:`app.commands.ApplyChanges` on the editor's undo stack,
built from :func:`engine.experiments.changes_for`: one Ctrl+Z restores the project.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from app.commands import ApplyChanges
from app.runs_controller import runs_root
from engine.experiments import (
    Experiment,
    ExperimentStore,
    SweepError,
    changes_for,
    resolve_params,
)
from engine.runs import RunRecordError, RunStore
from widgets.experiments.from_engine import chooser_label, runner_of, shown_experiment

if TYPE_CHECKING:
    from app.main_window import MainWindow

__all__ = ["ExperimentsController"]

_REDRAW_MS = 300  # epoch events are shown at most about three times a second
_MIN_HEIGHT = 380  # px: the view's height once an experiment runs
_FOLLOW_MS = 1000  # an experiment another process runs is read again every second


class _RunnerThread(QThread):
    """Runs ``runner.run()`` off the UI thread; a failure is passed on as text."""

    failed = Signal(str)

    def __init__(self, runner, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = runner

    def run(self) -> None:
        try:
            self.runner.run()
        except SweepError as err:
            self.failed.emit(str(err))
        except Exception as err:  # noqa: BLE001 - shown to the user, never a traceback
            self.failed.emit(f"the experiment stopped on an unexpected error: {err!r}")


class ExperimentsController(QObject):
    """Connects the window's Experiments view to the experiment store and the runner.

    Signals (for tests and scripts):
        event(dict): a runner event (delivered on the UI thread).
        experimentStarted(str): an experiment started or continued (its id).
        experimentEnded(str): its runner returned (its id); the record is final.
    """

    event = Signal(dict)
    experimentStarted = Signal(str)
    experimentEnded = Signal(str)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.view = window.experiments_view
        self.store: ExperimentStore | None = None
        self.run_store: RunStore | None = None
        self.experiment: Experiment | None = None  # the one shown
        self.runner = None
        self.thread: _RunnerThread | None = None
        self.running_id: str | None = None
        self._records: dict[str, Any] = {}  # run id -> RunRecord (finished runs cached)
        self._live: dict[str, dict[str, list[float]]] = {}  # trial id -> epochs seen
        self._skipping: set[str] = set()  # trials the user skipped in the running experiment
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(_REDRAW_MS)
        self._redraw.timeout.connect(self.show_current)
        self._follow_timer = QTimer(self)
        self._follow_timer.setInterval(_FOLLOW_MS)
        self._follow_timer.timeout.connect(self._follow_elsewhere)

        self._stale = False  # the project changed while the view was hidden
        self._visible = not self.view.visibleRegion().isEmpty()
        self.event.connect(self._on_event)
        window.experiments_dock.visibilityChanged.connect(self._on_visibility)
        window.projectOpened.connect(self._on_project_opened)
        v = self.view
        v.experimentChosen.connect(self.choose)
        v.startRequested.connect(self.start)
        v.stopRequested.connect(self.stop)
        v.skipRequested.connect(self.skip)
        v.continueRequested.connect(self.continue_experiment)
        v.applyBestRequested.connect(self.apply_best)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    # -- the open project ----------------------------------------------------------------------

    def _on_project_opened(self, editor) -> None:
        if self.running:  # the experiment belongs to the project being closed
            self.shutdown()
        editor.pathChanged.connect(lambda _path: self._follow(editor))
        editor.settingsChanged.connect(lambda _key: self._project_changed(editor))
        editor.graphChanged.connect(lambda _event: self._project_changed(editor))
        self._follow(editor)

    def _follow(self, editor) -> None:
        if editor is not self.window.editor:
            return
        root = runs_root(editor.path)
        moved = self.running and self.store is not None and self.store.runs_dir != root
        if moved:  # saved elsewhere while trials ran: the experiment stays where it was
            where = self.store.root
            self.shutdown()
            self.window.warn(
                "Experiment stopped",
                f"The project was saved to a new place, so the experiment was stopped. It "
                f"stays in {where} with the old project file; open that file to continue it.",
            )
        self.store = ExperimentStore(root) if editor.path is not None else None
        self.run_store = RunStore(root)
        self._records = {}
        self.experiment = None
        self.view.editor.set_project(editor.project.to_json())
        self.refresh_list()
        self.view.show_experiment(None)
        if editor.path is None:
            self.view.show_message("Save the project to keep experiments beside it.")

    def _project_changed(self, editor) -> None:
        # The chooser's names and the live checks follow the graph and settings; while the
        # view is hidden that waits until it shows (checking values checks the project).
        if editor is not self.window.editor or self.running:
            return
        if not self._visible:
            self._stale = True
            return
        self._stale = False
        self.view.editor.set_project(editor.project.to_json(), check_now=False)

    def _on_visibility(self, visible: bool) -> None:
        # A dock behind another tab stays "visible" to Qt: its tab's state is what counts.
        self._visible = visible
        if visible and self._stale and self.window.editor is not None:
            self._project_changed(self.window.editor)

    def refresh_list(self, current: str | None = None) -> list[Experiment]:
        """Read the project's experiments again and list them in the chooser."""
        found: list[Experiment] = []
        problems: list[str] = []
        if self.store is not None:
            found, problems = self.store.scan()
        for problem in problems:
            self.window.training_panel.log(f"Experiments: skipped {problem}")
        chosen = current if current is not None else self.view.current_id
        entries = [(e.id, chooser_label(e, runner_of(e, e.id == self.running_id))) for e in found]
        self.view.set_experiments(entries, chosen)
        return found

    def choose(self, exp_id: str) -> None:
        """Show experiment ``exp_id`` (``NEW``: the editor alone); its parameters fill the
        editor, so a variation is one edit away."""
        if not exp_id or self.store is None:
            self.experiment = None
            self.view.show_experiment(None)
            return
        try:
            self.experiment = self.store.load(exp_id)
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return
        self._live = {}
        self.view.show_experiment(self._shown(), fill_editor=True)

    def show_current(self) -> None:
        """Read the shown experiment again and show it."""
        if self.experiment is None or self.store is None:
            return
        try:
            self.experiment = self.store.load(self.experiment.id)
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return
        self.view.show_experiment(self._shown())

    def _follow_elsewhere(self) -> None:
        if self.experiment is None:  # another one (or none) is shown now
            self._follow_timer.stop()
            return
        before = self.experiment.status
        self.show_current()
        self.window.runs.refresh()
        if self.experiment.status != before:
            self.refresh_list()

    def _shown(self):
        experiment = self.experiment
        for trial in experiment.trials:
            if trial.run_id and self._record_stale(trial.run_id, trial.status):
                self._load_record(trial.run_id)
        here = experiment.id == self.running_id
        skipping = self._skipping if here else set()
        runner = runner_of(experiment, here)
        # Run by another process (layercanvas sweep): follow its record as it goes.
        if runner == "elsewhere":
            self._follow_timer.start()
        else:
            self._follow_timer.stop()
        return shown_experiment(experiment, self._records, self._live, skipping, runner)

    def _record_stale(self, run_id: str, status: str) -> bool:
        record = self._records.get(run_id)
        return record is None or record.status == "running" or status == "running"

    def _load_record(self, run_id: str) -> None:
        if self.run_store is None:
            return
        try:
            self._records[run_id] = self.run_store.load(run_id)
        except (RunRecordError, OSError):
            self._records.pop(run_id, None)  # not written yet, or damaged: no curves

    # -- starting -----------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the sweep the editor holds; bad values start nothing and are named."""
        w, editor = self.window, self.window.editor
        if editor is None or self.running:
            return False
        if not self.view.editor.check():
            problems = self.view.editor.problems()
            self.view.show_message(problems[0] if problems else "Check the sweep", error=True)
            return False
        if not w.training.ensure_idle("start an experiment"):  # both would share the CPU
            return False
        if editor.path is None or self.store is None:
            w.warn(
                "Save the project first",
                "An experiment is kept beside the project file (its trials are runs in the "
                "Runs panel), so that it survives closing the app. Save the project, then "
                "press Start again.",
            )
            return False
        editor.refresh()
        errors = [d for d in editor.diagnostics if d.severity == "error"]
        if errors:
            w.warn("Cannot start the experiment", f"The project has errors.\n\n{errors[0].text()}")
            return False
        request = self.view.editor.request()
        project = editor.project.to_json()
        try:
            params = resolve_params(project, request.params)
            epochs = request.epochs or int(project.get("training", {}).get("epochs") or 1)
            experiment = self.store.create(
                params,
                strategy=request.strategy,
                trials=request.trials,
                metric=request.metric,
                mode=request.mode,
                parallel=request.parallel,
                epochs=epochs,
                name=request.name or None,
                project=project,
                source="app",
            )
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return False
        except OSError as err:
            w.warn("Cannot start the experiment", f"Cannot write {self.store.root}: {err}")
            return False
        self.refresh_list(experiment.id)
        self.experiment = experiment
        return self._run(experiment)

    def continue_experiment(self, exp_id: str) -> bool:
        """Run the trials experiment ``exp_id`` has left (after a Stop, a crash or a
        closed app)."""
        if self.running or self.store is None:
            return False
        if not self.window.training.ensure_idle("continue an experiment"):
            return False
        try:
            experiment = self.store.load(exp_id)
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return False
        self.experiment = experiment
        return self._run(experiment)

    def _run(self, experiment: Experiment) -> bool:
        from engine.experiments.runner import ExperimentRunner  # noqa: PLC0415

        try:
            runner = ExperimentRunner(
                self.window.editor.path,
                experiment,
                parallel=experiment.parallel,
                on_event=self.event.emit,
            )
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return False
        self.runner = runner
        self.running_id = experiment.id
        self._live = {}
        self._skipping = set()
        thread = _RunnerThread(runner, self)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self.thread = thread
        self.view.set_running(True)
        self._reveal()
        self.view.show_experiment(self._shown())
        self.view.show_message(f"Running '{experiment.name}'…")
        thread.start()
        self.experimentStarted.emit(experiment.id)
        return True

    def _reveal(self) -> None:
        """Raise the view, tall enough for the table and the plots (the bottom area is
        short by default)."""
        dock = self.window.experiments_dock
        dock.show()
        dock.raise_()
        if not dock.isFloating() and dock.height() < _MIN_HEIGHT:
            self.window.resizeDocks([dock], [_MIN_HEIGHT], Qt.Orientation.Vertical)

    # -- while it runs ------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the experiment: the running trials are stopped, the others stay pending
        (Continue runs them later)."""
        if self.runner is not None and self.running:
            self.runner.stop()
            self.view.show_message("Stopping…")

    def skip(self, trial_id: str) -> None:
        """Stop trial ``trial_id`` if it runs, or never start it."""
        if self.runner is not None and self.running:
            self.runner.skip(trial_id)
            self._skipping.add(trial_id)
            self.show_current()
            self.view.show_message(f"Skipping trial {trial_id}…")

    def _on_event(self, event: dict[str, Any]) -> None:
        if self.experiment is None or self.experiment.id != self.running_id:
            return  # another experiment is shown: its record is read when chosen
        kind = event.get("kind")
        trial = event.get("trial")
        if kind == "epoch" and trial is not None:
            history = self._live.setdefault(trial, {"epoch": []})
            history["epoch"].append(float(event.get("epoch", len(history["epoch"]) + 1)))
            for key, value in (event.get("logs") or {}).items():
                if isinstance(value, int | float):
                    series = history.setdefault(key, [])
                    series.extend([float("nan")] * (len(history["epoch"]) - 1 - len(series)))
                    series.append(float(value))
            if not self._redraw.isActive():
                self._redraw.start()
            return
        if kind in ("trial_started", "run", "trial_finished"):
            self.show_current()
            # Trials' runs training now show as running in the Runs panel, not unfinished.
            self.window.runs.trials_live = {
                t.run_id for t in self.experiment.trials if t.status == "running" and t.run_id
            }
            self.window.runs.refresh()
            self.refresh_list()  # its label in the chooser counts the finished trials
            self._progress()
        if kind == "trial_finished":
            self._live.pop(trial, None)

    def _progress(self) -> None:
        experiment = self.experiment
        if experiment is None:
            return
        done = sum(1 for t in experiment.trials if t.status not in ("pending", "running"))
        running = [t.id for t in experiment.trials if t.status == "running"]
        where = f" · running {', '.join(running)}" if running else ""
        self.view.show_message(
            f"Running '{experiment.name}': {done} of {len(experiment.trials)} done{where}"
        )

    def _on_failed(self, message: str) -> None:
        self.window.warn("The experiment stopped", message)

    def _on_thread_finished(self) -> None:
        if self.thread is None:  # already handled by shutdown()
            return
        exp_id, self.running_id = self.running_id, None
        self.runner = None
        self.thread = None
        self.view.set_running(False)
        self.window.runs.trials_live = set()
        self.window.runs.refresh()
        self.refresh_list()
        if self.experiment is not None and self.experiment.id == exp_id:
            self.show_current()
        if exp_id is not None:
            self.experimentEnded.emit(exp_id)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop a running experiment and wait for its runner (the window is closing or
        another project opens); its trials left stay pending for Continue."""
        thread = self.thread
        if thread is None:
            return
        if self.runner is not None:
            self.runner.stop()
        deadline = time.monotonic() + timeout_s
        while thread.isRunning() and time.monotonic() < deadline:
            thread.wait(100)
        self._on_thread_finished()

    # -- apply best ---------------------------------------------------------------------------

    def apply_best(self, exp_id: str) -> bool:
        """Write the best trial's settings into the project as one undo step."""
        editor = self.window.editor
        if editor is None or self.store is None:
            return False
        try:
            experiment = self.store.load(exp_id)
        except SweepError as err:
            self.view.show_message(str(err), error=True)
            return False
        best = experiment.best_trial()
        if best is None:
            self.view.show_message("No finished trial yet: nothing to apply.", error=True)
            return False
        try:
            # The project's folder: a swept schedule counts its steps from the same data.
            changes = changes_for(
                editor.project.to_json(), best.values, base_dir=Path(editor.path).parent
            )
        except SweepError as err:
            self.window.warn("Cannot apply the best trial", str(err))
            return False
        missing = [n for n in changes["nodes"] if n not in editor.graph]
        if missing:
            self.window.warn(
                "Cannot apply the best trial",
                f"The project has no layer '{missing[0]}' any more (renamed or deleted).",
            )
            return False
        shown = ", ".join(f"{k} = {_short(v)}" for k, v in best.values.items())
        command = ApplyChanges(
            editor, changes["training"], changes["nodes"], f"Apply best of '{experiment.name}'"
        )
        if not command.changes_anything:
            self.window.statusBar().showMessage(f"The project already has {shown}", 6000)
            return False
        editor.push(command)
        self.window.statusBar().showMessage(
            f"Applied the best trial of '{experiment.name}': {shown} (Ctrl+Z undoes it)", 8000
        )
        return True


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

"""The Runs panel's behaviour: record every run trained in the window, list the project's
runs, overlay the selected runs' curves, restore, resume and export a run.

Where runs are kept: beside the project file (``X.runs/`` next to ``X.lcproj``, the same
store ``layercanvas train`` writes, so headless runs show up here). An untitled project —
a new one, or an example opened as a copy — records into ``<data dir>/runs/untitled/``
(:func:`app.settings.data_dir`, ``$LAYERCANVAS_DATA_DIR`` in tests), so no run is lost
before the first save; the panel says where it looks.

Recording goes through :attr:`TrainingController.setup_hook`: in the worker thread, after
the run is prepared, :func:`engine.runs.record.record_run` creates the record and its
recorder joins ``fit``'s callbacks (the UI thread never writes weights; its end of training
overlaps the validation evaluation, :mod:`app.training_recording`). The controller's
``started`` / ``finished`` / ``stopped`` / ``failed`` signals re-read that one record (the
run's end on the next turn of the event loop, after the outcome is shown); Refresh and
opening a project read the whole store.

"Resume" starts the controller on the run's own project with a hook that first swaps in the
run's last model and optimizer state (:func:`engine.runs.resume.resume_setup`); the new run
is recorded with the old one as its parent. "Restore graph" pushes one
:class:`app.run_commands.RestoreRun` on the editor's undo stack. "Export" writes the run's
last model to ONNX (verified under onnxruntime) in the controller's worker.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from app.run_commands import RestoreRun
from app.settings import data_dir
from app.training_recording import EndBeside
from engine.graph.project import Project, ProjectError
from engine.runs import RunRecordError, RunStore, runs_dir_for
from engine.runs.record import record_run
from engine.runs.resume import resume_setup
from widgets.run_overlay import OverlayRun, RunOverlay, run_colors

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from engine.runs import RunRecord

__all__ = ["RunsController", "runs_root"]

EXPORT_TASK = "export_run_onnx"


def runs_root(project_path: str | Path | None) -> Path:
    """Where the runs of a project are kept (see the module docstring)."""
    if project_path is None:
        return data_dir() / "runs" / "untitled"
    return runs_dir_for(project_path)


class RunsController(QObject):
    """Connects the window's Runs panel to the run store and the training controller.

    Signals:
        runsChanged(list): the list of records shown was read again.
        exported(object): a run was exported to ONNX (the ``engine.onnx.ExportReport``).
    """

    runsChanged = Signal(list)
    exported = Signal(object)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.panel = window.runs_panel
        self.overlay = RunOverlay(window.training_panel.plots)
        self.store: RunStore | None = None
        self.records: list[RunRecord] = []
        self.recorder = None  # the recorder of the run in progress (set in the worker)
        self.problem: str | None = None
        self._reported: set[str] = set()
        self._live: str | None = None
        #: Runs of an experiment's trials training now (set by the experiments controller).
        self.trials_live: set[str] = set()
        self._last_epoch_refresh = 0.0
        self._ended: str | None = None  # the run that ended, until the list shows its end

        c = window.controller
        c.started.connect(lambda _info: self._on_started())
        c.finished.connect(lambda _r: self._on_run_ended())
        c.stopped.connect(lambda _r: self._on_run_ended())
        c.failed.connect(lambda _m: self._on_run_ended())
        c.epoch_end.connect(lambda _e, _logs: self._on_epoch())
        c.task_finished.connect(self._on_task_finished)
        c.task_failed.connect(self._on_task_failed)
        window.projectOpened.connect(self._on_project_opened)

        p = self.panel
        p.selectionChanged.connect(self._on_selection)
        p.restoreRequested.connect(self.restore)
        p.resumeRequested.connect(self.resume)
        p.exportRequested.connect(self.export)
        p.notesEdited.connect(lambda run_id, text: self._update(run_id, notes=text))
        p.renamed.connect(lambda run_id, name: self._update(run_id, name=name))
        p.starToggled.connect(lambda run_id, on: self._update(run_id, starred=on))
        p.refreshRequested.connect(self.refresh)

    # -- where the runs are --------------------------------------------------------------------

    def _on_project_opened(self, editor) -> None:
        editor.pathChanged.connect(lambda _path: self._follow(editor))
        self._follow(editor)

    def _follow(self, editor) -> None:
        if editor is not self.window.editor:
            return
        self.store = RunStore(runs_root(editor.path))
        self.window.controller.setup_hook = self._hook(self.store)
        where = self.store.root
        shown = f"{where.name}/ beside the project" if editor.path else f"untitled runs: {where}"
        self.panel.set_location(shown)
        self.panel.setToolTip(str(where))
        self.refresh()

    def refresh(self) -> None:
        """Read the store again; records not read before that are damaged are reported once."""
        if self.store is None:
            return
        self._ended = None  # read below with the rest
        records, problems = self.store.list()
        self.records = records
        new = [p for p in problems if p not in self._reported]
        self._reported.update(new)
        self.panel.show_problems(new)
        for problem in new:
            self.window.training_panel.log(f"Runs: skipped {problem}")
        self.panel.set_runs(records, self._live_ids())
        self._on_selection(self.panel.selected_ids(), show_curves=False)
        self.runsChanged.emit(records)

    def _live_ids(self) -> set[str]:
        return self.trials_live | ({self._live} if self._live else set())

    def record(self, run_id: str) -> RunRecord | None:
        if self._ended is not None and run_id == self._ended:
            self.settle()
        return next((r for r in self.records if r.id == run_id), None)

    # -- recording -----------------------------------------------------------------------------

    def _hook(self, store: RunStore, resume: RunRecord | None = None):
        """The controller's setup hook: runs in the worker thread with the prepared run."""

        def hook(setup) -> list:
            self.recorder = None
            if resume is not None:
                resume_setup(setup, resume)  # a RunRecordError fails the run with its message
            try:
                recorder = record_run(
                    store, setup, source="app", parent=resume.id if resume else None
                )
            except OSError as err:
                self.problem = f"this run is not recorded: cannot write {store.root} ({err})"
                return []
            self.recorder = recorder
            # Its last writes wait on the disk: let them overlap the validation evaluation.
            return [EndBeside(recorder)]

        return hook

    def _on_started(self) -> None:
        self.problem = None
        recorder = self.recorder
        self._live = recorder.record.id if recorder is not None else None
        if self._live is not None:
            self._reread(self._live)

    def _on_epoch(self) -> None:
        # The live record gained an epoch: re-read that one record (at most twice a second).
        now = time.monotonic()
        if self._live is None or self.store is None or now - self._last_epoch_refresh < 0.5:
            return
        self._last_epoch_refresh = now
        try:
            live = self.store.load(self._live)
        except RunRecordError:
            return
        self.records = [live if r.id == live.id else r for r in self.records]
        self.panel.set_runs(self.records, self._live_ids())

    def _reread(self, run_id: str) -> None:
        """Read one record again (the run that starts or ends) and show it, added to the
        list if it is new. A run's start and end cost one small read, not a read of every
        record in the store (which grows with every run; the Refresh button and opening a
        project read them all, and so pick up runs recorded by ``layercanvas train``)."""
        if self.store is None:
            return
        try:
            record = self.store.load(run_id)
        except RunRecordError:
            self.refresh()  # unreadable now: the full read reports it
            return
        known = any(r.id == run_id for r in self.records)
        if known:
            self.records = [record if r.id == run_id else r for r in self.records]
        else:
            self.records = [*self.records, record]  # the newest: the store lists oldest first
        self.panel.set_runs(self.records, self._live_ids())
        self._on_selection(self.panel.selected_ids(), show_curves=False)
        self.runsChanged.emit(self.records)

    def _on_run_ended(self) -> None:
        recorder, self._live = self.recorder, None
        self.recorder = None
        problem = self.problem or (recorder.problem if recorder is not None else None)
        if problem:
            self.window.training_panel.log(f"Runs: {problem}")
            self.window.statusBar().showMessage(f"Runs: {problem}", 8000)
        if recorder is None:
            return  # nothing was recorded: the list is as it was
        # After the outcome's other slots (the curves, the result): the list is not what
        # the user looks at first when a run ends. Anything that acts on a record first
        # settles this (record()), so it never sees the run as still running.
        self._ended = recorder.record.id
        QTimer.singleShot(0, self.settle)

    def settle(self) -> None:
        """Show the run that just ended as its record now says (normally on the turn of
        the event loop after the outcome signal)."""
        run_id, self._ended = self._ended, None
        if run_id is not None:
            self._reread(run_id)

    # -- the panel's actions -------------------------------------------------------------------

    def _on_selection(self, run_ids: list[str], show_curves: bool = True) -> None:
        chosen = [r for r in (self.record(i) for i in run_ids) if r is not None]
        colors = dict(zip((r.id for r in chosen), run_colors(len(chosen)), strict=True))
        self.panel.set_colors(colors)
        self.overlay.show([OverlayRun(r.id, r.name, colors[r.id], r.history) for r in chosen])
        if chosen and show_curves:  # the user picked runs to compare: show the curves
            self.window.training_panel.show_message_tab("Curves")

    def _update(self, run_id: str, **changes) -> None:
        if self.store is None:
            return
        try:
            self.store.update(run_id, **changes)
        except (RunRecordError, OSError) as err:
            self.window.warn("Cannot change the run", str(err))
        self.refresh()

    def _project_of(self, record: RunRecord) -> Project | None:
        editor = self.window.editor
        try:
            return Project.from_json(record.project, editor.path if editor else None)
        except (ProjectError, ValueError) as err:
            self.window.warn("Cannot use this run", f"Run '{record.name}': {err}")
            return None

    def restore(self, run_id: str) -> bool:
        """Put the run's graph (and data and training settings) back: one undo step."""
        record, editor = self.record(run_id), self.window.editor
        if record is None or editor is None:
            return False
        project = self._project_of(record)
        if project is None:
            return False
        command = RestoreRun(editor, project, record.name)
        if not command.changes_anything:
            self.window.statusBar().showMessage(
                f"The canvas already holds run '{record.name}'", 5000
            )
            return False
        editor.push(command)
        self.window.statusBar().showMessage(
            f"Restored the graph of run '{record.name}' (Ctrl+Z undoes it)", 6000
        )
        return True

    def resume(self, run_id: str, epochs: int | None = None) -> bool:
        """Train on from the run's last weights and optimizer state for ``epochs`` more
        epochs (default: the run's own epochs setting), recorded as a new run."""
        record, c = self.record(run_id), self.window.controller
        if record is None or self.store is None or not self.window.training.ensure_idle("resume"):
            return False
        if record.weights_path("last") is None:
            self.window.warn(
                "Cannot resume", f"Run '{record.name}' left no weights to resume from."
            )
            return False
        project = self._project_of(record)
        if project is None:
            return False
        c.setup_hook = self._hook(self.store, resume=record)
        try:
            started = c.start(project, **({"epochs": epochs} if epochs else {}))
        finally:
            c.setup_hook = self._hook(self.store)
        if started:
            self.window.training_dock.show()
            self.window.training_dock.raise_()
            self.window.training_panel.show_message_tab("Curves")
            self.window.training_panel.log(
                f"Resuming run '{record.name}' from epoch {record.epochs_done}"
            )
        return started

    def export(self, run_id: str, path: str | Path | None = None) -> bool:
        """Write the run's last model to ONNX (in the worker; verified under onnxruntime)."""
        record = self.record(run_id)
        if record is None or not self.window.training.ensure_idle("export"):
            return False
        source = record.weights_path("last")
        if source is None:
            self.window.warn("Cannot export", f"Run '{record.name}' left no model to export.")
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self.window,
                "Export the run to ONNX",
                str(source.parent.parent.parent / f"{_file_name(record.name)}.onnx"),
                "ONNX models (*.onnx)",
            )
            if not path:
                return False

        def export():
            import engine  # noqa: PLC0415
            from engine.onnx import export_model  # noqa: PLC0415

            model = engine.load_model(source, compile=False)
            return export_model(model, path, metadata={"run": record.id, "name": record.name})

        self.window.training_panel.log(f"Exporting run '{record.name}' to {path}...")
        return self.window.controller.run_task(EXPORT_TASK, export, "ONNX export")

    def _on_task_finished(self, name: str, report) -> None:
        if name != EXPORT_TASK:
            return
        text = report.summary()
        self.window.training_panel.log(f"ONNX export of a run: {text}")
        self.window.statusBar().showMessage(f"Exported {report.path}", 6000)
        self.exported.emit(report)

    def _on_task_failed(self, name: str, message: str) -> None:
        if name == EXPORT_TASK:
            self.window.statusBar().showMessage("The run's ONNX export failed", 6000)


def _file_name(name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("._")
    return safe or "run"

"""The Experiments view: a sweep editor on the left, the trials in the middle, and the
parameter plot and the overlaid curves on the right.

Above them: the experiment chooser ("New experiment" and the project's experiments, each
with its status and progress), a progress line, and the actions — Stop, Skip trial,
Continue, Apply best. The view asks; the app (:mod:`app.experiments_controller`) acts and
gives back what to show as a :class:`ShownExperiment`. Choosing an experiment fills the
editor with its parameters, so a variation of it is one edit and Start away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets.experiments.param_plot import ParamPlot, PlotParam
from widgets.experiments.sweep_editor import SweepEditor
from widgets.experiments.trial_curves import TrialCurves
from widgets.experiments.trials_table import TrialRow, TrialsTable, ranked
from widgets.run_overlay import run_colors

__all__ = ["NEW", "ExperimentsView", "ShownExperiment"]

#: The chooser's data for "New experiment".
NEW = ""
#: Narrower than this (px), the sweep editor folds away while trials run.
_ROOMY = 1200


@dataclass
class ShownExperiment:
    """An experiment as the view shows it."""

    id: str
    name: str
    status: str
    metric: str
    mode: str
    strategy: str = "grid"
    params: list[PlotParam] = field(default_factory=list)
    specs: list[tuple[str, str]] = field(default_factory=list)  # (name, values text)
    rows: list[TrialRow] = field(default_factory=list)
    trials_requested: int | None = None
    epochs: int | None = None
    parallel: int = 1
    runner: str = "here"  # "here", "elsewhere" (another process runs it) or "dead"

    @property
    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            found[row.status] = found.get(row.status, 0) + 1
        return found

    @property
    def best(self) -> TrialRow | None:
        order = ranked(self.rows, self.mode)
        return order[0] if order and order[0].has_metric and order[0].status == "finished" else None


class ExperimentsView(QWidget):
    """See the module docstring.

    Signals:
        experimentChosen(str): an experiment was picked in the chooser (``NEW``: none).
        startRequested(): Start was clicked on a valid sweep (read ``editor.request()``).
        stopRequested(): Stop was clicked.
        skipRequested(str): skip this trial (the selected one, else the one running).
        continueRequested(str): run the rest of this experiment.
        applyBestRequested(str): write this experiment's best settings into the project.
    """

    experimentChosen = Signal(str)
    startRequested = Signal()
    stopRequested = Signal()
    skipRequested = Signal(str)
    continueRequested = Signal(str)
    applyBestRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("experimentsView")
        self.shown: ShownExperiment | None = None
        self.running = False
        self.colors: dict[str, str] = {}

        self.chooser = QComboBox()
        self.chooser.setMinimumWidth(220)
        self.chooser.setToolTip("The project's experiments (kept beside the project file)")
        self.chooser.addItem("New experiment", NEW)
        self.chooser.currentIndexChanged.connect(self._on_chosen)
        self.progress = QLabel()
        self.progress.setProperty("role", "muted")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setProperty("danger", "true")
        self.stop_button.setToolTip("Stop the experiment; the trials left can be run later")
        self.skip_button = QPushButton("Skip trial")
        self.skip_button.setToolTip(
            "Stop the selected trial (else the one running), or never start it if it is waiting"
        )
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Run the trials this experiment has left")
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setToolTip(
            "Write the best trial's settings into the project (one step: Ctrl+Z undoes it)"
        )
        self.stop_button.clicked.connect(self.stopRequested)
        self.skip_button.clicked.connect(self._on_skip)
        self.continue_button.clicked.connect(self._emit_with_id(self.continueRequested))
        self.apply_button.clicked.connect(self._emit_with_id(self.applyBestRequested))
        self.sweep_toggle = QToolButton()
        self.sweep_toggle.setText("◂ Sweep")
        self.sweep_toggle.setCheckable(True)
        self.sweep_toggle.setChecked(True)
        self.sweep_toggle.setToolTip("Show or hide the sweep editor (more room for the trials)")
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.sweep_toggle)
        heading = QLabel("Experiment")
        heading.setProperty("role", "section")
        top.addWidget(heading)
        top.addWidget(self.chooser)
        top.addWidget(self.progress, 1)
        for button in (self.stop_button, self.skip_button, self.continue_button, self.apply_button):
            top.addWidget(button)

        self.editor = SweepEditor()
        self.editor.startRequested.connect(self.startRequested)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.editor)
        # As wide as the editor needs: nothing of it is cut, and it never scrolls sideways.
        scroll.setMinimumWidth(self.editor.minimumSizeHint().width() + 14)
        self.sweep_pane = scroll
        self.sweep_toggle.toggled.connect(self._on_sweep_toggled)
        self.table = TrialsTable()
        self.table.selectionChanged.connect(self._on_selection)
        self.empty = QLabel(
            "Choose what to sweep on the left and press Start. Every trial is recorded "
            "in the Runs panel."
        )
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setProperty("role", "muted")
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.table, 1)
        middle_layout.addWidget(self.empty, 1)
        self.plot = ParamPlot()
        self.plot.trialClicked.connect(lambda trial: self.table.select_ids([trial]))
        self.curves = TrialCurves()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.plot, "Parameters")
        self.tabs.addTab(self.curves, "Curves")

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([300, 560, 440])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        self._update()

    # -- what the app calls ----------------------------------------------------------------

    def set_experiments(self, entries: Sequence[tuple[str, str]], current: str = NEW) -> None:
        """List the project's experiments as ``(id, label)``; ``current`` is chosen
        (without announcing it: the app shows it)."""
        with QSignalBlocker(self.chooser):
            self.chooser.clear()
            self.chooser.addItem("New experiment", NEW)
            for exp_id, label in entries:
                self.chooser.addItem(label, exp_id)
            self.chooser.setCurrentIndex(max(self.chooser.findData(current), 0))

    @property
    def current_id(self) -> str:
        return self.chooser.currentData() or NEW

    def show_experiment(self, shown: ShownExperiment | None, fill_editor: bool = False) -> None:
        """Show ``shown``'s trials, plot and curves (``None``: a new experiment)."""
        self.shown = shown
        if shown is None:
            self.table.set_trials([], [], "metric", "max")
            self.plot.set_data([], [], "metric", "max")
            self.curves.show_trials([], "metric", {})
            self._update()
            return
        if fill_editor:
            self.editor.set_rows(shown.specs)
            self.editor.set_options(
                strategy=shown.strategy,
                trials=shown.trials_requested,
                metric=shown.metric,
                mode=shown.mode,
                epochs=shown.epochs or 0,
                parallel=shown.parallel,
            )
        params = [(p.name, p.label) for p in shown.params]
        self.table.set_trials(shown.rows, params, shown.metric, shown.mode, self.colors)
        self._on_selection(self.table.selected_ids(), redraw_table=False)
        self._update()

    def set_running(self, running: bool) -> None:
        """Lock the editor and switch the actions while an experiment runs."""
        self.running = running
        if running and self.width() < _ROOMY:  # the trials and plots need the room now
            self.sweep_toggle.setChecked(False)
        self.editor.set_editable(not running)
        self.chooser.setEnabled(not running)
        self._update()

    def show_message(self, text: str, error: bool = False) -> None:
        """A line beside the chooser (progress, or what went wrong)."""
        self.progress.setText(text)
        self.progress.setToolTip(text)
        self.progress.setProperty("role", "error" if error else "muted")
        self.progress.style().unpolish(self.progress)
        self.progress.style().polish(self.progress)

    # -- reactions -------------------------------------------------------------------------

    def _on_sweep_toggled(self, on: bool) -> None:
        self.sweep_pane.setVisible(on)
        self.sweep_toggle.setText("◂ Sweep" if on else "Sweep ▸")

    def _on_chosen(self, _index: int) -> None:
        if self.current_id == NEW:  # a new experiment is written in the editor: show it
            self.sweep_toggle.setChecked(True)
        self.experimentChosen.emit(self.current_id)

    def _on_selection(self, trial_ids: list[str], redraw_table: bool = True) -> None:
        shown = self.shown
        self.colors = dict(zip(trial_ids, run_colors(len(trial_ids)), strict=True))
        if redraw_table:
            self.table.set_colors(self.colors)
        if shown is None:
            return
        params = [(p.name, p.label) for p in shown.params]
        self.plot.set_data(shown.params, shown.rows, shown.metric, shown.mode, self.colors)
        self.curves.show_trials(shown.rows, shown.metric, self.colors, params)
        self._update()

    def _on_skip(self) -> None:
        trial = self._skippable()
        if trial is not None:
            self.skipRequested.emit(trial)

    def _skippable(self) -> str | None:
        """The trial Skip acts on: the selected one if it is running or waiting, else the
        first one running."""
        if self.shown is None:
            return None
        status = {r.id: r.status for r in self.shown.rows}
        for trial in self.table.selected_ids():
            if status.get(trial) in ("running", "pending"):
                return trial
        return next((r.id for r in self.shown.rows if r.status == "running"), None)

    def _emit_with_id(self, signal):
        def emit() -> None:
            if self.shown is not None:
                signal.emit(self.shown.id)

        return emit

    def _update(self) -> None:
        shown = self.shown
        has_rows = shown is not None and bool(shown.rows)
        self.table.setVisible(has_rows)
        self.empty.setVisible(not has_rows)
        self.tabs.setVisible(has_rows)  # no empty plots: the hint has the room
        counts = shown.counts if shown is not None else {}
        left = sum(counts.get(k, 0) for k in ("pending", "running", "interrupted"))
        elsewhere = shown is not None and shown.runner == "elsewhere"
        # Stop and Skip exist only while trials run; Continue only while some are left.
        self.stop_button.setVisible(self.running)
        self.skip_button.setVisible(self.running)
        self.skip_button.setEnabled(self.running and self._skippable() is not None)
        self.continue_button.setVisible(not self.running and left > 0)
        self.continue_button.setEnabled(
            not self.running and shown is not None and left > 0 and not elsewhere
        )
        self.continue_button.setToolTip(
            "Another process runs this experiment now (layercanvas sweep?): it is followed "
            "here as it goes"
            if elsewhere
            else "Run the trials this experiment has left"
        )
        self.apply_button.setEnabled(shown is not None and shown.best is not None)
        if shown is not None and not self.running:
            self.show_message(progress_text(shown))


def progress_text(shown: ShownExperiment) -> str:
    """``"4 of 6 finished · 2 left · best val_accuracy 0.9611"``."""
    counts = shown.counts
    total = len(shown.rows)
    parts = [f"{counts.get('finished', 0)} of {total} finished"]
    for status in ("running", "interrupted", "pending", "stopped", "skipped", "pruned", "failed"):
        if counts.get(status):
            word = "left" if status == "pending" else status
            parts.append(f"{counts[status]} {word}")
    best = shown.best
    if best is not None:
        parts.append(f"best {shown.metric} {best.metric:.4g}")
    if shown.runner == "elsewhere":
        parts.append("running in another process")
    return " · ".join(parts)

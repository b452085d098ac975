"""The sweep editor: the parameters to sweep and how to run the trials.

Parameter rows (:class:`~widgets.experiments.param_row.ParamRow`) are checked as they are
typed, with the engine's own parser and binder (:func:`check_rows`), so the message under a
row is the very one ``layercanvas sweep`` prints, and a bad row (a negative learning rate in
a range, an unknown name, an empty list) disables Start: nothing starts on bad values.

Options: the strategy (grid: every combination in order; random: N trials drawn from the
grid; halving: N configurations trained in rungs of growing epochs, the worse half stopped
at each rung), the metric that ranks trials and whether higher or lower is better, the
epochs per trial (the project's own when left at "project"), and how many trials may run at
once (each in its own process; the BLAS threads are split between them).

The editor holds the text only; :meth:`SweepEditor.request` gives what Start asks for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.experiments.errors import SweepError
from engine.experiments.metrics import check_metric, metric_choices
from widgets.experiments.names import SweepName, sweep_names
from widgets.experiments.param_row import ParamRow
from widgets.experiments.validation import (
    RowCheck,
    check_in_background,
    check_rows,
    grid_size,
)

__all__ = ["STRATEGIES", "SweepEditor", "SweepRequest"]

#: (strategy, label, tooltip) in the strategy box's order.
STRATEGIES = (
    ("grid", "Grid", "Every combination of the values, in order"),
    ("random", "Random", "N trials drawn from the grid without repeats (seeded)"),
    (
        "halving",
        "Successive halving",
        "N configurations trained in rungs of growing epochs; the worse half stops at each rung",
    ),
)
_CHECK_DELAY_MS = 120  # typing is checked after a short pause, not at every key


@dataclass
class SweepRequest:
    """What Start asks for: the rows as ``NAME=VALUES`` texts and the options."""

    name: str
    params: list[str]
    strategy: str
    trials: int | None
    metric: str
    mode: str
    epochs: int | None
    parallel: int


class SweepEditor(QWidget):
    """See the module docstring.

    Signals:
        startRequested(): Start was clicked on valid rows.
        validityChanged(bool): whether the rows can start (after each check).
    """

    startRequested = Signal()
    validityChanged = Signal(bool)
    _checked = Signal(int, list, list)  # a background check's result (generation, texts)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._project: dict[str, Any] | None = None
        self._version = 0  # of the project: checks are remembered per version
        self._cache: dict = {}
        self._generation = 0  # of the latest check asked for
        self._names: list[SweepName] = []
        self.rows: list[ParamRow] = []
        self.checks: list[RowCheck] = []
        self.valid = False
        self._editable = True

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("experiment name (optional)")
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setSpacing(4)
        self.add_button = QPushButton("+ Parameter")
        self.add_button.setToolTip("Sweep one more setting (every combination is tried)")
        self.add_button.clicked.connect(lambda: self.add_row())

        self.strategy_box = QComboBox()
        for key, text, tip in STRATEGIES:
            self.strategy_box.addItem(text, key)
            self.strategy_box.setItemData(self.strategy_box.count() - 1, tip, 3)  # tooltip
        self.trials_spin = QSpinBox()
        self.trials_spin.setRange(1, 10000)
        self.trials_spin.setValue(8)
        self.trials_spin.setToolTip("Random: trials drawn; halving: configurations at the start")
        self.metric_box = QComboBox()
        self.metric_box.setEditable(True)
        self.metric_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.metric_box.setMinimumContentsLength(10)
        self.metric_box.setToolTip("The final value that ranks the trials")
        self.mode_box = QComboBox()
        self.mode_box.addItem("higher is better", "max")
        self.mode_box.addItem("lower is better", "min")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(0, 100000)
        self.epochs_spin.setSpecialValueText("project")
        self.epochs_spin.setToolTip('Epochs each trial trains ("project": the project\'s own)')
        self.parallel_spin = QSpinBox()
        self.parallel_spin.setRange(1, max(1, os.cpu_count() or 1))
        self.parallel_spin.setToolTip(
            "Trials run at once, each in its own process; the CPU's threads are split "
            "between them so the machine is not oversubscribed"
        )

        options = QFormLayout()
        options.setContentsMargins(0, 4, 0, 0)
        options.setHorizontalSpacing(8)
        options.setVerticalSpacing(4)
        strategy_line = QHBoxLayout()
        strategy_line.addWidget(self.strategy_box, 1)
        self.trials_label = QLabel("trials")
        strategy_line.addWidget(self.trials_label)
        strategy_line.addWidget(self.trials_spin)
        options.addRow("Strategy", strategy_line)
        metric_line = QHBoxLayout()
        metric_line.addWidget(self.metric_box, 1)
        metric_line.addWidget(self.mode_box)
        options.addRow("Metric", metric_line)
        run_line = QHBoxLayout()
        run_line.addWidget(self.epochs_spin)
        run_line.addWidget(QLabel("at once"))
        run_line.addWidget(self.parallel_spin)
        run_line.addStretch(1)
        options.addRow("Epochs", run_line)

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setProperty("role", "muted")
        self.start_button = QPushButton("Start")
        self.start_button.setProperty("primary", "true")
        self.start_button.setToolTip("Run the trials (each is recorded in the Runs panel)")
        self.start_button.clicked.connect(self._on_start)

        add_line = QHBoxLayout()
        add_line.addWidget(self.add_button)
        add_line.addStretch(1)
        start_line = QHBoxLayout()
        start_line.addWidget(self.summary, 1)
        start_line.addWidget(self.start_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.name_edit)
        layout.addLayout(self.rows_layout)
        layout.addLayout(add_line)
        layout.addLayout(options)
        layout.addStretch(1)
        layout.addLayout(start_line)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_CHECK_DELAY_MS)
        self._timer.timeout.connect(self._check_later)
        self._checked.connect(self._on_checked)
        self.strategy_box.currentIndexChanged.connect(lambda _i: self._schedule())
        self.trials_spin.valueChanged.connect(lambda _v: self._schedule())
        self.epochs_spin.valueChanged.connect(lambda _v: self._schedule())
        self.parallel_spin.valueChanged.connect(lambda _v: self._schedule())
        self.metric_box.currentTextChanged.connect(self._on_metric)
        self.add_row("learning_rate", "")
        self._update_options()

    # -- what the view calls ---------------------------------------------------------------

    def set_project(self, project_json: dict[str, Any] | None, check_now: bool = True) -> None:
        """The open project (its JSON): the names offered, the metrics, and what rows are
        checked against (at once, or after a short pause when ``check_now`` is false: the
        project changes at every edit)."""
        self._project = project_json
        self._version += 1
        self._cache = {}
        self._names = sweep_names(project_json) if project_json else []
        for row in self.rows:
            row.set_names(self._names)
        self._set_metrics(project_json)
        if check_now:
            self.check()
        else:
            self._schedule()

    def add_row(self, name: str = "", values: str = "") -> ParamRow:
        row = ParamRow(self._names)
        row.set_text(name, values)
        row.changed.connect(self._schedule)
        row.removeRequested.connect(self.remove_row)
        row.set_editable(self._editable)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        self._schedule()
        return row

    def remove_row(self, row: ParamRow) -> None:
        if row not in self.rows:
            return
        self.rows.remove(row)
        self.rows_layout.removeWidget(row)
        row.hide()  # gone from sight now, not when the event loop deletes it
        row.deleteLater()
        self._schedule()

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        """Replace the rows by ``(name, values)`` pairs (checked at once)."""
        for row in list(self.rows):
            self.remove_row(row)
        for name, values in rows:
            self.add_row(name, values)
        self.check()

    def set_options(
        self,
        *,
        strategy: str | None = None,
        trials: int | None = None,
        metric: str | None = None,
        mode: str | None = None,
        epochs: int | None = None,
        parallel: int | None = None,
        name: str | None = None,
    ) -> None:
        """Set options as a user would pick them."""
        if strategy is not None:
            self.strategy_box.setCurrentIndex(self.strategy_box.findData(strategy))
        if trials is not None:
            self.trials_spin.setValue(trials)
        if metric is not None:
            self.metric_box.setEditText(metric)
        if mode is not None:
            self.mode_box.setCurrentIndex(self.mode_box.findData(mode))
        if epochs is not None:
            self.epochs_spin.setValue(epochs)
        if parallel is not None:
            self.parallel_spin.setValue(parallel)
        if name is not None:
            self.name_edit.setText(name)
        self.check()

    def set_editable(self, on: bool) -> None:
        """Lock the editor while an experiment runs."""
        self._editable = on
        for row in self.rows:
            row.set_editable(on)
        for widget in (
            self.name_edit,
            self.add_button,
            self.strategy_box,
            self.trials_spin,
            self.metric_box,
            self.mode_box,
            self.epochs_spin,
            self.parallel_spin,
        ):
            widget.setEnabled(on)
        self._update_start()

    def request(self) -> SweepRequest:
        strategy = self.strategy_box.currentData()
        return SweepRequest(
            name=self.name_edit.text().strip(),
            params=[row.text for row in self.rows if not row.is_blank],
            strategy=strategy,
            trials=self.trials_spin.value() if strategy != "grid" else None,
            metric=self.metric_box.currentText().strip(),
            mode=self.mode_box.currentData(),
            epochs=self.epochs_spin.value() or None,
            parallel=self.parallel_spin.value(),
        )

    def problems(self) -> list[str]:
        """Why Start cannot run now (empty when it can)."""
        found = [c.error for c in self.checks if c.error]
        if not [row for row in self.rows if not row.is_blank]:
            found.append("add a parameter to sweep")
        metric = self.metric_box.currentText().strip()
        if not metric:
            found.append("choose the metric that ranks the trials")
        elif self._project is not None:
            try:
                check_metric(self._project, metric)
            except SweepError as err:
                found.append(str(err))
        return found

    # -- checking --------------------------------------------------------------------------

    def _schedule(self) -> None:
        self._timer.start()

    def _texts(self) -> list[str]:
        return [row.text for row in self.rows if not row.is_blank]

    def _check_later(self) -> None:
        """The check typing asks for, in the background worker (see the module doc)."""
        self._generation += 1
        generation, texts = self._generation, self._texts()
        future = check_in_background(self._project, texts, self._cache, self._version)
        future.add_done_callback(lambda f: self._deliver(generation, texts, f))

    def _deliver(self, generation: int, texts: list[str], future) -> None:
        # In the worker thread: hand the result to the UI thread (a queued signal).
        if not shiboken6.isValid(self):
            return
        try:
            checks = future.result()
        except Exception as err:  # noqa: BLE001 - shown under the rows, never a traceback
            checks = [RowCheck(None, f"cannot check this value: {err}") for _ in texts]
        self._checked.emit(generation, texts, checks)

    def _on_checked(self, generation: int, texts: list[str], checks: list) -> None:
        if generation == self._generation and texts == self._texts():  # still current
            self._show(checks)

    def check(self) -> bool:
        """Check every row now with the engine (and show the results); True when valid."""
        self._timer.stop()
        self._generation += 1  # a background check still running is moot
        return self._show(check_rows(self._project, self._texts(), self._cache, self._version))

    def _show(self, checks: list[RowCheck]) -> bool:
        rows = [row for row in self.rows if not row.is_blank]
        self.checks = checks
        for row, result in zip(rows, self.checks, strict=True):
            row.show_result(result.values, result.error)
        for row in self.rows:
            if row.is_blank:
                row.show_result([], None)
                row.message.setText("")
        self._update_options()
        problems = self.problems()
        valid = self._project is not None and not problems
        if self._project is None:
            self.summary.setText("Open a project to sweep its settings.")
        elif any(c.error for c in self.checks):
            self.summary.setText("Fix the values marked in red to start.")
        elif problems:
            self.summary.setText(problems[0][:1].upper() + problems[0][1:] + ".")
        else:
            self.summary.setText(self._plan_text())
        self.summary.setProperty("role", "muted" if valid or not problems else "error")
        self.summary.style().unpolish(self.summary)
        self.summary.style().polish(self.summary)
        changed = valid != self.valid
        self.valid = valid
        self._update_start()
        if changed:
            self.validityChanged.emit(valid)
        return valid

    def _plan_text(self) -> str:
        request = self.request()
        size = grid_size(self.checks)
        strategy = request.strategy
        if strategy == "grid":
            trials = size
        else:
            trials = min(request.trials or size, size)
        epochs = request.epochs or (self._project or {}).get("training", {}).get("epochs")
        parts = [f"{trials} trial{'s' if trials != 1 else ''}"]
        if strategy == "halving":
            parts.append(f"up to {epochs} epochs, halved by rungs")
        elif epochs:
            parts.append(f"{epochs} epoch{'s' if epochs != 1 else ''} each")
        parts.append("one at a time" if request.parallel == 1 else f"{request.parallel} at once")
        if strategy != "grid" and (request.trials or 0) > size:
            parts.append(f"(the grid holds only {size})")
        return " · ".join(parts)

    def _update_options(self) -> None:
        on = self.strategy_box.currentData() != "grid"
        self.trials_spin.setVisible(on)
        self.trials_label.setVisible(on)

    def _update_start(self) -> None:
        self.start_button.setEnabled(self._editable and self.valid)
        self.start_button.setToolTip(
            "Run the trials (each is recorded in the Runs panel)"
            if self.valid
            else "\n".join(self.problems()) or "Open a project to sweep its settings"
        )

    def _set_metrics(self, project_json: dict[str, Any] | None) -> None:
        current = self.metric_box.currentText()
        names = metric_choices(project_json) if project_json else ["val_loss", "loss"]
        with QSignalBlocker(self.metric_box):
            self.metric_box.clear()
            self.metric_box.addItems(names)
            keep = current in names
            self.metric_box.setEditText(current if keep else names[0])
        if not keep:  # a metric chosen before keeps the mode the user set
            self._on_metric(self.metric_box.currentText())

    def _on_metric(self, text: str) -> None:
        # Losses and errors go down, scores go up: preset the mode (the user may change it).
        lowered = text.lower()
        lower = any(word in lowered for word in ("loss", "error", "mae", "mse", "crossentropy"))
        with QSignalBlocker(self.mode_box):
            self.mode_box.setCurrentIndex(self.mode_box.findData("min" if lower else "max"))
        self._schedule()

    def _on_start(self) -> None:
        if self.check():
            self.startRequested.emit()

"""The training panel: run buttons, quick settings, progress, live curves and results.

From top to bottom: Train / Pause-Resume / Stop; the settings people change most between
runs (epochs, batch size, learning rate, optimizer); a progress bar with samples per
second and the time left; then tabs: the rest of the setup (:class:`~widgets.
training_form.TrainingForm`: the optimizer's arguments, the learning-rate schedule with a
preview of its curve, the loss and the metrics), the live curves (:class:`~widgets.plots.
TrainingPlots`), the confusion matrix, the validation samples, the sketchpad and a log.

The optimizers offered are the engine's (:func:`widgets.toolbox_catalog.optimizers`), so a
new one appears here by itself. The schedule preview covers the planned epochs x steps per
epoch; the steps per epoch come from :meth:`TrainingPanel.set_train_samples` (the app
passes the dataset's training-sample count) and the batch size, or a default before that.

The panel knows nothing of the application. It asks for runs with signals
(``train_requested``, ``pause_requested``, ``stop_requested``), shows what it is told
(:meth:`set_state`, :meth:`begin_run`, :meth:`add_batches`, :meth:`show_progress`,
:meth:`add_epoch`, :meth:`log`) and writes the project's ``training`` settings through the
``on_settings`` callback it is given (the app turns that into an undo command), reading them
back with :meth:`set_training` inside signal blockers so nothing echoes.
"""

from __future__ import annotations

import copy
import datetime
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from widgets import toolbox_catalog
from widgets.class_report import ClassReportWidget, beside
from widgets.confusion_matrix import ConfusionMatrixWidget
from widgets.number_fields import LearningRateSpinBox
from widgets.plots import TrainingPlots
from widgets.sample_grid import SampleGrid
from widgets.sketchpad import SketchPredictor
from widgets.training_form import TrainingForm, optimizer_config

__all__ = ["OPTIMIZERS", "LearningRateSpinBox", "TrainingPanel", "format_duration"]

#: Optimizer names offered in the quick settings: every optimizer the engine has.
OPTIMIZERS = tuple(toolbox_catalog.optimizers())

#: Steps per epoch the schedule preview assumes before the dataset's size is known.
DEFAULT_STEPS_PER_EPOCH = 50


def format_duration(seconds: float | None) -> str:
    """``0:07``, ``12:34``, ``1:02:03``; ``--`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "--"
    total = int(round(max(0.0, seconds)))
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class TrainingPanel(QWidget):
    """Run buttons, quick settings, progress and result tabs (see the module docstring)."""

    train_requested = Signal()
    pause_requested = Signal()
    stop_requested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        on_settings: Callable[[dict[str, Any]], None] | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._on_settings = on_settings
        self._training: dict[str, Any] = {}
        self._state = "idle"
        self._epochs = 0
        self._train_samples: int | None = None

        style = self.style()
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.train_button.setToolTip("Train the model on the chosen dataset (F5)")
        self.train_button.clicked.connect(self.train_requested)
        self.train_button.setProperty("primary", True)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
        self.pause_button.setToolTip("Pause after the current batch; press again to resume")
        self.pause_button.clicked.connect(self.pause_requested)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop))
        self.stop_button.setToolTip("Stop after the current batch and keep the model so far")
        self.stop_button.clicked.connect(self.stop_requested)
        self.state_label = QLabel("Ready")
        self.state_label.setObjectName("trainingState")
        self.state_label.setProperty("role", "muted")

        self.epochs_box = QSpinBox()
        self.epochs_box.setRange(1, 100_000)
        self.batch_box = QSpinBox()
        self.batch_box.setRange(1, 1_000_000)
        self.rate_box = LearningRateSpinBox()
        self.optimizer_box = QComboBox()
        self.optimizer_box.setObjectName("optimizerBox")
        for name, entry in toolbox_catalog.optimizers().items():
            self.optimizer_box.addItem(name)
            tip = f"{entry.cls.__name__}: {entry.summary}"
            self.optimizer_box.setItemData(
                self.optimizer_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
            )
        for box in (self.epochs_box, self.batch_box):
            box.setKeyboardTracking(False)
            box.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.UpDownArrows)
        self.epochs_box.setToolTip("Passes over the training data (training.epochs)")
        self.batch_box.setToolTip("Samples per gradient step (training.batch_size)")
        self.rate_box.setToolTip("Step size of the optimizer (training.optimizer.learning_rate)")
        self.optimizer_box.setToolTip("How the weights are updated (training.optimizer.name)")
        self.epochs_box.valueChanged.connect(lambda v: self._write({"epochs": int(v)}))
        self.batch_box.valueChanged.connect(lambda v: self._write({"batch_size": int(v)}))
        self.rate_box.valueChanged.connect(lambda v: self._write_optimizer(learning_rate=v))
        self.optimizer_box.currentTextChanged.connect(lambda n: self._write_optimizer(name=n))

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        self.speed_label = QLabel("")
        self.speed_label.setObjectName("trainingSpeed")
        self.speed_label.setProperty("role", "muted")

        self.form = TrainingForm()
        self.form.edited.connect(self._write)
        setup = QScrollArea()
        setup.setObjectName("trainingSetup")
        setup.setWidgetResizable(True)
        setup.setFrameShape(QScrollArea.Shape.NoFrame)
        setup.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        setup.setWidget(self.form)
        self.setup_page = setup

        self.plots = TrainingPlots()
        self.confusion = ConfusionMatrixWidget()
        self.class_report = ClassReportWidget(follow=self.confusion)  # per-class P/R/F1
        self.samples = SampleGrid()
        self.sketch = SketchPredictor()
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.log_view.setFont(mono)
        self.confusion.cell_clicked.connect(self._show_cell)

        curves = QWidget()
        curves_layout = QVBoxLayout(curves)
        curves_layout.setContentsMargins(0, 4, 0, 0)
        curves_layout.addWidget(self.plots, 1)
        export_row = QHBoxLayout()
        export_row.addStretch(1)
        self.export_csv_button = QToolButton()
        self.export_csv_button.setText("Export CSV...")
        self.export_csv_button.setToolTip("Save the numbers behind the curves (one row per epoch)")
        self.export_csv_button.clicked.connect(self._export_csv)
        self.export_png_button = QToolButton()
        self.export_png_button.setText("Export PNG...")
        self.export_png_button.setToolTip("Save the curves as an image")
        self.export_png_button.clicked.connect(self._export_png)
        export_row.addWidget(self.export_csv_button)
        export_row.addWidget(self.export_png_button)
        curves_layout.addLayout(export_row)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(setup, "Setup")
        self.tabs.setTabToolTip(0, "Optimizer arguments, learning-rate schedule, loss, metrics")
        self.tabs.addTab(curves, "Curves")
        self.tabs.setCurrentWidget(curves)
        self.tabs.addTab(beside(self.confusion, self.class_report), "Confusion")
        self.tabs.addTab(self.samples, "Samples")
        self.tabs.addTab(self.sketch, "Draw")
        self.tabs.addTab(self.log_view, "Log")

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.state_label)
        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        for col, (label, field) in enumerate(
            (("Epochs", self.epochs_box), ("Batch size", self.batch_box))
        ):
            form.addWidget(QLabel(label), 0, col * 2)
            form.addWidget(field, 0, col * 2 + 1)
        for col, (label, field) in enumerate(
            (("Learning rate", self.rate_box), ("Optimizer", self.optimizer_box))
        ):
            form.addWidget(QLabel(label), 1, col * 2)
            form.addWidget(field, 1, col * 2 + 1)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(buttons)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.speed_label)
        layout.addWidget(self.tabs, 1)
        self.set_state("idle")

    # -- settings ----------------------------------------------------------------------------------

    def set_training(self, training: Mapping[str, Any]) -> None:
        """Show the project's ``training`` settings (does not write anything back)."""
        self._training = copy.deepcopy(dict(training))
        self._show_quick_fields()
        self.form.set_training(self._training)
        self._update_rate_field()
        self._update_plan()

    def _show_quick_fields(self) -> None:
        optimizer = optimizer_config(self._training.get("optimizer"))
        name = str(optimizer.get("name", "adam")).lower()
        rate = optimizer.get("learning_rate", 0.001)
        blockers = [
            QSignalBlocker(w)
            for w in (self.epochs_box, self.batch_box, self.rate_box, self.optimizer_box)
        ]
        self.epochs_box.setValue(int(self._training.get("epochs", 10)))
        self.batch_box.setValue(int(self._training.get("batch_size", 32)))
        self.rate_box.setValue(float(rate) if toolbox_catalog.is_number(rate) else 0.001)
        if self.optimizer_box.findText(name) < 0:
            self.optimizer_box.addItem(name)
        self.optimizer_box.setCurrentText(name)
        del blockers

    def training(self) -> dict[str, Any]:
        """The settings as last shown or written."""
        return copy.deepcopy(self._training)

    def set_train_samples(self, samples: int | None) -> None:
        """How many samples one epoch trains on (for the schedule preview's step count)."""
        self._train_samples = int(samples) if samples else None
        self._update_plan()

    def set_classes(self, names: Sequence[str] | None, train_counts: Sequence[int] | None) -> None:
        """The dataset's class names and the training labels' count per class (either None
        when unknown): the Setup tab's class weights, "Balanced" and MeanIoU use them."""
        self.form.set_classes(names, train_counts)

    def steps_per_epoch(self) -> int:
        """Optimizer steps in one epoch: the training samples over the batch size, rounded
        up (a default while the dataset's size is not known)."""
        if not self._train_samples:
            return DEFAULT_STEPS_PER_EPOCH
        return max(1, math.ceil(self._train_samples / max(1, self.batch_box.value())))

    def _update_plan(self) -> None:
        self.form.set_plan(self.epochs_box.value(), self.steps_per_epoch())

    def _update_rate_field(self) -> None:
        # A schedule sets the rate itself: the field then shows the last constant rate.
        scheduled = self.form.schedule() is not None
        self.rate_box.set_stand_in("schedule" if scheduled else None)
        self.rate_box.setEnabled(not scheduled and self._state == "idle")
        self.rate_box.setToolTip(
            "Set by the learning-rate schedule (Setup tab)"
            if scheduled
            else "Step size of the optimizer (training.optimizer.learning_rate)"
        )

    def _write(self, changes: Mapping[str, Any]) -> None:
        """Write ``changes`` (key -> value; ``None`` removes the key) as one settings edit."""
        changed = False
        for key, value in changes.items():
            if value is None:
                changed |= self._training.pop(key, None) is not None
            elif key not in self._training or self._training[key] != value:
                self._training[key] = copy.deepcopy(value)
                changed = True
        if not changed:
            return
        self._show_quick_fields()
        self.form.set_training(self._training)
        self._update_rate_field()
        self._update_plan()
        if self._on_settings is not None:
            self._on_settings(copy.deepcopy(self._training))

    def _write_optimizer(self, **changes: Any) -> None:
        optimizer = optimizer_config(self._training.get("optimizer"))
        if "name" in changes and changes["name"] != optimizer.get("name"):
            # Another optimizer: keep the rate, and the settings every optimizer shares.
            shared = _shared_arguments()
            kept = {k: v for k, v in optimizer.items() if k in shared}
            rate = optimizer.get("learning_rate", self.rate_box.value())
            optimizer = {"name": changes["name"], "learning_rate": rate, **kept}
        if "learning_rate" in changes:
            optimizer["learning_rate"] = float(f"{changes['learning_rate']:.6g}")
        self._write({"optimizer": optimizer})

    # -- run state ---------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        """``idle``, ``preparing``, ``training``, ``paused``, ``stopping`` or ``working``."""
        self._state = state
        running = state in ("preparing", "training", "paused", "stopping")
        self.train_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(state in ("training", "paused"))
        self.stop_button.setEnabled(state in ("preparing", "training", "paused"))
        paused = state == "paused"
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.setIcon(
            self.style().standardIcon(
                QStyle.StandardPixmap.SP_MediaPlay
                if paused
                else QStyle.StandardPixmap.SP_MediaPause
            )
        )
        for field in (self.epochs_box, self.batch_box, self.optimizer_box, self.form):
            field.setEnabled(not running)
        self._update_rate_field()
        self.state_label.setText(
            {
                "idle": "Ready",
                "preparing": "Preparing...",
                "training": "Training",
                "paused": "Paused",
                "stopping": "Stopping...",
                "working": "Working...",
            }.get(state, state)
        )
        self.state_label.setProperty("state", state)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)

    @property
    def state(self) -> str:
        return self._state

    def begin_run(self, epochs: int, description: str = "") -> None:
        """A run starts: clear the curves and the results of the previous one."""
        self._epochs = max(1, int(epochs))
        self.plots.start_run(self._epochs)  # the last run's curves go (and are reused)
        self.confusion.clear()
        self.samples.clear()
        if self.tabs.currentWidget() is self.setup_page:
            self.show_message_tab("Curves")  # the run is what to watch now
        self.progress.setValue(0)
        self.progress.setFormat(f"Epoch 1/{self._epochs} · 0%")
        self.speed_label.setText("")
        if description:
            self.log(description)

    def clear_results(self) -> None:
        """Forget the curves, results and progress (another project was opened)."""
        self.plots.clear()
        self.confusion.clear()
        self.samples.clear()
        self.sketch.set_model(None, None, ())
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.speed_label.setText("")

    def add_batches(self, x: Sequence[float], values: Mapping[str, Sequence[float]]) -> None:
        self.plots.add_batches(x, values)

    def show_progress(
        self,
        epoch: int,
        epochs: int,
        samples_done: int,
        samples_total: int,
        samples_per_second: float,
        eta_seconds: float | None,
        elapsed_seconds: float,
    ) -> None:
        fraction = samples_done / samples_total if samples_total else 0.0
        # QProgressBar.setValue repaints at once (synchronously, with whatever the repaint
        # drags along, the curves' view included) when the bar's pixels change: held back
        # here, the bar is drawn with the next paint of the window like everything else.
        self.progress.setUpdatesEnabled(False)
        self.progress.setValue(int(round(1000 * min(1.0, fraction))))
        self.progress.setFormat(f"Epoch {epoch + 1}/{epochs} · {fraction:.0%}")
        self.progress.setUpdatesEnabled(True)
        self.progress.update()
        self.speed_label.setText(
            f"{samples_per_second:,.0f} samples/s · {format_duration(eta_seconds)} left · "
            f"{format_duration(elapsed_seconds)} elapsed"
        )

    def add_epoch(self, epoch: int, logs: Mapping[str, Any]) -> None:
        self.plots.add_epoch(epoch, logs)
        shown = [
            f"{k} {v:.4g}" for k, v in logs.items() if isinstance(v, int | float) and k != "size"
        ]
        self.log(f"Epoch {epoch + 1}/{self._epochs}: " + ", ".join(shown))

    def end_run(self, text: str) -> None:
        """The run ended (finished, stopped or failed): ``text`` goes on the progress bar."""
        self.plots.end_run()
        self.progress.setFormat(text)
        self.log(text)

    def log(self, text: str) -> None:
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        for i, line in enumerate(str(text).splitlines() or [""]):
            self.log_view.appendPlainText(f"{stamp}  {line}" if i == 0 else f"          {line}")
        self.log_view.moveCursor(QTextCursor.MoveOperation.End)

    # -- results -----------------------------------------------------------------------------------

    def _show_cell(self, true_class: int, predicted: int) -> None:
        self.samples.set_cell_filter((true_class, predicted))
        self.tabs.setCurrentWidget(self.samples)

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export training curves", "training_history.csv", "CSV files (*.csv)"
        )
        if path:
            self._export(lambda: self.plots.export_csv(path), path)

    def _export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export training curves", "training_curves.png", "PNG images (*.png)"
        )
        if path:
            self._export(lambda: self.plots.export_png(path), path)

    def _export(self, action: Callable[[], Path], path: str) -> None:
        try:
            action()
        except OSError as err:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}:\n{err}")
            return
        self.log(f"Saved {path}")

    def show_message_tab(self, name: str) -> None:
        """Bring a tab to the front: "Setup", "Curves", "Confusion", "Samples", "Draw" or
        "Log"."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                self.tabs.setCurrentIndex(i)
                return
        raise KeyError(name)


def _shared_arguments() -> set[str]:
    """The arguments every optimizer takes (besides the rate): clipping, EMA, ..."""
    entries = list(toolbox_catalog.optimizers().values())
    if not entries:
        return set()
    names = set.intersection(*({a.name for a in e.arguments} for e in entries))
    return names - {"learning_rate"}

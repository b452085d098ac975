"""The training panel's "Setup" tab: the optimizer's arguments, the learning-rate schedule
with a preview of its curve, the loss with its arguments, and the metrics.

Every form is generated (:mod:`widgets.argument_form`) from the engine's classes as
:mod:`widgets.toolbox_catalog` reads them, so a new optimizer, schedule or loss appears here
with its arguments by itself.

The form shows a project's ``training`` dict (:meth:`TrainingForm.set_training`) and
reports each edit as ``edited(changes)``: the new values of top-level keys (``"optimizer"``,
``"schedule"``, ``"loss"``, ``"metrics"``; ``None`` removes the key), all of one edit in
one dict so that the panel makes one undo step of it, in the format the engine reads:

* ``optimizer``: ``{"name": "nadam", "learning_rate": 0.002, ...}``, only the arguments
  that differ from the defaults (or that the file already named);
* a schedule: the optimizer's ``learning_rate`` dict, ``{"name": "cosine_decay", ...}``, or
  ``training.schedule`` where the project already keeps it there;
* ``loss``: a name, or ``{"name": ..., **arguments}`` when an argument differs; a loss per
  output (``{"output_id": "mse", ...}``) is shown but left as it is;
* ``metrics``: a list of names, in the order the user ticked them, and
  ``{"name": ..., **arguments}`` for a metric whose arguments differ from the defaults
  (:mod:`widgets.metrics_editor`);
* ``class_weight``, ``validation_freq``, ``initial_epoch``, ``steps_per_epoch``: Keras's
  fit options (:mod:`widgets.fit_options`), removed while at Keras's default.

The panel owns the dict and the write (and the undo step behind it); this widget only
tells it what changed.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from widgets import toolbox_catalog as catalog
from widgets.argument_form import ArgumentForm, same_value
from widgets.fit_options import FitOptions
from widgets.metrics_editor import MetricsEditor
from widgets.schedule_preview import SchedulePreview

__all__ = ["CONSTANT", "TrainingForm", "optimizer_config"]

#: The schedule box's first entry: no schedule, the optimizer's rate is a number.
CONSTANT = "constant"


def optimizer_config(optimizer: Any) -> dict[str, Any]:
    """The ``training.optimizer`` value as a dict (a bare name is ``{"name": name}``)."""
    if isinstance(optimizer, str):
        return {"name": optimizer}
    return dict(optimizer or {"name": "adam"})


def _written(form: ArgumentForm, original: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values to store: those off their default, and those the file named
    (unless the user just set that one back to its default)."""
    values = form.values()
    for name, value in form.all_values().items():
        if name in original and name not in values and name != form.last_edited:
            values[name] = value
    return values


def _group(title: str) -> tuple[QGroupBox, QVBoxLayout]:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(8, 6, 8, 8)
    layout.setSpacing(6)
    return box, layout


class TrainingForm(QWidget):
    """Optimizer arguments, schedule and preview, loss and metrics (see the module doc)."""

    edited = Signal(object)  # a dict; "object" keeps its key order (a QVariantMap sorts)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingForm")
        self._training: dict[str, Any] = {}
        self.optimizers = catalog.optimizers()
        self.schedules = catalog.schedules()
        self.losses = catalog.losses()
        self._plan = (10, 100)

        # Optimizer: its name is chosen in the panel's quick settings; its arguments here.
        self.optimizer_group, opt_layout = _group("Optimizer")
        self.optimizer_args = ArgumentForm()
        self.optimizer_args.setObjectName("optimizerArgs")
        self.optimizer_args.changed.connect(self._on_optimizer_args)
        opt_layout.addWidget(self.optimizer_args)

        # Schedule: none (a constant rate) or one of the engine's, with a preview.
        self.schedule_group, sched_layout = _group("Learning-rate schedule")
        self.schedule_box = QComboBox()
        self.schedule_box.setObjectName("scheduleBox")
        self.schedule_box.addItem(CONSTANT)
        self.schedule_box.setItemData(0, "The rate stays as set above", Qt.ItemDataRole.ToolTipRole)
        for name, entry in self.schedules.items():
            self.schedule_box.addItem(name)
            index = self.schedule_box.count() - 1
            self.schedule_box.setItemData(index, entry.summary, Qt.ItemDataRole.ToolTipRole)
        self.schedule_box.setToolTip("How the learning rate changes over the steps of the run")
        self.schedule_box.currentTextChanged.connect(self._on_schedule_choice)
        self.schedule_args = ArgumentForm()
        self.schedule_args.setObjectName("scheduleArgs")
        self.schedule_args.changed.connect(self._on_schedule_args)
        self.preview = SchedulePreview()
        sched_layout.addWidget(self.schedule_box)
        sched_layout.addWidget(self.schedule_args)
        sched_layout.addWidget(self.preview)

        # Loss and its arguments.
        self.loss_group, loss_layout = _group("Loss")
        self.loss_box = QComboBox()
        self.loss_box.setObjectName("lossBox")
        for name, entry in self.losses.items():
            self.loss_box.addItem(name)
            index = self.loss_box.count() - 1
            self.loss_box.setItemData(index, entry.summary, Qt.ItemDataRole.ToolTipRole)
        self.loss_box.setToolTip("What training minimises (training.loss)")
        self.loss_box.currentTextChanged.connect(self._on_loss_choice)
        self.loss_note = QLabel("")
        self.loss_note.setProperty("role", "muted")
        self.loss_note.setWordWrap(True)
        self.loss_args = ArgumentForm()
        self.loss_args.setObjectName("lossArgs")
        self.loss_args.changed.connect(self._on_loss_args)
        loss_layout.addWidget(self.loss_box)
        loss_layout.addWidget(self.loss_note)
        loss_layout.addWidget(self.loss_args)

        # Metrics: tick any number of them; the ticked ones' arguments below the grid.
        self.metrics_group, metrics_layout = _group("Metrics")
        self.metrics_editor = MetricsEditor()
        self.metrics_editor.edited.connect(self._emit)
        metrics_layout.addWidget(self.metrics_editor)

        # Keras's fit options: class weights, validation frequency, resuming, epoch length.
        self.fit_group, fit_layout = _group("Fit options")
        self.fit_options = FitOptions()
        self.fit_options.edited.connect(self._emit)
        fit_layout.addWidget(self.fit_options)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(8)
        for group in (self.optimizer_group, self.schedule_group, self.loss_group):
            layout.addWidget(group)
        layout.addWidget(self.metrics_group)
        layout.addWidget(self.fit_group)
        layout.addStretch(1)
        self.set_training({"optimizer": {"name": "adam", "learning_rate": 0.001}})

    # -- showing -------------------------------------------------------------------------------

    def set_training(self, training: Mapping[str, Any]) -> None:
        """Show ``training`` (emits nothing). Forms are rebuilt only when the optimizer,
        schedule or loss changed class, so a field being edited keeps its focus."""
        self._training = copy.deepcopy(dict(training))
        self._show_optimizer()
        self._show_schedule()
        self._show_loss()
        self.metrics_editor.set_metrics(self._training.get("metrics"))
        self.fit_options.set_training(self._training)
        self._align_labels()

    @property
    def metric_boxes(self) -> dict[str, QCheckBox]:
        return self.metrics_editor.boxes

    def set_classes(self, names: Any, train_counts: Any = None) -> None:
        """The dataset's class names (None: unknown or not a classifier) and the training
        labels' count per class (None: unknown); for class weights and MeanIoU."""
        self.fit_options.set_classes(names, train_counts)
        self.metrics_editor.set_class_count(len(names) if names else None)

    def set_plan(self, epochs: int, steps_per_epoch: int) -> None:
        """The planned run, for the schedule preview and new schedules' step counts."""
        self._plan = (max(1, int(epochs)), max(1, int(steps_per_epoch)))
        self.preview.set_plan(*self._plan)

    def optimizer_name(self) -> str:
        return str(optimizer_config(self._training.get("optimizer")).get("name", "adam")).lower()

    def schedule(self) -> dict[str, Any] | None:
        """The schedule in use (from ``training.schedule`` or the optimizer's rate)."""
        if isinstance(self._training.get("schedule"), Mapping):
            return dict(self._training["schedule"])
        rate = optimizer_config(self._training.get("optimizer")).get("learning_rate")
        return dict(rate) if isinstance(rate, Mapping) else None

    def _rate(self) -> float:
        rate = optimizer_config(self._training.get("optimizer")).get("learning_rate", 0.001)
        return float(rate) if catalog.is_number(rate) else 0.001

    def _show_optimizer(self) -> None:
        config = optimizer_config(self._training.get("optimizer"))
        name = self.optimizer_name()
        entry = self.optimizers.get(name)
        self.optimizer_group.setTitle(f"Optimizer: {entry.cls.__name__ if entry else name}")
        self.optimizer_group.setToolTip(entry.summary if entry else "")
        values = {k: v for k, v in config.items() if k not in ("name", "learning_rate")}
        if self.optimizer_args.entry is not entry:
            self.optimizer_args.set_entry(entry, values)
        else:
            self.optimizer_args.set_values(values)

    def _show_schedule(self) -> None:
        config = self.schedule()
        name = str(config.get("name", "")) if config else CONSTANT
        entry = self._schedule_entry(name) if config else None
        blocker = QSignalBlocker(self.schedule_box)
        shown = entry.identifier if entry else name
        if self.schedule_box.findText(shown) < 0:
            self.schedule_box.addItem(shown)
        self.schedule_box.setCurrentText(shown)
        del blocker
        values = {k: v for k, v in (config or {}).items() if k != "name"}
        if self.schedule_args.entry is not entry:
            self.schedule_args.set_entry(entry, values, self._seeds(entry))
        else:
            self.schedule_args.set_values(values)
        self.schedule_args.setVisible(entry is not None)
        self.preview.set_schedule(config if config else self._rate())

    def _schedule_entry(self, name: str) -> catalog.Entry | None:
        key = name.lower()
        if key in self.schedules:
            return self.schedules[key]
        # Keras's class name ("CosineDecay") names the same schedule.
        return next((e for e in self.schedules.values() if e.cls.__name__.lower() == key), None)

    def _loss_entry(self, name: str) -> catalog.Entry | None:
        if name in self.losses:
            return self.losses[name]
        try:  # an alias ("mse"): the engine knows which class it is
            import engine.losses as engine_losses  # noqa: PLC0415

            cls = type(engine_losses.get(name))
        except Exception:  # noqa: BLE001 - unknown: shown as typed, the check reports it
            return None
        return next((e for e in self.losses.values() if e.cls is cls), None)

    def _loss_config(self) -> tuple[str | None, dict[str, Any], bool]:
        """``(name, arguments, per_output)`` of ``training.loss``."""
        loss = self._training.get("loss")
        if isinstance(loss, str):
            return loss, {}, False
        if isinstance(loss, Mapping):
            if isinstance(loss.get("name"), str):
                return loss["name"], {k: v for k, v in loss.items() if k != "name"}, False
            return None, dict(loss), True
        return None, {}, False

    def _show_loss(self) -> None:
        name, args, per_output = self._loss_config()
        entry = self._loss_entry(name) if name else None
        blocker = QSignalBlocker(self.loss_box)
        shown = entry.identifier if entry else (name or "")
        if shown and self.loss_box.findText(shown) < 0:
            self.loss_box.addItem(shown)
        self.loss_box.setCurrentIndex(self.loss_box.findText(shown) if shown else -1)
        del blocker
        self.loss_box.setEnabled(not per_output)
        if per_output:
            pairs = ", ".join(f"{k}: {v}" for k, v in args.items())
            self.loss_note.setText(f"One loss per output ({pairs}); edit them in the project file.")
        elif name and entry is None:
            self.loss_note.setText(f"'{name}' is not a loss the engine knows.")
        elif name and entry is not None and name != entry.identifier:
            self.loss_note.setText(f"'{name}' is {entry.identifier}.")
        else:
            self.loss_note.setText("")
        self.loss_note.setVisible(bool(self.loss_note.text()))
        entry = None if per_output else entry
        if self.loss_args.entry is not entry:
            self.loss_args.set_entry(entry, args)
        else:
            self.loss_args.set_values(args)
        self.loss_args.setVisible(entry is not None and bool(entry.arguments))

    def _align_labels(self) -> None:
        """One label column for all the forms, so every field starts at the same x."""
        labels: list[QLabel] = []
        for form in (self.optimizer_args, self.schedule_args, self.loss_args):
            labels += [label for label in form.labels() if label is not None]
        labels += self.fit_options.labels()
        if not labels:
            return
        width = max(label.sizeHint().width() for label in labels)
        for label in labels:
            label.setMinimumWidth(width)
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    # -- edits ---------------------------------------------------------------------------------

    def _seeds(self, entry: catalog.Entry | None) -> dict[str, Any]:
        """Starting values of a new schedule's required arguments, from the planned run."""
        if entry is None:
            return {}
        epochs, per_epoch = self._plan
        total = epochs * per_epoch
        rate = self._rate()
        seeds: dict[str, Any] = {}
        for argument in entry.arguments:
            if not argument.required:
                continue
            name = argument.name
            if argument.kind == "int":
                seeds[name] = per_epoch if name == "step_size" else total
            elif argument.kind == "list":
                seeds[name] = [total // 2] if "bound" in name else [rate, rate / 10]
            elif name.startswith("max"):
                seeds[name] = rate * 10
            elif "rate" in name and "learning" not in name:
                seeds[name] = 0.5  # a decay factor
            else:
                seeds[name] = rate
        return seeds

    def _on_optimizer_args(self) -> None:
        config = optimizer_config(self._training.get("optimizer"))
        known = {a.name for a in self.optimizer_args.entry.arguments}
        original = {k: v for k, v in config.items() if k in known}
        new = {"name": config.get("name", self.optimizer_name())}
        if "learning_rate" in config:
            new["learning_rate"] = config["learning_rate"]
        new.update({k: v for k, v in config.items() if k not in known and k not in new})
        new.update(_written(self.optimizer_args, original))
        self._emit({"optimizer": new})

    def _on_schedule_choice(self, name: str) -> None:
        old = self.schedule() or {}
        entry = self._schedule_entry(name) if name != CONSTANT else None
        if entry is None:
            # Back to a constant rate: the schedule's starting (or peak) rate.
            rate = next(
                (
                    float(old[k])
                    for k in ("initial_learning_rate", "warmup_target", "max_learning_rate")
                    if catalog.is_number(old.get(k)) and old[k] > 0
                ),
                self._rate(),
            )
            self._write_schedule(None, rate)
            return
        seeds = self._seeds(entry)
        carried = {k: v for k, v in old.items() if k != "name" and entry.argument(k) is not None}
        self.schedule_args.set_entry(entry, {**seeds, **carried}, seeds)
        self._align_labels()
        config = {"name": entry.identifier, **seeds, **_written(self.schedule_args, carried)}
        self._write_schedule(config, None)

    def _on_schedule_args(self) -> None:
        entry = self.schedule_args.entry
        if entry is None:
            return
        old = self.schedule() or {}
        original = {k: v for k, v in old.items() if k != "name"}
        config = {"name": old.get("name", entry.identifier)}
        config.update(_written(self.schedule_args, original))
        self._write_schedule(config, None)

    def _write_schedule(self, config: dict[str, Any] | None, rate: float | None) -> None:
        optimizer = optimizer_config(self._training.get("optimizer"))
        if self._training.get("schedule") is not None:
            # The project keeps its schedule apart from the optimizer: keep it there.
            if config is not None:
                self._emit({"schedule": config})
                return
            optimizer["learning_rate"] = _round(rate)
            self._emit({"schedule": None, "optimizer": optimizer})
            return
        optimizer["learning_rate"] = config if config is not None else _round(rate)
        self._emit({"optimizer": optimizer})

    def _on_loss_choice(self, name: str) -> None:
        entry = self.losses.get(name)
        if entry is None:
            return
        self.loss_args.set_entry(entry, {})
        self.loss_args.setVisible(bool(entry.arguments))
        self._align_labels()
        self._emit({"loss": name})

    def _on_loss_args(self) -> None:
        name, args, per_output = self._loss_config()
        if per_output or self.loss_args.entry is None:
            return
        values = _written(self.loss_args, args)
        name = name or self.loss_args.entry.identifier
        self._emit({"loss": {"name": name, **values} if values else name})

    def _emit(self, changes: dict[str, Any]) -> None:
        """Apply ``changes`` to the shown settings and report those that change anything."""
        changed = {}
        for key, value in changes.items():
            if value is None:
                if self._training.get(key) is not None:
                    changed[key] = None
                    self._training.pop(key, None)
            elif key not in self._training or not _same_setting(self._training[key], value):
                changed[key] = copy.deepcopy(value)
                self._training[key] = copy.deepcopy(value)
        if not changed:
            return
        if "optimizer" in changed or "schedule" in changed:
            self.preview.set_schedule(self.schedule() or self._rate())
        self.edited.emit(changed)


def _same_setting(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same_setting(a[k], b[k]) for k in a)
    return type(a) is type(b) and same_value(a, b)


def _round(rate: float | None) -> float:
    rate = 0.001 if rate is None or not math.isfinite(rate) else float(rate)
    return float(f"{rate:.6g}")

"""The Setup tab's metrics: a check box per engine metric, and under the grid a small
argument form for each ticked metric that has arguments (generated from its constructor,
as the optimizer's form is).

``training.metrics`` entries are written as the plain name while every argument is at
its default, else as ``{"name": ..., **arguments off their default}``. A metric with a
required argument (MeanIoU's ``num_classes``) is seeded from the dataset's class count
when the panel knows it (:meth:`MetricsEditor.set_class_count`); otherwise it is written
by name only, and a problem under its form says what to set (the project check reports
the same). Entries the engine does not know are shown ticked, with their arguments as
text, and kept as they are. Metrics per output (a dict) are left to the project file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from widgets import toolbox_catalog as catalog
from widgets.argument_form import ArgumentForm
from widgets.reflow_grid import ReflowGrid

__all__ = ["MetricsEditor", "metric_name"]


def metric_name(metric: Any) -> str:
    """``"auc"`` for ``"auc"`` and for ``{"name": "auc", "curve": "PR"}``."""
    return str(metric.get("name", "")) if isinstance(metric, Mapping) else str(metric)


def _arguments(metric: Any) -> dict[str, Any]:
    return {k: v for k, v in metric.items() if k != "name"} if isinstance(metric, Mapping) else {}


class MetricsEditor(QWidget):
    """Metric check boxes and the ticked metrics' argument forms (see the module doc)."""

    edited = Signal(object)  # {"metrics": [...]}

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entries = catalog.metrics()
        self._metrics: list | dict = []
        self._classes: int | None = None
        self.boxes: dict[str, QCheckBox] = {}
        self.forms: dict[str, ArgumentForm] = {}
        self.problems: dict[str, QLabel] = {}
        self._frames: dict[str, QFrame] = {}
        self._grid = ReflowGrid()
        self._forms_holder = QWidget()
        self._forms_layout = QVBoxLayout(self._forms_holder)
        self._forms_layout.setContentsMargins(0, 2, 0, 0)
        self._forms_layout.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self._grid)
        layout.addWidget(self._forms_holder)

    def set_class_count(self, classes: int | None) -> None:
        """The dataset's number of classes (seeds MeanIoU's ``num_classes``)."""
        self._classes = int(classes) if classes else None

    # -- showing -------------------------------------------------------------------------------

    def set_metrics(self, metrics: Any) -> None:
        self._metrics = copy.deepcopy(metrics) if metrics else []
        per_output = isinstance(self._metrics, Mapping)
        entries = [] if per_output else list(self._metrics)
        chosen = [metric_name(m) for m in entries]
        names = list(self.entries) + [m for m in chosen if m not in self.entries]
        if list(self.boxes) != names:
            self.boxes = {}
            for name in names:
                box = QCheckBox(name)
                box.setObjectName(f"metric_{name}")
                entry = self.entries.get(name)
                if entry is not None:
                    box.setToolTip(f"{entry.cls.__name__}: {entry.summary}")
                box.toggled.connect(lambda on, n=name: self._on_ticked(n, on))
                self.boxes[name] = box
            self._grid.set_widgets(list(self.boxes.values()))
        for name, box in self.boxes.items():
            blocker = QSignalBlocker(box)
            box.setChecked(name in chosen)
            box.setEnabled(not per_output)
            config = next((m for m in entries if metric_name(m) == name), None)
            args = _arguments(config)
            # An unknown metric's arguments have no form: say them on the box.
            shown = ", ".join(f"{k}={v!r}" for k, v in args.items())
            unknown = name not in self.entries
            box.setText(f"{name} ({shown})" if shown and unknown else name)
            del blocker
        self.setToolTip("Metrics per output are set in the project file" if per_output else "")
        self._show_forms(entries)

    def _show_forms(self, entries: list) -> None:
        wanted = [
            metric_name(m)
            for m in entries
            if metric_name(m) in self.entries and self.entries[metric_name(m)].arguments
        ]
        for name in list(self._frames):
            if name not in wanted:
                frame = self._frames.pop(name)
                self.forms.pop(name)
                self.problems.pop(name)
                self._forms_layout.removeWidget(frame)
                frame.deleteLater()
        for index, name in enumerate(wanted):
            config = next(m for m in entries if metric_name(m) == name)
            values = _arguments(config)
            if name not in self._frames:
                self._add_form(name, values)
            else:
                self.forms[name].set_values(values)
            self._forms_layout.insertWidget(index, self._frames[name])
            self._show_problem(name, values)

    def _add_form(self, name: str, values: dict[str, Any]) -> None:
        entry = self.entries[name]
        frame = QFrame()
        frame.setObjectName(f"metricArgs_{name}")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(frame)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        title = QLabel(f"<b>{name}</b> &nbsp;<span>{entry.cls.__name__}</span>")
        title.setToolTip(entry.summary)
        form = ArgumentForm()
        form.set_entry(entry, values, self._seeds(name))
        form.changed.connect(lambda n=name: self._on_arguments(n))
        problem = QLabel("")
        problem.setProperty("role", "error")
        problem.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(form)
        layout.addWidget(problem)
        self._frames[name], self.forms[name], self.problems[name] = frame, form, problem

    def _show_problem(self, name: str, values: Mapping[str, Any]) -> None:
        arguments = self.entries[name].arguments
        missing = [a.name for a in arguments if a.required and a.name not in values]
        text = ""
        if missing:
            text = f"{name} needs {', '.join(missing)}: set it above (training needs it)."
        self.problems[name].setText(text)
        self.problems[name].setVisible(bool(text))

    def _seeds(self, name: str) -> dict[str, Any]:
        """Arguments a newly ticked metric starts with: MeanIoU's ``num_classes`` from the
        dataset, and ``sparse_y_pred=False`` since a graph's output gives class scores
        (Keras's default expects predicted ids and would fail on the first batch)."""
        names = {a.name for a in self.entries[name].arguments}
        seeds: dict[str, Any] = {}
        if self._classes and "num_classes" in names:
            seeds["num_classes"] = self._classes
        if "sparse_y_pred" in names:
            seeds["sparse_y_pred"] = False
        return seeds

    # -- edits ---------------------------------------------------------------------------------

    def _on_ticked(self, name: str, on: bool) -> None:
        if isinstance(self._metrics, Mapping):
            return
        chosen = list(self._metrics)
        names = [metric_name(m) for m in chosen]
        if on and name not in names:
            entry = self.entries.get(name)
            seeds = self._seeds(name)
            chosen.append({"name": name, **seeds} if seeds and entry is not None else name)
        elif not on:
            chosen = [m for m in chosen if metric_name(m) != name]
        self._write(chosen)

    def _on_arguments(self, name: str) -> None:
        if isinstance(self._metrics, Mapping):
            return
        form = self.forms[name]
        chosen = []
        for metric in self._metrics:
            if metric_name(metric) == name:
                original = _arguments(metric)
                values = form.values()
                # A required argument no one set yet (no class count to seed MeanIoU's
                # num_classes) stays unwritten, and its problem shown, until it is edited.
                for argument in form.entry.arguments:
                    unset = argument.name not in original and argument.name != form.last_edited
                    if argument.required and unset:
                        values.pop(argument.name, None)
                metric = {"name": name, **values}
                if len(metric) == 1:
                    metric = name
            chosen.append(metric)
        self._write(chosen)

    def _write(self, chosen: list) -> None:
        if chosen == self._metrics:
            return
        self.set_metrics(chosen)
        self.edited.emit({"metrics": copy.deepcopy(chosen)})

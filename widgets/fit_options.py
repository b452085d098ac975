"""The Setup tab's "Fit options": Keras's ``fit(class_weight=..., validation_freq=...,
initial_epoch=..., steps_per_epoch=...)`` as the project's ``training`` keys of those names.

* ``class_weight``: one weight field per class when the panel knows the dataset's classes
  (:meth:`FitOptions.set_classes`), else a line of ``class=weight`` pairs. "Balanced"
  fills Keras's/scikit-learn's ``n_samples / (n_classes * count)`` from the training
  labels' class counts; it is only there when those counts are known. Written as
  ``{"0": 1.0, "1": 5.0}`` (JSON keys are strings; the engine reads them as class ids).
* ``validation_freq`` (validate every N epochs), ``initial_epoch`` (the epoch a resumed
  run starts at) and ``steps_per_epoch`` (batches per epoch; empty: all of them). A value
  at Keras's default removes the key, so a project that never set it stays unchanged.

Edits are reported as ``edited(changes)`` in the :class:`~widgets.training_form.
TrainingForm`'s format (top-level key -> value, ``None`` removes the key).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.number_fields import FloatSpinBox

__all__ = ["FitOptions", "balanced_weights", "parse_pairs"]

_FIELD_WIDTH = 110


def balanced_weights(counts: Sequence[int]) -> dict[str, float]:
    """``n_samples / (n_classes * count)`` per class (scikit-learn's "balanced"), over the
    classes present; a class without samples gets no entry (its weight stays 1)."""
    present = [(i, int(c)) for i, c in enumerate(counts) if int(c) > 0]
    total = sum(c for _, c in present)
    return {str(i): float(f"{total / (len(present) * c):.6g}") for i, c in present}


def parse_pairs(text: str) -> dict[str, float]:
    """``"0=1, 1=5.5"`` -> ``{"0": 1.0, "1": 5.5}``; ``ValueError`` naming the bad pair."""
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = (piece.strip() for piece in part.partition("="))
        if not sep or not key.isdigit():
            raise ValueError(f"'{part}': write class=weight, e.g. 1=5.0 (class ids from 0)")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"'{part}': the weight must be a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"'{part}': the weight must be a finite number >= 0")
        out[str(int(key))] = weight
    return out


def _plain(value: float) -> str:
    return f"{value:.6g}"


class FitOptions(QWidget):
    """class_weight, validation_freq, initial_epoch, steps_per_epoch (see the module doc)."""

    edited = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._training: dict[str, Any] = {}
        self._names: list[str] | None = None
        self._counts: list[int] | None = None
        self._weight_fields: dict[str, FloatSpinBox] = {}
        # Ticked while no classes are known and no pair is typed yet: nothing to write.
        self._pending = False

        self.validation_freq = QSpinBox()
        self.validation_freq.setObjectName("validationFreq")
        self.validation_freq.setRange(1, 100_000)
        self.validation_freq.setPrefix("every ")
        self.validation_freq.setSuffix(" epoch(s)")
        self.validation_freq.setToolTip(
            "Validate every N epochs (training.validation_freq; Keras's default 1)"
        )
        self.initial_epoch = QSpinBox()
        self.initial_epoch.setObjectName("initialEpoch")
        self.initial_epoch.setRange(0, 100_000)
        self.initial_epoch.setToolTip(
            "The epoch the run starts counting at, to resume a run (training.initial_epoch); "
            "it trains epochs initial_epoch+1 .. epochs"
        )
        self.steps_per_epoch = QSpinBox()
        self.steps_per_epoch.setObjectName("stepsPerEpoch")
        self.steps_per_epoch.setRange(0, 10_000_000)
        self.steps_per_epoch.setSpecialValueText("all batches")
        self.steps_per_epoch.setToolTip(
            "Batches per epoch (training.steps_per_epoch); 'all batches': the whole "
            "training set each epoch"
        )
        for box in (self.validation_freq, self.initial_epoch, self.steps_per_epoch):
            box.setKeyboardTracking(False)
            box.setMaximumWidth(_FIELD_WIDTH + 40)
        self.validation_freq.valueChanged.connect(
            lambda v: self._emit({"validation_freq": None if v == 1 else int(v)})
        )
        self.initial_epoch.valueChanged.connect(
            lambda v: self._emit({"initial_epoch": None if v == 0 else int(v)})
        )
        self.steps_per_epoch.valueChanged.connect(
            lambda v: self._emit({"steps_per_epoch": None if v == 0 else int(v)})
        )

        # class_weight: ticked to weight classes at all; fields per class or a pairs line.
        self.weigh_box = QCheckBox("Weight the loss per class")
        self.weigh_box.setObjectName("classWeightBox")
        self.weigh_box.setToolTip(
            "Multiply each sample's loss by its class's weight (training.class_weight)"
        )
        self.weigh_box.toggled.connect(self._on_weigh)
        self.balanced_button = QPushButton("Balanced")
        self.balanced_button.setObjectName("balancedButton")
        self.balanced_button.setToolTip(
            "n_samples / (n_classes x count) from the training labels: rare classes weigh more"
        )
        self.balanced_button.clicked.connect(self._on_balanced)
        self.pairs = QLineEdit()
        self.pairs.setObjectName("classWeightPairs")
        self.pairs.setPlaceholderText("class=weight, e.g. 0=1, 1=5")
        self.pairs.editingFinished.connect(self._on_pairs)
        self.problem = QLabel("")
        self.problem.setObjectName("classWeightProblem")
        self.problem.setProperty("role", "error")
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        self.weights_grid = QWidget()
        self._grid = QGridLayout(self.weights_grid)
        self._grid.setContentsMargins(18, 0, 0, 0)
        self._grid.setHorizontalSpacing(8)
        self._grid.setVerticalSpacing(2)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.weigh_box)
        head.addStretch(1)
        head.addWidget(self.balanced_button)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self._labels = []
        for text, box in (
            ("validation_freq", self.validation_freq),
            ("initial_epoch", self.initial_epoch),
            ("steps_per_epoch", self.steps_per_epoch),
        ):
            label = QLabel(text)
            label.setToolTip(box.toolTip())
            label.setBuddy(box)
            self._labels.append(label)
            form.addRow(label, box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(form)
        layout.addLayout(head)
        layout.addWidget(self.weights_grid)
        layout.addWidget(self.pairs)
        layout.addWidget(self.problem)
        self._show()

    def labels(self) -> list[QLabel]:
        return list(self._labels)

    # -- showing -------------------------------------------------------------------------------

    def set_training(self, training: Mapping[str, Any]) -> None:
        self._training = dict(training)
        self._show()

    def set_classes(self, names: Sequence[str] | None, train_counts: Sequence[int] | None) -> None:
        """The dataset's class names (None: not known or not a classifier) and how many
        training samples each class has (None: "Balanced" is not offered)."""
        names = [str(n) for n in names] if names else None
        counts = [int(c) for c in train_counts] if train_counts is not None and names else None
        if names == self._names and counts == self._counts:
            return
        self._names, self._counts = names, counts
        self._rebuild_weight_fields()
        self._show()

    def _rebuild_weight_fields(self) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._weight_fields = {}
        for i, name in enumerate(self._names or []):
            label = QLabel(f"{i}: {name}" if name != str(i) else name)
            spin = FloatSpinBox()
            spin.setObjectName(f"classWeight_{i}")
            spin.setRange(0.0, 1e6)
            spin.set_step_for(1.0)
            spin.setMaximumWidth(_FIELD_WIDTH)
            spin.valueChanged.connect(self._on_weight_field)
            column = (i % 2) * 2  # two classes per row keeps ten classes to five rows
            self._grid.addWidget(label, i // 2, column)
            self._grid.addWidget(spin, i // 2, column + 1)
            self._weight_fields[str(i)] = spin
        self._grid.setColumnStretch(4, 1)

    def _weights(self) -> dict[str, float] | None:
        value = self._training.get("class_weight")
        if not isinstance(value, Mapping):
            return None
        return {str(k): v for k, v in value.items()}

    def _show(self) -> None:
        t = self._training
        blockers = [
            QSignalBlocker(w)
            for w in (
                self.validation_freq,
                self.initial_epoch,
                self.steps_per_epoch,
                self.weigh_box,
                *self._weight_fields.values(),
            )
        ]
        self.validation_freq.setValue(_int(t.get("validation_freq"), 1))
        self.initial_epoch.setValue(_int(t.get("initial_epoch"), 0))
        self.steps_per_epoch.setValue(_int(t.get("steps_per_epoch"), 0))
        weights = self._weights()
        self._pending = self._pending and weights is None
        on = weights is not None or self._pending
        self.weigh_box.setChecked(on)
        for key, spin in self._weight_fields.items():
            value = (weights or {}).get(key, 1.0)
            spin.setValue(float(value) if isinstance(value, int | float) else 1.0)
            spin.setEnabled(on)
        del blockers
        by_class = bool(self._weight_fields)
        self.weights_grid.setVisible(by_class and on)
        self.pairs.setVisible(not by_class and on)
        if not by_class and self.problem.text() == "":
            text = ", ".join(f"{k}={_plain(float(v))}" for k, v in (weights or {}).items())
            self.pairs.setText(text)
        self.balanced_button.setVisible(self._counts is not None)
        self.balanced_button.setEnabled(self._counts is not None)

    # -- edits ---------------------------------------------------------------------------------

    def _on_weigh(self, on: bool) -> None:
        if not on:
            self._pending = False
            self.pairs.setText("")
            self.problem.setVisible(False)
            self.problem.setText("")
            self._emit({"class_weight": None})
            return
        if self._weight_fields:
            self._emit({"class_weight": {k: 1.0 for k in self._weight_fields}})
        else:
            # No classes known: nothing is written until pairs are typed.
            self._pending = True
            self._show()
            self.pairs.setFocus()

    def _on_weight_field(self) -> None:
        self._emit({"class_weight": {k: float(s.value()) for k, s in self._weight_fields.items()}})

    def _on_pairs(self) -> None:
        try:
            weights = parse_pairs(self.pairs.text())
        except ValueError as err:
            self.problem.setText(f"class_weight: {err}")
            self.problem.setVisible(True)
            return
        self.problem.setText("")
        self.problem.setVisible(False)
        self._emit({"class_weight": weights or None})

    def _on_balanced(self) -> None:
        if self._counts is None:
            return
        weights = {k: 1.0 for k in self._weight_fields}
        weights.update(balanced_weights(self._counts))
        self._emit({"class_weight": weights})

    def _emit(self, changes: dict[str, Any]) -> None:
        changed = {}
        for key, value in changes.items():
            if value is None:
                if self._training.get(key) is not None:
                    changed[key] = None
                    self._training.pop(key, None)
            elif self._training.get(key) != value:
                changed[key] = value
                self._training[key] = value
        self._show()
        if changed:
            self.edited.emit(changed)


def _int(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else default

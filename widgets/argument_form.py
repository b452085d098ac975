"""A form generated from a class's constructor arguments (:mod:`widgets.toolbox_catalog`).

Each :class:`~widgets.toolbox_catalog.Argument` gets the field its kind asks for: a float
field that accepts scientific notation, a spin box for an int, a check box for a bool, a
combo box for a string with known choices, a line edit for other strings or a list of
numbers. An argument whose default is ``None`` gets a check box in front of its field:
unticked means ``None``. The label is the argument's Keras name; the tooltip its help.

:meth:`ArgumentForm.values` gives only what differs from the defaults (and every required
argument), which is what project files store; ``changed`` is emitted when the user edits a
field, never when :meth:`ArgumentForm.set_values` fills them in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from widgets.number_fields import FloatSpinBox
from widgets.toolbox_catalog import Argument, Entry

__all__ = ["ArgumentField", "ArgumentForm", "same_value"]

_FIELD_WIDTH = 110


def same_value(a: Any, b: Any) -> bool:
    """Equal as settings: numbers within float noise, lists item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


class ArgumentField(QWidget):
    """The field of one argument; ``value()`` and ``set_value()`` speak Python values."""

    changed = Signal()

    def __init__(self, argument: Argument, seed: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.argument = argument
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.enable: QCheckBox | None = None
        if argument.optional:
            self.enable = QCheckBox()
            self.enable.setToolTip(f"Set {argument.name} (unticked: None)")
            self.enable.toggled.connect(self._on_enable)
            layout.addWidget(self.enable)
        self.editor = self._make_editor(argument, seed)
        self.editor.setObjectName(f"arg_{argument.name}")
        layout.addWidget(self.editor, 1)
        # An unset optional argument reads "None" rather than showing a greyed-out number.
        self.none_label = QLabel("None")
        self.none_label.setProperty("role", "muted")
        self.none_label.setVisible(False)
        layout.addWidget(self.none_label, 1)
        if argument.help:
            self.setToolTip(argument.help)
            self.editor.setToolTip(argument.help)
        start = argument.default if not argument.required else seed
        self.set_value(start)

    # -- editors -------------------------------------------------------------------------------

    def _make_editor(self, argument: Argument, seed: Any) -> QWidget:
        kind = argument.kind
        if kind == "bool":
            box = QCheckBox()
            box.toggled.connect(self.changed)
            return box
        if kind == "int":
            spin = QSpinBox()
            spin.setRange(-(2**31) + 1, 2**31 - 1)
            spin.setKeyboardTracking(False)
            spin.setAccelerated(True)
            spin.setMaximumWidth(_FIELD_WIDTH)
            spin.valueChanged.connect(self.changed)
            return spin
        if kind == "float":
            spin = FloatSpinBox()
            typical = argument.default if isinstance(argument.default, int | float) else seed
            spin.set_step_for(typical if isinstance(typical, int | float) else 0.0)
            spin.setMaximumWidth(_FIELD_WIDTH)
            spin.valueChanged.connect(self.changed)
            return spin
        if kind == "choice":
            combo = QComboBox()
            combo.addItems(list(argument.choices))
            combo.setMaximumWidth(_FIELD_WIDTH + 60)
            combo.currentTextChanged.connect(self.changed)
            return combo
        line = QLineEdit()
        line.setMaximumWidth(_FIELD_WIDTH + 60)
        if kind == "list":
            line.setPlaceholderText("numbers, separated by commas")
        line.editingFinished.connect(self._line_done)
        self._last_text = ""
        return line

    def _line_done(self) -> None:
        text = self.editor.text()
        if text != self._last_text:
            self._last_text = text
            self.changed.emit()

    def _on_enable(self, on: bool) -> None:
        self._show_set(on)
        self.changed.emit()

    def _show_set(self, on: bool) -> None:
        self.editor.setVisible(on)
        self.none_label.setVisible(not on)

    # -- values --------------------------------------------------------------------------------

    def value(self) -> Any:
        if self.enable is not None and not self.enable.isChecked():
            return None
        editor, kind = self.editor, self.argument.kind
        if kind == "bool":
            return editor.isChecked()
        if kind == "int":
            return int(editor.value())
        if kind == "float":
            return float(editor.value())
        if kind == "choice":
            text = editor.currentText()
            return None if text == "None" and "None" in self.argument.choices else text
        text = editor.text().strip()
        if kind == "list":
            return _parse_list(text)
        return text

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``changed``."""
        blockers = [QSignalBlocker(self.editor)]
        if self.enable is not None:
            blockers.append(QSignalBlocker(self.enable))
            self.enable.setChecked(value is not None)
            self._show_set(value is not None)
        kind = self.argument.kind
        if value is None:
            value = self._placeholder()
        if kind == "bool":
            self.editor.setChecked(bool(value))
        elif kind in ("int", "float"):
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = 0.0
            if kind == "int":
                self.editor.setValue(int(number))
            else:
                self.editor.setValue(number)
        elif kind == "choice":
            text = str(value)
            if self.editor.findText(text) < 0:
                self.editor.addItem(text)
            self.editor.setCurrentText(text)
        else:
            text = ", ".join(_plain(v) for v in value) if isinstance(value, list) else str(value)
            self.editor.setText(text)
            self._last_text = text
        del blockers

    def _placeholder(self) -> Any:
        """What an unset (None) field shows greyed out: a typical value to start from."""
        kind = self.argument.kind
        if kind == "choice":
            choices = self.argument.choices
            return "None" if "None" in choices else (choices[0] if choices else "")
        return {"bool": False, "int": 1, "float": 1.0, "list": []}.get(kind, "")


def _parse_list(text: str) -> list:
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            number = float(part)
        except ValueError:
            out.append(part)
            continue
        out.append(
            int(number)
            if number.is_integer() and "." not in part and "e" not in part.lower()
            else number
        )
    return out


def _plain(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


class ArgumentForm(QWidget):
    """The fields of one :class:`~widgets.toolbox_catalog.Entry`'s arguments."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entry: Entry | None = None
        #: The argument the user edited last (a value set back to its default is dropped).
        self.last_edited: str | None = None
        self._fields: dict[str, ArgumentField] = {}
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setHorizontalSpacing(10)
        self._layout.setVerticalSpacing(4)
        self._layout.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self._layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

    def set_entry(
        self,
        entry: Entry | None,
        values: Mapping[str, Any] | None = None,
        seeds: Mapping[str, Any] | None = None,
    ) -> None:
        """Rebuild the fields for ``entry`` and show ``values`` (missing ones: defaults;
        required ones without a value: ``seeds``)."""
        while self._layout.rowCount():
            self._layout.removeRow(0)
        self._fields = {}
        self.entry = entry
        if entry is None:
            return
        seeds = dict(seeds or {})
        for argument in entry.arguments:
            field = ArgumentField(argument, seed=seeds.get(argument.name))
            field.changed.connect(lambda name=argument.name: self._on_field(name))
            label = QLabel(argument.name)
            label.setToolTip(argument.help)
            label.setBuddy(field.editor)
            self._layout.addRow(label, field)
            self._fields[argument.name] = field
        self.set_values(values or {})

    def _on_field(self, name: str) -> None:
        self.last_edited = name
        self.changed.emit()

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show ``values`` (an argument not in it shows its default); emits nothing."""
        for name, field in self._fields.items():
            if name in values:
                field.set_value(values[name])
            elif not field.argument.required:
                field.set_value(field.argument.default)

    def field(self, name: str) -> ArgumentField:
        return self._fields[name]

    def labels(self) -> list[QLabel]:
        return [self._layout.labelForField(f) for f in self._fields.values()]

    def fields(self) -> dict[str, ArgumentField]:
        return dict(self._fields)

    def all_values(self) -> dict[str, Any]:
        return {name: field.value() for name, field in self._fields.items()}

    def values(self) -> dict[str, Any]:
        """The arguments that differ from their defaults, and every required one."""
        out = {}
        for name, field in self._fields.items():
            value = field.value()
            argument = field.argument
            if argument.required or not same_value(value, argument.default):
                out[name] = value
        return out

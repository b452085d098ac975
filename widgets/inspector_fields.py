"""Parameter editors for the inspector: one widget per schema kind, and the parsing of what
people type into tuple fields.

Each editor (:func:`make_field`) shows a value inside a signal blocker — so showing never
sends anything back — and calls ``commit(value)`` when the user finishes an edit: spin boxes
on Enter, focus loss or a step (not on every key), check boxes and lists at once, text fields
on Enter or focus loss once their text is acceptable. A value a file brought that the widget
cannot show is reported (``show_value`` returns False) rather than silently replaced.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from widgets.padding_text import PADDING_HINT, padding_text, parse_padding

__all__ = ["NONE_TEXT", "Field", "list_text", "make_field", "parse_int_list"]

_INT_LIMIT = 2**31 - 1
NONE_TEXT = "none"


# -- parsing what people type into tuple fields ----------------------------------------------------


def parse_int_list(text: str, param: dict) -> tuple[Any, str | None, bool]:
    """Read ``"3, 3"``, ``"(1, 8, 8)"``, ``"3x3"`` or ``"3"`` for an ``int_tuple``, ``shape``
    or ``ints`` parameter.

    Returns ``(value, problem, partial)``: the value to store (an int for a single number of
    an ``int_tuple``, else a list; ``None`` for an empty nullable field), a message when the
    text is not acceptable, and whether it could still become acceptable by typing more.
    """
    kind = param["kind"]
    body = text.strip().strip("()[]").strip()
    if not body:
        if param.get("nullable"):
            return None, None, False
        return None, "enter at least one number", True
    parts = [p for p in re.split(r"[\s,x×*]+", body) if p]
    partial = bool(re.search(r"[,x×*\s-]$", text.strip().rstrip(")]")))
    values = []
    for part in parts:
        if not re.fullmatch(r"-?\d+", part):
            return None, f"'{part}' is not a whole number", part == "-"
        values.append(int(part))
    lo, hi = param.get("min"), param.get("max")
    if kind == "shape":
        if values.count(-1) > 1:
            return None, "only one dimension may be -1", False
        bad = [v for v in values if v == 0 or v < -1]
        if bad:
            return None, "dimensions must be positive (or one -1)", False
    for v in values:
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = " and ".join(
                b for b in (f">= {lo:g}" if lo is not None else "",
                            f"<= {hi:g}" if hi is not None else "") if b
            )  # fmt: skip
            return None, f"{v} is out of range; each number must be {bounds}", False
    if kind == "int_tuple":
        length = param.get("length") or 1
        if len(values) == 1:
            return values[0], None, partial
        if len(values) != length:
            more = len(values) < length
            return None, f"enter one number or {length} numbers", more
        return values, None, partial
    return values, None, partial


class _IntListValidator(QValidator):
    def __init__(self, param: dict, parent=None):
        super().__init__(parent)
        self.param = param

    def validate(self, text: str, pos: int):
        if re.search(r"[^\d\s,x×*()\[\]-]", text):
            return QValidator.State.Invalid, text, pos
        _value, problem, partial = parse_int_list(text, self.param)
        if problem is None and not partial:
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


def list_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


# -- one editor per parameter kind -----------------------------------------------------------------


class _CompactDoubleSpinBox(QDoubleSpinBox):
    """A spin box that shows ``0.001`` rather than ``0.001000``."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        return f"{value:.8g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        if re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", stripped):
            value = float(stripped)
            if self.minimum() <= value <= self.maximum():
                return QValidator.State.Acceptable, text, pos
            return QValidator.State.Intermediate, text, pos
        if re.fullmatch(r"-?(\d*\.?\d*)([eE][-+]?)?", stripped):
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Invalid, text, pos


class Field(ABC):
    """A parameter's editor widget, its value in and out, and an error mark."""

    def __init__(self, param: dict, commit: Callable[[Any], None]):
        self.param = param
        self.commit = commit
        self.widget = self._make()

    @abstractmethod
    def _make(self) -> QWidget:
        """Build the widget and connect its "edit finished" signal to ``commit``."""

    @abstractmethod
    def show_value(self, value: Any) -> bool:
        """Put ``value`` in the widget; False when the widget cannot show it (a bad value
        from a file), in which case it shows the default."""

    def set_problem(self, message: str | None) -> None:
        widget = self.widget
        if bool(widget.property("error")) != bool(message):
            widget.setProperty("error", bool(message))
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        widget.setToolTip(message or self.param.get("help", ""))


class _IntField(Field):
    def _make(self) -> QWidget:
        box = QSpinBox()
        lo = self.param.get("min")
        hi = self.param.get("max")
        lo = -_INT_LIMIT if lo is None else max(int(lo), -_INT_LIMIT)
        hi = _INT_LIMIT if hi is None else min(int(hi), _INT_LIMIT)
        if self.param.get("nullable"):
            lo -= 1  # the lowest slot reads "none"
            box.setSpecialValueText(NONE_TEXT)
        self._range = (lo, hi)
        box.setRange(lo, hi)
        box.setKeyboardTracking(False)  # commit on Enter, focus loss or a step, not per key
        box.setAccelerated(True)
        box.valueChanged.connect(self._changed)
        return box

    def _changed(self, value: int) -> None:
        nullable = self.param.get("nullable")
        self.commit(None if nullable and value == self._range[0] else value)

    def show_value(self, value: Any) -> bool:
        box = self.widget
        lo, hi = self._range
        with QSignalBlocker(box):
            box.setRange(lo, hi)
            if value is None and self.param.get("nullable"):
                box.setValue(lo)
                return True
            if isinstance(value, bool) or not isinstance(value, int | float):
                box.setValue(_as_int(self.param.get("default"), lo))
                return False
            if value != int(value) or not -_INT_LIMIT <= value <= _INT_LIMIT:
                return False
            # An out-of-range value from a file is shown as it is (the frame turns red),
            # not silently clamped to the range.
            box.setRange(min(lo, int(value)), max(hi, int(value)))
            box.setValue(int(value))
            return True


class _FloatField(Field):
    def _make(self) -> QWidget:
        box = _CompactDoubleSpinBox()
        box.setDecimals(10)
        lo = self.param.get("min")
        hi = self.param.get("max")
        self._range = (-1e12 if lo is None else float(lo), 1e12 if hi is None else float(hi))
        box.setRange(*self._range)
        box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        box.setSingleStep(0.1 if hi is None or hi > 1 else 0.05)
        box.setKeyboardTracking(False)
        box.setAccelerated(True)
        box.valueChanged.connect(lambda v: self.commit(float(f"{v:.10g}")))
        return box

    def show_value(self, value: Any) -> bool:
        box = self.widget
        lo, hi = self._range
        with QSignalBlocker(box):
            box.setRange(lo, hi)
            if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
                default = self.param.get("default")
                box.setValue(float(default) if isinstance(default, int | float) else 0.0)
                return False
            box.setRange(min(lo, float(value)), max(hi, float(value)))
            box.setValue(float(value))
            return True


class _BoolField(Field):
    def _make(self) -> QWidget:
        box = QCheckBox()
        box.toggled.connect(lambda checked: self.commit(bool(checked)))
        return box

    def show_value(self, value: Any) -> bool:
        with QSignalBlocker(self.widget):
            self.widget.setChecked(value is True)
        return isinstance(value, bool)


class _ChoiceField(Field):
    def _make(self) -> QWidget:
        box = QComboBox()
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(8)
        self._choices: list[Any] = list(self.param.get("choices") or [])
        if self.param.get("nullable"):
            self._choices.insert(0, None)
        for choice in self._choices:
            box.addItem(NONE_TEXT if choice is None else str(choice))
        box.activated.connect(self._chosen)
        return box

    def _chosen(self, index: int) -> None:
        if 0 <= index < len(self._choices):
            self.commit(self._choices[index])

    def show_value(self, value: Any) -> bool:
        box = self.widget
        with QSignalBlocker(box):
            while box.count() > len(self._choices):  # a bad value shown earlier
                box.removeItem(box.count() - 1)
            if value in self._choices:
                box.setCurrentIndex(self._choices.index(value))
                return True
            box.addItem(f"{value} (not allowed)")
            box.setCurrentIndex(box.count() - 1)
            return False


class _IntListField(Field):
    def _make(self) -> QWidget:
        edit = QLineEdit()
        edit.setValidator(_IntListValidator(self.param, edit))
        kind = self.param["kind"]
        if kind == "int_tuple":
            n = self.param.get("length") or 1
            example = "3" if n == 1 else f"3  or  {', '.join(['3'] * n)}"
        elif kind == "shape":
            example = "1, 8, 8"
        else:
            example = "1, 2"
        edit.setPlaceholderText(NONE_TEXT if self.param.get("nullable") else example)
        edit.textEdited.connect(self._typing)
        edit.editingFinished.connect(self._finished)
        self._shown: Any = None
        return edit

    def _typing(self, text: str) -> None:
        _value, problem, _partial = parse_int_list(text, self.param)
        self.set_problem(problem)

    def _finished(self) -> None:
        value, problem, _partial = parse_int_list(self.widget.text(), self.param)
        if problem is None and value != self._shown:
            self.commit(value)

    def show_value(self, value: Any) -> bool:
        self._shown = value
        with QSignalBlocker(self.widget):
            self.widget.setText(list_text(value))
        return value is None or isinstance(value, int | list | tuple)


class _TextField(Field):
    def _make(self) -> QWidget:
        edit = QLineEdit()
        edit.editingFinished.connect(lambda: self.commit(edit.text()))
        return edit

    def show_value(self, value: Any) -> bool:
        with QSignalBlocker(self.widget):
            self.widget.setText("" if value is None else str(value))
        return isinstance(value, str) or value is None


def parse_arguments(text: str) -> tuple[dict | None, str | None]:
    """Read ``"l2=0.0001"`` or ``"max_value=3, axis=[0, 1, 2]"`` (a regularizer's or a
    constraint's arguments) into a dict; ``(None, problem)`` when the text is not that form.
    Values are JSON (numbers, lists) or bare words (``mode=rows``)."""
    arguments: dict[str, Any] = {}
    rest = text.strip()
    while rest:
        match = re.match(r"(\w+)\s*=\s*(\[[^\]]*\]|[^,]+?)\s*(,\s*|$)", rest)
        if match is None:
            return None, f"write arguments as name=value, separated by commas: {rest!r}"
        key, raw = match.group(1), match.group(2).strip()
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw.strip("'\"")
        rest = rest[match.end() :]
    return arguments, None


def arguments_text(arguments: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in arguments.items() if k != "name")


class _PenaltyField(Field):
    """A regularizer or constraint: a list of names (``none`` first) and its arguments.

    Choosing a name commits ``{"name": ..., **that name's defaults}``; editing the arguments
    commits the dict with them. The schema (engine) checks the values, and the inspector
    marks the field when a diagnostic names it.
    """

    def _make(self) -> QWidget:
        box = QWidget()
        # Name above arguments: the inspector lives in a narrow dock.
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.names = QComboBox()
        self.names.setObjectName("names")
        self.names.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.names.setMinimumContentsLength(8)
        self._choices: list[str | None] = [None, *self.param.get("names", [])]
        for choice in self._choices:
            self.names.addItem(NONE_TEXT if choice is None else choice)
        self.names.activated.connect(self._chosen)
        self.arguments = QLineEdit()
        self.arguments.setObjectName("arguments")
        example = "l2=0.0001" if self.param["kind"] == "regularizer" else "max_value=3, axis=0"
        self.arguments.setPlaceholderText(f"arguments, e.g. {example}")
        self.arguments.editingFinished.connect(self._edited)
        layout.addWidget(self.names)
        layout.addWidget(self.arguments)
        self._shown: Any = None
        return box

    def _current_name(self) -> str | None:
        index = self.names.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def _chosen(self, index: int) -> None:
        if not 0 <= index < len(self._choices):
            return
        name = self._choices[index]
        value = None if name is None else {"name": name, **self.param["defaults"].get(name, {})}
        self.show_value(value)
        self.commit(value)

    def _edited(self) -> None:
        name = self._current_name()
        if name is None:
            return
        arguments, problem = parse_arguments(self.arguments.text())
        self.set_problem(problem)
        if problem is None:
            value = {"name": name, **arguments}
            if value != self._shown:
                self._shown = value
                self.commit(value)

    def show_value(self, value: Any) -> bool:
        self._shown = value
        if isinstance(value, str):
            name, arguments = value, self.param.get("defaults", {}).get(value, {})
        elif isinstance(value, dict):
            name, arguments = value.get("name"), value
        elif value is None:
            name, arguments = None, {}
        else:
            name, arguments = repr(value), {}
        with QSignalBlocker(self.names), QSignalBlocker(self.arguments):
            while self.names.count() > len(self._choices):  # a bad value shown earlier
                self.names.removeItem(self.names.count() - 1)
            known = name in self._choices
            if known:
                self.names.setCurrentIndex(self._choices.index(name))
            else:
                self.names.addItem(f"{name} (not allowed)")
                self.names.setCurrentIndex(self.names.count() - 1)
            self.arguments.setText(arguments_text(arguments))
            self.arguments.setEnabled(name is not None)
        return known


class _PaddingField(Field):
    """``padding``: a named choice from the list, or explicit zeros typed as ``1``,
    ``1, 2`` or ``top, bottom, left, right`` (see :mod:`widgets.padding_text`)."""

    def _make(self) -> QWidget:
        box = QComboBox()
        box.setEditable(True)
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._choices = list(self.param.get("choices") or [])
        box.addItems(self._choices)
        box.lineEdit().setPlaceholderText(PADDING_HINT)
        box.activated.connect(lambda i: self._finished(box.itemText(i)))
        box.lineEdit().editingFinished.connect(lambda: self._finished(box.currentText()))
        self._shown = None
        return box

    def _finished(self, text: str) -> None:
        value, problem = parse_padding(text, self._choices)
        self.set_problem(problem)
        if problem is None and value != self._shown:
            self._shown = value
            self.commit(value)

    def show_value(self, value: Any) -> bool:
        with QSignalBlocker(self.widget):
            self.widget.setEditText(padding_text(value))
        self._shown = parse_padding(padding_text(value), self._choices)[0]
        return self._shown is not None


_FIELDS: dict[str, type[Field]] = {
    "int": _IntField,
    "float": _FloatField,
    "bool": _BoolField,
    "choice": _ChoiceField,
    "int_tuple": _IntListField,
    "shape": _IntListField,
    "ints": _IntListField,
    "str": _TextField,
    "regularizer": _PenaltyField,
    "constraint": _PenaltyField,
    "padding": _PaddingField,
}


def make_field(param: dict, commit: Callable[[Any], None]) -> Field:
    """The editor for one parameter (``Param.to_json()`` form); unknown kinds get a text
    field."""
    return _FIELDS.get(param["kind"], _TextField)(param, commit)


def _as_int(value: Any, fallback: int) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else fallback

"""One row of the sweep editor: which setting to sweep, its values, and what they mean.

The name chooser is an editable combo box listing every name a sweep can change
(:func:`widgets.experiments.names.sweep_names`), with completion; the values field takes
a list (``32,64,128``, ``adam,sgd``), a range (``start:stop:count``) or a log range
(``start:stop:log:count``). Under them a line says what the row will try — "6 values:
0.0001 … 0.1" — or, in red, why it cannot (the engine's message). The row does not judge
the text itself: the editor checks it with the engine's parser and calls
:meth:`ParamRow.show_result`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QGridLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QWidget,
)

from widgets.experiments.names import SweepName

__all__ = ["ParamRow", "describe_values"]

_SHOWN_VALUES = 6


def describe_values(values: Sequence) -> str:
    """``"6 values: 0.0001, 0.000398, … 0.1"``: what a row will try, in a line."""
    shown = [_short(v) for v in values]
    if len(shown) > _SHOWN_VALUES:
        shown = [*shown[: _SHOWN_VALUES - 2], "…", shown[-1]]
    noun = "value" if len(values) == 1 else "values"
    return f"{len(values)} {noun}: " + ", ".join(shown)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


class ParamRow(QWidget):
    """A parameter to sweep (see the module docstring).

    Signals:
        changed(): the name or the values were edited.
        removeRequested(ParamRow): the row's ✕ was clicked.
    """

    changed = Signal()
    removeRequested = Signal(object)

    def __init__(self, names: Sequence[SweepName] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self._examples: dict[str, str] = {}
        self.name_box = QComboBox()
        self.name_box.setEditable(True)
        self.name_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        # Long names (optimizer.gradient_accumulation_steps) must not widen the row.
        self.name_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.name_box.setMinimumContentsLength(12)
        self.name_box.view().setMinimumWidth(260)  # the list shows them whole
        self.name_box.lineEdit().setPlaceholderText("parameter")
        self.name_box.setToolTip(
            "What to sweep: a training setting (learning_rate, batch_size, epochs, optimizer, "
            "schedule, optimizer.<argument>) or a layer parameter as <layer>.<parameter>"
        )
        self.values_edit = QLineEdit()
        self.values_edit.setMinimumWidth(100)
        self.values_edit.setToolTip(
            "A list: 32,64,128 or adam,sgd\n"
            "A range (ends included): start:stop:count, e.g. 0.1:0.5:5\n"
            "A log range: start:stop:log:count, e.g. 1e-4:1e-1:log:6"
        )
        self.remove_button = QToolButton()
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip("Remove this parameter")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(4)
        layout.setVerticalSpacing(1)
        layout.addWidget(self.name_box, 0, 0)
        layout.addWidget(self.values_edit, 0, 1)
        layout.addWidget(self.remove_button, 0, 2)
        layout.addWidget(self.message, 1, 0, 1, 3)
        layout.setColumnStretch(0, 2)
        layout.setColumnStretch(1, 3)

        self.set_names(names)
        self.name_box.currentTextChanged.connect(self._on_name)
        self.values_edit.textChanged.connect(lambda _t: self.changed.emit())
        self.remove_button.clicked.connect(lambda: self.removeRequested.emit(self))

    # -- what the editor calls -------------------------------------------------------------

    def set_names(self, names: Sequence[SweepName]) -> None:
        """Offer ``names`` in the chooser; the text typed is kept."""
        text = self.name_box.currentText()
        self._examples = {n.name: n.example for n in names}
        with QSignalBlocker(self.name_box):
            self.name_box.clear()
            for n in names:
                self.name_box.addItem(n.name)
                self.name_box.setItemData(
                    self.name_box.count() - 1, n.help, Qt.ItemDataRole.ToolTipRole
                )
            self.name_box.setCurrentIndex(-1)
            self.name_box.setEditText(text)
        completer = QCompleter([n.name for n in names], self.name_box)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.name_box.setCompleter(completer)
        self._update_placeholder()

    def set_text(self, name: str, values: str) -> None:
        """Fill the row as a user would type it."""
        self.name_box.setEditText(name)
        self.values_edit.setText(values)

    @property
    def name(self) -> str:
        return self.name_box.currentText().strip()

    @property
    def values_text(self) -> str:
        return self.values_edit.text().strip()

    @property
    def text(self) -> str:
        """The row as the engine reads it: ``NAME=VALUES``."""
        return f"{self.name}={self.values_text}"

    @property
    def is_blank(self) -> bool:
        return not self.name and not self.values_text

    def show_result(self, values: Sequence | None, error: str | None) -> None:
        """Show what the row tries (``values``) or why it cannot (``error``)."""
        self.error = error
        bad = error is not None
        self.message.setText(error if bad else describe_values(values or []))
        self.message.setToolTip(self.message.text())
        self.message.setProperty("role", "error" if bad else "muted")
        self.values_edit.setProperty("error", "true" if bad else "false")
        for widget in (self.message, self.values_edit):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    error: str | None = None

    def set_editable(self, on: bool) -> None:
        for widget in (self.name_box, self.values_edit, self.remove_button):
            widget.setEnabled(on)

    # -- reactions -------------------------------------------------------------------------

    def _on_name(self, _text: str) -> None:
        self._update_placeholder()
        self.changed.emit()

    def _update_placeholder(self) -> None:
        example = self._examples.get(self.name, "")
        self.values_edit.setPlaceholderText(example or "values: a,b,c  or  start:stop:count")

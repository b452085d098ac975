"""Small building blocks the inspector's pages share: escaped rich-text labels, a style
re-polish for dynamic properties, parameter tooltips and diagnostic cards."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from widgets.inspector_fields import list_text

__all__ = ["diagnostic_card", "esc", "facts_grid", "param_tooltip", "polish", "rich_label"]


def polish(widget: QWidget, name: str, value) -> None:
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def esc(text: str) -> str:
    """Text made safe for a rich-text label (messages hold ``<=`` and ``>=``)."""
    return html.escape(str(text), quote=False)


def rich_label(text: str, role: str | None = None, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.RichText)  # callers escape with esc
    if role:
        label.setProperty("role", role)
    label.setWordWrap(wrap)
    return label


def param_tooltip(param: dict) -> str:
    lines = [f"<b>{esc(param['name'])}</b>"]
    if param.get("help"):
        lines.append(esc(param["help"]))
    facts = []
    if param.get("choices"):
        facts.append("one of " + ", ".join(esc(str(c)) for c in param["choices"]))
    if param.get("min") is not None:
        facts.append(f"≥ {param['min']:g}")
    if param.get("max") is not None:
        facts.append(f"≤ {param['max']:g}")
    if param.get("default") is not None:
        facts.append(f"default {esc(list_text(param['default']))}")
    if facts:
        lines.append("<span style='color:#98a2ae'>" + " · ".join(facts) + "</span>")
    return "<br>".join(lines)


def diagnostic_card(d) -> QFrame:
    card = QFrame()
    card.setObjectName("DiagnosticCard")
    card.setProperty("severity", d.severity)
    layout = QVBoxLayout(card)
    layout.setContentsMargins(10, 7, 10, 7)
    layout.setSpacing(3)
    message = rich_label(esc(d.message), "error" if d.is_error else "warning", wrap=True)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    layout.addWidget(message)
    if d.fix:
        layout.addWidget(rich_label(f"<b>Fix:</b> {esc(d.fix)}", "fix", wrap=True))
    return card


def facts_grid(rows, selectable: bool = False) -> tuple[QFrame, dict[str, QLabel]]:
    """A framed two-column table of ``(key, title)`` rows: the titles muted on the left,
    an empty value label per row on the right (returned by key, for the caller to fill)."""
    facts = QFrame()
    facts.setObjectName("InspectorFacts")
    grid = QGridLayout(facts)
    grid.setContentsMargins(10, 8, 10, 8)
    grid.setHorizontalSpacing(12)
    grid.setVerticalSpacing(4)
    values: dict[str, QLabel] = {}
    for row, (key, title) in enumerate(rows):
        grid.addWidget(rich_label(title, "muted"), row, 0)
        value = rich_label("", "value")
        if selectable:
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setWordWrap(True)
        grid.addWidget(value, row, 1)
        values[key] = value
    grid.setColumnStretch(1, 1)
    return facts, values

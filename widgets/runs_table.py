"""The cells of the Runs table: what each column shows for a run, how it sorts, and which
run setting a column stands for (so a setting that differs between the selected runs
highlights its cell).
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidgetItem

from engine.runs.store import RunRecord

__all__ = [
    "COLUMNS",
    "COLUMN_KEYS",
    "ID_ROLE",
    "SORT_ROLE",
    "SortableItem",
    "cell",
    "describe_key",
]

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

#: (header, tooltip) of each column, in order.
COLUMNS = (
    ("★", "Starred runs (click to star or unstar)"),
    ("Run", "The run's name (double-click to rename)"),
    ("Date", "When the run started"),
    ("Status", "finished, stopped (by you), diverged, or running / unfinished"),
    ("Val metric", "The final validation value of the first metric (else val_loss, else loss)"),
    ("Epochs", "Epochs trained, counting those of the run it continues"),
    ("LR", "Learning rate"),
    ("Batch", "Batch size"),
    ("Optimizer", "Optimizer"),
    ("Notes", "Your notes (double-click to edit)"),
)
STAR, NAME, DATE, STATUS, METRIC, EPOCHS, LR, BATCH, OPTIMIZER, NOTES = range(len(COLUMNS))

#: The run setting (a key of engine.runs.compare.run_parameters) each column shows.
COLUMN_KEYS = {
    EPOCHS: "epochs",
    LR: "training.optimizer.learning_rate",
    BATCH: "batch_size",
    OPTIMIZER: "training.optimizer.name",
}

_KEY_NAMES = {
    "epochs": "epochs",
    "seed": "seed",
    "batch_size": "batch size",
    "training.optimizer.learning_rate": "learning rate",
    "training.optimizer.name": "optimizer",
    "training.loss": "loss",
    "graph.edges": "wiring",
}


def describe_key(key: str) -> str:
    """A setting key as a user reads it: ``graph.dense1.units`` → ``dense1 units``."""
    if key in _KEY_NAMES:
        return _KEY_NAMES[key]
    parts = key.split(".")
    if parts[0] == "graph":
        return " ".join(parts[1:]) + (" (layer type)" if len(parts) == 2 else "")
    if parts[0] == "training":
        parts = parts[1:]
    return " ".join(p.replace("_", " ") for p in parts)


class SortableItem(QTableWidgetItem):
    """A cell that sorts by its ``SORT_ROLE`` value (numbers as numbers, blanks last)."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is None or b is None:
            return a is not None and b is None
        if isinstance(a, str) != isinstance(b, str):
            return not isinstance(a, str)
        return a < b


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}"


def _status(record: RunRecord, live: bool) -> str:
    if record.status == "running":
        return "running" if live else "unfinished"
    return record.status


def _short_key(key: str) -> str:
    return key.replace("val_", "val ").replace("accuracy", "acc").replace("_", " ")


@functools.lru_cache(maxsize=4096)
def _date(created: str) -> str:
    try:
        stamp = time.strptime(created, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return created
    return time.strftime("%Y-%m-%d %H:%M", stamp)


def cell(record: RunRecord, column: int, live: bool = False) -> SortableItem:
    """The item of ``column`` for ``record`` (``live``: the run is training now)."""
    text: str
    sort: Any
    tip = None
    if column == STAR:
        text, sort = ("★" if record.starred else "☆"), int(record.starred)
    elif column == NAME:
        text, sort = record.name, record.name.lower()
        parent = f"\ncontinues run {record.parent}" if record.parent else ""
        tag = record.experiment or {}
        trial = (
            f"\ntrial {tag.get('trial')} of experiment '{tag.get('name') or tag.get('id')}'"
            if tag
            else ""
        )
        tip = f"{record.name}: run {record.id} ({record.source}){parent}{trial}"
    elif column == DATE:
        text, sort = _date(record.created), record.created
    elif column == STATUS:
        text, sort = _status(record, live), record.status
        tip = record.note
    elif column == METRIC:
        headline = record.headline()
        text = "—" if headline is None else f"{_number(headline[1])}  {_short_key(headline[0])}"
        tip = None if headline is None else f"{headline[0]} at the last epoch"
        sort = None if headline is None else headline[1]
    elif column == EPOCHS:
        text, sort = str(record.epochs_done), record.epochs_done
        if record.initial_epoch:
            text = f"{record.epochs_done} (from {record.initial_epoch})"
    elif column == LR:
        rate = record.learning_rate
        text = rate if isinstance(rate, str) else _number(rate)
        sort = rate if isinstance(rate, float) else None
    elif column == BATCH:
        text, sort = str(record.batch_size), record.batch_size
    elif column == OPTIMIZER:
        text, sort = record.optimizer_name, record.optimizer_name.lower()
    else:
        text, sort = record.notes, record.notes.lower() or None
    item = SortableItem(text)
    item.setData(SORT_ROLE, sort)
    item.setData(ID_ROLE, record.id)
    flags = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled
    if column in (NAME, NOTES):
        flags |= Qt.ItemFlag.ItemIsEditable
    item.setFlags(flags)
    if column in (STAR, EPOCHS, LR, BATCH, METRIC):
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if column == STAR:
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
    if tip:
        item.setToolTip(tip)
    return item

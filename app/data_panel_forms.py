"""The data panel's forms: the built-in dataset list and one form per file format.

:class:`BuiltinPage` lists the built-in sets (the downloadable ones with their size and
whether they are in the cache, and a :class:`~app.data_panel_download.DownloadBox` for them)
and the generator options of the chosen one; :class:`FormatPage` is generated from
``FILE_FIELDS`` for each file format. Both give the keys they set with ``values()`` and show
a spec with ``load(spec)``; neither writes anything to the project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.data_panel_download import DownloadBox
from engine.datasets.catalog import format_size

__all__ = ["SOURCES", "FILE_FIELDS", "BuiltinPage", "FormatPage", "Blocked"]

#: (format key or "builtin", label) in the order the source box lists them.
SOURCES = (
    ("builtin", "Built-in dataset"),
    ("csv", "CSV table"),
    ("npz", "NumPy arrays (.npz)"),
    ("images", "Image folder"),
    ("idx", "IDX files (MNIST format)"),
    ("text_csv", "Text CSV"),
)

_TASKS = (("auto", None), ("classification", "classification"), ("regression", "regression"))

# Fields of each file format: (key, kind, label, extra). kind: file, folder, text, column,
# int, choice, size. "column" is a column name or a 1-based number.
FILE_FIELDS: dict[str, list[tuple[str, str, str, Any]]] = {
    "csv": [
        ("path", "file", "CSV file", "CSV files (*.csv *.tsv *.txt);;All files (*)"),
        ("target", "column", "Target column", "name or number (default: last column)"),
        ("header", "choice", "Header row", (("auto", "auto"), ("yes", True), ("no", False))),
        ("task", "choice", "Task", _TASKS),
    ],
    "npz": [
        ("path", "file", "NumPy file", "NumPy archives (*.npz);;All files (*)"),
        ("x_key", "text", "Inputs array", "default: x (or the first array)"),
        ("y_key", "text", "Targets array", "default: y (or the second array)"),
        (
            "layout",
            "choice",
            "Layout",
            (
                ("as stored", None),
                ("channels last", "channels_last"),
                ("add channel", "add_channel"),
            ),
        ),
        ("task", "choice", "Task", _TASKS),
    ],
    "images": [
        ("path", "folder", "Image folder", "one sub-folder per class"),
        ("size", "size", "Image size", (32, 32)),
        ("color", "choice", "Colour", (("grayscale", "grayscale"), ("RGB", "rgb"))),
        ("max_images", "int", "At most", (1, 10_000_000, 200_000)),
    ],
    "idx": [
        ("images", "file", "Images file", "IDX files (*-ubyte *.idx* *.gz);;All files (*)"),
        ("labels", "file", "Labels file", "IDX files (*-ubyte *.idx* *.gz);;All files (*)"),
    ],
    "text_csv": [
        ("path", "file", "CSV file", "CSV files (*.csv *.tsv *.txt);;All files (*)"),
        ("text_column", "column", "Text column", "name or number"),
        ("target", "column", "Label column", "name or number"),
        ("num_words", "int", "Vocabulary", (3, 10_000_000, 10_000)),
        ("max_length", "int", "Max words", (1, 100_000, 100)),
        ("task", "choice", "Task", _TASKS),
    ],
}


class _PathField(QWidget):
    """A path line edit with a browse button (file or folder)."""

    changed = Signal()

    def __init__(self, folder: bool, file_filter: str, base_dir: Callable[[], Path | None]):
        super().__init__()
        self._folder = folder
        self._filter = file_filter
        self._base_dir = base_dir
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("choose a folder..." if folder else "choose a file...")
        self.edit.editingFinished.connect(self.changed)
        browse = QToolButton()
        browse.setText("...")
        browse.setToolTip("Browse")
        browse.clicked.connect(self._browse)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)

    def _browse(self) -> None:
        start = str(self._resolve(self.edit.text()) or self._base_dir() or Path.home())
        if self._folder:
            chosen = QFileDialog.getExistingDirectory(self, "Choose the image folder", start)
        else:
            chosen, _ = QFileDialog.getOpenFileName(self, "Choose a data file", start, self._filter)
        if chosen:
            self.set_path(chosen)

    def _resolve(self, text: str) -> Path | None:
        if not text:
            return None
        path = Path(text)
        base = self._base_dir()
        return path if path.is_absolute() or base is None else base / path

    def set_path(self, chosen: str) -> None:
        """Show ``chosen``, made relative to the project folder when it lies inside it."""
        path = Path(chosen)
        base = self._base_dir()
        if base is not None and path.is_absolute():
            with contextlib.suppress(ValueError):
                path = path.resolve().relative_to(Path(base).resolve())
        self.edit.setText(path.as_posix())
        self.changed.emit()

    def value(self) -> str:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))


class _SizeField(QWidget):
    changed = Signal()

    def __init__(self, default: tuple[int, int]):
        super().__init__()
        self.height = QSpinBox()
        self.width = QSpinBox()
        for box, value in ((self.height, default[0]), (self.width, default[1])):
            box.setRange(1, 4096)
            box.setValue(value)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self.changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.height)
        layout.addWidget(QLabel("x"))
        layout.addWidget(self.width)
        layout.addWidget(QLabel("pixels (H x W)"))

    def value(self) -> list[int]:
        return [self.height.value(), self.width.value()]

    def set_value(self, value: Any) -> None:
        if isinstance(value, list | tuple) and len(value) == 2:
            self.height.setValue(int(value[0]))
            self.width.setValue(int(value[1]))


class FormatPage(QWidget):
    """The fields of one file format, generated from ``FILE_FIELDS``."""

    changed = Signal()

    def __init__(self, fmt: str, base_dir: Callable[[], Path | None]):
        super().__init__()
        self.fmt = fmt
        self.fields: dict[str, tuple[str, Any, Any]] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key, kind, label, extra in FILE_FIELDS[fmt]:
            widget: Any
            if kind in ("file", "folder"):
                widget = _PathField(kind == "folder", extra if kind == "file" else "", base_dir)
                if kind == "folder":
                    widget.edit.setToolTip(extra)
            elif kind in ("text", "column"):
                widget = QLineEdit()
                widget.setPlaceholderText(extra)
                widget.editingFinished.connect(self.changed)
            elif kind == "int":
                low, high, default = extra
                widget = QSpinBox()
                widget.setRange(low, high)
                widget.setValue(default)
                widget.setKeyboardTracking(False)
                widget.valueChanged.connect(self.changed)
            elif kind == "choice":
                widget = QComboBox()
                for text, value in extra:
                    widget.addItem(text, value)
                widget.currentIndexChanged.connect(self.changed)
            else:  # size
                widget = _SizeField(extra)
            if hasattr(widget, "changed"):
                widget.changed.connect(self.changed)
            self.fields[key] = (kind, widget, extra)
            layout.addRow(label, widget)

    def load(self, spec: dict[str, Any]) -> None:
        for key, (kind, widget, extra) in self.fields.items():
            value = spec.get(key)
            if key == "images" and self.fmt == "idx" and value is None:
                value = spec.get("path")  # DESIGN.md's {"format": "idx", "path": ...}
            if kind in ("file", "folder", "size"):
                widget.set_value(value)
            elif kind in ("text", "column"):
                widget.setText("" if value is None else str(value))
            elif kind == "int":
                widget.setValue(int(value) if isinstance(value, int) else extra[2])
            elif kind == "choice":
                index = next((i for i, (_t, v) in enumerate(extra) if v == value), 0)
                widget.setCurrentIndex(index)

    def values(self) -> dict[str, Any]:
        """The keys this page sets (defaults left out, so files stay short)."""
        out: dict[str, Any] = {}
        for key, (kind, widget, extra) in self.fields.items():
            if kind in ("file", "folder"):
                if widget.value():
                    out[key] = widget.value()
            elif kind in ("text", "column"):
                text = widget.text().strip()
                if text:
                    out[key] = int(text) if kind == "column" and text.isdigit() else text
            elif kind == "int":
                if widget.value() != extra[2]:
                    out[key] = widget.value()
            elif kind == "choice":
                # The first choice is the reader's default; the colour is always written
                # because it decides the input shape a reader of the file expects.
                if widget.currentIndex() != 0 or key == "color":
                    out[key] = widget.currentData()
            else:
                out[key] = widget.value()
        return out


class BuiltinPage(QWidget):
    """The list of built-in datasets and the generator options of the chosen one."""

    changed = Signal()
    activated = Signal()

    def __init__(self):
        super().__init__()
        from engine.data import BUILTIN_DATASETS  # noqa: PLC0415

        self.list = QListWidget()
        self.list.setObjectName("builtinDatasets")
        for name, line in BUILTIN_DATASETS.items():
            item = QListWidgetItem(name)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
            item.setToolTip(line)
            self.list.addItem(item)
        self.list.currentItemChanged.connect(self._on_choice)
        self.list.itemDoubleClicked.connect(lambda _item: self.activated.emit())
        self.list.setMinimumHeight(120)
        self.list.setMaximumHeight(200)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("datasetDescription")
        self.description.setProperty("role", "description")
        self.download = DownloadBox()
        self.download.cache_changed.connect(self._on_cache_changed)
        self.options_box = QGroupBox("Generator options")
        self.options_form = QFormLayout(self.options_box)
        self.option_widgets: dict[str, tuple[Any, Any]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.description)
        layout.addWidget(self.download)
        layout.addWidget(self.options_box)
        self.refresh_labels()

    def refresh_labels(self) -> None:
        """Downloadable sets read "name · size · in the cache / download" in the list."""
        from engine.datasets import CATALOG, is_cached  # noqa: PLC0415

        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(Qt.ItemDataRole.UserRole)
            if name in CATALOG:
                state = "in the cache" if is_cached(name) else "download"
                item.setText(f"{name}  ·  {format_size(CATALOG[name].size)}  ·  {state}")

    def _on_cache_changed(self, _name: str) -> None:
        self.refresh_labels()
        self.changed.emit()  # the preview can load the set now

    def name(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _on_choice(self, *_args) -> None:
        self._build_options({})
        self.changed.emit()

    def _build_options(self, spec: dict[str, Any]) -> None:
        from engine.data import BUILTIN_DATASETS, builtin_options  # noqa: PLC0415

        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self.option_widgets = {}
        name = self.name()
        self.description.setText(BUILTIN_DATASETS.get(name, "") if name else "")
        self.download.show_dataset(name)
        self.options_box.setTitle("Options" if self.download.name else "Generator options")
        if name is None:
            self.options_box.setVisible(False)
            return
        for key, default in builtin_options(name).items():
            # The seed is the pipeline's (one number draws and splits); options without a
            # plain numeric default (class subsets) stay in the file, untouched here.
            if key == "seed" or isinstance(default, bool) or not isinstance(default, int | float):
                continue
            value = spec.get(key, default)
            if isinstance(default, int):
                widget = QSpinBox()
                widget.setRange(1, 10_000_000)
                widget.setValue(int(value))
            else:
                widget = QDoubleSpinBox()
                widget.setDecimals(3)
                widget.setRange(0.0, 1000.0)
                widget.setSingleStep(0.01)
                widget.setValue(float(value))
            widget.setKeyboardTracking(False)
            widget.valueChanged.connect(self.changed)
            self.option_widgets[key] = (widget, default)
            self.options_form.addRow(key.replace("_", " "), widget)
        self.options_box.setVisible(bool(self.option_widgets))

    def load(self, spec: dict[str, Any]) -> None:
        name = spec.get("name")
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                with Blocked(self.list):
                    self.list.setCurrentRow(i)
                break
        else:
            with Blocked(self.list):
                self.list.setCurrentRow(-1)
        self._build_options(spec)

    def values(self) -> dict[str, Any]:
        name = self.name()
        if name is None:
            return {}
        out: dict[str, Any] = {"name": name}
        for key, (widget, default) in self.option_widgets.items():
            value = widget.value()
            if isinstance(default, float):
                value = round(float(value), 6)
            if value != default:
                out[key] = value
        return out


class Blocked:
    """``with Blocked(widget):`` — no signals while the program sets values."""

    def __init__(self, *widgets: QObject):
        self._widgets = widgets
        self._blockers: list[QSignalBlocker] = []

    def __enter__(self) -> None:
        self._blockers = [QSignalBlocker(w) for w in self._widgets]

    def __exit__(self, *exc) -> None:
        for blocker in self._blockers:
            blocker.unblock()
        self._blockers = []

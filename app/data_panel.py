"""The data panel: choose the dataset a project trains on, and see what it holds.

The choice is the project's ``dataset`` object, exactly as DESIGN.md describes it: a
built-in set (``{"name": "digits", "validation_split": 0.2, "seed": 0}``, with the
generator options of synthetic sets) or a file with its format and that format's options
(``{"format": "csv", "path": "data/houses.csv", "target": "price"}``; ``npz``, ``images``,
``idx``, ``text_csv`` alike), with the split, seed and normalisation beside them. Keys the
form does not show (``augmentation``, ``stratify``, ``test_split``, format options it has no
field for) are carried over unchanged. Paths inside the project's folder are written
relative to it, as the format wants.

Nothing is written while the user fills the form: **Apply** hands the new dict to the
``on_apply`` callback (the window makes it one undo command), and :meth:`DataPanel.
set_dataset` shows the project's dict again after any change, undo included. Meanwhile a
preview loads the form's dataset in a background thread — samples, input shape, classes
and their balance, the train/validation split — and, through the optional ``fit_check``
callback, says whether it fits the graph. Errors are shown in words, never as tracebacks.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

__all__ = ["DataPanel", "DatasetPreview", "SOURCES", "load_preview"]

#: (format key or "builtin", label) in the order the source box lists them.
SOURCES = (
    ("builtin", "Built-in dataset"),
    ("csv", "CSV table"),
    ("npz", "NumPy arrays (.npz)"),
    ("images", "Image folder"),
    ("idx", "IDX files (MNIST format)"),
    ("text_csv", "Text CSV"),
)

_PIPELINE_SHOWN = ("validation_split", "seed", "normalization")
_TASKS = (("auto", None), ("classification", "classification"), ("regression", "regression"))

# Fields of each file format: (key, kind, label, extra). kind: file, folder, text, column,
# int, choice, size. "column" is a column name or a 1-based number.
_FILE_FIELDS: dict[str, list[tuple[str, str, str, Any]]] = {
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


# -- the preview ----------------------------------------------------------------------------------


@dataclass
class DatasetPreview:
    """What the preview shows about a dataset spec (``error`` set when it cannot load)."""

    spec: dict[str, Any]
    error: str | None = None
    name: str = ""
    description: str = ""
    task: str = ""
    samples: int = 0
    input_shape: tuple[int, ...] = ()
    input_dtype: str = ""
    target_shape: tuple[int, ...] = ()
    class_names: list[str] | None = None
    class_counts: list[int] | None = None
    train_class_counts: list[int] | None = None  # the training split's, for class weights
    train_samples: int = 0
    validation_samples: int = 0
    test_samples: int = 0
    notes: list[str] = field(default_factory=list)
    dataset: Any = None  # the engine Dataset, for the fit check

    def summary_lines(self) -> list[str]:
        if self.error:
            return [self.error]
        dims = self.input_shape
        shape = "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"
        lines = [
            f"{self.samples:,} samples · input {shape} {self.input_dtype} · {self.task}",
            f"Split: {self.train_samples:,} train · {self.validation_samples:,} validation"
            + (f" · {self.test_samples:,} test" if self.test_samples else ""),
        ]
        if self.class_names is not None:
            counts = self.class_counts or []
            shown = [
                f"{n} ({counts[i]:,})" if i < len(counts) else n
                for i, n in enumerate(self.class_names[:12])
            ]
            more = f", +{len(self.class_names) - 12} more" if len(self.class_names) > 12 else ""
            lines.append(f"{len(self.class_names)} classes: " + ", ".join(shown) + more)
        elif self.target_shape:
            lines.append(f"Targets of shape {self.target_shape}")
        lines += [f"Note: {n}" for n in self.notes[:3]]
        return lines


def load_preview(spec: dict[str, Any], base_dir: Path | None) -> DatasetPreview:
    """Load ``spec`` and describe it; any problem becomes ``error`` (never raised)."""
    from engine import data as data_module  # noqa: PLC0415

    try:
        ds = data_module.load_dataset(spec, base_dir)
        prepared = data_module.prepare(ds)
    except (ValueError, OSError, MemoryError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        return DatasetPreview(spec=spec, error=f"Cannot load this dataset: {message}")
    counts = train_counts = None
    if ds.task == "classification":
        counts = np.bincount(ds.y.reshape(-1), minlength=ds.num_classes or 0).tolist()
        train_y = prepared.train.y.reshape(-1)
        train_counts = np.bincount(train_y, minlength=ds.num_classes or 0).tolist()
    names = list(ds.class_names) if ds.class_names is not None else None
    if names is None and ds.task == "classification":
        names = [str(i) for i in range(ds.num_classes or 0)]
    return DatasetPreview(
        spec=spec,
        name=ds.name,
        description=ds.description,
        task=ds.task,
        samples=len(ds),
        input_shape=tuple(ds.input_shape),
        input_dtype=str(ds.x.dtype),
        target_shape=tuple(ds.target_shape),
        class_names=names,
        class_counts=counts,
        train_class_counts=train_counts,
        train_samples=len(prepared.train),
        validation_samples=len(prepared.validation) if prepared.validation is not None else 0,
        test_samples=len(prepared.test) if prepared.test is not None else 0,
        notes=list(ds.notes),
        dataset=ds,
    )


class _PreviewLoader(QObject):
    """Loads previews in background threads; only the newest request is reported."""

    ready = Signal(object)  # DatasetPreview
    _delivered = Signal()  # a result is waiting (emitted from the loading thread)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._generation = 0
        self._lock = threading.Lock()
        self._results: list[tuple[int, DatasetPreview]] = []
        self.busy = False
        # Emitted from a loading thread: Qt queues the call to this object's (UI) thread.
        self._delivered.connect(self._deliver)

    def request(self, spec: dict[str, Any], base_dir: Path | None) -> None:
        self._generation += 1
        generation = self._generation
        self.busy = True

        def work() -> None:
            preview = load_preview(spec, base_dir)
            with self._lock:
                self._results.append((generation, preview))
            # RuntimeError: the panel was closed while this preview loaded; nobody is left
            # to show it.
            with contextlib.suppress(RuntimeError):
                self._delivered.emit()

        threading.Thread(target=work, name="LayerCanvasDataPreview", daemon=True).start()

    def _deliver(self) -> None:
        with self._lock:
            results, self._results = self._results, []
        for generation, preview in results:
            if generation == self._generation:
                self.busy = False
                self.ready.emit(preview)


# -- small field widgets --------------------------------------------------------------------------


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


class _FormatPage(QWidget):
    """The fields of one file format, generated from ``_FILE_FIELDS``."""

    changed = Signal()

    def __init__(self, fmt: str, base_dir: Callable[[], Path | None]):
        super().__init__()
        self.fmt = fmt
        self.fields: dict[str, tuple[str, Any, Any]] = {}
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for key, kind, label, extra in _FILE_FIELDS[fmt]:
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


class _BuiltinPage(QWidget):
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
        self.options_box = QGroupBox("Generator options")
        self.options_form = QFormLayout(self.options_box)
        self.option_widgets: dict[str, tuple[Any, Any]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.description)
        layout.addWidget(self.options_box)

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
                with _Blocked(self.list):
                    self.list.setCurrentRow(i)
                break
        else:
            with _Blocked(self.list):
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


class _Blocked:
    """``with _Blocked(widget):`` — no signals while the program sets values."""

    def __init__(self, *widgets: QObject):
        self._widgets = widgets
        self._blockers: list[QSignalBlocker] = []

    def __enter__(self) -> None:
        self._blockers = [QSignalBlocker(w) for w in self._widgets]

    def __exit__(self, *exc) -> None:
        for blocker in self._blockers:
            blocker.unblock()
        self._blockers = []


# -- the panel ------------------------------------------------------------------------------------


class DataPanel(QWidget):
    """Dataset choice, options and preview; see the module docstring.

    ``on_apply(spec)`` receives the new ``dataset`` dict; ``base_dir()`` gives the project
    folder (relative paths start there; ``None`` for an unsaved project); ``fit_check(
    dataset)`` returns the problems of the graph with that data (empty list: it fits).
    """

    preview_ready = Signal(object)  # DatasetPreview

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        on_apply: Callable[[dict[str, Any]], None] | None = None,
        base_dir: Callable[[], Path | None] | None = None,
        fit_check: Callable[[Any], list[str]] | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("dataPanel")
        self._on_apply = on_apply
        self._base_dir = base_dir or (lambda: None)
        self._fit_check = fit_check
        self._current: dict[str, Any] = {}
        self.last_preview: DatasetPreview | None = None

        self.source = QComboBox()
        for key, label in SOURCES:
            self.source.addItem(label, key)
        self.source.currentIndexChanged.connect(self._on_source)
        self.builtin = _BuiltinPage()
        self.builtin.changed.connect(self._form_changed)
        self.builtin.activated.connect(self.apply)
        self.pages: dict[str, QWidget] = {"builtin": self.builtin}
        self.stack = QStackedWidget()
        self.stack.addWidget(self.builtin)
        for fmt in _FILE_FIELDS:
            page = _FormatPage(fmt, self._base_dir)
            page.changed.connect(self._form_changed)
            self.pages[fmt] = page
            self.stack.addWidget(page)

        self.validation_split = QDoubleSpinBox()
        self.validation_split.setRange(0.0, 0.99)
        self.validation_split.setSingleStep(0.05)
        self.validation_split.setDecimals(2)
        self.validation_split.setToolTip("Share of the samples held out to validate on")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Seeds the split (and the generator of synthetic sets)")
        self.normalization = QComboBox()
        for text, value in (
            ("none", None),
            ("standardize (mean 0, std 1)", "standardize"),
            ("min-max to [0, 1]", "minmax"),
        ):
            self.normalization.addItem(text, value)
        self.normalization.setToolTip("Fitted on the training split only, kept with the model")
        for widget in (self.validation_split, self.seed):
            widget.setKeyboardTracking(False)
            widget.valueChanged.connect(self._form_changed)
        self.normalization.currentIndexChanged.connect(self._form_changed)

        pipeline = QGroupBox("Split and preprocessing")
        pipeline_form = QFormLayout(pipeline)
        pipeline_form.addRow("Validation share", self.validation_split)
        pipeline_form.addRow("Seed", self.seed)
        pipeline_form.addRow("Normalization", self.normalization)

        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("applyDataset")
        self.apply_button.setToolTip("Use this dataset for the project (undoable)")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Revert")
        self.revert_button.setToolTip("Show the project's dataset again")
        self.revert_button.clicked.connect(lambda: self.set_dataset(self._current))
        self.preview_title = QLabel("Preview")
        self.preview_title.setObjectName("previewTitle")
        self.preview_label = QLabel()
        self.preview_label.setObjectName("datasetPreview")
        self.preview_label.setWordWrap(True)
        self.preview_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fit_label = QLabel()
        self.fit_label.setObjectName("datasetFit")
        self.fit_label.setWordWrap(True)
        frame = QFrame()
        frame.setObjectName("previewFrame")
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        frame_layout = QVBoxLayout(frame)
        frame_layout.addWidget(self.preview_title)
        frame_layout.addWidget(self.preview_label)
        frame_layout.addWidget(self.fit_label)
        frame_layout.addStretch(1)
        title_font = self.preview_title.font()
        title_font.setBold(True)
        self.preview_title.setFont(title_font)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        top = QFormLayout()
        top.addRow("Source", self.source)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.stack)
        layout.addWidget(pipeline)
        layout.addLayout(buttons)
        layout.addWidget(frame, 1)

        self._loader = _PreviewLoader(self)
        self._loader.ready.connect(self._show_preview)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self.refresh_preview)
        self.set_dataset({})

    # -- the project's dataset ------------------------------------------------------------------

    def set_dataset(self, spec: dict[str, Any]) -> None:
        """Show the project's ``dataset`` dict (writes nothing back)."""
        from engine.data import PIPELINE_DEFAULTS  # noqa: PLC0415

        self._current = copy.deepcopy(dict(spec or {}))
        spec = self._current
        source = spec.get("format") or "builtin"
        if source not in self.pages:
            source = "builtin"
        widgets = [self.source, self.validation_split, self.seed, self.normalization]
        with _Blocked(*widgets, *self.pages.values()):
            self.source.setCurrentIndex(self.source.findData(source))
            self.stack.setCurrentWidget(self.pages[source])
            self.pages[source].load(spec)
            split = spec.get("validation_split", PIPELINE_DEFAULTS["validation_split"])
            self.validation_split.setValue(float(split) if isinstance(split, int | float) else 0.2)
            seed = spec.get("seed", 0)
            self.seed.setValue(seed if isinstance(seed, int) and seed >= 0 else 0)
            norm = spec.get("normalization")
            index = self.normalization.findData(norm if norm != "none" else None)
            self.normalization.setCurrentIndex(max(index, 0))
        self._update_buttons()
        self._schedule_preview()

    def current(self) -> dict[str, Any]:
        """The project's dataset as last shown."""
        return copy.deepcopy(self._current)

    def spec(self) -> dict[str, Any]:
        """The ``dataset`` dict the form describes now."""
        source = self.source.currentData()
        old = self._current
        old_source = old.get("format") or ("builtin" if old else None)
        page = self.pages[source]
        values = page.values()
        if source == "builtin":
            out = dict(values)
            if old_source == "builtin" and old.get("name") == values.get("name"):
                # Options the form has no field for (class subsets of digits) stay.
                for key, value in old.items():
                    shown = key in out or key in self.builtin.option_widgets
                    if not shown and key != "name" and not _is_pipeline(key):
                        out[key] = copy.deepcopy(value)
        else:
            out = {"format": source, **values}
            if old_source == source:
                shown = {k for k in page.fields} | {"format"}
                for key, value in old.items():
                    if key not in shown and not _is_pipeline(key) and key != "path":
                        out[key] = copy.deepcopy(value)
        # Pipeline options: the shown ones from the form, the others carried over.
        out["validation_split"] = round(self.validation_split.value(), 4)
        out["seed"] = self.seed.value()
        norm = self.normalization.currentData()
        if norm is not None:
            out["normalization"] = norm
        for key, value in old.items():
            if _is_pipeline(key) and key not in _PIPELINE_SHOWN:
                out[key] = copy.deepcopy(value)
        return out

    def is_modified(self) -> bool:
        """The form differs from the project's dataset."""
        return self.spec() != self._current and bool(self.spec_ready())

    def spec_ready(self) -> bool:
        """The form names a dataset (a built-in chosen, or a file given)."""
        spec = self.spec()
        if "format" not in spec:
            return "name" in spec
        return any(k in spec for k in ("path", "images"))

    def apply(self) -> bool:
        """Hand the form's dataset to ``on_apply``; False if there is nothing to apply."""
        if not self.spec_ready():
            return False
        spec = self.spec()
        if spec == self._current:
            return False
        if self._on_apply is not None:
            self._on_apply(copy.deepcopy(spec))
        return True

    # -- form events ----------------------------------------------------------------------------

    def _on_source(self) -> None:
        source = self.source.currentData()
        self.stack.setCurrentWidget(self.pages[source])
        self._form_changed()

    def _form_changed(self) -> None:
        self._update_buttons()
        self._schedule_preview()

    def _update_buttons(self) -> None:
        modified = self.spec_ready() and self.spec() != self._current
        self.apply_button.setEnabled(modified)
        self.revert_button.setEnabled(self.spec() != self._current)
        self.preview_title.setText("Preview (not applied yet)" if modified else "Preview")

    # -- preview --------------------------------------------------------------------------------

    def _schedule_preview(self) -> None:
        self._preview_timer.start()

    def refresh_preview(self) -> None:
        """Load the form's dataset in the background; ``preview_ready`` follows."""
        self._preview_timer.stop()
        if not self.spec_ready():
            self.preview_label.setText("Choose a dataset to see what it holds.")
            self.fit_label.setText("")
            self.last_preview = None
            return
        self.preview_label.setText("Loading...")
        self.fit_label.setText("")
        self._loader.request(self.spec(), self._base_dir())

    @property
    def preview_busy(self) -> bool:
        return self._loader.busy or self._preview_timer.isActive()

    def _show_preview(self, preview: DatasetPreview) -> None:
        self.last_preview = preview
        self.preview_label.setProperty("role", "error" if preview.error else "value")
        self.preview_label.style().unpolish(self.preview_label)
        self.preview_label.style().polish(self.preview_label)
        lines = preview.summary_lines()
        if preview.description and not preview.error:
            lines.insert(0, preview.description)
        self.preview_label.setText("\n".join(lines))
        self.refresh_fit()
        self.preview_ready.emit(preview)

    def refresh_fit(self) -> None:
        """Re-run the fit check against the last preview (after the graph changed)."""
        preview = self.last_preview
        if preview is None or preview.error or self._fit_check is None:
            self.fit_label.setText("")
            return
        try:
            problems = self._fit_check(preview.dataset)
        except Exception as err:  # noqa: BLE001 - a check must never break the panel
            problems = [f"could not check the graph against this data: {err}"]
        if problems:
            self.fit_label.setText("✗ " + "\n✗ ".join(problems))
            self.fit_label.setProperty("role", "error")
        else:
            self.fit_label.setText("✓ The graph fits this data")
            self.fit_label.setProperty("role", "ok")
        self.fit_label.style().unpolish(self.fit_label)
        self.fit_label.style().polish(self.fit_label)


def _is_pipeline(key: str) -> bool:
    from engine.data import PIPELINE_DEFAULTS  # noqa: PLC0415

    return key in PIPELINE_DEFAULTS

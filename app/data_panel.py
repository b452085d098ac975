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

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.data_panel_forms import FILE_FIELDS, SOURCES, Blocked, BuiltinPage, FormatPage
from app.data_preview import DatasetPreview, PreviewLoader, load_preview

__all__ = ["DataPanel", "DatasetPreview", "SOURCES", "load_preview"]

_PIPELINE_SHOWN = ("validation_split", "seed", "normalization")


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
        self.builtin = BuiltinPage()
        self.builtin.changed.connect(self._form_changed)
        self.builtin.activated.connect(self.apply)
        self.pages: dict[str, QWidget] = {"builtin": self.builtin}
        self.stack = QStackedWidget()
        self.stack.addWidget(self.builtin)
        for fmt in FILE_FIELDS:
            page = FormatPage(fmt, self._base_dir)
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

        self._loader = PreviewLoader(self)
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
        with Blocked(*widgets, *self.pages.values()):
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
        # A set not downloaded yet still has known shapes (its stand-in) to check against.
        if preview is None or preview.dataset is None or self._fit_check is None:
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

"""After File ▸ Import ONNX… of an image classifier: "train it on your images?".

:class:`ImageDataDialog` shows what the model expects (its input size and colour) and asks
for the image folder (``class_name/*.png|jpg``) and the per-channel ``mean``/``std`` the
model was trained with: filled from the file's metadata when it records them, else
ImageNet's for a 224x224 (or larger) RGB input, else left empty (pixels stay in [0, 1]).
Accepted, it sets the project's ``"images"`` dataset settings (one undo step); "Later"
leaves the dataset to the Data panel. Bad numbers are said under the fields and keep the
dialog open.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.onnx.input_preprocessing import (
    ImagePreprocessing,
    parse_numbers,
    preprocessing_of,
    suggested,
)

__all__ = ["ImageDataDialog", "offer_image_dataset"]


def _numbers_text(values) -> str:
    return ", ".join(f"{v:g}" for v in values) if values else ""


class ImageDataDialog(QDialog):
    """See the module docstring; :meth:`dataset` is the result once accepted."""

    def __init__(self, pre: ImagePreprocessing, project_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Train on Your Images")
        self.pre = pre
        self.project_dir = project_dir
        self._dataset: dict | None = None
        mean, std, where = pre.mean, pre.std, pre.source
        if mean is None or std is None:
            guess = suggested(pre)
            mean, std = guess if guess else (None, None)
            where = "ImageNet's, the usual for 224x224 RGB models" if guess else "none known"

        intro = QLabel(
            f"This model takes {pre.color or str(pre.channels) + '-channel'} images of "
            f"{pre.size[0]}x{pre.size[1]} pixels. To fine-tune it, choose a folder with one "
            "sub-folder per class: the images are resized to its input and normalised with "
            "the mean and std it was trained with."
        )
        intro.setWordWrap(True)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("photos/ with cats/, dogs/, ...")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Browse")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.mean = QLineEdit(_numbers_text(mean))
        self.std = QLineEdit(_numbers_text(std))
        for edit in (self.mean, self.std):
            edit.setPlaceholderText("empty: pixels stay in [0, 1]")
        source = QLabel(f"Mean/std from: {where}")
        source.setProperty("role", "faint")
        self.problem = QLabel()
        self.problem.setObjectName("dialogProblem")
        self.problem.setStyleSheet("color: #ff7b72")
        self.problem.hide()

        form = QFormLayout()
        form.addRow("Image folder", folder_row)
        form.addRow("Mean per channel", self.mean)
        form.addRow("Std per channel", self.std)
        buttons = QDialogButtonBox()
        buttons.addButton("Use These Images", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Later", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(source)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose the image folder")
        if chosen:
            self.folder.setText(chosen)

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()

    def accept(self) -> None:
        folder = Path(self.folder.text().strip()).expanduser()
        if not self.folder.text().strip() or not folder.is_dir():
            self._say("Choose an existing folder (one sub-folder per class)")
            return
        values = {}
        for name, edit in (("mean", self.mean), ("std", self.std)):
            text = edit.text().strip()
            try:
                values[name] = parse_numbers(text, name, self.pre.channels) if text else None
            except ValueError as err:
                self._say(str(err))
                return
        if (values["mean"] is None) != (values["std"] is None):
            self._say("Give both mean and std, or neither")
            return
        pre = ImagePreprocessing(self.pre.channels, self.pre.size, values["mean"], values["std"])
        try:
            path = os.path.relpath(folder.resolve(), self.project_dir.resolve())
        except ValueError:  # another drive (Windows)
            path = str(folder.resolve())
        self._dataset = pre.dataset(path, validation_split=0.2, seed=0)
        super().accept()

    def dataset(self) -> dict | None:
        return self._dataset


def offer_image_dataset(window, model, metadata: dict) -> ImageDataDialog | None:
    """Open the dialog (window-modal, not blocking) when ``model`` takes images; accepted,
    it sets the project's dataset as one undo step. Returns the dialog, or ``None``."""
    shape = tuple(model.inputs[0].shape) if len(model.inputs) == 1 else ()
    pre = preprocessing_of(shape, metadata)
    editor = window.editor
    if pre is None or editor is None or editor.path is None:
        return None
    dialog = ImageDataDialog(pre, editor.path.parent, window)

    def apply() -> None:
        if window.editor is editor and dialog.dataset():
            editor.set_settings("dataset", dialog.dataset())
            window.statusBar().showMessage(
                f"Dataset: {dialog.dataset()['path']} (Ctrl+Z undoes it)", 8000
            )

    dialog.accepted.connect(apply)
    dialog.open()
    return dialog

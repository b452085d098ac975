"""The data panel's download box: get a real-size dataset into the cache, or add its files.

For the downloadable set chosen in the built-in list, :class:`DownloadBox` shows its size and
whether it is in the cache, a **Download** button that fetches it in a worker thread with a
progress bar and **Cancel** (a cancelled download keeps what arrived and resumes next time),
and **Add from file…** for machines without network (the original archives are checked
against their SHA-256 and copied in, as ``layercanvas datasets add`` does). Errors (no
network, a failed checksum) are shown in words in the box. The UI thread never downloads or
hashes anything; ``cache_changed(name)`` tells the panel to load the preview again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from engine.datasets.catalog import format_size

__all__ = ["DownloadBox", "CacheWorker"]


class CacheWorker(QObject):
    """Runs one download or install in a thread and reports through queued signals."""

    progress = Signal(str, int, int)  # file name, bytes done, bytes in all
    finished = Signal(str, str)  # dataset name, "" on success / "cancelled" / the error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self.busy = False

    def run(self, name: str, job: Callable[..., object]) -> None:
        """Run ``job(progress=..., cancel=...)`` for dataset ``name`` in a new thread."""
        self._cancel.clear()
        self.busy = True

        def work() -> None:
            from engine.data import DataError  # noqa: PLC0415
            from engine.datasets import DownloadCancelled  # noqa: PLC0415

            try:
                job(progress=self._report, cancel=self._cancel.is_set)
                outcome = ""
            except DownloadCancelled:
                outcome = "cancelled"
            except (DataError, OSError) as err:
                outcome = " ".join(str(err).split()) or type(err).__name__
            # RuntimeError: the panel closed meanwhile; nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                self.finished.emit(name, outcome)

        threading.Thread(target=work, name="LayerCanvasDatasetCache", daemon=True).start()

    def _report(self, file_name: str, done: int, total: int) -> None:
        with contextlib.suppress(RuntimeError):
            self.progress.emit(file_name, done, total)

    def cancel(self) -> None:
        self._cancel.set()


class DownloadBox(QGroupBox):
    """Size, cache state, Download (progress, Cancel) and Add from file… for one set."""

    cache_changed = Signal(str)  # the dataset whose files arrived

    def __init__(self) -> None:
        super().__init__("Download")
        self.setObjectName("datasetDownload")
        self.name: str | None = None
        self.state = QLabel()
        self.state.setObjectName("downloadState")
        self.state.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("downloadMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.message.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("downloadProgress")
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("downloadDataset")
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelDownload")
        self.cancel_button.setVisible(False)
        self.add_button = QPushButton("Add from file…")
        self.add_button.setObjectName("addDatasetFiles")
        self.add_button.setToolTip(
            "Install the original files from disk (for a computer without network); they "
            "are checked against their published SHA-256"
        )
        self.add_button.clicked.connect(self._choose_files)
        self.worker = CacheWorker(self)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.cancel_button.clicked.connect(self.worker.cancel)

        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.state)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.setVisible(False)

    # -- what is shown ---------------------------------------------------------------------------

    def show_dataset(self, name: str | None) -> None:
        """Show ``name``'s state (hidden for sets that are not downloaded ones)."""
        from engine.datasets import CATALOG  # noqa: PLC0415

        if self.worker.busy and name != self.name:
            self.worker.cancel()  # the user moved on; what arrived is kept for next time
        self.name = name if name in CATALOG else None
        self.setVisible(self.name is not None)
        if self.name is not None and not self.worker.busy:
            self.message.setVisible(False)
            self.refresh()

    def refresh(self) -> None:
        from engine.datasets import CATALOG, cache_dir, missing_files  # noqa: PLC0415

        if self.name is None:
            return
        entry = CATALOG[self.name]
        missing = missing_files(self.name)
        files = ", ".join(f.name for f in entry.files)
        if missing:
            self.state.setText(
                f"<b>Not downloaded yet</b> · {format_size(entry.size)} · {files}<br>"
                f"{entry.train_samples:,} training + {entry.test_samples:,} test samples · "
                f"{entry.license}"
            )
        else:
            self.state.setText(
                f"<b>In the cache</b> · {format_size(entry.size)} · {cache_dir() / self.name}"
            )
        self._set_busy(self.worker.busy)
        self.download_button.setEnabled(bool(missing) and not self.worker.busy)
        self.add_button.setEnabled(bool(missing) and not self.worker.busy)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.download_button.setVisible(not busy)

    def _show_message(self, text: str, role: str) -> None:
        self.message.setText(text)
        self.message.setProperty("role", role)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setVisible(bool(text))

    # -- actions -------------------------------------------------------------------------------

    def start_download(self) -> None:
        """Download the shown set in the background (progress bar, Cancel)."""
        from engine.datasets import download  # noqa: PLC0415

        if self.name is None or self.worker.busy:
            return
        name = self.name
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Connecting…")
        self._show_message("", "error")
        self.worker.run(
            name, lambda progress, cancel: download(name, progress=progress, cancel=cancel)
        )
        self.refresh()

    def add_files(self, paths: list[str]) -> None:
        """Check and install ``paths`` as the shown set's files, in the background."""
        from engine.datasets import install_files  # noqa: PLC0415

        if self.name is None or self.worker.busy or not paths:
            return
        name = self.name
        self.progress.setRange(0, 0)  # checking the SHA-256: no byte count to show
        self.progress.setFormat("Checking…")
        self._show_message("", "error")
        self.worker.run(name, lambda progress, cancel: install_files(name, paths))
        self.refresh()

    def _choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, f"Add the files of {self.name}")
        self.add_files(paths)

    def _on_progress(self, file_name: str, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
        self.progress.setFormat(f"{file_name}: {format_size(done)} of {format_size(total)} (%p%)")

    def _on_finished(self, name: str, outcome: str) -> None:
        self.worker.busy = False
        if outcome == "cancelled":
            self._show_message(
                "Download cancelled; what arrived is kept and the next Download resumes.", "note"
            )
        elif outcome:
            self._show_message(outcome, "error")
        else:
            self._show_message("", "error")
        self.refresh()
        if not outcome:
            self.cache_changed.emit(name)

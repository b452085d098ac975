"""Recording each epoch's logs: ``History`` (in memory, returned by ``fit``) and
``CSVLogger`` (one CSV row per epoch)."""

from __future__ import annotations

import csv
import os

from engine.callbacks.base import Callback, _plain

__all__ = ["History", "CSVLogger"]


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is a list with one value per
    epoch, ``history.epoch`` the epoch numbers. ``fit`` returns it; it is also
    ``model.history``."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        # Each epoch's own logs: with validation_freq > 1 the val_* lists of ``history``
        # are shorter than ``epoch`` (as in Keras), and only these say which epochs they
        # belong to.
        self.epoch_logs: list[dict] = []

    def set_model(self, model) -> None:
        super().set_model(model)
        if model is not None:
            model.history = self

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []
        self.epoch_logs = []

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epoch.append(epoch)
        self.epoch_logs.append({key: _plain(value) for key, value in (logs or {}).items()})
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_plain(value))
        if self.model is not None:
            self.model.history = self


class CSVLogger(Callback):
    """Writes one CSV row per epoch (``epoch`` then the log keys, sorted) to ``filename``."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None) -> None:
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = None
        self._keys = None
        self._has_header = bool(exists)

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        if self._file is None:
            self.on_train_begin()
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._has_header:
                self._writer.writerow(["epoch", *self._keys])
        row = [epoch] + [_plain(logs.get(k, "NA")) for k in self._keys]
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

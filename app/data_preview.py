"""The data panel's preview: load a dataset spec in the background and describe it.

:func:`load_preview` loads a project's ``dataset`` dict (as training would: load, split) and
sums it up as a :class:`DatasetPreview` — samples, shapes, classes and their balance, the
split — with any problem as a sentence in ``error`` instead of an exception; a set that is
not downloaded yet is marked ``not_downloaded`` so the panel can offer the download.
:class:`PreviewLoader` runs it in a thread and reports only the newest request.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

__all__ = ["DatasetPreview", "PreviewLoader", "load_preview"]


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
    not_downloaded: str | None = None  # a downloadable set not in the cache yet

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
    from engine.datasets import CATALOG, DatasetNotDownloaded  # noqa: PLC0415

    try:
        ds = data_module.load_dataset(spec, base_dir)
        prepared = data_module.prepare(ds)
    except DatasetNotDownloaded as err:
        return _not_downloaded(spec, err.name, CATALOG[err.name].size)
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


def _not_downloaded(spec: dict[str, Any], name: str, size: int) -> DatasetPreview:
    """The preview of a set not downloaded yet: what to do, and a stand-in of its shapes so
    the graph can still be checked against it."""
    from engine.data.downloadable import stand_in  # noqa: PLC0415
    from engine.datasets.catalog import format_size  # noqa: PLC0415

    try:
        dataset = stand_in(name, spec)
    except ValueError:
        dataset = None  # a bad option; loading names it once the set is there
    return DatasetPreview(
        spec=spec,
        error=f"Dataset '{name}' is not downloaded yet — Download it ({format_size(size)}) "
        "with the button above, or add its files from disk.",
        name=name,
        dataset=dataset,
        not_downloaded=name,
    )


class PreviewLoader(QObject):
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

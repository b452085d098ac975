"""The :class:`Dataset`: arrays plus everything a user and the app need to know about them.

A dataset is host-side numpy arrays ``x`` (samples first, channels-first after that: images
``(N, C, H, W)``, sequences ``(N, T, F)``, token ids ``(N, T)``, tables ``(N, F)``) and ``y``
(int64 class indices ``(N,)`` for classification, float32 ``(N, k)`` for regression), with
the task, human names for classes and features, the vocabulary of a text set, and the
normalisation already applied to ``x`` (a JSON-able dict, see
:mod:`engine.data.normalization`), which a trained model keeps so inference normalises the
same way. Construction validates everything (same length, numbers only, no NaN or infinity,
labels in range) so nothing downstream has to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.data.errors import DataError

__all__ = ["Dataset", "TASKS"]

#: ``sequence`` is for targets that are themselves sequences (one label or value per step).
TASKS = ("classification", "regression", "sequence")


def _first_bad_sample(a: np.ndarray) -> tuple[int, str] | None:
    """1-based index of the first sample holding NaN or infinity, and which of the two."""
    finite = np.isfinite(a)
    if finite.all():
        return None
    per_sample = finite.reshape(len(a), -1).all(axis=1)
    i = int(np.argmin(per_sample))
    kind = "NaN" if np.isnan(a[i]).any() else "an infinite value"
    return i + 1, kind


@dataclass(eq=False)
class Dataset:
    """Arrays ``x`` and ``y`` with their meaning. See the module docstring for layouts.

    Attributes:
        x, y: the samples and targets (numpy, first axis = sample).
        task: ``"classification"``, ``"regression"`` or ``"sequence"``.
        name: what to call it in messages (the built-in name or the file name).
        class_names: one name per class index (classification), else ``None``.
        feature_names: one name per input feature of a table, else ``None``.
        normalization: the normalisation spec already applied to ``x`` (``None``: raw).
        vocabulary: for token-id inputs, word of each id (0 = padding, 1 = unknown word).
        categories: categorical CSV columns -> their categories in encoding order.
        texts: the original texts of a text set, one per sample (for display).
        ordered: samples are in time order, so splits take contiguous blocks, not shuffles.
        description: one line for the user.
        notes: things the user should know about how it was loaded (skipped rows, ...).
        metadata: other JSON-able facts (source file, target column, tokenizer settings).
        options: the pipeline options from the project file (splits, normalisation,
            augmentation), filled in by :func:`engine.data.load_dataset`.
    """

    x: np.ndarray
    y: np.ndarray
    task: str
    name: str = "dataset"
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    normalization: dict[str, Any] | None = None
    vocabulary: list[str] | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)
    texts: list[str] | None = None
    ordered: bool = False
    description: str = ""
    notes: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x = self._as_numeric("x", self.x)
        self.y = self._as_numeric("y", self.y)
        who = f"dataset '{self.name}'"
        if self.task not in TASKS:
            raise DataError(f"{who}: unknown task '{self.task}'; expected one of {TASKS}")
        if self.x.ndim < 2:
            raise DataError(
                f"{who}: x has shape {self.x.shape}; it needs a sample axis and at least one "
                "feature axis, e.g. (N, features)"
            )
        if self.y.ndim < 1:
            raise DataError(f"{who}: y must have one entry per sample, got a scalar")
        if len(self.x) != len(self.y):
            raise DataError(
                f"{who}: x has {len(self.x)} samples but y has {len(self.y)}; "
                "they must have the same length"
            )
        if len(self.x) == 0:
            raise DataError(f"{who}: it holds no samples")
        for label, a in (("x", self.x), ("y", self.y)):
            if a.dtype.kind == "f":
                bad = _first_bad_sample(a)
                if bad is not None:
                    raise DataError(f"{who}: {label} contains {bad[1]} at sample {bad[0]}")
        if self.task == "classification":
            self._check_labels(who)
        if self.vocabulary is not None:
            self._check_tokens(who)
        if (
            self.feature_names is not None
            and self.x.ndim == 2
            and len(self.feature_names) != self.x.shape[1]
        ):
            raise DataError(
                f"{who}: {len(self.feature_names)} feature names for {self.x.shape[1]} features"
            )
        if self.texts is not None and len(self.texts) != len(self.x):
            raise DataError(f"{who}: {len(self.texts)} texts for {len(self.x)} samples")

    def _as_numeric(self, label: str, a: Any) -> np.ndarray:
        a = np.asarray(a)
        if a.dtype == np.bool_:
            a = a.astype(np.int64)
        if a.dtype.kind not in "iuf":
            raise DataError(
                f"dataset '{self.name}': {label} must hold numbers, got dtype {a.dtype}"
            )
        return a

    def _check_labels(self, who: str) -> None:
        if self.y.dtype.kind not in "iu":
            raise DataError(
                f"{who}: classification labels must be integer class indices, "
                f"got dtype {self.y.dtype}"
            )
        if self.y.ndim != 1:
            raise DataError(
                f"{who}: classification labels must have shape (N,), got {self.y.shape}"
            )
        if self.y.min() < 0:
            i = int(np.argmax(self.y < 0))
            raise DataError(f"{who}: negative class label {self.y[i]} at sample {i + 1}")
        if self.class_names is not None and self.y.max() >= len(self.class_names):
            i = int(np.argmax(self.y >= len(self.class_names)))
            raise DataError(
                f"{who}: label {self.y[i]} at sample {i + 1} but only "
                f"{len(self.class_names)} class names"
            )

    def _check_tokens(self, who: str) -> None:
        assert self.vocabulary is not None
        if self.x.dtype.kind not in "iu":
            raise DataError(f"{who}: token ids must be integers, got dtype {self.x.dtype}")
        if self.x.min() < 0 or self.x.max() >= len(self.vocabulary):
            raise DataError(
                f"{who}: token ids must lie in [0, {len(self.vocabulary)}), the vocabulary size"
            )

    # ---- what callers ask about -------------------------------------------------------

    def __len__(self) -> int:
        return len(self.x)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch axis (channels-first)."""
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Shape of one target, without the batch axis (``()`` for class indices)."""
        return tuple(int(d) for d in self.y.shape[1:])

    @property
    def num_classes(self) -> int | None:
        """Number of classes of a classification set, else ``None``."""
        if self.task != "classification":
            return None
        if self.class_names is not None:
            return len(self.class_names)
        return int(self.y.max()) + 1

    @property
    def vocabulary_size(self) -> int | None:
        """``len(vocabulary)`` (an Embedding's ``input_dim``) for a text set, else ``None``."""
        return None if self.vocabulary is None else len(self.vocabulary)

    # ---- deriving new datasets ----------------------------------------------------------

    def subset(self, indices: np.ndarray, name: str | None = None) -> Dataset:
        """The samples at ``indices`` (in that order), with every other attribute kept."""
        idx = np.asarray(indices, dtype=np.int64)
        texts = None if self.texts is None else [self.texts[i] for i in idx]
        take: np.ndarray | slice = idx
        if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
            take = slice(int(idx[0]), int(idx[-1]) + 1)  # a contiguous block: a view, no copy
        return dataclasses.replace(
            self,
            x=self.x[take],
            y=self.y[take],
            texts=texts,
            name=self.name if name is None else name,
            notes=list(self.notes),
        )

    def with_x(self, x: np.ndarray, normalization: dict[str, Any] | None) -> Dataset:
        """The same dataset with new inputs (for example normalised ones)."""
        return dataclasses.replace(self, x=x, normalization=normalization, notes=list(self.notes))

    def info(self) -> dict[str, Any]:
        """Everything except the arrays, JSON-able: what a model file stores about its data."""
        return {
            "name": self.name,
            "task": self.task,
            "num_samples": len(self),
            "input_shape": list(self.input_shape),
            "input_dtype": str(self.x.dtype),
            "target_shape": list(self.target_shape),
            "target_dtype": str(self.y.dtype),
            "class_names": self.class_names,
            "feature_names": self.feature_names,
            "normalization": self.normalization,
            "vocabulary": self.vocabulary,
            "categories": self.categories,
            "description": self.description,
            "notes": list(self.notes),
            "metadata": self.metadata,
        }

    def __repr__(self) -> str:
        extra = f", classes={self.num_classes}" if self.task == "classification" else ""
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n={len(self)}, "
            f"input_shape={self.input_shape}, x={self.x.dtype}, y={self.y.dtype}{extra})"
        )

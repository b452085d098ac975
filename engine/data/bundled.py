"""The small real datasets that ship inside scikit-learn's wheel: digits, iris, wine, cancer.

The CSV files are read straight from scikit-learn's package folder with numpy rather than
through ``sklearn.datasets``: importing scikit-learn costs over a second, reading the files
a few milliseconds, and nothing is ever downloaded. Each file's first line holds the sample
count, the feature count and (except digits) the class names.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError

__all__ = ["digits", "iris", "wine", "breast_cancer"]

_IRIS_FEATURES = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
]
_WINE_FEATURES = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
]
_CANCER_BASE = [
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
]
# The file's 30 columns: the mean of each measurement, then its standard error, then worst.
_CANCER_FEATURES = (
    [f"mean {f}" for f in _CANCER_BASE]
    + [f"{f} error" for f in _CANCER_BASE]
    + [f"worst {f}" for f in _CANCER_BASE]
)


def _data_file(name: str) -> Path:
    """Path of a file in scikit-learn's ``datasets/data`` folder, found without importing it."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise DataError(f"the built-in dataset file {name} comes with scikit-learn; install it")
    path = Path(spec.origin).parent / "datasets" / "data" / name
    if not path.is_file():
        raise DataError(f"{path}: scikit-learn's bundled data file is missing")
    return path


def _read_table(name: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(features float32, labels int64, class names) of one of scikit-learn's CSV files."""
    path = _data_file(name)
    with path.open(encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    n_samples, n_features = int(header[0]), int(header[1])
    if table.shape != (n_samples, n_features + 1):
        raise DataError(f"{path}: expected {n_samples} rows of {n_features + 1} numbers")
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64), header[2:]


def digits(classes: list[int] | None = None, samples_per_class: int | None = None) -> Dataset:
    """1797 handwritten digits, 8x8 grey levels scaled to [0, 1], as ``(N, 1, 8, 8)``.

    ``classes`` keeps only those digits, relabelled 0, 1, ... in the order given (``[5, 6,
    7, 8, 9]`` becomes a 5-class task whose class names stay "5" ... "9"), e.g. to fine-tune a
    model pre-trained on the other digits. ``samples_per_class`` keeps the first that many
    images of each class, in file order (so no seed is needed), to try learning from little
    data.
    """
    path = _data_file("digits.csv.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32, ndmin=2)
    # Pixels are counts 0..16 (dots set in a 4x4 block of the original 32x32 bitmap).
    x = (table[:, :64] / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    y = table[:, 64].astype(np.int64)
    description = "1797 handwritten digits 0-9, 8x8 grey images in [0, 1] (UCI, scikit-learn)"
    if classes is None and samples_per_class is None:
        return Dataset(
            x=x,
            y=y,
            task="classification",
            name="digits",
            class_names=[str(d) for d in range(10)],
            description=description,
        )
    kept = _digit_classes(classes)
    limit = _samples_per_class(samples_per_class)
    # Sample indices per kept digit, in file order; the new label is the position in ``kept``.
    members = [np.flatnonzero(y == digit)[:limit] for digit in kept]
    index = np.sort(np.concatenate(members))
    relabel = np.full(10, -1, dtype=np.int64)
    relabel[kept] = np.arange(len(kept))
    subset = f"digits {', '.join(map(str, kept))}"
    if limit is not None:
        subset += f", at most {limit} per class"
    return Dataset(
        x=x[index],
        y=relabel[y[index]],
        task="classification",
        name="digits",
        class_names=[str(d) for d in kept],
        description=f"{len(index)} handwritten {subset} (labels 0-{len(kept) - 1}), 8x8 grey "
        "images in [0, 1] (UCI, scikit-learn)",
        metadata={"digits": list(kept), "samples_per_class": limit},
    )


def _digit_classes(classes) -> list[int]:
    """The ``classes`` option of :func:`digits`, checked: distinct digits 0-9, at least two."""
    if classes is None:
        return list(range(10))
    ok = isinstance(classes, list | tuple) and all(
        isinstance(c, int | np.integer) and not isinstance(c, bool) and 0 <= c <= 9 for c in classes
    )
    if not ok:
        raise DataError(f"digits: classes must be a list of digits 0-9, got {classes!r}")
    kept = [int(c) for c in classes]
    if len(set(kept)) != len(kept):
        raise DataError(f"digits: classes lists a digit twice: {kept}")
    if len(kept) < 2:
        raise DataError(f"digits: classes needs at least two digits to tell apart, got {kept}")
    return kept


def _samples_per_class(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DataError(f"digits: samples_per_class must be an integer >= 1, got {value!r}")
    return int(value)


def iris() -> Dataset:
    """150 iris flowers, 4 measurements, 3 species."""
    x, y, classes = _read_table("iris.csv")
    return Dataset(
        x=x,
        y=y,
        task="classification",
        name="iris",
        class_names=classes,
        feature_names=list(_IRIS_FEATURES),
        description="150 iris flowers: 4 measurements in cm, 3 species",
    )


def wine() -> Dataset:
    """178 wines, 13 chemical measurements, 3 cultivars."""
    x, y, classes = _read_table("wine_data.csv")
    return Dataset(
        x=x,
        y=y,
        task="classification",
        name="wine",
        class_names=classes,
        feature_names=list(_WINE_FEATURES),
        description="178 wines: 13 chemical measurements, 3 cultivars (unscaled; normalise)",
    )


def breast_cancer() -> Dataset:
    """569 breast tumour samples, 30 cell-nucleus measurements, malignant or benign."""
    x, y, classes = _read_table("breast_cancer.csv")
    return Dataset(
        x=x,
        y=y,
        task="classification",
        name="breast_cancer",
        class_names=classes,
        feature_names=list(_CANCER_FEATURES),
        description="569 tumours: 30 cell-nucleus measurements, malignant or benign (normalise)",
    )

"""Deciding what a CSV column holds and turning its cells into numbers.

A column is *numeric* when most of its non-missing cells read as numbers; the odd cell that
does not is then a typo to report ("row 7, column 'price': 'abc' is not a number"), not a
reason to treat the whole column as text. Otherwise it is *categorical*: its distinct values,
sorted, are the categories, encoded one-hot or as their index. A target column becomes class
indices (text, or a few integer values) or float values (regression).
"""

from __future__ import annotations

import math

import numpy as np

from engine.data.errors import DataError
from engine.data.importers.csv_rows import RowProblems, is_missing, is_number

__all__ = [
    "column_kind",
    "check_cells",
    "encode_target",
    "MAX_INTEGER_CLASSES",
]

#: A numeric target with at most this many distinct integer values counts as class labels.
MAX_INTEGER_CLASSES = 20
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def column_kind(cells: list[str]) -> str:
    """``"numeric"`` or ``"categorical"`` by majority of the non-missing cells."""
    present = [c for c in cells if not is_missing(c)]
    numeric = sum(is_number(c) for c in present)
    return "numeric" if present and numeric * 2 >= len(present) else "categorical"


def check_cells(
    cells: list[str], numbers: list[int], column: str, kind: str, problems: RowProblems
) -> None:
    """Report missing cells, and in numeric columns non-numbers and infinities, by row."""
    for number, cell in zip(numbers, cells):
        if number in problems:
            continue
        if is_missing(cell):
            shown = f" ('{cell.strip()}')" if cell.strip() else ""
            problems.add(number, f"missing value{shown}", column)
        elif kind == "numeric":
            if not is_number(cell):
                problems.add(number, f"'{cell.strip()}' is not a number", column)
            elif not math.isfinite(float(cell)):
                problems.add(number, f"'{cell.strip()}' is infinite", column)
            elif abs(float(cell)) > _FLOAT32_MAX:
                # It would become infinity in the float32 arrays the engine trains on.
                problems.add(number, f"'{cell.strip()}' is too large for float32", column)


def encode_target(
    cells: list[str], kind: str, column: str, task: str | None, path_name: str
) -> tuple[np.ndarray, str, list[str] | None, str | None]:
    """(y, task, class names, note) for the cells of the target column (no bad cells left).

    ``task`` ``None`` decides: text or at most :data:`MAX_INTEGER_CLASSES` integer values are
    classes, other numbers are a regression target (``y`` of shape ``(N, 1)``).
    """
    if task not in (None, "classification", "regression"):
        raise DataError(f"task must be 'classification', 'regression' or None, got {task!r}")
    if kind == "categorical":
        if task == "regression":
            raise DataError(
                f"{path_name}: target column '{column}' holds text, so it cannot be a "
                "regression target",
                column=column,
            )
        names = sorted({c.strip() for c in cells})
        index = {n: i for i, n in enumerate(names)}
        y = np.array([index[c.strip()] for c in cells], dtype=np.int64)
        return y, "classification", names, None
    values = np.array([float(c) for c in cells], dtype=np.float64)
    distinct = np.unique(values)
    integral = bool(np.all(distinct == np.round(distinct)))
    note = None
    if task is None:
        task = (
            "classification" if integral and len(distinct) <= MAX_INTEGER_CLASSES else "regression"
        )
        if task == "classification":
            note = (
                f"target '{column}' has {len(distinct)} integer values, so it was taken as "
                "class labels; ask for task='regression' to predict it as a number"
            )
    if task == "regression":
        return values.astype(np.float32).reshape(-1, 1), task, None, None
    if not integral:
        raise DataError(
            f"{path_name}: target column '{column}' holds fractional numbers; they cannot be "
            "class labels",
            column=column,
        )
    names = [str(int(v)) for v in distinct]
    return np.searchsorted(distinct, values).astype(np.int64), task, names, note

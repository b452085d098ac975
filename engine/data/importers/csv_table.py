"""Import a table from a CSV file: numeric and categorical features, one target column.

``read_csv("houses.csv", target="price")`` gives float32 features ``(N, F)`` and the target
as class indices or ``(N, 1)`` floats. The header is detected (a first row of names), the
delimiter sniffed. Text columns are one-hot (or ordinal) encoded with their categories
recorded on the dataset (``categories``, ``feature_names`` like ``"color=red"``), so new rows
can be encoded the same way at prediction time. Ragged rows, missing values, non-numbers in
numeric columns and infinities raise one :class:`DataError` naming the file, row and column;
with ``skip_bad_rows=True`` such rows are left out and counted in ``dataset.notes``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES
from engine.data.importers.columns import check_cells, column_kind, encode_target
from engine.data.importers.csv_rows import RowProblems, check_widths, read_csv_rows

__all__ = ["read_csv", "ENCODINGS"]

ENCODINGS = ("onehot", "ordinal")


def read_csv(
    path: str | Path,
    target: str | int | None = None,
    *,
    header: bool | str = "auto",
    delimiter: str | None = None,
    categorical: str = "onehot",
    categorical_columns: list[str] | None = None,
    task: str | None = None,
    skip_bad_rows: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Load a CSV table.

    Args:
        path: the file.
        target: the target column's name (or 1-based position); ``None``: the last column.
        header: ``"auto"`` (detect), ``True`` or ``False`` (columns become column_1, ...).
        delimiter: the separator; ``None`` sniffs it.
        categorical: ``"onehot"`` or ``"ordinal"`` encoding of text feature columns.
        categorical_columns: feature columns to treat as categories even if numeric.
        task: ``"classification"``, ``"regression"`` or ``None`` (decided from the target).
        skip_bad_rows: leave out bad rows (reported in ``notes``) instead of raising.
        max_bytes: refuse larger files.
    """
    if categorical not in ENCODINGS:
        raise DataError(f"categorical must be one of {ENCODINGS}, got {categorical!r}")
    table = read_csv_rows(path, header=header, delimiter=delimiter, max_bytes=max_bytes)
    name = table.path.name
    notes: list[str] = []
    if len(table.columns) < 2:
        raise DataError(
            f"{name}: found a single column (delimiter {table.delimiter!r}); a table needs "
            "feature columns and a target column",
            path=table.path,
        )
    if target is None:
        t = len(table.columns) - 1
        notes.append(f"no target column given; used the last one, '{table.columns[t]}'")
    else:
        t = table.column_index(target, "target")
    forced = set(categorical_columns or [])
    for col in sorted(forced):
        table.column_index(col, "categorical")  # raises for a name that does not exist

    problems = RowProblems(table.path)
    check_widths(table, problems)
    cells = [
        [row[i] if i < len(row) else "" for row in table.rows] for i in range(len(table.columns))
    ]
    kinds = [
        "categorical" if c in forced else column_kind(col_cells)
        for c, col_cells in zip(table.columns, cells)
    ]
    for i, column in enumerate(table.columns):
        check_cells(cells[i], table.numbers, column, kinds[i], problems)
    skipped = problems.settle(skip_bad_rows, notes)
    keep = [k for k, number in enumerate(table.numbers) if number not in skipped]
    if not keep:
        raise DataError(f"{name}: no usable rows left after skipping bad rows", path=table.path)

    target_name = table.columns[t]
    y, task, class_names, note = encode_target(
        [cells[t][k] for k in keep], kinds[t], target_name, task, name
    )
    if note:
        notes.append(note)
    blocks, feature_names, categories = [], [], {}
    for i, column in enumerate(table.columns):
        if i == t:
            continue
        values = [cells[i][k].strip() for k in keep]
        if kinds[i] == "numeric":
            blocks.append(np.array(values, dtype=np.float64)[:, None])
            feature_names.append(column)
            continue
        cats = sorted(set(values))
        categories[column] = cats
        codes = np.searchsorted(np.array(cats), np.array(values))
        if categorical == "ordinal":
            blocks.append(codes[:, None].astype(np.float64))
            feature_names.append(column)
        else:
            blocks.append(np.eye(len(cats))[codes])
            feature_names.extend(f"{column}={c}" for c in cats)
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    return Dataset(
        x=x,
        y=y,
        task=task,
        name=name,
        class_names=class_names,
        feature_names=feature_names,
        categories=categories,
        description=f"{len(x)} rows of {name}: {x.shape[1]} features, target '{target_name}'",
        notes=notes,
        metadata={
            "source": str(table.path),
            "format": "csv",
            "target": target_name,
            "columns": [c for i, c in enumerate(table.columns) if i != t],
            "categorical_encoding": categorical,
        },
    )

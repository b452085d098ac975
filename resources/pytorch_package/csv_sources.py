"""The project's CSV files, read as LayerCanvas reads them, with the encodings it fitted.

A table (``csv``): numeric columns as numbers, text columns one-hot (or ordinal) over the
categories LayerCanvas found, the target as the class list it made (or numbers, for
regression). A text column (``text_csv``): words are runs of letters, digits and inner
apostrophes, looked up in LayerCanvas's vocabulary (unknown words: id 1), padded or cut to
its length. The delimiter, header and column kinds are data.json's, never guessed again,
so a file in the same layout gives the same numbers. A bad row (wrong width, a missing
value, a non-number in a numeric column) stops with its row number, or is left out when the
project said ``skip_bad_rows``, as in LayerCanvas.
"""

import csv
import re

import numpy as np

# data_sources.py sets this to its DataFileError (one class for the whole package).
DataFileError = ValueError
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _missing(cell):
    return cell.strip().lower() in MISSING


def _number_problem(cell, column):
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is None or _missing(cell):
        return f"column '{column}': '{cell.strip()}' is not a number"
    if not abs(value) <= _FLOAT32_MAX:
        return f"column '{column}': '{cell.strip()}' is infinite or too large"
    return None


def _cell_problem(cell, kind, column):
    if _missing(cell):
        return f"column '{column}': missing value"
    return _number_problem(cell, column) if kind == "numeric" else None


def _rows(src, path, problem):
    """The data rows (row number, cells) that ``problem(row)`` finds nothing wrong with."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            records = list(csv.reader(f, delimiter=src["delimiter"], strict=True))
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataFileError(f"{path}: not a readable UTF-8 CSV file ({err})") from None
    numbered = [(i + 1, r) for i, r in enumerate(records) if any(c.strip() for c in r)]
    if src["header"]:
        names = [c.strip() for c in numbered[0][1]] if numbered else []
        if names != src["columns"]:
            raise DataFileError(
                f"{path}: its columns are {names}, not the project's {src['columns']}"
            )
        numbered = numbered[1:]
    kept = []
    for number, row in numbered:
        found = (
            f"expected {len(src['columns'])} cells, found {len(row)}"
            if len(row) != len(src["columns"])
            else problem(row)
        )
        if found is None:
            kept.append((number, row))
        elif not src["skip_bad_rows"]:
            raise DataFileError(f"{path}: row {number}: {found}. Fix the file")
    if not kept:
        raise DataFileError(f"{path}: no usable rows")
    return kept


def _targets(src, path, kept):
    t = src["target_index"]
    target = [row[t].strip() for _, row in kept]
    if src["task"] == "regression":
        return np.array([float(v) for v in target], dtype=np.float32).reshape(-1, 1)
    if src["target_kind"] == "categorical":
        index = {c: k for k, c in enumerate(src["classes"])}
    else:
        index = {float(c): k for k, c in enumerate(src["class_values"])}
        target = [float(v) for v in target]
    y = [index.get(v) for v in target]
    if None in y:
        number = kept[y.index(None)][0]
        raise DataFileError(f"{path}: row {number}: a class the project does not have")
    return np.array(y, dtype=np.int64)


def read_csv(src, path):
    """(x float32 (N, F), y) of a table."""

    def problem(row):
        for cell, kind, column in zip(row, src["kinds"], src["columns"]):
            found = _cell_problem(cell, kind, column)
            if found is not None:
                return found
        return None

    kept = _rows(src, path, problem)
    blocks = []
    for i, (column, kind) in enumerate(zip(src["columns"], src["kinds"])):
        if i == src["target_index"]:
            continue
        values = [row[i].strip() for _, row in kept]
        if kind == "numeric":
            blocks.append(np.array(values, dtype=np.float64)[:, None])
            continue
        cats = src["categories"][column]
        index = {c: k for k, c in enumerate(cats)}
        unknown = next(((n, v) for (n, _), v in zip(kept, values) if v not in index), None)
        if unknown is not None:
            raise DataFileError(
                f"{path}: row {unknown[0]}, column '{column}': '{unknown[1]}' is not one of the "
                f"categories the model was built for ({', '.join(cats)})"
            )
        codes = np.array([index[v] for v in values], dtype=np.int64)
        if src["categorical"] == "ordinal":
            blocks.append(codes[:, None].astype(np.float64))
        else:
            blocks.append(np.eye(len(cats))[codes])
    x = np.concatenate(blocks, axis=1).astype(np.float32)
    return x, _targets(src, path, kept)


def read_text_csv(src, path):
    """(x int64 (N, max_length) word ids, y) of a text column and a target column."""
    ti, t = src["text_index"], src["target_index"]
    text_name, target_name = src["columns"][ti], src["columns"][t]

    def problem(row):
        if not row[ti].strip():
            return f"column '{text_name}': empty text"
        return _cell_problem(row[t], src["target_kind"], target_name)

    kept = _rows(src, path, problem)
    tok = src["tokenizer"]
    index = {w: i for i, w in enumerate(src["vocabulary"]) if i >= 2}
    length = tok["max_length"]
    x = np.zeros((len(kept), length), np.int64)
    for r, (_, row) in enumerate(kept):
        text = row[ti].lower() if tok["lowercase"] else row[ti]
        ids = [index.get(w, 1) for w in _WORD.findall(text)]
        ids = ids[-length:] if tok["truncating"] == "pre" else ids[:length]
        if ids:
            if tok["padding"] == "pre":
                x[r, length - len(ids) :] = ids
            else:
                x[r, : len(ids)] = ids
    return x, _targets(src, path, kept)

"""Reading a CSV file into rows of strings that remember their spreadsheet row numbers.

Shared by the table and text-column importers: size check, UTF-8 decoding (a BOM from Excel is
fine), delimiter sniffing (``,`` ``;`` tab ``|``), header detection, duplicate-name and
ragged-row checks. Rows are numbered 1-based counting the header, exactly as a spreadsheet
shows them, and every problem found later is collected per row in :class:`RowProblems`, which
either raises one :class:`DataError` naming the first bad row and column or, when the user
asked to skip bad rows, says which rows it left out.

Nothing is read unbounded: each physical line is read with a limit (:data:`MAX_LINE_CHARS`),
so a file of one enormous line is refused after that many characters, not read whole; and a
row with more than :data:`MAX_COLUMNS` cells is refused as soon as it is seen, counted from
the raw line before the csv module splits it, so a header of two million columns is refused
in milliseconds instead of after building millions of cells for every row.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES, check_file

__all__ = [
    "CsvRows",
    "RowProblems",
    "read_csv_rows",
    "check_widths",
    "is_number",
    "is_missing",
    "MISSING",
]

#: Cell texts that mean "no value" (compared case-insensitively, after stripping blanks).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_DELIMITERS = ",;\t|"
#: The most columns a table may have. Each becomes at least one input feature, and a first
#: Dense layer of 64 units on 100 000 features already holds 6.4 million weights; far wider
#: files are usually a wrong delimiter or not a table at all.
MAX_COLUMNS = 100_000
#: The longest physical line read (in characters). The csv module already refuses a single
#: cell over 128 Ki characters, so only a damaged file or one that is not CSV gets near this.
MAX_LINE_CHARS = 8 * 1024 * 1024


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def is_number(cell: str) -> bool:
    """True for text ``float()`` reads (infinity included: it is reported separately)."""
    try:
        float(cell)
    except ValueError:
        return False
    return not is_missing(cell)


@dataclass
class CsvRows:
    """A CSV file's column names and data rows (``numbers[i]`` is the row number of ``rows[i]``)."""

    path: Path
    columns: list[str]
    has_header: bool
    delimiter: str
    rows: list[list[str]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)

    def column_index(self, name: str | int, role: str) -> int:
        """Index of a column given by name (or 1-based position), else a clear error."""
        if isinstance(name, int) and not isinstance(name, bool):
            if 1 <= name <= len(self.columns):
                return name - 1
            raise DataError(
                f"{self.path.name}: there is no column {name}; the file has "
                f"{len(self.columns)} columns",
                path=self.path,
                column=name,
            )
        if name in self.columns:
            return self.columns.index(name)
        raise DataError(
            f"{self.path.name}: {role} column '{name}' does not exist; columns are "
            + ", ".join(f"'{c}'" for c in self.columns),
            path=self.path,
            column=name,
        )


class RowProblems:
    """The first problem of each bad row, then one decision: raise, or skip those rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first: dict[int, tuple[str | None, str]] = {}

    def add(self, row: int, message: str, column: str | None = None) -> None:
        self.first.setdefault(row, (column, message))

    def __contains__(self, row: int) -> bool:
        return row in self.first

    def __len__(self) -> int:
        return len(self.first)

    def _where(self, row: int) -> str:
        column, message = self.first[row]
        at = f"row {row}" + (f", column '{column}'" if column is not None else "")
        return f"{at}: {message}"

    def settle(self, skip_bad_rows: bool, notes: list[str]) -> set[int]:
        """Raise for the first bad row, or (skipping) note the skipped rows and return them."""
        if not self.first:
            return set()
        rows = sorted(self.first)
        listed = ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")
        if not skip_bad_rows:
            first = rows[0]
            column = self.first[first][0]
            more = (
                f" ({len(rows) - 1} more bad row(s): {', '.join(map(str, rows[1:11]))}"
                + (", ..." if len(rows) > 11 else "")
                + ")"
                if len(rows) > 1
                else ""
            )
            raise DataError(
                f"{self.path.name}: {self._where(first)}{more}. Fix the file, or load it with "
                "skip_bad_rows=True to leave bad rows out",
                path=self.path,
                row=first,
                column=column,
            )
        notes.append(
            f"skipped {len(rows)} bad row(s) of {self.path.name} (rows {listed}); "
            f"first: {self._where(rows[0])}"
        )
        return set(rows)


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","  # one column, or too irregular to tell: a plain comma file


def _looks_like_header(first: list[str]) -> bool:
    """A first row with no empty and no numeric cell is taken for column names."""
    return bool(first) and all(c.strip() and not is_number(c) and not is_missing(c) for c in first)


def _too_wide(path: Path, line: int, count: int, at_least: bool = False) -> DataError:
    more = "more than " if at_least else ""
    return DataError(
        f"{path.name}: line {line} has {more}{count} columns; a table may have at most "
        f"{MAX_COLUMNS} (is the delimiter right? is this a table?)",
        path=path,
        row=line,
    )


def _bounded_lines(f, path: Path, delimiter: str) -> Iterator[str]:
    """The file's physical lines, each read with a bound and checked for width first."""
    number = 0
    while True:
        line = f.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        cells = line.count(delimiter) + 1  # exact unless quoted cells hold the delimiter
        if len(line) > MAX_LINE_CHARS:
            if cells > MAX_COLUMNS:
                raise _too_wide(path, number, cells - 1, at_least=True)
            raise DataError(
                f"{path.name}: line {number} is longer than {MAX_LINE_CHARS:,} characters "
                "without a line break; this is not a CSV table (or it is damaged)",
                path=path,
                row=number,
            )
        if cells > MAX_COLUMNS and '"' not in line:
            raise _too_wide(path, number, cells)
        yield line


def _read_records(f, path: Path, delimiter: str) -> list[list[str]]:
    records = []
    for record in csv.reader(_bounded_lines(f, path, delimiter), delimiter=delimiter, strict=True):
        if len(record) > MAX_COLUMNS:  # a quoted line the raw count could not judge
            raise _too_wide(path, len(records) + 1, len(record))
        records.append(record)
    return records


def read_csv_rows(
    path: str | Path,
    header: bool | str = "auto",
    delimiter: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str = "utf-8-sig",
) -> CsvRows:
    """Read ``path``; ragged rows are not judged here (see :func:`check_widths`)."""
    path = check_file(path, max_bytes)
    if header not in (True, False, "auto"):
        raise DataError(f"header must be True, False or 'auto', got {header!r}")
    try:
        with path.open(encoding=encoding, newline="") as f:
            sample = f.read(64 * 1024)
            f.seek(0)
            delim = delimiter or _sniff_delimiter(sample)
            records = _read_records(f, path, delim)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: not {encoding.removesuffix('-sig').upper()} text "
            f"(undecodable byte at offset {exc.start}); save it as UTF-8 CSV",
            path=path,
        ) from None
    except csv.Error as exc:
        raise DataError(f"{path.name}: not a readable CSV file ({exc})", path=path) from None
    # Row numbers count every record, blank lines included, as a spreadsheet does.
    numbered = [(i + 1, r) for i, r in enumerate(records) if any(c.strip() for c in r)]
    if not numbered:
        raise DataError(f"{path.name}: the file is empty", path=path)
    first_number, first = numbered[0]
    has_header = _looks_like_header(first) if header == "auto" else bool(header)
    if has_header:
        columns = [c.strip() for c in first]
        numbered = numbered[1:]
        seen: dict[str, int] = {}
        for i, name in enumerate(columns):
            if not name:
                raise DataError(
                    f"{path.name}: row {first_number}, column {i + 1} has no name in the header",
                    path=path,
                    row=first_number,
                    column=i + 1,
                )
            if name in seen:
                raise DataError(
                    f"{path.name}: columns {seen[name] + 1} and {i + 1} are both named '{name}'",
                    path=path,
                    column=name,
                )
            seen[name] = i
    else:
        columns = [f"column_{i + 1}" for i in range(len(first))]
    if not numbered:
        raise DataError(f"{path.name}: the file has a header but no data rows", path=path)
    return CsvRows(
        path=path,
        columns=columns,
        has_header=has_header,
        delimiter=delim,
        rows=[r for _, r in numbered],
        numbers=[n for n, _ in numbered],
    )


def check_widths(table: CsvRows, problems: RowProblems) -> None:
    """Report every row whose cell count differs from the header's (or first row's)."""
    width = len(table.columns)
    for number, row in zip(table.numbers, table.rows):
        if len(row) != width:
            problems.add(number, f"expected {width} cells, found {len(row)}")

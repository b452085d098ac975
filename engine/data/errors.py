"""The one exception type that bad data raises.

Every importer, the dataset spec reader and the dataset itself raise :class:`DataError` for
anything wrong with what the user brought (a ragged CSV row, an unreadable image, NaN values,
an unknown option). It is a ``ValueError`` so generic callers that catch ``ValueError`` still
work, and it carries the file, row and column it is about as attributes so the app can point
at the culprit; the message alone already names them, in the user's terms (1-based rows, as a
spreadsheet shows them).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DataError"]


class DataError(ValueError):
    """Bad input data or a bad dataset option, with one message a user can act on.

    ``path``, ``row`` (1-based) and ``column`` (a name or 1-based position) are ``None`` when
    they do not apply.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)
        self.row = row
        self.column = column

"""The sweep editor's live check: every row read and bound by the engine itself.

Each row is checked alone first (:func:`engine.experiments.params.resolve_params` on that
row), so its own message can sit under it; when every row passes, the rows are checked
together (a parameter given twice, values that clash with another row) and a problem found
then is put under the row it names, else the last one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.experiments.errors import SweepError
from engine.experiments.params import SweepParam, resolve_params

__all__ = ["RowCheck", "check_rows", "grid_size"]


@dataclass
class RowCheck:
    """One row's result: the bound parameter and its values, or the error to show."""

    param: SweepParam | None
    error: str | None

    @property
    def values(self) -> list[Any] | None:
        return self.param.values if self.param is not None else None


def check_rows(project_json: dict[str, Any] | None, texts: Sequence[str]) -> list[RowCheck]:
    """Check ``texts`` (``NAME=VALUES`` each) against the project; one result per text."""
    if project_json is None:
        return [RowCheck(None, None) for _ in texts]
    checks = [_check_one(project_json, text) for text in texts]
    if checks and all(c.error is None for c in checks):
        try:
            together = resolve_params(project_json, list(texts))
        except (SweepError, ValueError) as err:
            index = _row_named(checks, str(err))
            checks[index] = RowCheck(checks[index].param, str(err))
        else:
            checks = [RowCheck(p, None) for p in together]
    return checks


def grid_size(checks: Sequence[RowCheck]) -> int:
    """How many combinations the rows make (0 when a row has no values)."""
    sizes = [len(c.values or []) for c in checks]
    return math.prod(sizes) if sizes else 0


def _check_one(project_json: dict[str, Any], text: str) -> RowCheck:
    try:
        (param,) = resolve_params(project_json, [text])
    except (SweepError, ValueError) as err:
        return RowCheck(None, str(err))
    return RowCheck(param, None)


def _row_named(checks: Sequence[RowCheck], message: str) -> int:
    """The last row whose parameter the message names (else the last row)."""
    for index in range(len(checks) - 1, -1, -1):
        param = checks[index].param
        if param is not None and param.name in message:
            return index
    return len(checks) - 1

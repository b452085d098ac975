"""The sweep editor's live check: every row read and bound by the engine itself.

Each row is checked alone first (:func:`engine.experiments.params.resolve_params` on that
row), so its own message can sit under it; when every row passes, the rows are checked
together (a parameter given twice, values that clash with another row) and a problem found
then is put under the row it names, else the last one. Results are remembered per project
version, and the editor runs the check typed text asks for off the UI thread
(:func:`check_in_background`), so a big graph never freezes the window.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from engine.experiments.errors import SweepError
from engine.experiments.params import SweepParam, resolve_params

__all__ = ["RowCheck", "check_in_background", "check_rows", "grid_size"]

# One worker for every editor: checks are short, and a newer one makes older ones moot.
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep-check")


@dataclass
class RowCheck:
    """One row's result: the bound parameter and its values, or the error to show."""

    param: SweepParam | None
    error: str | None

    @property
    def values(self) -> list[Any] | None:
        return self.param.values if self.param is not None else None


def check_rows(
    project_json: dict[str, Any] | None,
    texts: Sequence[str],
    cache: dict | None = None,
    version: Hashable = None,
) -> list[RowCheck]:
    """Check ``texts`` (``NAME=VALUES`` each) against the project; one result per text.

    Checking a value applies it to the project and checks the whole project, which takes
    a while on a big graph: with a ``cache`` (a dict kept by the caller, with the project's
    ``version``), a row or a set of rows already checked on that version is not checked
    again — typing in one row re-checks that row only."""
    if project_json is None:
        return [RowCheck(None, None) for _ in texts]
    memo = cache if cache is not None else {}

    def cached(key, compute):
        if (version, key) not in memo:
            memo[(version, key)] = compute()
        return memo[(version, key)]

    checks = [cached(text, lambda text=text: _check_one(project_json, text)) for text in texts]
    if len(checks) > 1 and all(c.error is None for c in checks):
        checks = cached(tuple(texts), lambda: _check_together(project_json, texts, checks))
    return list(checks)


def _check_together(
    project_json: dict[str, Any], texts: Sequence[str], checks: list[RowCheck]
) -> list[RowCheck]:
    checks = list(checks)
    try:
        together = resolve_params(project_json, list(texts))
    except (SweepError, ValueError) as err:
        index = _row_named(checks, str(err))
        checks[index] = RowCheck(checks[index].param, str(err))
        return checks
    return [RowCheck(p, None) for p in together]


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


def check_in_background(*args, **kwargs) -> Future:
    """:func:`check_rows` in the background worker; the future holds its result. The
    project JSON given must not change afterwards (the editor replaces it, never edits
    it)."""
    return _POOL.submit(check_rows, *args, **kwargs)

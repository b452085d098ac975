"""How a ``padding`` parameter (schema kind ``"padding"``: a named choice such as ``same``, or
explicit zero padding) reads and is typed in the inspector. Pure Python, no Qt.

Typed forms: a choice (``same``), one number ``p`` (every side), ``rows, cols`` (symmetric)
or ``top, bottom, left, right``. :func:`padding_text` writes a value in the shortest of
these forms; :func:`parse_padding` reads them back into the value the schema stores.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PADDING_HINT", "padding_text", "parse_padding"]

PADDING_HINT = "p, 'rows, cols' or 'top, bottom, left, right'"


def padding_text(value: Any) -> str:
    """``"same"``, ``"1"``, ``"1, 2"`` or ``"0, 1, 2, 1"`` for a stored padding value."""
    if isinstance(value, str) or value is None:
        return "" if value is None else value
    try:
        (top, bottom), (left, right) = value
    except (TypeError, ValueError):
        return str(value)
    if top == bottom == left == right:
        return str(top)
    if top == bottom and left == right:
        return f"{top}, {left}"
    return f"{top}, {bottom}, {left}, {right}"


def parse_padding(text: str, choices) -> tuple[Any, str | None]:
    """``(value, problem)`` for what was typed; ``value`` is a choice or
    ``[[top, bottom], [left, right]]`` (the schema checks the numbers' range)."""
    body = text.strip().strip("()[]").strip()
    if body in (choices or ()):
        return body, None
    parts = [p for p in re.split(r"[\s,x×]+", body) if p]
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        names = "".join(f"{c}, " for c in choices or ())
        return None, f"write {names}{PADDING_HINT} (whole numbers)"
    numbers = [int(p) for p in parts]
    if len(numbers) == 1:
        top = bottom = left = right = numbers[0]
    elif len(numbers) == 2:
        top = bottom = numbers[0]
        left = right = numbers[1]
    elif len(numbers) == 4:
        top, bottom, left, right = numbers
    else:
        return None, f"enter 1, 2 or 4 numbers ({PADDING_HINT})"
    return [[top, bottom], [left, right]], None

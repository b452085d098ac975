"""Project JSON text: reading it safely and writing it readably.

:func:`read_json_file` is the one way a project (or other small JSON settings file) is read:
only regular files (``/dev/zero``, a FIFO with no writer, a folder or a socket each get their
own message instead of an endless read or a hang), with a bounded read, strict UTF-8, and
numbers parsed so that no JSON text can reach an internal error:

* an integer of more than :data:`MAX_INT_DIGITS` digits is refused with the key path it sits
  at (Python would otherwise raise its int-string conversion ``ValueError`` at 4300 digits,
  and no count, size or seed in a project needs more than an int64);
* nesting deeper than :data:`MAX_JSON_DEPTH` is refused (copying and writing such a value
  would overflow Python's stack);
* text holding a lone UTF-16 surrogate (``"\\ud800"``) is refused, since it can be neither
  printed nor saved again as UTF-8.

Every failure is a :class:`ProjectError` naming the file, the key path (or line and column)
and the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.safe_files import read_bounded

__all__ = [
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "ProjectError",
    "dumps_readable",
    "join_key",
    "read_json_file",
]

#: Integers of more digits are refused: every count, size and seed fits in 18 digits
#: (an int64 holds 19), and Python refuses to convert more than 4300.
MAX_INT_DIGITS = 18
#: Objects and lists nested deeper than this are refused (real projects nest about 6 deep).
MAX_JSON_DEPTH = 100


class ProjectError(ValueError):
    """A project file cannot be read: ``file``, ``key`` (a path such as
    ``graph.nodes[2].params``, or empty) and ``problem`` say where and what."""

    def __init__(self, file: str | os.PathLike | None, key: str, problem: str):
        self.file = str(file) if file is not None else None
        self.key = key
        self.problem = problem
        where = ": ".join(part for part in (self.file, key) if part)
        super().__init__(f"{where}: {problem}" if where else problem)


def join_key(prefix: str, key: str) -> str:
    """``prefix`` and a key path below it (``graph`` + ``nodes[2]`` -> ``graph.nodes[2]``)."""
    if not key:
        return prefix
    if not prefix:
        return key
    return f"{prefix}{key}" if key.startswith("[") else f"{prefix}.{key}"


# -- reading -------------------------------------------------------------------------------------


class _HugeInt:
    """Stands in for an integer with too many digits, so the walk can say where it was."""

    __slots__ = ("digits",)

    def __init__(self, digits: str):
        self.digits = digits


def _parse_int(text: str) -> int | _HugeInt:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        return _HugeInt(text)
    return int(text)


def _key_text(path: tuple) -> str:
    key = ""
    for part in path:
        key = join_key(key, f"[{part}]" if isinstance(part, int) else str(part))
    return key


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_values(data: Any, file: Path, check_text: bool) -> None:
    """Refuse huge integers, deep nesting and (when ``check_text``) lone surrogates.

    Iterative, so a value nested deeper than Python's stack is reported, not crashed on.
    """
    stack: list[tuple[Any, tuple]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            items = ()
        if items and len(path) >= MAX_JSON_DEPTH:
            raise ProjectError(
                file,
                _key_text(path[:8]) + " ...",
                f"objects and lists are nested more than {MAX_JSON_DEPTH} deep; no project "
                "needs that (is the file damaged?)",
            )
        for key, item in items:
            if check_text and isinstance(key, str) and _has_surrogate(key):
                raise ProjectError(file, _key_text(path), "a key holds an invalid \\u escape")
            if isinstance(item, _HugeInt):
                shown = item.digits[:12] + "..."
                raise ProjectError(
                    file,
                    _key_text((*path, key)),
                    f"the number {shown} has {len(item.digits.lstrip('-'))} digits; numbers "
                    f"in a project have at most {MAX_INT_DIGITS} (fix or remove the value)",
                )
            if check_text and isinstance(item, str) and _has_surrogate(item):
                raise ProjectError(
                    file,
                    _key_text((*path, key)),
                    "the text holds an invalid \\u escape (a lone UTF-16 surrogate)",
                )
            if isinstance(item, dict | list):
                stack.append((item, (*path, key)))


def read_json_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> Any:
    """Parse a bounded UTF-8 JSON file; every failure is a :class:`ProjectError`."""
    path = Path(path)

    def refuse(problem: str) -> ProjectError:
        # The shared wording names a plain "file"; say which kind the user gave us.
        problem = {
            "file not found": f"no such {what}",
            "is a folder, not a file": f"is a folder, not a {what}",
        }.get(problem, problem)
        return ProjectError(path, "", problem)

    raw = read_bounded(path, max_bytes, refuse, what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProjectError(
            path, "", f"is not UTF-8 text (bad byte at offset {err.start}); is it a {what}?"
        ) from None
    try:
        data = json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError as err:
        raise ProjectError(
            path, "", f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None
    except RecursionError:
        raise ProjectError(
            path,
            "",
            f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels); is the file damaged?",
        ) from None
    if isinstance(data, _HugeInt):
        raise ProjectError(path, "", f"not a {what} (a single huge number)")
    # A lone surrogate can only come from a \u escape: the bytes were valid UTF-8.
    _check_values(data, path, check_text="\\u" in text)
    return data


# -- writing -------------------------------------------------------------------------------------


def dumps_readable(value: Any, indent: int = 0, prefix_len: int = 0, width: int = 100) -> str:
    """JSON with short containers kept on one line (see :meth:`Project.dumps`)."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value:
        return flat
    if indent > 0 and indent + prefix_len + len(flat) + 1 <= width:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            head = json.dumps(str(key), ensure_ascii=False) + ": "
            items.append(pad + head + dumps_readable(item, indent + 2, len(head), width))
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps_readable(item, indent + 2, 0, width) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"

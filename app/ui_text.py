"""Small text helpers the window's parts share: shapes, counts, file stems, error texts."""

from __future__ import annotations

from engine.graph.project import ProjectError

__all__ = ["count_text", "file_stem", "fmt_shape", "project_error_text"]


def fmt_shape(shape) -> str:
    """``(8, 8)``, ``(64,)``, or ``?`` when the shape is unknown."""
    if shape is None:
        return "?"
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def count_text(n: int, word: str) -> str:
    """``1 layer``, ``12,874 params`` (plural by count)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def file_stem(name: str) -> str:
    """A file name from a project name ("Digits CNN" -> "digits_cnn")."""
    stem = "".join(c if c.isalnum() else "_" for c in name.strip().lower()).strip("_")
    return stem or "untitled"


def project_error_text(err: ProjectError) -> str:
    """What a user reads when a project file cannot be opened: the file, where, the problem."""
    where = f"\nAt: {err.key}" if err.key else ""
    file = f"{err.file}" if err.file else "The project"
    return f"{file} could not be opened.{where}\nProblem: {err.problem}"

"""The errors of Keras interop: a file that cannot be imported, a model that cannot be
exported. Both are user errors (``engine.user_errors``): the CLI prints them as one line.

:class:`KerasImportError` lists every problem at once (each layer LayerCanvas cannot
represent, with its name and Keras class), so a user fixes a model in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KerasExportError", "KerasImportError", "LayerIssue"]


@dataclass(frozen=True)
class LayerIssue:
    """One layer of the Keras model that has no LayerCanvas equivalent, and why."""

    layer: str
    class_name: str
    problem: str

    def describe(self) -> str:
        where = f"layer {self.layer!r} ({self.class_name})" if self.layer else self.class_name
        return f"{where}: {self.problem}"


class KerasImportError(ValueError):
    """A Keras file that cannot be imported; ``issues`` names each unsupported layer."""

    def __init__(self, path, problem: str, issues: list[LayerIssue] | tuple = ()):
        self.path = str(path)
        self.problem = problem
        self.issues = list(issues)
        details = "; ".join(issue.describe() for issue in self.issues)
        message = f"cannot import {self.path}: {problem}"
        super().__init__(f"{message}: {details}" if details else message)


class KerasExportError(ValueError):
    """A model that cannot be written as a Keras model (the message names the layer)."""

"""Why an ONNX file could not become a LayerCanvas model: one error listing every problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One operator (or file-level problem) we cannot represent, and where it is."""

    node: str  # the node's name ("" for file-level problems)
    op_type: str
    reason: str

    def describe(self) -> str:
        where = f"node {self.node!r} ({self.op_type})" if self.node else self.op_type
        return f"{where}: {self.reason}"


class OnnxImportError(ValueError):
    """The file cannot be imported; ``issues`` lists every reason, in graph order.

    Raised before anything is built or written, so a refused file leaves nothing behind.
    """

    def __init__(self, message: str, issues: list[Issue] | None = None):
        self.issues = list(issues or [])
        self.headline = message
        if self.issues:
            lines = "\n".join(f"  - {issue.describe()}" for issue in self.issues)
            message = f"{message}\n{lines}"
        super().__init__(message)


class Unsupported(Exception):
    """Raised by an operator's importer: this node has no layer equivalent (``reason``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

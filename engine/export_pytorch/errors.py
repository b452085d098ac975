"""The error a PyTorch export (or a package checkpoint's import) raises for the user's input:
a layer or setting with no faithful PyTorch form, named by node, or a malformed checkpoint."""

from __future__ import annotations

__all__ = ["PyTorchExportError"]


class PyTorchExportError(ValueError):
    """A project that cannot become a PyTorch package, or a checkpoint that cannot come back;
    the message names the node or setting and says what to change."""

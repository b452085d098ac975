"""A project as a standalone PyTorch training package, and that package's checkpoints back.

- :func:`export_pytorch` (:mod:`engine.export_pytorch.exporter`) writes ``model.py`` (the
  graph as an ``nn.Module``), ``train.py`` (DistributedDataParallel under ``torchrun``),
  ``data.py`` with ``data.json`` (the project's data source, read by the package itself;
  :mod:`engine.export_pytorch.data_export`), ``weights.npz`` and the rest; the package
  needs torch and numpy only (Pillow too for an image-folder dataset).
- :func:`read_checkpoint` (:mod:`engine.export_pytorch.checkpoint`) turns a checkpoint the
  package's ``train.py`` wrote back into a project, a model with those weights and the
  run's history.

Layer by layer, the module code and the weight layouts both ways come from one table
(:mod:`engine.export_pytorch.layer_code`). PyTorch itself is never imported here.
"""

from __future__ import annotations

from engine.export_pytorch.errors import PyTorchExportError

__all__ = ["PyTorchExportError", "export_pytorch", "read_checkpoint"]


def export_pytorch(*args, **kwargs):
    from engine.export_pytorch.exporter import export_pytorch as run  # noqa: PLC0415

    return run(*args, **kwargs)


def read_checkpoint(*args, **kwargs):
    from engine.export_pytorch.checkpoint import read_checkpoint as run  # noqa: PLC0415

    return run(*args, **kwargs)

"""Keras interop: Keras 3 ``.keras`` archives and Keras 2 ``.h5`` files in, Keras 3 archives
and readable Keras code out.

- :func:`import_keras` (:mod:`engine.keras_io.importer`): a file becomes a graph document,
  a model with its weights and training settings; nothing in the file is executed.
- :func:`export_keras` (:mod:`engine.keras_io.exporter`): a model becomes a ``.keras``
  archive that ``keras.saving.load_model`` opens, computing the same outputs.
- :func:`keras_code` (:mod:`engine.keras_io.code_export`): a graph document and its training
  settings as a Keras script.

Layer by layer, import and export read one table (:mod:`engine.keras_io.layers`). Keras
itself is never imported: the formats are written and read with ``json``, ``zipfile`` and
``h5py``.
"""

from __future__ import annotations

from engine.keras_io.errors import KerasExportError, KerasImportError, LayerIssue
from engine.keras_io.importer import KerasImport, import_keras

__all__ = [
    "KerasExportError",
    "KerasImport",
    "KerasImportError",
    "LayerIssue",
    "export_keras",
    "import_keras",
    "keras_code",
]


def export_keras(*args, **kwargs):
    from engine.keras_io.exporter import export_keras as run  # noqa: PLC0415

    return run(*args, **kwargs)


def keras_code(*args, **kwargs):
    from engine.keras_io.code_export import keras_code as run  # noqa: PLC0415

    return run(*args, **kwargs)

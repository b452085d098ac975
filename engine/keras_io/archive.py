"""Reading a Keras 3 ``.keras`` archive without trusting it.

A ``.keras`` file is a zip of ``config.json`` (the model's architecture and its compile
arguments), ``metadata.json`` (Keras's version) and ``model.weights.h5`` (the weights). It is
checked exactly as a ``.lcmodel`` is (:class:`engine.model_files.archive.ModelArchive`):
member names are exactly those three (an ``assets/`` folder, which only preprocessing layers
write, is refused), declared sizes are bounded and checked against the file's length before
anything is inflated, and members are inflated in bounded chunks. The weights file is read
into memory and opened by h5py from there (:mod:`engine.keras_io.h5_safe`), so nothing in
the archive is ever written to disk or executed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from engine.keras_io.errors import KerasImportError
from engine.model_files.archive import ModelArchive, ModelFileError

__all__ = ["KerasArchive", "read_keras_archive"]

_KERAS_MEMBERS = re.compile(r"^(?:config\.json|metadata\.json|model\.weights\.h5)$")


class _Archive(ModelArchive):
    member_names = _KERAS_MEMBERS


@dataclass
class KerasArchive:
    """What a ``.keras`` file holds: the parsed JSON members and the weights file's bytes."""

    config: dict
    metadata: dict
    weights: bytes | None


def read_keras_archive(path) -> KerasArchive:
    """The checked contents of the ``.keras`` file at ``path`` (raises
    :class:`KerasImportError` naming the file and the problem)."""
    try:
        with _Archive(path) as archive:
            if not archive.has("config.json"):
                raise KerasImportError(path, "it has no config.json: not a Keras 3 model file")
            config = _json(archive, "config.json", path)
            metadata = _json(archive, "metadata.json", path) if archive.has("metadata.json") else {}
            weights = (
                bytes(archive.read("model.weights.h5")) if archive.has("model.weights.h5") else None
            )
    except ModelFileError as err:
        problem = err.problem.replace("model archive", "Keras archive")
        raise KerasImportError(path, problem) from None
    return KerasArchive(config, metadata, weights)


def _json(archive: ModelArchive, name: str, path) -> dict:
    data = archive.read(name)
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise KerasImportError(path, f"{name} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise KerasImportError(path, f"{name} must hold a JSON object")
    return value

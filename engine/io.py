"""Model files: ``.lcmodel`` archives and weights files, saved atomically and loaded safely.

A model file is ONE zip archive (the seeds' ``tf.train.Saver`` checkpoint, made safe)::

    config.json          {"format": "layercanvas-model", "version": 1,
                          "model": {"class_name": "Sequential" | "Functional", "config": ...},
                          "num_weights": N, "compile": {...} | null,
                          "optimizer": {"state_keys": [...], "iterations": k} | null}
    metadata.json        {"engine_version": ..., "user": model.metadata}
    weights/0000.npy     every weight array in ``model.get_weights()`` order (stored)
    optimizer/0000.npy   the optimizer's state arrays, in ``state_keys`` order (stored)

A weights file (``save_weights``) holds ``manifest.json`` and the ``weights/`` members.

Saving is atomic: the archive is written to a temporary file in the same folder, flushed and
moved over the target with ``os.replace`` (a crash never leaves half a file), and ends with
the mode a plain ``open()`` gives.

Loading never executes code from the file and never allocates what the file merely
declares. In order: the path must be a regular file; the zip directory is checked (names,
sizes, compression ratio: :mod:`engine.model_files.archive`); ``config.json`` is read and
validated; the header of every weights member is read alone (shape, dtype) and its data size
checked against the directory; the model is rebuilt through the layer registry, creating at
most as many weights as those headers hold; each header is compared with the weight its
layer needs; only then is array data read, in chunks bounded by the declared sizes. Anything
wrong raises ONE :class:`ModelFileError` naming the file, the member and the layer. Weights
that are NaN or infinite load, with a :class:`NonFiniteWeightsWarning` naming the layers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from engine.model_files.archive import (
    MAX_MEMBERS,
    ModelArchive,
    ModelFileError,
    json_bytes,
    npy_bytes,
    shown_path,
    write_archive,
)
from engine.model_files.compile_config import (
    Unsaveable,
    compile_config,
    jsonable,
    optimizer_members,
)
from engine.model_files.npy_header import NpyHeader
from engine.models.finite import NonFiniteWeightsWarning, describe_nonfinite, nonfinite_weights
from engine.models.serialization import ModelConfigError, deserialize_model, serialize_model

__all__ = [
    "MODEL_FORMAT",
    "ModelFileError",
    "NonFiniteWeightsWarning",
    "WEIGHTS_FORMAT",
    "load_model",
    "load_weights",
    "model_members",
    "save_model",
    "save_weights",
]

MODEL_FORMAT = "layercanvas-model"
WEIGHTS_FORMAT = "layercanvas-weights"
FORMAT_VERSION = 1


# -- writing ----------------------------------------------------------------------------------


def save_model(model, path, overwrite: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile and optimizer state) to ``path``."""
    write_archive(path, model_members(model), overwrite)


def model_members(model) -> list[tuple[str, bytes]]:
    """The members of ``model``'s ``.lcmodel`` file, as bytes: a snapshot that a writer on
    another thread can put on disk while training changes the weights."""
    import engine  # noqa: PLC0415 - for the version only; `engine` imports this lazily

    if not model.built:
        raise ValueError("the model has no input yet, so it has no weights to save: build it")
    weights = model.get_weights()
    optimizer_entry, state_members = optimizer_members(model)
    config = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "model": serialize_model(model),
        "num_weights": len(weights),
        "compile": compile_config(model),
        "optimizer": optimizer_entry,
    }
    try:
        user = jsonable(dict(model.metadata or {}))
    except Unsaveable as exc:
        raise TypeError(
            f"model.metadata cannot be saved ({exc}): use text, numbers, lists, dicts and arrays"
        ) from None
    metadata = {"engine_version": engine.__version__, "user": user}
    members = [("config.json", json_bytes(config)), ("metadata.json", json_bytes(metadata))]
    members += [(f"weights/{i:04d}.npy", npy_bytes(w)) for i, w in enumerate(weights)]
    members += state_members
    return members


def save_weights(model, path, overwrite: bool = True) -> None:
    """Write only the weights of ``model`` (a zip of ``.npy`` files and a manifest)."""
    weights = model.get_weights()
    manifest = {
        "format": WEIGHTS_FORMAT,
        "version": FORMAT_VERSION,
        "num_weights": len(weights),
        "shapes": [list(w.shape) for w in weights],
        "names": [w.name for w in model.weights],
    }
    members = [("manifest.json", json_bytes(manifest))]
    members += [(f"weights/{i:04d}.npy", npy_bytes(w)) for i, w in enumerate(weights)]
    write_archive(path, members, overwrite)


# -- reading ----------------------------------------------------------------------------------


def load_model(path, compile: bool = True):
    """Read a ``.lcmodel`` file: the model, its weights, and (with ``compile``) its compile
    settings and optimizer state, so ``fit`` continues where it stopped."""
    with ModelArchive(path) as archive:
        model = _guard(path, lambda: _load_model(archive, compile))
    _warn_if_nonfinite(path, model)
    return model


def load_weights(model, path) -> None:
    """Read weights written by ``save_weights`` (or the weights of a ``.lcmodel`` file)
    into ``model``, which must have the same architecture."""
    with ModelArchive(path) as archive:
        _guard(path, lambda: _load_weights(archive, model))
    _warn_if_nonfinite(path, model)


def _guard(path, action: Callable[[], Any]) -> Any:
    """Run ``action``; any problem with the file's content becomes a ModelFileError."""
    try:
        return action()
    except ModelFileError:
        raise
    except ModelConfigError as exc:
        raise ModelFileError(path, f"the model configuration is invalid: {exc}") from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelFileError(path, f"the file's content is inconsistent: {exc}") from None


def _warn_if_nonfinite(path, model) -> None:
    found = nonfinite_weights(model)
    if found:
        warnings.warn(
            NonFiniteWeightsWarning(
                f"{shown_path(path)}: the weights of {describe_nonfinite(found)} "
                "are NaN or infinite (the training run that saved them diverged); the model "
                "predicts NaN: retrain it with a smaller learning rate or load an earlier "
                "checkpoint"
            ),
            stacklevel=3,
        )


def _load_model(archive: ModelArchive, compile: bool):
    config = archive.json("config.json")
    _check_format(archive, config, MODEL_FORMAT)
    metadata = archive.json("metadata.json") if archive.has("metadata.json") else {}
    n = _count(archive, config.get("num_weights"), "num_weights")
    names = _numbered(archive, "weights", n)
    headers = [archive.npy_header(name) for name in names]
    # A configuration can ask for any number of weights; the file bounds how many it may
    # create: no more values than its weights members hold bytes (checked before each layer
    # allocates; the exact comparison, layer by layer, follows).
    budget = sum(h.data_bytes for h in headers)
    model = deserialize_model(config.get("model"), param_budget=budget)
    _match(archive, model, names, headers, "")
    model.set_weights([archive.array(name, h) for name, h in zip(names, headers)])
    user = metadata.get("user", {})
    model.metadata = dict(user) if isinstance(user, dict) else {}
    compile_entry = config.get("compile")
    if compile and compile_entry is not None:
        _restore_compile(archive, model, compile_entry, config.get("optimizer"))
    return model


def _load_weights(archive: ModelArchive, model) -> None:
    if archive.has("manifest.json"):
        header = archive.json("manifest.json")
        _check_format(archive, header, WEIGHTS_FORMAT)
    else:
        header = archive.json("config.json")
        _check_format(archive, header, MODEL_FORMAT)
    n = _count(archive, header.get("num_weights"), "num_weights")
    names = _numbered(archive, "weights", n)
    headers = [archive.npy_header(name) for name in names]
    _match(archive, model, names, headers, ": it was saved from a different architecture")
    model.set_weights([archive.array(name, h) for name, h in zip(names, headers)])


def _match(archive, model, names: list[str], headers: list[NpyHeader], hint: str) -> None:
    """Compare each member's declared shape and dtype with the weight its layer needs,
    before any array data is read."""
    slots = [(layer.name, var) for layer in model.layers for var in layer.weights]
    if len(slots) != len(names):
        raise archive.fail(
            f"the file holds {len(names)} weight arrays, but model {model.name!r} has "
            f"{len(slots)}{hint or ': the configuration and the weights disagree'}"
        )
    for name, header, (layer, var) in zip(names, headers, slots):
        if header.dtype.kind != "f":
            raise archive.fail(
                f"{name} holds {header.dtype} values, but layer {layer!r} needs floating-point "
                f"weights for {var.name}: the file is damaged"
            )
        if header.shape != tuple(var.shape):
            raise archive.fail(
                f"{name} has shape {header.shape}, but layer {layer!r} needs {tuple(var.shape)} "
                f"for {var.name}{hint or ': the configuration and the weights disagree'}"
            )


def _restore_compile(archive: ModelArchive, model, compile_entry, optimizer_entry) -> None:
    if not isinstance(compile_entry, dict):
        raise archive.fail("the compile entry must be an object")
    model.compile(
        optimizer=compile_entry.get("optimizer"),
        loss=compile_entry.get("loss"),
        metrics=compile_entry.get("metrics"),
        loss_weights=compile_entry.get("loss_weights"),
        weighted_metrics=compile_entry.get("weighted_metrics"),
    )
    if optimizer_entry is None:
        return
    if not isinstance(optimizer_entry, dict):
        raise archive.fail("the optimizer entry must be an object")
    keys = optimizer_entry.get("state_keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise archive.fail("the optimizer's state_keys must be a list of names")
    names = _numbered(archive, "optimizer", _count(archive, len(keys), "state_keys"))
    # Optimizer state has the shapes of the trainable weights (or is a scalar): no member
    # may declare more values than the largest of them before its data is read.
    largest = max((var.size for var in model.trainable_weights), default=1)
    state = {}
    for key, name in zip(keys, names):
        header = archive.npy_header(name)
        if header.count > max(largest, 1):
            raise archive.fail(
                f"{name} declares {header.describe()} for the optimizer's {key!r}, larger "
                "than any weight of the model: the file is damaged"
            )
        state[key] = archive.array(name, header)
    model.optimizer.set_state(state, model.trainable_weights)


def _numbered(archive: ModelArchive, folder: str, count: int) -> list[str]:
    names = [f"{folder}/{i:04d}.npy" for i in range(count)]
    present = archive.members_under(folder)
    if present != sorted(names):
        extra = sorted(set(present) - set(names))
        missing = sorted(set(names) - set(present))
        what = f"unexpected {extra[0]!r}" if extra else f"{missing[0]!r} is missing"
        raise archive.fail(f"the {folder} in the archive do not match its config: {what}")
    return names


def _count(archive: ModelArchive, value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MEMBERS:
        raise archive.fail(f"{what} must be a count between 0 and {MAX_MEMBERS}, got {value!r}")
    return value


def _check_format(archive: ModelArchive, config: dict, format_name: str) -> None:
    if config.get("format") != format_name:
        raise archive.fail(f"this is not a {format_name} file (format {config.get('format')!r})")
    version = config.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise archive.fail(f"bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise archive.fail(
            f"the file has format version {version}; this LayerCanvas reads up to "
            f"{FORMAT_VERSION}: update LayerCanvas"
        )

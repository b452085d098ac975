"""Model files: ``.lcmodel`` archives, weights files, and safe loading of both.

A model file is ONE zip archive (the seeds' ``tf.train.Saver`` checkpoint, made safe)::

    config.json          {"format": "layercanvas-model", "version": 1,
                          "model": {"class_name": "Sequential" | "Functional", "config": ...},
                          "num_weights": N, "compile": {...} | null,
                          "optimizer": {"state_keys": [...], "iterations": k} | null}
    metadata.json        {"engine_version": ..., "user": model.metadata}
    weights/0000.npy     every weight array in ``model.get_weights()`` order
    optimizer/0000.npy   the optimizer's state arrays, in ``state_keys`` order

Saving is atomic: the archive is written to a temporary file in the same folder, then
moved over the target with ``os.replace``, so a crash never leaves half a file.

Loading never executes code from the file: arrays are read with ``allow_pickle=False``,
member names must be exactly the expected ones (no absolute paths, no ``..``, nothing
extra), member sizes and counts are bounded before anything is read, JSON is validated,
the weights a configuration may create are bounded by what the file holds, and layers are
rebuilt only through the layer registry. Anything wrong — a truncated or tampered file, a
non-zip, a bad member — raises ONE :class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ModelFileError",
    "save_model",
    "load_model",
    "save_weights",
    "load_weights",
    "MODEL_FORMAT",
    "WEIGHTS_FORMAT",
]

MODEL_FORMAT = "layercanvas-model"
WEIGHTS_FORMAT = "layercanvas-weights"
FORMAT_VERSION = 1

# Bounds checked from the archive's directory before any member is read.
MAX_MEMBERS = 50_000
MAX_JSON_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 4 * 2**30
MAX_TOTAL_BYTES = 16 * 2**30

_MEMBER_NAME = re.compile(
    r"^(?:config\.json|metadata\.json|manifest\.json|weights/\d{4,6}\.npy|optimizer/\d{4,6}\.npy)$"
)


class ModelFileError(ValueError):
    """A model or weights file that cannot be read; the message names the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"cannot load {os.fspath(path)!s}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


# -- writing ----------------------------------------------------------------------------------


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)  # (ascontiguousarray makes 0-d 1-d)
    return buffer.getvalue()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=False, allow_nan=False).encode("utf-8")


def _write_atomic(path, members: list[tuple[str, bytes]], overwrite: bool) -> None:
    """Write a zip of ``members`` at ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w") as archive:
                for name, data in members:
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    # Arrays barely compress; JSON does.
                    info.compress_type = (
                        zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
                    )
                    info.external_attr = 0o644 << 16
                    archive.writestr(info, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value):
    """Plain JSON data (names, numbers, lists, dicts) passes; anything else is refused."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray | np.generic):  # e.g. normalisation statistics
        return _jsonable(value.tolist())
    get_config = getattr(value, "get_config", None)
    if get_config is not None:
        return _jsonable(get_config())
    raise _Unsaveable(f"{value!r} cannot be written to a model file")


class _Unsaveable(TypeError):
    """A compile argument (a custom loss or metric function) with no saved form."""


def _saved_form(value, family):
    """A compile argument as JSON that ``family.get`` turns back into the same kind of
    object: names stay names, objects become their config (Keras's ``class_name`` form or
    the family's ``{"name": ...}`` form, whichever the family reads back)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(k): _saved_form(v, family) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_saved_form(v, family) for v in value]
    get_config = getattr(value, "get_config", None)
    if get_config is None:
        raise _Unsaveable(f"{value!r} has no config and cannot be saved")
    config = _jsonable(get_config())
    for candidate in ({"class_name": type(value).__name__, "config": config}, config):
        try:
            rebuilt = family.get(dict(candidate))
        except (ValueError, TypeError, KeyError):
            continue
        if type(rebuilt) is type(value):  # a function of the user's own would not come back
            return candidate
    raise _Unsaveable(f"{value!r} cannot be rebuilt from its config")


def _compile_config(model) -> dict | None:
    from engine import losses, metrics, optimizers  # noqa: PLC0415

    if not getattr(model, "compiled", False) or model.optimizer is None:
        return None
    args = model._compile_args or {}
    try:
        return {
            "optimizer": _saved_form(model.optimizer, optimizers),
            "loss": _saved_form(args.get("loss"), losses),
            "metrics": _saved_form(args.get("metrics"), metrics),
            "loss_weights": _jsonable(args.get("loss_weights")),
        }
    except _Unsaveable:
        # A custom loss or metric function: the model is saved uncompiled, as Keras's
        # load_model(compile=False) would give it; compile it again after loading.
        return None


def _optimizer_members(model) -> tuple[dict | None, list[tuple[str, bytes]]]:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        return None, []
    state = optimizer.get_state()
    keys = list(state)
    members = [
        (f"optimizer/{i:04d}.npy", _npy_bytes(np.asarray(state[k]))) for i, k in enumerate(keys)
    ]
    iterations = getattr(optimizer, "iterations", 0)
    return {"state_keys": keys, "iterations": int(np.asarray(iterations))}, members


def save_model(model, path, overwrite: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile and optimizer state) to ``path``."""
    import engine  # noqa: PLC0415 - for the version only
    from engine.models.serialization import serialize_model  # noqa: PLC0415

    if not model.built:
        raise ValueError("the model has no input yet, so it has no weights to save: build it")
    weights = model.get_weights()
    optimizer_entry, optimizer_members = _optimizer_members(model)
    config = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "model": serialize_model(model),
        "num_weights": len(weights),
        "compile": _compile_config(model),
        "optimizer": optimizer_entry,
    }
    try:
        user = _jsonable(dict(model.metadata or {}))
    except _Unsaveable as exc:
        raise TypeError(
            f"model.metadata cannot be saved ({exc}): use text, numbers, lists, dicts and arrays"
        ) from None
    metadata = {"engine_version": engine.__version__, "user": user}
    members = [("config.json", _json_bytes(config)), ("metadata.json", _json_bytes(metadata))]
    members += [(f"weights/{i:04d}.npy", _npy_bytes(w)) for i, w in enumerate(weights)]
    members += optimizer_members
    _write_atomic(path, members, overwrite)


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
    members = [("manifest.json", _json_bytes(manifest))]
    members += [(f"weights/{i:04d}.npy", _npy_bytes(w)) for i, w in enumerate(weights)]
    _write_atomic(path, members, overwrite)


# -- reading ----------------------------------------------------------------------------------


class _Archive:
    """A zip opened for reading with every member's name and size checked up front."""

    def __init__(self, path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path, "r")
        except FileNotFoundError:
            raise ModelFileError(path, "the file does not exist") from None
        except IsADirectoryError:
            raise ModelFileError(path, "this is a folder, not a model file") from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise ModelFileError(
                path, f"not a valid model archive (truncated or not a zip file: {exc})"
            ) from None
        try:
            self._check_directory()
        except BaseException:
            self.zip.close()
            raise

    def _fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def _check_directory(self) -> None:
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self._fail(f"the archive has {len(infos)} members (at most {MAX_MEMBERS})")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not _MEMBER_NAME.match(name):
                raise self._fail(f"unexpected member {name!r} in the archive")
            if name in self.infos:
                raise self._fail(f"the member {name!r} appears twice")
            if info.flag_bits & 0x1:
                raise self._fail(f"the member {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._fail(f"the member {name!r} uses an unsupported compression")
            limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_ARRAY_BYTES
            if info.file_size > limit:
                raise self._fail(
                    f"the member {name!r} claims {info.file_size:,} bytes, more than the "
                    f"limit of {limit:,}"
                )
            total += info.file_size
            self.infos[name] = info
        if total > MAX_TOTAL_BYTES:
            raise self._fail(
                f"the archive would unpack to {total:,} bytes (limit {MAX_TOTAL_BYTES:,})"
            )

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> _Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self.infos

    def members_under(self, folder: str) -> list[str]:
        return sorted(n for n in self.infos if n.startswith(folder + "/"))

    def declared_bytes(self, folder: str) -> int:
        return sum(self.infos[n].file_size for n in self.members_under(folder))

    def read(self, name: str) -> bytes:
        info = self.infos.get(name)
        if info is None:
            raise self._fail(f"the member {name!r} is missing")
        try:
            with self.zip.open(info) as handle:
                data = handle.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise self._fail(f"the member {name!r} is damaged ({exc})") from None
        if len(data) != info.file_size:
            raise self._fail(f"the member {name!r} does not have its declared size")
        return data

    def json(self, name: str) -> dict:
        data = self.read(name)
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise self._fail(f"{name} is not valid JSON ({exc})") from None
        if not isinstance(value, dict):
            raise self._fail(f"{name} must hold a JSON object")
        return value

    def array(self, name: str) -> np.ndarray:
        data = self.read(name)
        try:
            array = np.lib.format.read_array(
                io.BytesIO(data), allow_pickle=False, max_header_size=10_000
            )
        except (ValueError, OSError, EOFError, TypeError) as exc:
            raise self._fail(f"{name} is not a valid array ({exc})") from None
        if array.dtype.kind not in "biuf":
            raise self._fail(f"{name} holds {array.dtype} data, not numbers")
        return array


def _numbered(archive: _Archive, folder: str, count: int) -> list[str]:
    names = [f"{folder}/{i:04d}.npy" for i in range(count)]
    present = archive.members_under(folder)
    if present != sorted(names):
        extra = sorted(set(present) - set(names))
        missing = sorted(set(names) - set(present))
        what = f"unexpected {extra[0]!r}" if extra else f"{missing[0]!r} is missing"
        raise archive._fail(f"the {folder} in the archive do not match its config: {what}")
    return names


def _count(archive: _Archive, value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MEMBERS:
        raise archive._fail(f"{what} must be a count between 0 and {MAX_MEMBERS}, got {value!r}")
    return value


def _check_header(archive: _Archive, config: dict, format_name: str) -> None:
    if config.get("format") != format_name:
        raise archive._fail(f"this is not a {format_name} file (format {config.get('format')!r})")
    version = config.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise archive._fail(f"bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise archive._fail(
            f"the file has format version {version}; this LayerCanvas reads up to "
            f"{FORMAT_VERSION}: update LayerCanvas"
        )


def _guard(path, action: Callable[[], Any]) -> Any:
    """Run ``action``; any problem with the file's content becomes a ModelFileError."""
    from engine.models.serialization import ModelConfigError  # noqa: PLC0415

    try:
        return action()
    except ModelFileError:
        raise
    except ModelConfigError as exc:
        raise ModelFileError(path, f"the model configuration is invalid: {exc}") from None
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        raise ModelFileError(path, f"the file's content is inconsistent: {exc}") from None


def load_model(path, compile: bool = True):
    """Read a ``.lcmodel`` file: the model, its weights, and (with ``compile``) its compile
    settings and optimizer state, so ``fit`` continues where it stopped."""
    with _Archive(path) as archive:
        return _guard(path, lambda: _load_model(archive, compile))


def _load_model(archive: _Archive, compile: bool):
    from engine.models.serialization import deserialize_model  # noqa: PLC0415

    config = archive.json("config.json")
    _check_header(archive, config, MODEL_FORMAT)
    metadata = archive.json("metadata.json") if archive.has("metadata.json") else {}
    n = _count(archive, config.get("num_weights"), "num_weights")
    names = _numbered(archive, "weights", n)
    # A configuration can ask for any number of weights; the file bounds how many it holds.
    budget = archive.declared_bytes("weights")
    model = deserialize_model(config.get("model"), param_budget=budget)
    weights = [archive.array(name) for name in names]
    expected = model.weights
    if len(weights) != len(expected):
        raise archive._fail(
            f"the file holds {len(weights)} weight arrays, the model needs {len(expected)}"
        )
    for i, (array, var) in enumerate(zip(weights, expected)):
        if tuple(array.shape) != tuple(var.shape):
            raise archive._fail(
                f"weights/{i:04d}.npy has shape {array.shape}, but {var.name} needs {var.shape}"
            )
    model.set_weights(weights)
    user = metadata.get("user", {})
    model.metadata = dict(user) if isinstance(user, dict) else {}
    compile_config = config.get("compile")
    if compile and compile_config is not None:
        _restore_compile(archive, model, compile_config, config.get("optimizer"))
    return model


def _restore_compile(archive: _Archive, model, compile_config, optimizer_entry) -> None:
    if not isinstance(compile_config, dict):
        raise archive._fail("the compile entry must be an object")
    model.compile(
        optimizer=compile_config.get("optimizer"),
        loss=compile_config.get("loss"),
        metrics=compile_config.get("metrics"),
        loss_weights=compile_config.get("loss_weights"),
    )
    if optimizer_entry is None:
        return
    if not isinstance(optimizer_entry, dict):
        raise archive._fail("the optimizer entry must be an object")
    keys = optimizer_entry.get("state_keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise archive._fail("the optimizer's state_keys must be a list of names")
    names = _numbered(archive, "optimizer", _count(archive, len(keys), "state_keys"))
    state = {key: archive.array(name) for key, name in zip(keys, names)}
    model.optimizer.set_state(state, model.trainable_weights)


def load_weights(model, path) -> None:
    """Read weights written by ``save_weights`` (or the weights of a ``.lcmodel`` file)
    into ``model``, which must have the same architecture."""
    with _Archive(path) as archive:
        _guard(path, lambda: _load_weights(archive, model))


def _load_weights(archive: _Archive, model) -> None:
    if archive.has("manifest.json"):
        header = archive.json("manifest.json")
        _check_header(archive, header, WEIGHTS_FORMAT)
    else:
        header = archive.json("config.json")
        _check_header(archive, header, MODEL_FORMAT)
    n = _count(archive, header.get("num_weights"), "num_weights")
    names = _numbered(archive, "weights", n)
    expected = model.weights
    if n != len(expected):
        raise archive._fail(
            f"the file holds {n} weight arrays, but model {model.name!r} has {len(expected)}: "
            "it was saved from a different architecture"
        )
    weights = [archive.array(name) for name in names]
    for i, (array, var) in enumerate(zip(weights, expected)):
        if tuple(array.shape) != tuple(var.shape):
            raise archive._fail(
                f"weights/{i:04d}.npy has shape {array.shape}, but {var.name} needs {var.shape}: "
                "it was saved from a different architecture"
            )
    model.set_weights(weights)

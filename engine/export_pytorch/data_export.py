"""The data part of a PyTorch package: data.json (where the data comes from and the
preprocessing LayerCanvas fitted), split.npz (which samples train and which validate), and
data.npz where the package cannot read the source itself.

Sources (data.json ``kind``): ``keras`` — a downloadable set, read by the package from the
dataset cache; ``files`` — the project's CSV (table or texts), .npz/.npy, image folder or
IDX files, at paths written relative to the package folder; ``builtin`` — data.npz, a
snapshot of the arrays the engine prepared (built-in and generated sets, and any source the
package cannot reproduce, with the ``reason`` in data.json and the README).

:func:`write_package_data` checks its own work: once the files are written it reads the data
back with the package's reader (NumPy only, loaded by path) and compares every label and the
first inputs with the engine's prepared arrays. Any difference, or a reader error, falls back
to data.npz with the reason, so the package never trains on other data than LayerCanvas did.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.safe_files import write_bytes_atomic

__all__ = ["PackageData", "write_package_data", "ragged_module_source"]

KERAS_SETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters")
#: Inputs compared sample by sample when the export checks its reader (labels: all).
CHECKED_SAMPLES = 512
_ENGINE = Path(__file__).resolve().parents[1]
_counter = itertools.count()


@dataclass
class PackageData:
    """What was written: the files, the source in words, and why data.npz stands in (if)."""

    kind: str
    files: list[str]
    description: str
    reason: str | None = None
    requirements: list[str] = field(default_factory=list)


def _npz(arrays: dict, compressed: bool = True) -> bytes:
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def ragged_module_source() -> str:
    """ragged_npz.py: the engine's no-pickle reader of Keras's ragged .npz files and its
    Keras word-id preprocessing, made standalone (one source of truth, copied at export)."""
    reader = (_ENGINE / "datasets" / "npz_reader.py").read_text(encoding="utf-8")
    sequences = (_ENGINE / "datasets" / "sequences.py").read_text(encoding="utf-8")
    line = "from engine.data.errors import DataError\n"
    if line not in reader or "from engine.datasets.npz_reader import Ragged\n" not in sequences:
        raise RuntimeError("engine/datasets changed: update ragged_module_source")
    reader = reader.replace(
        line, 'class DataError(ValueError):\n    """A file that cannot be read as data."""\n'
    )
    tail = sequences.split("from engine.datasets.npz_reader import Ragged\n", 1)[1]
    tail = re.sub(r"^__all__ = \[[^\]]*\]\n", "", tail, flags=re.M)
    head = (
        "# Written by LayerCanvas from engine/datasets/npz_reader.py and sequences.py: it reads\n"
        "# the ragged word-id arrays of Keras's imdb.npz / reuters.npz without unpickling.\n"
    )
    return head + reader + "\n\n# ---- Keras's word-id preprocessing (sequences.py) ----\n" + tail


def _relative(path, out: Path) -> str:
    """``path`` relative to the package folder (absolute where no relative path exists)."""
    target = Path(path).resolve()
    try:
        return Path(os.path.relpath(target, out.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return target.as_posix()


def _csv_source(ds, spec: dict) -> dict:
    from engine.data.importers.columns import column_kind  # noqa: PLC0415
    from engine.data.importers.csv_rows import read_csv_rows  # noqa: PLC0415

    table = read_csv_rows(ds.metadata["source"], spec.get("header", "auto"), spec.get("delimiter"))
    target = ds.metadata["target"]
    t = table.columns.index(target)
    forced = set(spec.get("categorical_columns") or [])
    kinds = ["categorical" if c in (ds.categories or {}) else "numeric" for c in table.columns]
    cells = [row[t] if t < len(row) else "" for row in table.rows]
    kinds[t] = "categorical" if target in forced else column_kind(cells)
    src = {
        "columns": table.columns,
        "header": table.has_header,
        "delimiter": table.delimiter,
        "target_index": t,
        "kinds": kinds,
        "categories": ds.categories or {},
        "categorical": ds.metadata.get("categorical_encoding", "onehot"),
        "skip_bad_rows": bool(spec.get("skip_bad_rows", False)),
        "task": ds.task,
        "target_kind": kinds[t],
        "classes": ds.class_names,
    }
    if ds.task == "classification" and kinds[t] == "numeric":
        src["class_values"] = [float(c) for c in ds.class_names]
    return src


def _text_csv_source(ds, spec: dict) -> dict:
    from engine.data.importers.columns import column_kind  # noqa: PLC0415
    from engine.data.importers.csv_rows import read_csv_rows  # noqa: PLC0415

    meta = ds.metadata
    table = read_csv_rows(meta["source"], spec.get("header", True), spec.get("delimiter"))
    ti, t = table.columns.index(meta["text_column"]), table.columns.index(meta["target"])
    kind = column_kind([row[t] if t < len(row) else "" for row in table.rows])
    src = {
        "columns": table.columns,
        "header": table.has_header,
        "delimiter": table.delimiter,
        "text_index": ti,
        "target_index": t,
        "skip_bad_rows": bool(spec.get("skip_bad_rows", False)),
        "task": ds.task,
        "target_kind": kind,
        "classes": ds.class_names,
        "tokenizer": meta["tokenizer"],
        "vocabulary": ds.vocabulary,
    }
    if ds.task == "classification" and kind == "numeric":
        src["class_values"] = [float(c) for c in ds.class_names]
    return src


def _files_source(ds, spec: dict, out: Path) -> tuple[dict, dict, list[str]]:
    """(data.json ``source``, ``input`` preprocessing, extra requirements) of a file set."""
    fmt = spec["format"]
    meta = ds.metadata
    source = {"format": fmt, "path": _relative(meta["source"], out)}
    inputs: dict = {"dtype": "float32"}
    requirements = []
    if fmt == "csv":
        source.update(_csv_source(ds, spec))
    elif fmt == "text_csv":
        source.update(_text_csv_source(ds, spec))
        inputs["dtype"] = "int64"
    elif fmt in ("npz", "npy"):
        labels = meta.get("labels")
        source.update(
            labels=None if labels is None else _relative(labels, out),
            x_key=meta.get("x_key"),
            y_key=meta.get("y_key"),
            task=ds.task,
        )
        inputs.update(dtype=spec.get("x_dtype", "float32"), layout=spec.get("layout"))
    elif fmt == "images":
        source.update(size=meta["size"], color=meta["color"], classes=ds.class_names)
        inputs.update(scale=255, mean=meta.get("mean"), std=meta.get("std"))
        requirements.append("pillow")
    elif fmt == "idx":
        source["labels"] = _relative(meta["labels"], out)
        inputs["scale"] = 255
    return source, inputs, requirements


def _split(project, setup) -> tuple[dict, bytes]:
    from engine.data.splits import split_indices  # noqa: PLC0415

    data = setup.data
    ds = data.dataset
    options = dict(ds.options)
    if project.training.get("validation_split") is not None:
        options["validation_split"] = float(project.training["validation_split"])
    stratify = options.get("stratify")
    if stratify is None:
        stratify = ds.task == "classification"
    labels = ds.y if stratify and not ds.ordered else None
    train, val, _ = split_indices(
        len(ds), options["validation_split"], options["test_split"], data.seed, labels,
        ds.ordered,
    )  # fmt: skip
    split = {
        "file": "split.npz",
        "samples": len(ds),
        "validation_split": options["validation_split"],
        "test_split": options["test_split"],
        "seed": data.seed,
        "stratify": bool(stratify),
        "ordered": bool(ds.ordered),
    }
    dtype = np.int32 if len(ds) < 2**31 else np.int64
    return split, _npz({"train": train.astype(dtype), "validation": val.astype(dtype)})


def _engine_batch(x: np.ndarray) -> np.ndarray:
    """What the engine's batch loader feeds the model (uint8 -> float32, values kept)."""
    return x.astype(np.float32) if x.dtype == np.uint8 else x


def _check(out: Path, setup) -> str | None:
    """None when the package's reader gives the engine's arrays, else what differs."""
    from engine.datasets.cache import cache_dir  # noqa: PLC0415

    name = f"lc_export_data_sources_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, out / "data_sources.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        x, y, xv, yv, convert, _ = module.load_arrays(out, cache_dir=cache_dir())
    except Exception as err:  # noqa: BLE001 - any failure means: use the snapshot
        return f"the package's reader failed ({type(err).__name__}: {err})"
    data = setup.data
    parts = [("training", x, y, data.train)]
    if (xv is None) != (data.validation is None):
        return "the validation split differs"
    if xv is not None:
        parts.append(("validation", xv, yv, data.validation))
    for what, px, py, ref in parts:
        if len(py) != len(ref.y) or not np.array_equal(np.asarray(py), ref.y):
            return f"the {what} labels differ"
        mine = convert(px[:CHECKED_SAMPLES])
        theirs = _engine_batch(ref.x[:CHECKED_SAMPLES])
        if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
            return f"the {what} inputs are {mine.dtype} {mine.shape}, not {theirs.dtype}"
        if not np.allclose(mine, theirs, rtol=1e-6, atol=1e-6):
            return f"the {what} inputs differ"
    return None


def _snapshot(setup, reason: str | None) -> tuple[dict, dict[str, bytes]]:
    data = setup.data
    arrays = {"x_train": data.train.x, "y_train": data.train.y}
    if data.validation is not None:
        arrays["x_val"], arrays["y_val"] = data.validation.x, data.validation.y
    config = {
        "format": "layercanvas-pytorch-data",
        "version": 1,
        "kind": "builtin",
        "name": data.dataset.name,
        "file": "data.npz",
        # data.npz holds the engine's prepared (normalised) arrays: nothing left to apply.
        "input": {
            "dtype": "int64"
            if data.train.x.dtype.kind in "iu" and data.train.x.dtype != np.uint8
            else "float32"
        },  # fmt: skip
    }
    if reason is not None:
        config["reason"] = reason
    return config, {"data.npz": _npz(arrays)}


def _write(out: Path, config: dict, files: dict[str, bytes]) -> None:
    files = {**files, "data.json": (json.dumps(config, indent=1) + "\n").encode("utf-8")}
    for name, content in files.items():
        write_bytes_atomic(out / name, content)


def _source(project, setup, out: Path):
    """(config, files, requirements, description) reading the source itself, or a reason
    (str) it cannot."""
    ds = setup.data.dataset
    spec = project.dataset
    fmt = spec.get("format")
    name = spec.get("name") if fmt is None else None
    if fmt is None and name not in KERAS_SETS:
        return None
    files: dict[str, bytes] = {}
    requirements: list[str] = []
    if fmt is None:
        from engine.data.builtin import builtin_options  # noqa: PLC0415

        given = {k: v for k, v in spec.items() if k not in ds.options and k != "name"}
        options = {**builtin_options(name), **given}
        source = {"name": name, "options": options}
        text = ds.x.dtype.kind in "iu" and ds.x.dtype != np.uint8
        inputs = {"dtype": "int64" if text else "float32"}
        if name in ("imdb", "reuters"):
            files["ragged_npz.py"] = ragged_module_source().encode("utf-8")
        description = f"the Keras-style set '{name}', read from LayerCanvas's dataset cache"
    else:
        source, inputs, requirements = _files_source(ds, spec, out)
        description = f"the project's {fmt} data, {source['path']}"
    inputs["normalization"] = setup.data.normalization
    split, split_bytes = _split(project, setup)
    files["split.npz"] = split_bytes
    config = {
        "format": "layercanvas-pytorch-data",
        "version": 1,
        "kind": "files" if fmt is not None else "keras",
        "name": ds.name,
        "source": source,
        "input": inputs,
        "split": split,
    }
    return config, files, requirements, description


def write_package_data(project, setup, out: Path) -> PackageData:
    """Write data.json and split.npz (or data.npz) into ``out``, where data_sources.py and
    keras_sets.py already are; check the result (see the module docstring)."""
    found = _source(project, setup, out)
    reason = found if isinstance(found, str) else None
    if found is not None and reason is None:
        config, files, requirements, description = found
        _write(out, config, files)
        reason = _check(out, setup)
        if reason is None:
            return PackageData(config["kind"], sorted([*files, "data.json"]), description,
                               None, requirements)  # fmt: skip
        reason = f"{reason}; data.npz holds the arrays LayerCanvas prepared instead"
        for name in files:
            (out / name).unlink(missing_ok=True)
    config, files = _snapshot(setup, reason)
    _write(out, config, files)
    description = "data.npz, the arrays LayerCanvas prepared (split and normalised)"
    return PackageData("builtin", ["data.json", "data.npz"], description, reason)

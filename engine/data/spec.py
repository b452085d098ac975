"""``load_dataset(spec, base_dir)``: the project file's ``dataset`` dict -> a Dataset.

The dict names a built-in set (``{"name": "moons", "noise": 0.2}``) or a file with its
``format`` (``csv``, ``npz``/``npy``, ``images``, ``idx``, ``text_csv``) and that format's
options; relative paths are taken from ``base_dir`` (the project file's folder). Beside these
sit the pipeline options every dataset accepts — ``validation_split``, ``test_split``,
``seed``, ``stratify``, ``normalization`` and ``augmentation`` — which are validated here and
stored, defaults filled in, on ``dataset.options`` for :func:`engine.data.pipeline.prepare`.
For a synthetic built-in set ``seed`` also seeds the generator, so one number fixes both.
Any key not listed for the format is an error that names it, so typos never pass silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.data.augmentation import ImageDataGenerator
from engine.data.builtin import builtin_options, load_builtin
from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES, resolve_path
from engine.data.importers import (
    read_csv,
    read_idx_dataset,
    read_image_folder,
    read_numpy,
    read_text_csv,
)
from engine.data.normalization import METHODS
from engine.data.splits import check_fractions

__all__ = ["load_dataset", "validate_options", "FORMATS", "PIPELINE_DEFAULTS"]

#: Options every dataset spec may carry, with their defaults.
PIPELINE_DEFAULTS: dict[str, Any] = {
    "validation_split": 0.2,
    "test_split": 0.0,
    "seed": 0,
    "stratify": None,
    "normalization": None,
    "augmentation": None,
}

# format -> (required keys, optional keys, keys holding paths); "format" and "name" (a label)
# are always allowed.
FORMATS: dict[str, tuple[set[str], set[str], set[str]]] = {
    "csv": (
        {"path"},
        {
            "target",
            "header",
            "delimiter",
            "categorical",
            "categorical_columns",
            "task",
            "skip_bad_rows",
        },
        {"path"},
    ),
    "npz": (
        {"path"},
        {"labels", "x_key", "y_key", "layout", "x_dtype", "task"},
        {"path", "labels"},
    ),
    "npy": ({"path", "labels"}, {"layout", "x_dtype", "task"}, {"path", "labels"}),
    "images": ({"path"}, {"size", "color", "max_images", "mean", "std"}, {"path"}),
    "idx": ({"images", "labels"}, set(), {"images", "labels"}),
    "text_csv": (
        {"path", "text_column", "target"},
        {
            "num_words",
            "max_length",
            "lowercase",
            "padding",
            "truncating",
            "header",
            "delimiter",
            "task",
            "skip_bad_rows",
        },
        {"path"},
    ),
}


#: The longest token sequence a text CSV may ask for (``max_length``).
MAX_TEXT_LENGTH = 100_000


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _numbers(v: Any) -> bool:
    return (
        isinstance(v, list)
        and bool(v)
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    )


# What each format option must look like in JSON, checked before any importer sees it, so a
# hand-edited project file gets "num_words must be ..." rather than a TypeError.
_OPTION_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "path": (lambda v: isinstance(v, str) and bool(v), "a file path (text)"),
    "images": (lambda v: isinstance(v, str) and bool(v), "a file path (text)"),
    "labels": (lambda v: isinstance(v, str) and bool(v), "a file path (text)"),
    "target": (lambda v: isinstance(v, str) or _is_int(v), "a column name or 1-based number"),
    "text_column": (lambda v: isinstance(v, str) or _is_int(v), "a column name or number"),
    "header": (lambda v: v in (True, False, "auto"), 'true, false or "auto"'),
    "delimiter": (lambda v: v is None or (isinstance(v, str) and len(v) == 1), "one character"),
    "categorical_columns": (
        lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v),
        "a list of column names",
    ),
    "skip_bad_rows": (lambda v: isinstance(v, bool), "true or false"),
    "lowercase": (lambda v: isinstance(v, bool), "true or false"),
    "num_words": (lambda v: v is None or (_is_int(v) and v >= 3), "an integer >= 3 or null"),
    # Bounded: token ids are padded to (rows, max_length) int64, allocated by numpy.
    "max_length": (
        lambda v: v is None or (_is_int(v) and 1 <= v <= MAX_TEXT_LENGTH),
        f"an integer from 1 to {MAX_TEXT_LENGTH} or null",
    ),
    "max_images": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    # Per-channel normalisation of an image folder (a pre-trained model's expected inputs).
    "mean": (lambda v: _numbers(v), "a list of numbers, one per channel"),
    "std": (lambda v: _numbers(v) and all(x > 0 for x in v), "a list of positive numbers"),
    "size": (
        lambda v: (
            isinstance(v, list | tuple) and len(v) == 2 and all(_is_int(s) and s >= 1 for s in v)
        ),
        "[height, width] in pixels",
    ),
}


def _check_types(args: dict[str, Any], what: str) -> None:
    for key, value in args.items():
        check = _OPTION_TYPES.get(key)
        if check is not None and not check[0](value):
            raise DataError(f"dataset ({what}): '{key}' must be {check[1]}, got {value!r}")


def validate_options(options: dict[str, Any]) -> dict[str, Any]:
    """The pipeline options with defaults filled in, or a DataError for a bad value."""
    out = {**PIPELINE_DEFAULTS, **options}
    check_fractions(out["validation_split"], out["test_split"])
    seed = out["seed"]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise DataError(f"seed must be a non-negative integer or null, got {seed!r}")
    if out["stratify"] not in (None, True, False):
        raise DataError(f"stratify must be true, false or null, got {out['stratify']!r}")
    norm = out["normalization"]
    if norm == "none":
        out["normalization"] = norm = None
    if norm is not None and norm not in METHODS:
        raise DataError(f"normalization must be one of {METHODS} or null, got {norm!r}")
    if out["augmentation"] is not None:
        # Builds (and so fully checks) the generator; the dict itself is what gets stored.
        ImageDataGenerator.from_config(out["augmentation"])
        out["augmentation"] = dict(out["augmentation"])
    return out


def _check_keys(spec: dict[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    unknown = sorted(set(spec) - allowed - set(PIPELINE_DEFAULTS))
    if unknown:
        raise DataError(
            f"dataset: unknown key(s) {', '.join(map(repr, unknown))} for {what}; allowed: "
            + ", ".join(sorted(allowed | set(PIPELINE_DEFAULTS)))
        )
    missing = sorted(required - set(spec))
    if missing:
        raise DataError(f"dataset: {what} needs {', '.join(map(repr, missing))}")


def _load_file(fmt: str, args: dict[str, Any], max_bytes: int) -> Dataset:
    readers: dict[str, Callable[..., Dataset]] = {
        "csv": read_csv,
        "npz": read_numpy,
        "npy": read_numpy,
        "images": read_image_folder,
        "text_csv": read_text_csv,
    }
    if fmt == "idx":
        return read_idx_dataset(args["images"], args["labels"], max_bytes=max_bytes)
    return readers[fmt](**args, max_bytes=max_bytes)


def load_dataset(
    spec: dict[str, Any],
    base_dir: str | Path | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Load the dataset a project file describes; see the module docstring for the keys."""
    if not isinstance(spec, dict):
        raise DataError(f"dataset must be a JSON object (dict), got {type(spec).__name__}")
    options = validate_options({k: spec[k] for k in PIPELINE_DEFAULTS if k in spec})
    rest = {k: v for k, v in spec.items() if k not in PIPELINE_DEFAULTS}
    fmt = rest.pop("format", None)
    if fmt is None:
        if "name" not in rest:
            raise DataError(
                "dataset: give either 'name' (a built-in set such as 'digits') or 'format' "
                f"(one of {', '.join(FORMATS)}) with a 'path'"
            )
        name = rest.pop("name")
        allowed = set(builtin_options(name))  # raises for an unknown name
        _check_keys(rest, allowed, set(), f"built-in dataset {name!r}")
        if "seed" in allowed and options["seed"] is not None:
            rest["seed"] = options["seed"]  # one seed draws a synthetic set and splits it
        ds = load_builtin(name, **rest)
    else:
        if fmt not in FORMATS:
            raise DataError(f"dataset: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        label = rest.pop("name", None)
        required, optional, path_keys = FORMATS[fmt]
        if fmt == "idx" and "path" in rest and "images" not in rest:
            rest["images"] = rest.pop("path")  # DESIGN.md's {"format": "idx", "path": ...}
        _check_keys(rest, required | optional, required, f"format {fmt!r}")
        _check_types(rest, f"format {fmt!r}")
        args = {k: resolve_path(v, base_dir) if k in path_keys else v for k, v in rest.items()}
        if fmt == "images" and "size" in args:
            args["size"] = tuple(args["size"]) if isinstance(args["size"], list) else args["size"]
        ds = _load_file(fmt, args, max_bytes)
        if label is not None:
            ds.name = str(label)
    if options["augmentation"] is not None and ds.x.ndim != 4:
        raise DataError(
            f"dataset '{ds.name}': augmentation applies to images (N, C, H, W); this data has "
            f"input shape {ds.input_shape}"
        )
    if options["normalization"] is not None and ds.x.dtype.kind != "f":
        raise DataError(
            f"dataset '{ds.name}': normalization '{options['normalization']}' cannot apply to "
            f"{ds.x.dtype} inputs (token ids); remove it"
        )
    ds.options = options
    ds.metadata = {**ds.metadata, "spec": dict(spec)}
    return ds

"""Pre-trained models shipped with LayerCanvas: a small ``keras.applications``.

::

    import engine
    engine.applications.list_pretrained()      # {"digits04_cnn": "Small CNN for ...", ...}
    model = engine.applications.load_pretrained("digits04_cnn")          # the classifier
    base = engine.applications.load_pretrained("digits04_cnn", include_top=False, cut_at="flatten")
    base.trainable = False                     # freeze it, then put a new head on it:
    h = engine.layers.Dense(64, activation="relu", name="new_features")(base.outputs[0])
    y = engine.layers.Dense(5, activation="softmax", name="digits59")(h)
    model = engine.Model(base.inputs[0], y)    # compile and fit on the new task

``include_top=False`` cuts after the model's feature layer (``"features"``, just before the
classification head) unless ``cut_at`` names another layer; ``cut_at="flatten"`` keeps only
the convolutional base, which is what transfers from the digits 0-4 to the digits 5-9 (the
64 "features" are too specific to 0-4; see ``resources/pretrained/README.md``, and
:mod:`engine.models.surgery` for freezing and new heads).

The models were trained by LayerCanvas's own engine with
``python -m resources.pretrained.train_pretrained``, which writes each one as ``NAME.lcmodel``
and ``NAME.onnx`` plus ``manifest.json`` (description, dataset, classes, accuracy, input shape,
normalisation, and each file's size and SHA-256). The folder is ``$LAYERCANVAS_PRETRAINED_DIR``
when that is set, otherwise ``resources/pretrained`` beside the ``engine`` package (a source
checkout or an editable install). Loading checks the file against the manifest first, so a
damaged or replaced file is refused with one clear :class:`PretrainedError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from engine.safe_files import read_bounded, regular_file_problem

__all__ = [
    "ENV_VAR",
    "PretrainedError",
    "list_pretrained",
    "load_pretrained",
    "pretrained_dir",
    "pretrained_info",
    "pretrained_path",
]

ENV_VAR = "LAYERCANVAS_PRETRAINED_DIR"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "layercanvas-pretrained"
FILE_KINDS = ("lcmodel", "onnx")
MAX_MANIFEST_BYTES = 2**20  # a manifest lists a few models; anything larger is not one
_HASH_CHUNK = 2**20


class PretrainedError(ValueError):
    """A pre-trained model that cannot be found, or whose file fails its integrity check."""


def pretrained_dir() -> Path:
    """The folder holding ``manifest.json`` and the model files."""
    override = os.environ.get(ENV_VAR)
    if override:
        folder = Path(override).expanduser()
        if not (folder / MANIFEST).is_file():
            raise PretrainedError(f"{ENV_VAR}={override}: no {MANIFEST} in that folder")
        return folder
    folder = Path(__file__).resolve().parents[1] / "resources" / "pretrained"
    if not (folder / MANIFEST).is_file():
        raise PretrainedError(
            f"the pre-trained models were not found in {folder}; run LayerCanvas from its "
            f"source folder (or an editable install), or set {ENV_VAR} to a folder with "
            f"{MANIFEST} (python -m resources.pretrained.train_pretrained --out FOLDER)"
        )
    return folder


def _manifest() -> tuple[Path, dict[str, Any]]:
    folder = pretrained_dir()
    path = folder / MANIFEST
    raw = read_bounded(
        path, MAX_MANIFEST_BYTES, lambda problem: PretrainedError(f"{path} {problem}"), "manifest"
    )
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise PretrainedError(f"{path} cannot be read: {err}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise PretrainedError(f"{path} is not a {MANIFEST_FORMAT} manifest")
    if not isinstance(data.get("models"), dict):
        raise PretrainedError(f"{path}: 'models' must be an object")
    return folder, data["models"]


def list_pretrained() -> dict[str, str]:
    """Names of the shipped models, each with its one-paragraph description."""
    _, models = _manifest()
    return {name: str(entry.get("description", "")) for name, entry in sorted(models.items())}


def pretrained_info(name: str) -> dict[str, Any]:
    """Everything the manifest says about ``name`` (a copy): dataset, classes, accuracy,
    input shape, normalisation, feature and head layer names, files."""
    _, models = _manifest()
    return copy.deepcopy(_entry(models, name))


def _entry(models: dict, name: str) -> dict:
    entry = models.get(name) if isinstance(name, str) else None
    if not isinstance(entry, dict):
        known = ", ".join(sorted(models)) or "none"
        raise PretrainedError(f"no pre-trained model named {name!r}; available: {known}")
    return entry


def pretrained_path(name: str, kind: str = "lcmodel", verify: bool = True) -> Path:
    """The path of ``name``'s ``.lcmodel`` (``kind="lcmodel"``) or ``.onnx`` file, after
    checking its size and SHA-256 against the manifest (``verify``)."""
    if kind not in FILE_KINDS:
        raise PretrainedError(f"kind must be one of {FILE_KINDS}, got {kind!r}")
    folder, models = _manifest()
    entry = _entry(models, name)
    record = (entry.get("files") or {}).get(kind)
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        raise PretrainedError(f"the manifest lists no {kind} file for {name!r}")
    file_name = record["path"]
    if Path(file_name).name != file_name or file_name in ("", ".", ".."):
        raise PretrainedError(f"the manifest's {kind} file for {name!r} must be a plain name")
    path = folder / file_name
    problem = "is missing" if not path.exists() else regular_file_problem(path)
    if problem is not None:  # a folder, a FIFO or a device in its place is refused too
        raise PretrainedError(f"{path} {problem} (listed in {folder / MANIFEST})")
    if verify:
        _check_file(path, record)
    return path


def _check_file(path: Path, record: dict) -> None:
    size = path.stat().st_size
    if size != record.get("bytes"):
        raise PretrainedError(
            f"{path} has {size:,} bytes, the manifest says {record.get('bytes')}: the file is "
            "damaged or was replaced; restore it or retrain it with train_pretrained.py"
        )
    if _sha256(path, size) != record.get("sha256"):
        raise PretrainedError(
            f"{path} does not match the SHA-256 in the manifest: the file is damaged or was "
            "replaced; restore it or retrain it with train_pretrained.py"
        )


def _sha256(path: Path, size: int) -> str | None:
    """The file's SHA-256, read in chunks and never past ``size`` + 1 bytes (None when the
    file changed size meanwhile)."""
    digest = hashlib.sha256()
    seen = 0
    try:
        with open(path, "rb") as handle:
            while seen <= size:
                chunk = handle.read(min(_HASH_CHUNK, size + 1 - seen))
                if not chunk:
                    break
                digest.update(chunk)
                seen += len(chunk)
    except OSError as err:
        raise PretrainedError(f"{path} cannot be read: {err.strerror or err}") from None
    return digest.hexdigest() if seen == size else None


def load_pretrained(name: str, include_top: bool = True, cut_at: str | None = None):
    """The pre-trained model ``name`` as an ``engine.Model`` (uncompiled, every layer
    trainable).

    ``include_top=False`` gives a feature extractor instead: the model cut after
    ``cut_at`` (by default the manifest's feature layer, the one before the classification
    head), a Functional model sharing the trained layers, ready for a new head
    (:func:`engine.models.surgery.replace_head` does the cut and the new head in one step).
    """
    from engine.io import load_model  # noqa: PLC0415 - keeps `import engine` light
    from engine.models.surgery import feature_extractor  # noqa: PLC0415

    if include_top and cut_at is not None:
        raise ValueError("cut_at= applies with include_top=False")
    path = pretrained_path(name, "lcmodel")
    model = load_model(path, compile=False)
    if include_top:
        return model
    layer = cut_at if cut_at is not None else pretrained_info(name).get("feature_layer")
    if not isinstance(layer, str):
        raise PretrainedError(f"the manifest names no feature layer for {name!r}")
    extractor = feature_extractor(model, layer, name=f"{name}_{layer}")
    extractor.metadata = {k: v for k, v in model.metadata.items() if k != "class_names"}
    return extractor

"""Reading the project's data as LayerCanvas reads it, with NumPy alone (data.py wraps the
result for PyTorch).

data.json says where the data comes from (``kind``):

- ``builtin``: data.npz, the arrays LayerCanvas prepared (built-in and generated sets have
  no file of their own to point at; the same snapshot stands in for any source data.json
  gives a ``reason`` for).
- ``keras``: a Keras-style set read from LayerCanvas's dataset cache (keras_sets.py).
- ``files``: the project's own file(s), at paths relative to this folder: a CSV table, an
  .npz (or two .npy), a folder of images (one sub-folder per class; needs Pillow), IDX
  files, or a CSV of texts (csv_sources.py reads the CSV files).

Then the training / validation split is split.npz's indices (the samples LayerCanvas put in
each), and every batch gets the preprocessing LayerCanvas fitted (``input`` in data.json:
the scaling of 8-bit pixels, per-channel mean and std, the normalisation statistics of the
training split) as it is built, so uint8 images stay uint8 in memory. Nothing is unpickled.
"""

import importlib.util
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _sibling(name):
    """This folder's ``name``.py, loaded by path: never a same-named module from elsewhere
    (the exporter reads packages from its own process)."""
    spec = importlib.util.spec_from_file_location(f"{__name__}_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


keras_sets = _sibling("keras_sets")
csv_sources = _sibling("csv_sources")
DataFileError = csv_sources.DataFileError = keras_sets.DataFileError
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def read_config(folder=HERE):
    path = Path(folder) / "data.json"
    if not path.is_file():
        raise DataFileError(f"{path}: not found; it is written with the package (export again)")
    return json.loads(path.read_text(encoding="utf-8"))


def _file(path, what="data file"):
    path = Path(path)
    if not path.is_file():
        raise DataFileError(
            f"{path}: no such {what}. Put the project's data there (the path is relative to "
            "the package folder, as the project had it), or pass --data PATH"
        )
    return path


# ---- the project's own files -------------------------------------------------------------


def _load_npy(path, what):
    try:
        return np.load(_file(path, what), mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise DataFileError(f"{path}: not a plain numeric .npy file ({err})") from None


def _read_numpy(src, path, labels):
    if src.get("labels") is not None or labels is not None:
        x = _load_npy(path, ".npy file")
        y = np.asarray(_load_npy(labels, "labels .npy file"))
    else:
        path = _file(path, ".npz file")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                x, y = arrays[src["x_key"]], arrays[src["y_key"]]
        except (ValueError, KeyError, OSError) as err:
            raise DataFileError(f"{path}: cannot read x and y from it ({err})") from None
    if y.ndim == 2 and y.shape[1] == 1 and (y.dtype.kind in "biu" or src["task"] != "regression"):
        y = y[:, 0]
    if src["task"] == "classification":
        if y.ndim == 2:  # one-hot rows
            y = y.argmax(axis=1)
        return x, y.astype(np.int64)
    y = y.astype(np.float32)
    return x, y.reshape(-1, 1) if y.ndim == 1 else y


def _read_image(path, src, image_module):
    with image_module.open(path) as img:
        img.load()
        if src["color"] is not None:
            img = img.convert({"grayscale": "L", "rgb": "RGB"}[src["color"]])
        height, width = src["size"]
        if img.size != (width, height):
            img = img.resize((width, height), image_module.Resampling.BILINEAR)
        pixels = np.asarray(img)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.transpose(pixels, (2, 0, 1))


def _read_images(src, root):
    try:
        from PIL import Image
    except ImportError:
        raise DataFileError(
            "reading the project's image folder needs Pillow: pip install pillow"
        ) from None
    root = Path(root)
    if not root.is_dir():
        raise DataFileError(
            f"{root}: no such image folder. Put the project's images there (one sub-folder per "
            "class; the path is relative to the package folder), or pass --data FOLDER"
        )
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if [c.name for c in classes] != src["classes"]:
        raise DataFileError(
            f"{root}: class folders {[c.name for c in classes]}, not the project's {src['classes']}"
        )
    images, labels = [], []
    for label, folder in enumerate(classes):
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                try:
                    images.append(_read_image(p, src, Image))
                except (OSError, ValueError, SyntaxError) as err:
                    raise DataFileError(f"{p}: cannot read this image ({err})") from None
                labels.append(label)
    if not images:
        raise DataFileError(f"{root}: holds no images")
    return np.stack(images), np.array(labels, dtype=np.int64)


def _read_idx(path, labels):
    x = keras_sets.read_idx(_file(path, "IDX images file"))
    y = keras_sets.read_idx(_file(labels, "IDX labels file"))
    x = x[:, None] if x.ndim == 3 else np.moveaxis(x, -1, 1)
    return x, y.astype(np.int64)


def _read_files(src, folder, data, labels):
    path = Path(data) if data is not None else Path(folder) / src["path"]
    if src.get("labels") is not None and labels is None:
        labels = Path(folder) / src["labels"]
    fmt = src["format"]
    if fmt == "csv":
        return csv_sources.read_csv(src, _file(path, "CSV file"))
    if fmt == "text_csv":
        return csv_sources.read_text_csv(src, _file(path, "CSV file"))
    if fmt in ("npz", "npy"):
        return _read_numpy(src, path, labels)
    if fmt == "images":
        return _read_images(src, path)
    if fmt == "idx":
        return _read_idx(path, labels)
    raise DataFileError(f"data.json: unknown file format {fmt!r}")


# ---- split and preprocessing -------------------------------------------------------------


def _apportion(counts, total):
    exact = counts * (total / counts.sum())
    share = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(len(counts)), -(exact - share)))
    for c in order[: total - int(share.sum())]:
        share[c] += 1
    return np.minimum(share, counts)


def split_indices(n, validation_split, test_split, seed, labels=None, ordered=False):
    """(train, validation) indices of ``n`` samples, as LayerCanvas splits them (seeded,
    stratified by ``labels`` when given; contiguous blocks for ordered sets)."""

    def size(fraction):
        return 0 if fraction <= 0 else max(1, round(n * fraction))

    n_val, n_test = size(validation_split), size(test_split)
    if ordered:
        n_train = n - n_val - n_test
        return np.arange(n_train), np.arange(n_train, n_train + n_val)
    rng = np.random.default_rng(seed)
    if labels is None:
        perm = rng.permutation(n)
        return perm[n_val + n_test :], perm[:n_val]
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    per_class = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    test_counts = _apportion(counts, n_test)
    val_counts = _apportion(counts - test_counts, n_val)
    train, val, test = [], [], []
    for members, nt, nv in zip(per_class, test_counts, val_counts):
        test.append(members[:nt])
        val.append(members[nt : nt + nv])
        train.append(members[nt + nv :])
    tr, va, _ = (rng.permutation(np.concatenate(part)) for part in (train, val, test))
    return tr, va


def _split(config, folder, y, notes):
    split = config["split"]
    if len(y) == split["samples"]:
        with np.load(Path(folder) / split["file"], allow_pickle=False) as f:
            return f["train"], f["validation"]
    notes.append(
        f"the data holds {len(y)} samples, not the {split['samples']} split.npz was written "
        "for: split afresh with the project's settings"
    )
    labels = y if split["stratify"] and not split["ordered"] else None
    return split_indices(
        len(y), split["validation_split"], split["test_split"], split["seed"], labels,
        split["ordered"],
    )  # fmt: skip


def make_converter(spec):
    """The function LayerCanvas's preprocessing applies to a batch of raw inputs."""
    layout, dtype = spec.get("layout"), spec["dtype"]
    scale = spec.get("scale")
    mean = None if spec.get("mean") is None else np.array(spec["mean"], np.float32)
    std = None if spec.get("std") is None else np.array(spec["std"], np.float32)
    norm = spec.get("normalization")

    def convert(batch):
        batch = np.asarray(batch)
        if layout == "channels_last":
            batch = np.moveaxis(batch, -1, 1)
        elif layout == "add_channel":
            batch = batch[:, None]
        if dtype == "int64":
            return batch.astype(np.int64)
        batch = batch.astype(np.float32)
        if scale is not None:
            batch = batch / np.float32(scale)
        if mean is not None:
            batch = batch - mean.reshape(-1, 1, 1)
        if std is not None:
            batch = batch / std.reshape(-1, 1, 1)
        if norm is not None:
            shape = [1] * batch.ndim
            shape[norm["axis"]] = -1
            if norm["method"] == "standardize":
                offset, size = np.asarray(norm["mean"]), np.asarray(norm["std"])
            else:
                offset = np.asarray(norm["min"])
                size = np.asarray(norm["max"]) - offset
            batch = ((batch - offset.reshape(shape)) / size.reshape(shape)).astype(np.float32)
        return np.ascontiguousarray(batch)

    return convert


def _is_snapshot(data):
    """An .npz of prepared arrays (x_train, y_train, x_val, y_val: data.npz's layout) is
    taken as it is, already split and preprocessed, whatever the project's source."""
    if data is None or Path(data).suffix.lower() != ".npz" or not Path(data).is_file():
        return False
    try:
        with np.load(data, allow_pickle=False) as arrays:
            return {"x_train", "y_train", "x_val", "y_val"} <= set(arrays.files)
    except (OSError, ValueError):
        return False


def load_arrays(folder=HERE, data=None, labels=None, cache_dir=None):
    """(x_train, y_train, x_val or None, y_val or None, convert, notes): the raw inputs
    (``convert`` turns a batch of them into what the model takes) and the targets."""
    config = read_config(folder)
    notes = []
    if config["kind"] == "builtin" or _is_snapshot(data):
        path = Path(data) if data is not None else Path(folder) / config["file"]
        path = _file(path, "data file (an .npz with x_train, y_train, x_val, y_val)")
        with np.load(path, allow_pickle=False) as arrays:
            missing = [k for k in ("x_train", "y_train") if k not in arrays.files]
            if missing:
                raise DataFileError(f"{path}: has no {', '.join(missing)} (see data.py)")
            parts = [
                arrays[k] if k in arrays.files else None
                for k in ("x_train", "y_train", "x_val", "y_val")
            ]
        if parts[2] is not None and not len(parts[2]):
            parts[2] = parts[3] = None
        return (*parts, make_converter({"dtype": config["input"]["dtype"]}), notes)
    if config["kind"] == "keras":
        source = config["source"]
        x, y = keras_sets.read_set(source["name"], source["options"], cache_dir, data)
    else:
        x, y = _read_files(config["source"], folder, data, labels)
    train, val = _split(config, folder, y, notes)
    convert = make_converter(config["input"])
    if not len(val):
        return x[train], y[train], None, None, convert, notes
    return _take(x, train), y[train], _take(x, val), y[val], convert, notes


def _take(x, idx):
    """``x[idx]``, a view when ``idx`` is one contiguous block (the image sets' splits)."""
    idx = np.asarray(idx, dtype=np.int64)
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
        return x[int(idx[0]) : int(idx[-1]) + 1]
    return x[idx]

"""The Keras-style sets (mnist, fashion_mnist, cifar10, cifar100, imdb, reuters), read from
LayerCanvas's dataset cache exactly as LayerCanvas reads them: the original archives, never
extracted, never unpickled.

The cache is ``--cache-dir DIR`` when given, else ``$LAYERCANVAS_CACHE_DIR``, else
``~/.cache/layercanvas/datasets``; each set's files sit in ``<cache>/<set>/`` under their
original names (``layercanvas datasets download mnist`` puts them there, or copy them in by
hand). Each reader returns the set's *training* split: images uint8 ``(N, C, H, W)`` (they stay
uint8 until a batch is built), word ids int64 ``(N, maxlen)``, labels int64 ``(N,)``.
"""

import gzip
import importlib.util
import os
import struct
import tarfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: The files of each set, as LayerCanvas's cache holds them.
FILES = {
    "mnist": ["mnist.npz"],
    "fashion_mnist": ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
    "cifar10": ["cifar-10-binary.tar.gz"],
    "cifar100": ["cifar-100-binary.tar.gz"],
    "imdb": ["imdb.npz"],
    "reuters": ["reuters.npz"],
}
_PIXELS = 3 * 32 * 32
#: keras.datasets.imdb / reuters defaults LayerCanvas keeps (only num_words is the project's).
_KERAS_TEXT = {"skip_top": 0, "maxlen": None, "start_char": 1, "oov_char": 2, "index_from": 3}


class DataFileError(Exception):
    """A data file that is missing or unreadable; the message names it and what to do."""


def cache_dir(given=None):
    if given:
        return Path(given).expanduser()
    configured = os.environ.get("LAYERCANVAS_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "layercanvas" / "datasets"


def set_files(name, cache=None, data=None):
    """name -> path of each file of set ``name``: in ``data`` (a folder holding them, or for
    a one-file set that file) when given, else in the cache's folder for the set."""
    if data is not None and Path(data).is_file() and len(FILES[name]) == 1:
        return {FILES[name][0]: Path(data)}
    folder = Path(data) if data is not None else cache_dir(cache) / name
    paths = {f: folder / f for f in FILES[name]}
    missing = [f for f, p in paths.items() if not p.is_file()]
    if missing:
        raise DataFileError(
            f"{', '.join(missing)} not found in {folder}: the '{name}' dataset is not there. "
            f"Download it with 'layercanvas datasets download {name}' (or copy the original "
            f"file(s) into {folder}), or point to them with --cache-dir DIR (a folder holding "
            f"{name}/) or --data FOLDER, or set LAYERCANVAS_CACHE_DIR"
        )
    return paths


def read_idx(path):
    """The array of one (optionally gzipped) IDX file, native byte order."""
    codes = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}
    path = Path(path)
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as f:
            zero1, zero2, code, ndim = f.read(4)
            if zero1 or zero2 or code not in codes or not ndim:
                raise DataFileError(f"{path}: not an IDX file")
            dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
            dtype = np.dtype(codes[code])
            expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
            raw = f.read(expected + 1)
    except (OSError, EOFError, ValueError, struct.error) as err:
        raise DataFileError(f"{path}: not a readable IDX file ({err})") from None
    if len(raw) != expected:
        raise DataFileError(f"{path}: truncated or too long for its header {dims}")
    return np.frombuffer(raw, dtype).reshape(dims).astype(dtype.newbyteorder("="))


def _read_cifar(path, members, label_bytes):
    """Images (N, 3, 32, 32) and label columns (N, label_bytes), uint8, of the batch files
    ``members`` in that order, filled in place: the set is held once, plus one member."""
    record = label_bytes + _PIXELS
    try:
        with tarfile.open(path, "r:gz") as archive:
            infos = {i.name: i for i in archive.getmembers() if i.name in members and i.isfile()}
            missing = [m for m in members if m not in infos]
            if missing:
                raise DataFileError(f"{path}: the archive has no member {', '.join(missing)}")
            bad = [m for m in members if infos[m].size % record]
            if bad:
                raise DataFileError(f"{path}: member {bad[0]} is truncated")
            n = sum(infos[m].size // record for m in members)
            x = np.empty((n, 3, 32, 32), np.uint8)
            y = np.empty((n, label_bytes), np.uint8)
            at = 0
            for m in members:
                raw = archive.extractfile(infos[m]).read(infos[m].size)
                if len(raw) != infos[m].size:
                    raise DataFileError(f"{path}: member {m} is truncated")
                rows = np.frombuffer(raw, np.uint8).reshape(-1, record)
                x[at : at + len(rows)] = rows[:, label_bytes:].reshape(-1, 3, 32, 32)
                y[at : at + len(rows)] = rows[:, :label_bytes]
                at += len(rows)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataFileError(f"{path}: not a readable .tar.gz archive ({err})") from None
    return x, y


def _cifar10(paths):
    members = [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)]
    x, labels = _read_cifar(paths["cifar-10-binary.tar.gz"], members, 1)
    return x, labels[:, 0]


def _cifar100(paths, label_mode="fine"):
    path = paths["cifar-100-binary.tar.gz"]
    x, labels = _read_cifar(path, ["cifar-100-binary/train.bin"], 2)
    return x, labels[:, 0 if label_mode == "coarse" else 1]


def _mnist(paths):
    path = paths["mnist.npz"]
    try:
        with np.load(path, allow_pickle=False) as f:
            return f["x_train"][:, None], f["y_train"]
    except (OSError, ValueError, KeyError) as err:
        raise DataFileError(f"{path}: not a readable MNIST archive ({err})") from None


def _fashion(paths):
    x = read_idx(paths["train-images-idx3-ubyte.gz"])
    y = read_idx(paths["train-labels-idx1-ubyte.gz"])
    return x[:, None], y


def _text(name, paths, num_words=10_000, maxlen=200):
    """The word ids of Keras's ``load_data(num_words=...)`` training split, padded in front
    (or cut to their last ``maxlen`` ids), by the no-pickle reader in ragged_npz.py."""
    spec = importlib.util.spec_from_file_location("lc_ragged_npz", HERE / "ragged_npz.py")
    ragged = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ragged)
    path = paths[f"{name}.npz"]
    try:
        arrays = ragged.read_npz(path)
    except ragged.DataError as err:
        raise DataFileError(str(err)) from None
    rng = np.random.RandomState(113)  # Keras's default seed
    if name == "imdb":
        train = ragged.shuffled(rng, arrays["x_train"], arrays["y_train"])
        parts, _ = ragged.keras_preprocess([train], **_KERAS_TEXT, num_words=num_words)
        seqs, labels = parts[0]
        # (the test split is shuffled after the training one; it does not change it)
    else:
        xs, ys = ragged.shuffled(rng, arrays["x"], arrays["y"])
        parts, _ = ragged.keras_preprocess([(xs, ys)], **_KERAS_TEXT, num_words=num_words)
        xs, ys = parts[0]
        n = int(len(xs) * (1 - 0.2))  # Keras's test_split
        seqs, labels = xs.take(np.arange(n)), np.asarray(ys[:n])
    return ragged.pad_ragged(seqs, maxlen), np.asarray(labels)


def read_set(name, options, cache=None, data=None):
    """(x, y int64) of set ``name``'s training split with the project's ``options``."""
    paths = set_files(name, cache, data)
    if name == "mnist":
        x, y = _mnist(paths)
    elif name == "fashion_mnist":
        x, y = _fashion(paths)
    elif name == "cifar10":
        x, y = _cifar10(paths)
    elif name == "cifar100":
        x, y = _cifar100(paths, **options)
    else:
        x, y = _text(name, paths, **options)
    return x, np.asarray(y).reshape(-1).astype(np.int64)

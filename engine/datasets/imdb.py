"""IMDB movie reviews as word ids, as ``keras.datasets.imdb`` (same options, same numbers).

``load_data(num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
index_from=3)`` returns ``(x_train, y_train), (x_test, y_test)``: 25,000 reviews each, ``x``
an object array of Python lists of word ids (ids ranked by frequency; 0 is padding,
``start_char`` starts each review, ``oov_char`` stands for dropped words), ``y`` int labels
0 (negative) / 1 (positive). The options do exactly what Keras's do (see
:mod:`engine.datasets.sequences`). Keras's ``imdb.npz`` (17.5 MB) is downloaded into the
cache the first time; its ragged arrays are read by :mod:`engine.datasets.npz_reader`, which
never unpickles.

:func:`load_ragged` gives the same data packed (:class:`~engine.datasets.npz_reader.Ragged`),
which is what the project loader pads into ``(N, maxlen)`` token ids.
"""

from __future__ import annotations

import numpy as np

from engine.data.errors import DataError
from engine.datasets.download import ensure_cached
from engine.datasets.npz_reader import Ragged, read_npz
from engine.datasets.sequences import keras_preprocess, shuffled

__all__ = ["load_data", "load_ragged"]

NAME = "imdb"


def _member(arrays: dict, key: str, ragged: bool, path) -> Ragged | np.ndarray:
    value = arrays.get(key)
    if ragged != isinstance(value, Ragged) or value is None:
        raise DataError(f"{path}: '{key}' is missing or has the wrong kind of data")
    return value


def load_ragged(
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download: bool = True,
):
    """As :func:`load_data`, with each ``x`` packed as a Ragged; also the ``num_words``."""
    path = ensure_cached(NAME, download_missing=download)["imdb.npz"]
    arrays = read_npz(path)
    x_train = _member(arrays, "x_train", True, path)
    x_test = _member(arrays, "x_test", True, path)
    y_train = _member(arrays, "y_train", False, path)
    y_test = _member(arrays, "y_test", False, path)
    rng = np.random.RandomState(seed)
    train = shuffled(rng, x_train, y_train)
    test = shuffled(rng, x_test, y_test)
    parts, used = keras_preprocess(
        [train, test],
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    return parts[0], parts[1], used


def load_data(
    num_words=None,
    skip_top=0,
    maxlen=None,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download: bool = True,
):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring."""
    train, test, _ = load_ragged(
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from, download
    )
    return (train[0].to_lists(), train[1]), (test[0].to_lists(), test[1])

"""Reuters newswires as word ids, 46 topics, as ``keras.datasets.reuters`` (same options).

``load_data(num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
oov_char=2, index_from=3)`` returns ``(x_train, y_train), (x_test, y_test)``: ``x`` object
arrays of Python lists of word ids, ``y`` int topic indices 0-45; the 11,228 wires are
shuffled and the last ``test_split`` of them is the test set, as Keras does. Keras's
``reuters.npz`` (2.1 MB) is downloaded into the cache the first time and read without
unpickling (:mod:`engine.datasets.npz_reader`).
"""

from __future__ import annotations

import numpy as np

from engine.datasets.download import ensure_cached
from engine.datasets.imdb import _member
from engine.datasets.npz_reader import read_npz
from engine.datasets.sequences import keras_preprocess, shuffled

__all__ = ["load_data", "load_ragged"]

NAME = "reuters"


def load_ragged(
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download: bool = True,
):
    """As :func:`load_data`, with each ``x`` packed as a Ragged; also the ``num_words``."""
    path = ensure_cached(NAME, download_missing=download)["reuters.npz"]
    arrays = read_npz(path)
    xs = _member(arrays, "x", True, path)
    labels = _member(arrays, "y", False, path)
    rng = np.random.RandomState(seed)
    xs, labels = shuffled(rng, xs, labels)
    (parts, used) = keras_preprocess(
        [(xs, labels)],
        num_words=num_words,
        skip_top=skip_top,
        maxlen=maxlen,
        start_char=start_char,
        oov_char=oov_char,
        index_from=index_from,
    )
    xs, labels = parts[0]
    idx = int(len(xs) * (1 - test_split))
    train = (xs.take(np.arange(idx)), np.asarray(labels[:idx]))
    test = (xs.take(np.arange(idx, len(xs))), np.asarray(labels[idx:]))
    return train, test, used


def load_data(
    num_words=None,
    skip_top=0,
    maxlen=None,
    test_split=0.2,
    seed=113,
    start_char=1,
    oov_char=2,
    index_from=3,
    download: bool = True,
):
    """``(x_train, y_train), (x_test, y_test)``; see the module docstring."""
    train, test, _ = load_ragged(
        num_words, skip_top, maxlen, test_split, seed, start_char, oov_char, index_from, download
    )
    return (train[0].to_lists(), train[1]), (test[0].to_lists(), test[1])

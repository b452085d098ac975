"""The word-id preprocessing of ``keras.datasets.imdb`` / ``reuters``, on packed sequences.

Keras shuffles the sequences with ``np.random.RandomState(seed)``, prepends ``start_char``,
shifts word ids by ``index_from``, drops sequences not shorter than ``maxlen``, and replaces
ids outside ``[skip_top, num_words)`` with ``oov_char`` (or drops them when ``oov_char`` is
None). The functions here do exactly that, step for step (so the numbers match Keras's), but
on :class:`~engine.datasets.npz_reader.Ragged` arrays with numpy instead of Python lists.
"""

from __future__ import annotations

import numpy as np

from engine.data.errors import DataError
from engine.datasets.npz_reader import Ragged

__all__ = ["shuffled", "keras_preprocess", "pad_ragged"]


def shuffled(rng: np.random.RandomState, seqs: Ragged, labels: np.ndarray):
    """Keras's ``indices = arange(n); rng.shuffle(indices)`` applied to both."""
    indices = np.arange(len(seqs))
    rng.shuffle(indices)
    return seqs.take(indices), labels[indices]


def _with_offsets(values: np.ndarray, lengths: np.ndarray) -> Ragged:
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Ragged(values, offsets)


def _prepend(seqs: Ragged, first: int) -> Ragged:
    lengths = seqs.lengths + 1
    out = np.empty(int(lengths.sum()), np.int64)
    starts = seqs.offsets[:-1] + np.arange(len(seqs))
    mask = np.ones(len(out), bool)
    mask[starts] = False
    out[starts] = first
    out[mask] = seqs.values
    return _with_offsets(out, lengths)


def _keep(seqs: Ragged, keep: np.ndarray) -> Ragged:
    """Only the sequences where ``keep`` is true."""
    return seqs.take(np.flatnonzero(keep))


def keras_preprocess(
    parts: list[tuple[Ragged, np.ndarray]],
    *,
    num_words: int | None,
    skip_top: int,
    maxlen: int | None,
    start_char: int | None,
    oov_char: int | None,
    index_from: int,
) -> tuple[list[tuple[Ragged, np.ndarray]], int]:
    """Keras's steps after the shuffle, on each ``(sequences, labels)`` part; also returns
    the ``num_words`` used (Keras's default: the largest id seen)."""
    out = []
    for seqs, labels in parts:
        if start_char is not None:
            seqs = _prepend(Ragged(seqs.values + index_from, seqs.offsets), start_char)
        elif index_from:
            seqs = Ragged(seqs.values + index_from, seqs.offsets)
        if maxlen:
            keep = seqs.lengths < maxlen
            seqs, labels = _keep(seqs, keep), labels[keep]
        out.append((seqs, labels))
    if maxlen and any(len(s) == 0 for s, _ in out):
        raise DataError(
            f"after dropping sequences not shorter than maxlen={maxlen}, none was kept; "
            "increase maxlen"
        )
    if not num_words:
        num_words = int(max(s.values.max() for s, _ in out if len(s.values)))
    result = []
    for seqs, labels in out:
        inside = (seqs.values >= skip_top) & (seqs.values < num_words)
        if oov_char is not None:
            seqs = Ragged(np.where(inside, seqs.values, oov_char), seqs.offsets)
        else:
            # Dropped words shorten their sequence: count what each keeps.
            owner = np.repeat(np.arange(len(seqs)), seqs.lengths)
            lengths = np.bincount(owner[inside], minlength=len(seqs))
            seqs = _with_offsets(seqs.values[inside], lengths)
        result.append((seqs, labels))
    return result, num_words


def pad_ragged(seqs: Ragged, maxlen: int) -> np.ndarray:
    """``(N, maxlen)`` int64, Keras's ``pad_sequences`` defaults: zeros in front, long
    sequences keep their last ``maxlen`` ids."""
    out = np.zeros((len(seqs), maxlen), np.int64)
    lengths = np.minimum(seqs.lengths, maxlen)
    rows = np.repeat(np.arange(len(seqs)), lengths)
    # Position within the kept tail of each sequence, and its column (right-aligned).
    ends = seqs.offsets[1:]
    pos = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    src = np.repeat(ends - lengths, lengths) + pos
    cols = np.repeat(maxlen - lengths, lengths) + pos
    out[rows, cols] = seqs.values[src]
    return out

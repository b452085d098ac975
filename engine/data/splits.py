"""Train / validation / test splits: seeded, stratified for classification.

Stratification keeps every class's share the same in each split (within one sample): for each
split and class the exact share ``n_class * fraction`` is rounded down, then the samples still
owed to the split go to the classes with the largest remainders (Hamilton's method). Datasets
whose samples are in time order (``Dataset.ordered``, e.g. the forecasting set) are split into
contiguous blocks instead, oldest first for training, so the model is never validated on the
past it was trained around.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError

__all__ = ["DatasetSplits", "split_dataset", "split_indices", "check_fractions"]


class DatasetSplits(NamedTuple):
    """The three parts; ``validation`` / ``test`` are ``None`` when their fraction is 0."""

    train: Dataset
    validation: Dataset | None
    test: Dataset | None


def check_fractions(validation_split: float, test_split: float) -> None:
    """Raise :class:`DataError` unless both fractions are in [0, 1) and leave training data."""
    for name, f in (("validation_split", validation_split), ("test_split", test_split)):
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0.0 <= f < 1.0:
            raise DataError(f"{name} must be a number in [0, 1), got {f!r}")
    if validation_split + test_split >= 1.0:
        raise DataError(
            f"validation_split + test_split = {validation_split + test_split:g} leaves no "
            "training data; their sum must be below 1"
        )


def _split_size(n: int, fraction: float) -> int:
    """Samples for a split: the rounded share, at least 1 when a split is asked for at all."""
    if fraction <= 0:
        return 0
    return max(1, round(n * fraction))


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes proportionally to ``counts`` (largest remainders)."""
    exact = counts * (total / counts.sum())
    share = np.floor(exact).astype(np.int64)
    remainder = exact - share
    # Ties broken by class index, so the result is deterministic.
    order = np.lexsort((np.arange(len(counts)), -remainder))
    for c in order[: total - int(share.sum())]:
        share[c] += 1
    return np.minimum(share, counts)


def split_indices(
    n: int,
    validation_split: float = 0.2,
    test_split: float = 0.0,
    seed: int | None = 0,
    labels: np.ndarray | None = None,
    ordered: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (train, validation, test) of ``n`` samples.

    ``labels`` given: stratified by them. ``ordered``: contiguous blocks in order, no shuffle.
    """
    check_fractions(validation_split, test_split)
    n_val, n_test = _split_size(n, validation_split), _split_size(n, test_split)
    if n - n_val - n_test < 1:
        raise DataError(
            f"{n} samples are too few for validation_split={validation_split:g} and "
            f"test_split={test_split:g}: no training sample would be left"
        )
    if ordered:
        idx = np.arange(n)
        n_train = n - n_val - n_test
        return idx[:n_train], idx[n_train : n_train + n_val], idx[n_train + n_val :]
    rng = np.random.default_rng(seed)
    if labels is None:
        perm = rng.permutation(n)
        return perm[n_val + n_test :], perm[:n_val], perm[n_val : n_val + n_test]
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise DataError(f"stratify labels must have shape ({n},), got {labels.shape}")
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    per_class = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    test_counts = _apportion(counts, n_test)
    val_counts = _apportion(counts - test_counts, n_val)
    train, val, test = [], [], []
    for members, nt, nv in zip(per_class, test_counts, val_counts):
        test.append(members[:nt])
        val.append(members[nt : nt + nv])
        train.append(members[nt + nv :])
    # Mix the classes back together so no split is sorted by class.
    tr, va, te = (rng.permutation(np.concatenate(part)) for part in (train, val, test))
    return tr, va, te


def split_dataset(
    ds: Dataset,
    validation_split: float = 0.2,
    test_split: float = 0.0,
    seed: int | None = 0,
    stratify: bool | None = None,
) -> DatasetSplits:
    """Split ``ds``; ``stratify=None`` stratifies classification sets and nothing else."""
    if stratify is None:
        stratify = ds.task == "classification"
    if stratify and ds.task != "classification":
        raise DataError(f"dataset '{ds.name}': only classification sets can be stratified")
    labels = ds.y if stratify and not ds.ordered else None
    tr, va, te = split_indices(len(ds), validation_split, test_split, seed, labels, ds.ordered)
    return DatasetSplits(
        train=ds.subset(tr),
        validation=ds.subset(va) if len(va) else None,
        test=ds.subset(te) if len(te) else None,
    )

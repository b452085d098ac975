"""From a loaded dataset to what training consumes: splits, normalisation, loaders.

:func:`prepare` splits the dataset (seeded, stratified for classes), fits the normalisation
on the training split only and applies it to every split, and keeps the augmentation to hand
to the training loader alone. :class:`PreparedData` then gives the loaders ``fit`` iterates.
Options default to the ones the project file gave (``dataset.options``, see
:func:`engine.data.load_dataset`), and keyword arguments override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.augmentation import ImageDataGenerator
from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.loader import BatchLoader
from engine.data.normalization import apply_normalization, fit_normalization
from engine.data.spec import load_dataset, validate_options
from engine.data.splits import split_dataset

__all__ = ["PreparedData", "prepare", "prepare_dataset"]

_UNSET: Any = object()


@dataclass
class PreparedData:
    """Normalised splits of one dataset, and the settings a trained model must remember.

    ``normalization`` is the JSON-able spec fitted on ``train`` (store it with the model);
    ``augmentation`` is applied by :meth:`train_loader` only.
    """

    dataset: Dataset
    train: Dataset
    validation: Dataset | None
    test: Dataset | None
    normalization: dict[str, Any] | None
    augmentation: ImageDataGenerator | None
    seed: int

    def split(self, name: str) -> Dataset:
        """``"train"``, ``"validation"`` or ``"test"``; an error if that split is empty."""
        if name not in ("train", "validation", "test"):
            raise DataError(f"unknown split {name!r}; use 'train', 'validation' or 'test'")
        part = getattr(self, name)
        if part is None:
            raise DataError(f"dataset '{self.dataset.name}' has no {name} split (its share is 0)")
        return part

    def train_loader(
        self,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int | None = None,
        drop_last: bool = False,
        prefetch: bool = True,
    ) -> BatchLoader:
        """Shuffled, augmented batches of the training split (seed: the dataset's by default)."""
        return BatchLoader(
            self.train.x,
            self.train.y,
            batch_size,
            shuffle=shuffle,
            seed=self.seed if seed is None else seed,
            drop_last=drop_last,
            augment=self.augmentation,
            prefetch=prefetch,
        )

    def eval_loader(self, split: str, batch_size: int, *, prefetch: bool = False) -> BatchLoader:
        """Batches of ``split`` in order, never augmented (for evaluation and prediction)."""
        part = self.split(split)
        return BatchLoader(part.x, part.y, batch_size, shuffle=False, prefetch=prefetch)

    def info(self) -> dict[str, Any]:
        """JSON-able facts for a model file: dataset info, normalisation, split sizes."""
        return {
            **self.dataset.info(),
            "normalization": self.normalization,
            "augmentation": None if self.augmentation is None else self.augmentation.get_config(),
            "split_sizes": {
                "train": len(self.train),
                "validation": 0 if self.validation is None else len(self.validation),
                "test": 0 if self.test is None else len(self.test),
            },
            "seed": self.seed,
        }


def prepare(
    dataset: Dataset,
    *,
    validation_split: float | None = None,
    test_split: float | None = None,
    seed: int | None = _UNSET,
    stratify: bool | None = _UNSET,
    normalization: str | None = _UNSET,
    augmentation: dict[str, Any] | ImageDataGenerator | None = _UNSET,
) -> PreparedData:
    """Split ``dataset``, normalise with training statistics, set up augmentation."""
    given = {
        "validation_split": validation_split,
        "test_split": test_split,
        "seed": seed,
        "stratify": stratify,
        "normalization": normalization,
        "augmentation": augmentation,
    }
    overrides = {k: v for k, v in given.items() if v is not _UNSET and v is not None}
    # None is a real choice for these three ("no normalisation", ...), unlike the splits.
    for key in ("seed", "stratify", "normalization", "augmentation"):
        if given[key] is None:
            overrides[key] = None
    generator = overrides.get("augmentation")
    if isinstance(generator, ImageDataGenerator):
        overrides["augmentation"] = generator.get_config()
    options = validate_options({**dataset.options, **overrides})
    if options["augmentation"] is not None and dataset.x.ndim != 4:
        raise DataError(
            f"dataset '{dataset.name}': augmentation applies to images (N, C, H, W); this data "
            f"has input shape {dataset.input_shape}"
        )
    if options["normalization"] is not None and dataset.normalization is not None:
        raise DataError(f"dataset '{dataset.name}' is already normalised; do not normalise twice")
    # No seed: draw one, and keep it on the result so the run can still be repeated.
    run_seed = options["seed"]
    if run_seed is None:
        run_seed = int(np.random.SeedSequence().entropy % 2**32)
    parts = split_dataset(
        dataset, options["validation_split"], options["test_split"], run_seed, options["stratify"]
    )
    spec = fit_normalization(parts.train.x, options["normalization"])

    def normalised(part: Dataset | None) -> Dataset | None:
        if part is None or spec is None:
            return part
        return part.with_x(apply_normalization(part.x, spec), spec)

    if isinstance(generator, ImageDataGenerator):
        augment = generator
    elif options["augmentation"] is not None:
        augment = ImageDataGenerator.from_config(options["augmentation"])
    else:
        augment = None
    return PreparedData(
        dataset=dataset,
        train=normalised(parts.train),
        validation=normalised(parts.validation),
        test=normalised(parts.test),
        normalization=spec,
        augmentation=augment,
        seed=run_seed,
    )


def prepare_dataset(spec: dict[str, Any], base_dir: str | Path | None = None) -> PreparedData:
    """``prepare(load_dataset(spec, base_dir))``: a project file's dataset, ready to train on."""
    return prepare(load_dataset(spec, base_dir))

"""Data for LayerCanvas: datasets (built-in and imported), splits, normalisation, loaders.

The usual path, as the project-file compiler and ``fit`` use it::

    ds = load_dataset({"name": "digits", "validation_split": 0.2}, base_dir)
    data = prepare(ds)                      # splits, train-only normalisation, augmentation
    for epoch in range(epochs):
        for xb, yb in data.train_loader(batch_size=32).epoch(epoch):
            ...
    model_file["normalization"] = data.normalization   # inference: apply_normalization(x, spec)

Everything here is host-side numpy; moving batches to the device is the caller's business.
Bad input of any kind raises :class:`DataError` (a ``ValueError``) with one clear message.
"""

from engine.data.augmentation import ImageDataGenerator
from engine.data.builtin import BUILTIN_DATASETS, builtin_options, load_builtin
from engine.data.dataset import TASKS, Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES
from engine.data.importers import (
    load_array,
    read_csv,
    read_idx,
    read_idx_dataset,
    read_image_folder,
    read_numpy,
    read_text_csv,
)
from engine.data.loader import BatchLoader
from engine.data.normalization import (
    apply_normalization,
    fit_normalization,
    invert_normalization,
    validate_normalization,
)
from engine.data.pipeline import PreparedData, prepare, prepare_dataset
from engine.data.spec import FORMATS, PIPELINE_DEFAULTS, load_dataset
from engine.data.splits import DatasetSplits, split_dataset, split_indices
from engine.data.tokenizer import TextTokenizer, pad_sequences

__all__ = [
    "BUILTIN_DATASETS",
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "PIPELINE_DEFAULTS",
    "TASKS",
    "BatchLoader",
    "DataError",
    "Dataset",
    "DatasetSplits",
    "ImageDataGenerator",
    "PreparedData",
    "TextTokenizer",
    "apply_normalization",
    "builtin_options",
    "fit_normalization",
    "invert_normalization",
    "load_array",
    "load_builtin",
    "load_dataset",
    "pad_sequences",
    "prepare",
    "prepare_dataset",
    "read_csv",
    "read_idx",
    "read_idx_dataset",
    "read_image_folder",
    "read_numpy",
    "read_text_csv",
    "split_dataset",
    "split_indices",
    "validate_normalization",
]

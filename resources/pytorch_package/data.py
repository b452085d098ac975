"""The project's data, as LayerCanvas prepared it: split into training and validation sets
exactly as the app splits them, and normalised as the project says.

data.npz holds x_train, y_train and (when the project keeps a validation share) x_val,
y_val, already normalised. To train on other data, write an .npz with the same keys and
shapes (inputs channels first: images (N, C, H, W), sequences (N, T, F)) and pass
`--data PATH` to train.py. Loading never unpickles (allow_pickle=False).
"""

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

HERE = Path(__file__).resolve().parent


def _tensor(array, dtype=None):
    """Token ids and class ids as int64, everything else float32 (uint8 pixels keep their
    0-255 values, as LayerCanvas feeds them)."""
    array = np.asarray(array)
    if dtype == "int64" or (dtype is None and array.dtype.kind in "iub"):
        return torch.from_numpy(array.astype(np.int64))
    return torch.from_numpy(array.astype(np.float32))


def load(path=None, input_dtype="float32"):
    """(train set, validation set or None) from ``path`` (default: data.npz here);
    ``input_dtype`` is the model input's (model.INPUT_DTYPES)."""
    path = Path(path) if path is not None else HERE / "data.npz"
    if not path.is_file():
        raise SystemExit(f"{path}: no such data file (pass --data PATH to an .npz of yours)")
    with np.load(path, allow_pickle=False) as arrays:
        missing = [k for k in ("x_train", "y_train") if k not in arrays.files]
        if missing:
            raise SystemExit(f"{path}: has no {', '.join(missing)} (see data.py)")
        train = TensorDataset(_tensor(arrays["x_train"], input_dtype), _tensor(arrays["y_train"]))
        val = None
        if "x_val" in arrays.files and len(arrays["x_val"]):
            val = TensorDataset(_tensor(arrays["x_val"], input_dtype), _tensor(arrays["y_val"]))
    return train, val

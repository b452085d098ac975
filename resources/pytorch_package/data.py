"""The project's data for PyTorch, exactly as LayerCanvas trains on it.

data.json says where it comes from (see data_sources.py and README.md, "Data"): data.npz
(built-in sets), a Keras-style set from LayerCanvas's dataset cache, or the project's own
files at paths relative to this folder. The training / validation split is split.npz's, and
the preprocessing LayerCanvas fitted (pixel scaling, normalisation statistics, category
encodings) is applied as each batch is built, so 8-bit images stay uint8 in memory.

Overrides (train.py passes them on): ``--data PATH`` reads another file (or folder) in the
same format, ``--labels PATH`` the labels file of a two-file format, ``--cache-dir DIR``
the dataset cache for Keras-style sets. An .npz given to ``--data`` that holds x_train,
y_train, x_val and y_val (data.npz's layout) is used as it is, already split and
preprocessed. Loading never unpickles (allow_pickle=False).
"""

import sys
from pathlib import Path

import data_sources
import numpy as np
import torch

HERE = Path(__file__).resolve().parent


class ArrayDataset:
    """Samples of raw arrays, converted to tensors (float32 inputs, or int64 token ids;
    int64 class ids or float32 targets) one batch at a time by ``__getitems__``."""

    def __init__(self, x, y, convert):
        self.x, self.y, self.convert = x, y, convert

    def __len__(self):
        return len(self.y)

    def _targets(self, y):
        y = np.asarray(y)
        return torch.from_numpy(y.astype(np.int64 if y.dtype.kind in "iub" else np.float32))

    def __getitems__(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        xb = torch.from_numpy(self.convert(self.x[idx]))
        yb = self._targets(self.y[idx])
        return list(zip(xb, yb))

    def __getitem__(self, i):
        return self.__getitems__([i])[0]

    def arrays(self, count=None):
        """The first ``count`` samples (all by default) as converted numpy arrays."""
        count = len(self) if count is None else min(count, len(self))
        return self.convert(self.x[:count]), np.asarray(self.y[:count])


def load(path=None, input_dtype="float32", *, labels=None, cache_dir=None, folder=HERE):
    """(train set, validation set or None); ``path``, ``labels`` and ``cache_dir`` override
    data.json's source; ``input_dtype`` is the model input's (model.INPUT_DTYPES)."""
    try:
        x, y, xv, yv, convert, notes = data_sources.load_arrays(folder, path, labels, cache_dir)
    except data_sources.DataFileError as err:
        raise SystemExit(f"data: {err}") from None
    for note in notes:
        print(f"data: {note}", file=sys.stderr)
    if input_dtype == "int64":
        plain = convert

        def convert(batch):
            return plain(batch).astype(np.int64)

    train = ArrayDataset(x, y, convert)
    val = None if xv is None or not len(xv) else ArrayDataset(xv, yv, convert)
    return train, val

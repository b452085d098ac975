"""Importers for data the user brings: one module per file format.

Each returns a :class:`~engine.data.dataset.Dataset` or raises one
:class:`~engine.data.errors.DataError` naming the file and the row, column or member at fault.
"""

from engine.data.importers.csv_table import read_csv
from engine.data.importers.idx import read_idx, read_idx_dataset
from engine.data.importers.image_folder import read_image_folder
from engine.data.importers.numpy_file import load_array, read_numpy
from engine.data.importers.text_csv import read_text_csv

__all__ = [
    "read_csv",
    "read_numpy",
    "load_array",
    "read_image_folder",
    "read_idx",
    "read_idx_dataset",
    "read_text_csv",
]

"""The pieces behind :mod:`engine.io` (model files), one job each.

- :mod:`~engine.model_files.archive` — the ``.lcmodel`` zip container: the limits, the
  checks of its directory before anything is read, bounded member reads, atomic writes;
- :mod:`~engine.model_files.zip_member` — inflating one zip member in chunks, never past
  the size its directory declares;
- :mod:`~engine.model_files.npy_header` — what a ``.npy`` member declares (shape, dtype),
  read from its first bytes only;
- :mod:`~engine.model_files.compile_config` — compile arguments and optimizer state as
  JSON and arrays, and back.

Import the public API from :mod:`engine.io`; this package imports nothing of
:mod:`engine.models`, so the models can call into :mod:`engine.io` without a cycle through it.
"""

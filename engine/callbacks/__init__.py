"""Training callbacks by Keras name (``keras.callbacks``).

``fit`` calls the hooks of every callback through a :class:`CallbackList`:

    on_train_begin(logs)                      on_train_end(logs)
    on_epoch_begin(epoch, logs)               on_epoch_end(epoch, logs)
    on_train_batch_begin(batch, logs)         on_train_batch_end(batch, logs)
    on_test_begin(logs) / on_test_end(logs)   on_test_batch_begin/end(batch, logs)
    on_predict_begin(logs) / on_predict_end(logs), on_predict_batch_begin/end(batch, logs)

Epochs and batches count from 0. ``logs`` is one dict shared by all callbacks of a call,
holding Python floats: at a train batch's end the running means of the epoch so far
(``loss``, metric names, optionally ``size`` = samples in this batch); at an epoch's end
the epoch's values plus ``val_``-prefixed validation values. A callback may add keys (the
learning-rate callbacks add ``learning_rate``) that later callbacks and the history see.

``params`` (``set_params``) describes the run: ``epochs``, ``steps`` (batches per epoch),
``verbose``, and, when known, ``samples`` and ``batch_size``.

The model a callback sees needs ``stop_training`` (set to stop after this epoch),
``optimizer`` (with a ``learning_rate``), ``get_weights()`` / ``set_weights()`` and
``save(path)`` / ``save_weights(path)`` for the callbacks that use them.

The callbacks live in small modules (``base``, ``callback_list``, ``history``, ``progbar``,
``checkpoint``, ``control``); every public name is importable from ``engine.callbacks``.
"""

from __future__ import annotations

from engine.callbacks.base import Callback, LambdaCallback
from engine.callbacks.callback_list import CallbackList
from engine.callbacks.checkpoint import ModelCheckpoint
from engine.callbacks.control import (
    EarlyStopping,
    LearningRateScheduler,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from engine.callbacks.history import CSVLogger, History

# The progress bar's number formats stay importable from here, as before the split.
from engine.callbacks.progbar import ProgbarLogger, _format_duration, _format_value  # noqa: F401

__all__ = [
    "Callback",
    "CallbackList",
    "History",
    "ProgbarLogger",
    "ModelCheckpoint",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "LambdaCallback",
    "CSVLogger",
]

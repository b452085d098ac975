"""An optimizer's configuration and checkpoint state, the same for every optimizer.

``get_config()`` lists the constructor's arguments (Keras's names); ``get_state()`` gives
every slot array as ``"<slot>/<index>"`` (``"m/0"``, ``"v/0"``, ``"average/1"``,
``"gradient_accumulator/0"``, Adafactor's factored ``"r/0"``, ...) beside ``"iterations"``
(the raw counter of calls, as Keras saves it) and ``"learning_rate"`` when it is a float,
all numpy arrays, so a checkpoint (``.lcmodel``) can be written without pickle and
``set_state(state, var_list)`` resumes training bit for bit. Whatever an optimizer keeps
per variable lives in its ``_slots``, so nothing here knows any optimizer by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import backend, schedules


class StateMixin:
    """``get_config``/``from_config`` and ``get_state``/``set_state`` for :class:`Optimizer`."""

    # Arguments every optimizer takes, in Keras's order, after its own.
    BASE_CONFIG = (
        "weight_decay",
        "clipnorm",
        "clipvalue",
        "global_clipnorm",
        "use_ema",
        "ema_momentum",
        "ema_overwrite_frequency",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    )

    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = lr.get_config()
        config = {"name": self.name, "learning_rate": lr}
        config.update({key: getattr(self, key) for key in self.BASE_CONFIG})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything needed to resume: slot arrays ``"<slot>/<index>"``, ``"iterations"``,
        and ``"learning_rate"`` when it is a plain float (it may have been reduced)."""
        state = {"iterations": np.asarray(self._iterations, dtype=np.int64)}
        if not callable(self._learning_rate):
            state["learning_rate"] = np.asarray(self._learning_rate, dtype=np.float64)
        for slot, arrays in self._slots.items():
            for index, array in enumerate(arrays):
                state[f"{slot}/{index}"] = np.array(_host(array), copy=True)
        return state

    def set_state(self, state: dict[str, Any], var_list: Sequence) -> None:
        """Restore ``get_state()``'s output; ``var_list`` lists the variables in the order
        they had then (the model's trainable weights), frozen ones being skipped as before."""
        self._variables, self._index = [], {}
        self._slots = {slot: [] for slot in self.slot_names()}
        self.build(var_list)
        for key, value in state.items():
            if key == "iterations":
                self._iterations = int(np.asarray(value))
                continue
            if key == "learning_rate":
                self.learning_rate = float(np.asarray(value))
                continue
            slot, _, index_text = key.partition("/")
            if slot not in self._slots or not index_text.isdigit():
                raise ValueError(
                    f"optimizer state key {key!r} does not belong to {type(self).__name__} "
                    f"with these options (slots: {', '.join(self._slots) or 'none'})"
                )
            index = int(index_text)
            if index >= len(self._variables):
                raise ValueError(
                    f"optimizer state {key!r} refers to variable {index}, but only "
                    f"{len(self._variables)} trainable variables were given"
                )
            # The slot made for the variable gives the shape and dtype (a factored slot
            # is not shaped like its variable).
            current = self._slots[slot][index]
            host = np.asarray(value)
            if tuple(host.shape) != tuple(current.shape):
                var = self._variables[index]
                raise ValueError(
                    f"optimizer state {key!r} has shape {host.shape}, but variable "
                    f"{getattr(var, 'name', index)} of shape {tuple(var.data.shape)} needs "
                    f"{tuple(current.shape)}"
                )
            array = backend.asarray(np.array(host, copy=True))
            if array.dtype != current.dtype:
                array = backend.xp.astype(array, current.dtype)
            self._slots[slot][index] = array


def _host(array) -> np.ndarray:
    """A slot array on the host. (``backend.to_numpy`` reads ``.data`` first, for engine
    tensors; a CuPy array's ``.data`` is its memory pointer.)"""
    if not isinstance(array, np.ndarray) and callable(getattr(array, "get", None)):
        return array.get()
    return backend.to_numpy(array)

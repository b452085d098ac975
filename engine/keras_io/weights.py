"""Where a layer's weights are in a Keras file, read in Keras's order.

Keras 3 (``model.weights.h5`` in a ``.keras`` archive) stores a layer's variables as
``<group>/vars/0, 1, ...`` where the group is named by class (``layers/dense_1``), and a
recurrent layer's under its cell (``layers/lstm/cell/vars``). Keras 2's full-model ``.h5``
stores them under ``model_weights/<layer name>`` in the order its ``weight_names``
attribute lists.
"""

from __future__ import annotations

import numpy as np

from engine.keras_io.config_graph import KerasCall
from engine.keras_io.h5_safe import H5Weights

__all__ = ["Keras3Weights", "LegacyWeights"]


class Keras3Weights:
    def __init__(self, h5: H5Weights):
        self.h5 = h5

    def arrays(self, call: KerasCall, groups: tuple[str, ...] = ()) -> list[np.ndarray]:
        if call.weights_path is None:
            return []
        if groups:
            out = []
            for group in groups:
                out.extend(self._own(f"{call.weights_path}/{group}"))
            return out
        return self._collect(call.weights_path, 0)

    def _own(self, path: str) -> list[np.ndarray]:
        own = f"{path}/vars"
        names = self.h5.group_names(own)
        return [
            self.h5.array(f"{own}/{n}") for n in sorted((n for n in names if n.isdigit()), key=int)
        ]

    def _collect(self, path: str, depth: int) -> list[np.ndarray]:
        out = []
        own = f"{path}/vars"
        names = self.h5.group_names(own)
        for name in sorted((n for n in names if n.isdigit()), key=int):
            out.append(self.h5.array(f"{own}/{name}"))
        if depth < 4:
            for child in sorted(self.h5.group_names(path)):
                if child not in ("vars", "layers"):
                    out.extend(self._collect(f"{path}/{child}", depth + 1))
        return out


class LegacyWeights:
    def __init__(self, h5: H5Weights):
        self.h5 = h5

    def arrays(self, call: KerasCall, groups: tuple[str, ...] = ()) -> list[np.ndarray]:
        if call.legacy_path is None:
            return []
        group, inner = call.legacy_path
        where = f"model_weights/{group}"
        if not self.h5.has(where):
            return []
        names = self.h5.attr_strings(where, "weight_names")
        if inner is not None:
            names = [n for n in names if inner in n.split("/")[:-1]]
        return [self.h5.array(f"{where}/{name}") for name in names]

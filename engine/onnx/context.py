"""The state an ONNX export builds up: nodes, initializers, and unique tensor names."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class ExportError(ValueError):
    """The model cannot be exported (a layer without a mapping, an unsupported option)."""


class ExportContext:
    """Collects the graph while each layer's mapping appends its nodes."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._names: set[str] = set()
        # Tensors known to hold int64 (token-id inputs), so mappings can skip a Cast.
        self.int64_names: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A tensor name not used yet, based on ``hint``."""
        name, k = hint, 1
        while name in self._names:
            k += 1
            name = f"{hint}_{k}"
        self._names.add(name)
        return name

    def reserve(self, name: str) -> str:
        self._names.add(name)
        return name

    def add_initializer(self, hint: str, array, dtype=np.float32) -> str:
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def add_ints(self, hint: str, values) -> str:
        """An int64 initializer (shapes, axes, slice bounds)."""
        return self.add_initializer(hint, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def add_node(self, op_type: str, inputs, outputs, name: str | None = None, **attrs) -> None:
        self.nodes.append(
            helper.make_node(
                op_type,
                list(inputs),
                list(outputs),
                name=name or self.fresh(f"{op_type}_node"),
                **attrs,
            )
        )

    def add_scalar(self, hint: str, value: float) -> str:
        return self.add_initializer(hint, np.asarray(value, dtype=np.float32))


FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64

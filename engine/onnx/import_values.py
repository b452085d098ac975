"""What an ONNX tensor name stands for while a graph is being imported.

- :class:`Const`: a value known in the file (initializer, ``Constant``, folded shape math);
- :class:`ShapeVec`: a small integer vector computed from tensor shapes, where ``None``
  marks the (unknown) batch size, as PyTorch's ``Shape -> Gather -> Concat -> Reshape``
  chains produce;
- :class:`Sym`: data flowing through the model: an engine ``KerasTensor`` (batch first),
  possibly seen through a transpose (``perm``) that a later node undoes;
- :class:`Pending`: a layer not created yet, because the next node may still change it
  (``Gemm`` + ``Relu`` become one ``Dense(activation="relu")``, ``MatMul`` + ``Add`` one
  ``Dense`` with bias, ``Add(Add(a, b), c)`` one ``Add``). It is created, once, when a node
  that cannot fold into it asks for the data (:meth:`ImportContext.sym`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Const:
    value: np.ndarray


@dataclass
class ShapeVec:
    values: tuple  # ints, with None for the batch size
    scalar: bool = False

    def as_array_or_none(self):
        if any(v is None for v in self.values):
            return None
        arr = np.asarray(self.values, dtype=np.int64)
        return arr.reshape(()) if self.scalar else arr


@dataclass
class Sym:
    tensor: object  # engine KerasTensor
    perm: tuple[int, ...] | None = None  # the ONNX value is transpose(tensor, perm)
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        """Rank including the batch axis."""
        return len(self.tensor.shape) + 1

    @property
    def onnx_shape(self) -> tuple:
        """The ONNX value's shape, ``None`` for the batch size."""
        full = (None, *self.tensor.shape)
        return full if self.perm is None else tuple(full[i] for i in self.perm)


class Pending:
    """A layer that is created only when a consumer needs the data (see module docstring)."""

    node_name: str = ""
    _result: Sym | None = None

    def materialize(self, ctx) -> Sym:
        if self._result is None:
            self._result = self.build(ctx)
        return self._result

    def build(self, ctx) -> Sym:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def onnx_shape(self) -> tuple:
        raise NotImplementedError


POISON = object()  # the output of a node that could not be imported

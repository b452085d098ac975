"""What an ONNX tensor name stands for while a graph is being imported.

- :class:`Const`: a value known in the file (initializer, ``Constant``, folded shape math);
- :class:`ShapeVec`: a small integer vector computed from tensor shapes, where ``None``
  marks the (unknown) batch size, as PyTorch's ``Shape -> Gather -> Concat -> Reshape``
  chains produce;
- :class:`Filled`: a constant-valued tensor shaped by the batch size (zero initial states);
- :class:`Sym`: data flowing through the model: an engine ``KerasTensor`` (batch first),
  possibly seen through a view (a transpose, inserted unit axes) that a later node undoes;
- :class:`Pending`: a layer not created yet, because the next node may still change it
  (``Gemm`` + ``Relu`` become one ``Dense(activation="relu")``, ``MatMul`` + ``Add`` one
  ``Dense`` with bias, ``Add(Add(a, b), c)`` one ``Add``). It is created, once, when a node
  that cannot fold into it asks for the data (:meth:`ImportContext.sym`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    """Data: an engine tensor, possibly seen through a *view* that a later node undoes.

    The ONNX value is ``(batch, *tensor.shape)`` with axes of size 1 inserted at
    ``units`` (positions in the expanded shape), then transposed by ``perm``. Views cost no
    layer: ``Transpose``, ``Unsqueeze`` and the outputs of recurrent operators make them,
    and the ``Transpose`` / ``Squeeze`` / ``Reshape`` that follow usually undo them.
    """

    tensor: object  # engine KerasTensor
    perm: tuple[int, ...] | None = None
    dtype: str = "float32"
    units: tuple[int, ...] = ()

    @property
    def rank(self) -> int:
        """Rank of the ONNX value, batch axis included."""
        return len(self.tensor.shape) + 1 + len(self.units)

    @property
    def is_plain(self) -> bool:
        return self.perm is None and not self.units

    @property
    def onnx_shape(self) -> tuple:
        """The ONNX value's shape, ``None`` for the batch size."""
        full = [None, *self.tensor.shape]
        for u in sorted(self.units):
            full.insert(u, 1)
        return tuple(full) if self.perm is None else tuple(full[i] for i in self.perm)

    def like(self, tensor) -> Sym:
        """The same view of another tensor (the output of an elementwise layer)."""
        return replace(self, tensor=tensor)

    def engine_axis(self, onnx_axis: int) -> int | None:
        """The axis of ``(batch, *tensor.shape)`` that ONNX axis ``onnx_axis`` is, or
        ``None`` for an inserted unit axis."""
        axis = onnx_axis % self.rank
        expanded = self.perm[axis] if self.perm else axis
        if expanded in self.units:
            return None
        return expanded - sum(1 for u in self.units if u < expanded)

    def squeezed(self, onnx_axes) -> Sym | None:
        """The view without ONNX axes ``onnx_axes``, if all are inserted unit axes."""
        rank = self.rank
        perm = self.perm or tuple(range(rank))
        drop = {perm[a % rank] for a in onnx_axes}
        if not drop <= set(self.units):
            return None
        renumber = {old: new for new, old in enumerate(sorted(set(range(rank)) - drop))}
        new_perm = tuple(renumber[p] for p in perm if p not in drop)
        units = tuple(renumber[u] for u in self.units if u not in drop)
        identity = new_perm == tuple(range(len(new_perm)))
        return Sym(self.tensor, None if identity else new_perm, self.dtype, units)

    def unsqueezed(self, onnx_axes) -> Sym | None:
        """The view with unit axes inserted at ``onnx_axes`` (output positions)."""
        if self.perm is not None:
            return None
        out_rank = self.rank + len(onnx_axes)
        inserted = sorted(a % out_rank for a in onnx_axes)
        old = iter(range(self.rank))
        position = {}  # old expanded position -> new position
        for new in range(out_rank):
            if new not in inserted:
                position[next(old)] = new
        units = tuple(sorted([position[u] for u in self.units] + inserted))
        return Sym(self.tensor, None, self.dtype, units)


@dataclass
class Filled:
    """A tensor of one repeated value whose shape involves the batch size (``None``), as
    ``ConstantOfShape(Shape(x) ...)`` makes for PyTorch's zero initial RNN states."""

    shape: tuple
    value: float


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

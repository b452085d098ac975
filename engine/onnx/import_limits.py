"""How much memory one ONNX import may use, checked from declared sizes before allocating.

An ONNX file is small, but the shapes it declares are not: a 200-byte ``ConstantOfShape``
to ``[1, 100000, 100000]`` asks for 37 GiB. Every tensor the importer computes is checked
here from its *declared* shape, with Python integers (no overflow), before numpy sees it:

- :data:`MAX_TENSOR_BYTES` (512 MiB): any one tensor, stored in the file
  (:mod:`engine.onnx.import_file` checks those from their dims before reading), computed by
  constant folding (``ConstantOfShape``, ``Expand``, ``Concat``, ``Gather``, ``Cast``,
  arithmetic on constants, ...) or created as a layer's weights;
- :data:`MAX_FOLDED_TOTAL_BYTES` (1 GiB): everything constant folding computes in one
  import, so many modest nodes cannot add up to an enormous import either;
- :data:`MAX_WEIGHT_BYTES` (2 GiB, as much as the file may store): the weights of every
  layer the import creates, from each layer's weight shapes before it is built (a file can
  make many layers share one stored matrix, or size a layer from a declared input shape);
- :data:`MAX_RANK` axes for any shape, and :data:`MAX_SHAPE_ENTRIES` values for a vector
  read as a shape, axes or slice bounds (read into Python ints, so kept small).

A size, a negative size or a rank past these is refused with :class:`SizeRefused`, which the
graph walk turns into an :class:`~engine.onnx.import_errors.OnnxImportError` naming the node,
its operator, the shape and the limit; the walk stops there, as such a file is damaged or
hostile rather than merely using an operator LayerCanvas lacks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from engine.onnx.import_errors import Unsupported

MIB = 1024**2
MAX_TENSOR_BYTES = 512 * MIB
MAX_TOTAL_BYTES = 2 * 1024**3  # every tensor stored in the file, together
MAX_FOLDED_TOTAL_BYTES = 1024 * MIB
MAX_WEIGHT_BYTES = MAX_TOTAL_BYTES
MAX_RANK = 32
MAX_SHAPE_ENTRIES = 64
MAX_ATTRIBUTE_VALUES = 4096  # ints / floats of one attribute (pads, perm, kernel_shape, ...)


class SizeRefused(Exception):
    """A tensor, shape or vector the file declares is past a limit, or negative; ``reason``
    says which and by how much. ``node`` is the node's label when the raiser knows it
    better than the walk (a layer created later for an earlier node)."""

    def __init__(self, reason: str, node: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.node = node


def size_text(n_bytes: int) -> str:
    """``37.3 GiB``, ``512 MiB``, ``48 bytes``: a byte count for a message."""
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    size = float(n_bytes)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        size /= 1024
        if size < 1024 or unit == "EiB":
            return f"{size:.0f} {unit}" if size == int(size) else f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def shape_text(shape: Iterable) -> str:
    return "[" + ", ".join("N" if d is None else str(d) for d in shape) + "]"


def check_shape(shape, what: str = "the shape") -> tuple[int, ...]:
    """``shape`` as Python ints, refusing a negative size or more than :data:`MAX_RANK`
    axes (``None``, the batch size, is kept)."""
    dims = tuple(None if d is None else int(d) for d in shape)
    if len(dims) > MAX_RANK:
        raise SizeRefused(
            f"declares {what} with {len(dims)} axes; LayerCanvas reads at most {MAX_RANK}"
        )
    for axis, d in enumerate(dims):
        if d is not None and d < 0:
            raise SizeRefused(
                f"declares {what} {shape_text(dims)} with a negative size ({d} at axis "
                f"{axis}); every size must be 0 or more"
            )
    return dims


def tensor_bytes(shape, dtype) -> int:
    """Bytes of a ``dtype`` tensor of ``shape``: exact Python arithmetic, no overflow."""
    return math.prod(int(d) for d in shape) * max(np.dtype(dtype).itemsize, 1)


def check_vector_length(size: int, what: str) -> None:
    """A constant read as shape, axes or slice bounds holds at most
    :data:`MAX_SHAPE_ENTRIES` values (checked before converting it to Python ints)."""
    if size > MAX_SHAPE_ENTRIES:
        raise SizeRefused(
            f"reads {what} from a constant of {size} values; shapes, axes and slice bounds "
            f"have at most {MAX_SHAPE_ENTRIES}"
        )


def broadcast_shape(a, b) -> tuple[int, ...]:
    """ONNX (numpy) multidirectional broadcast of two shapes, on Python ints."""
    a, b = tuple(a), tuple(b)
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            raise Unsupported(f"shapes {shape_text(a)} and {shape_text(b)} do not broadcast")
        out.append(y if x == 1 else x)
    return tuple(out)


class Budget:
    """What one import has computed so far; :meth:`fold` and :meth:`weights` refuse, before
    anything is allocated, the tensor that would pass a limit."""

    def __init__(self):
        self.folded = 0
        self.weights = 0

    def fold(self, shape, dtype, what: str = "tensor") -> None:
        """Account for a tensor constant folding is about to compute."""
        dims = check_shape(shape, f"a {what} of shape")
        dtype = np.dtype(dtype)
        if dtype.kind not in "biufc":
            raise Unsupported(f"a {dtype} constant has no layer equivalent (numbers only)")
        size = tensor_bytes(dims, dtype)
        _check_one(size, f"a {dtype} {what} of shape {shape_text(dims)}", "tensors")
        if self.folded + size > MAX_FOLDED_TOTAL_BYTES:
            raise SizeRefused(
                f"would make a {dtype} {what} of shape {shape_text(dims)} ({size_text(size)}), "
                f"bringing the constants computed while importing to "
                f"{size_text(self.folded + size)}; LayerCanvas computes at most "
                f"{size_text(MAX_FOLDED_TOTAL_BYTES)} in all (the file declares far more "
                "than a model needs; check its shapes)"
            )
        self.folded += size

    def weights_of(self, layer_name: str, specs, node: str) -> None:
        """Account for the float32 weights ``specs`` of a layer about to be built."""
        total = 0
        for spec in specs:
            dims = check_shape(spec.shape, f"weights {spec.name!r} of shape")
            size = tensor_bytes(dims, np.float32)
            _check_one(
                size,
                f"layer {layer_name!r} weights {spec.name!r} of shape {shape_text(dims)}",
                "weights",
                node,
            )
            total += size
        if self.weights + total > MAX_WEIGHT_BYTES:
            raise SizeRefused(
                f"would give layer {layer_name!r} {size_text(total)} of weights, bringing the "
                f"model's weights to {size_text(self.weights + total)}; LayerCanvas imports "
                f"at most {size_text(MAX_WEIGHT_BYTES)} of weights in all",
                node,
            )
        self.weights += total


def _check_one(size: int, described: str, kind: str, node: str | None = None) -> None:
    if size > MAX_TENSOR_BYTES:
        raise SizeRefused(
            f"would make {described}, {size_text(size)}; LayerCanvas makes {kind} of at most "
            f"{size_text(MAX_TENSOR_BYTES)} each while importing (the file declares far more "
            "than a model needs; check its shapes)",
            node,
        )

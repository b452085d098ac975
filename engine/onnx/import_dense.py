"""Importers for ``Gemm`` and ``MatMul`` (+ ``Add`` of a constant bias): ``Dense`` layers.

The layer stays *pending* (:class:`PendingLayer`) until a node that cannot fold into it
needs the data, so ``MatMul -> Add(bias)`` and ``Gemm -> Relu`` each become one ``Dense``.
``Conv2D`` uses the same pending form for its bias and activation.
"""

from __future__ import annotations

import numpy as np

from engine.onnx.import_dot import import_data_matmul
from engine.onnx.import_errors import Unsupported
from engine.onnx.import_registry import attr, imports
from engine.onnx.import_values import Pending, Sym


class PendingLayer(Pending):
    """A ``Dense`` or ``Conv2D`` whose bias and activation may still be folded in."""

    def __init__(
        self, type_name, node_name, source: Sym, config, kernel, bias, out_shape, view=None
    ):
        self.type_name = type_name
        self.view = view  # the output is seen through this transpose (see import_matmul)
        self.node_name = node_name
        self.source = source
        self.config = dict(config)
        self.kernel = kernel
        self.bias = bias
        self.activation = "linear"
        self.out_shape = tuple(out_shape)  # per sample
        self._result = None

    @property
    def onnx_shape(self) -> tuple:
        shape = (None, *self.out_shape)
        return shape if self.view is None else tuple(shape[p] for p in self.view)

    @property
    def bias_shape(self) -> int:
        """The number of bias values: units or filters."""
        return int(self.kernel.shape[-1] if self.type_name == "Dense" else self.kernel.shape[0])

    def can_take_bias(self) -> bool:
        return self.bias is None and self.activation == "linear"

    def with_bias(self, bias: np.ndarray) -> PendingLayer:
        clone = PendingLayer(
            self.type_name,
            self.node_name,
            self.source,
            self.config,
            self.kernel,
            bias,
            self.out_shape,
            self.view,
        )
        return clone

    def with_activation(self, activation: str) -> PendingLayer:
        clone = self.with_bias(self.bias)
        clone.activation = activation
        return clone

    def build(self, ctx) -> Sym:
        weights = [self.kernel] if self.bias is None else [self.kernel, self.bias]
        out = ctx.call_layer(
            self.type_name,
            self.node_name,
            self.source,
            weights=weights,
            activation=self.activation,
            use_bias=self.bias is not None,
            **self.config,
        )
        return Sym(out, self.view)


def as_bias(value: np.ndarray, size: int, axis_from_end: int = 1) -> np.ndarray | None:
    """``value`` as a ``(size,)`` bias if it broadcasts along one axis (else ``None``).

    ``axis_from_end`` says where that axis sits in the broadcast: 1 for Dense (last axis),
    3 for Conv2D's channels in ``(N, C, H, W)``.
    """
    arr = np.asarray(value, dtype=np.float32)
    if arr.size == 1:
        return np.full(size, float(arr.reshape(-1)[0]), np.float32)
    shape = list(arr.shape)
    while shape and shape[0] == 1 and len(shape) > axis_from_end:
        shape.pop(0)
    expected = [size] + [1] * (axis_from_end - 1)
    if shape == expected:
        return arr.reshape(size)
    return None


@imports("Gemm")
def import_gemm(ctx, node):
    if attr(node, "transA", 0):
        raise Unsupported("Gemm with transA=1 transposes the batch axis away")
    sym = ctx.plain(node.input[0])
    if sym.rank != 2:
        raise Unsupported(f"Gemm needs (batch, features) data, got {sym.onnx_shape}")
    b = ctx.float_const(node.input[1], "the weight matrix B")
    if b.ndim != 2:
        raise Unsupported(f"Gemm weight B must be 2-D, got {b.shape}")
    kernel = b.T if attr(node, "transB", 0) else b
    if attr(node, "alpha", 1.0) != 1.0:  # PyTorch writes 1: no copy of a VGG's 400 MB then
        kernel = kernel * np.float32(attr(node, "alpha", 1.0))
    if kernel.shape[0] != sym.onnx_shape[1]:
        raise Unsupported(f"Gemm weight {kernel.shape} does not fit {sym.onnx_shape[1]} features")
    units = kernel.shape[1]
    bias = None
    if ctx.has_input(node, 2):
        c = ctx.const(node.input[2], "the bias C") * np.float32(attr(node, "beta", 1.0))
        bias = as_bias(c, units)
        if bias is None:
            raise Unsupported(
                f"Gemm bias of shape {c.shape} differs between rows; Dense needs one bias per unit"
            )
    ctx.set(
        node.output[0],
        PendingLayer("Dense", ctx.node_label(node), sym, {"units": units}, kernel, bias, (units,)),
    )


@imports("MatMul")
def import_matmul(ctx, node):
    if isinstance(ctx.value(node.input[1]), Sym | Pending):  # data @ data: a batch dot
        import_data_matmul(ctx, node)
        return
    sym, view = ctx.sym(node.input[0]), None
    if sym.perm is not None and not sym.units and sym.rank == 3 and sym.perm[-1] == 2:
        # PyTorch's (steps, batch, features) layout, features last: Dense runs on the
        # engine's (batch, steps, features) tensor and its output is the same view.
        sym, view = Sym(sym.tensor, None, sym.dtype), sym.perm
    else:
        sym = ctx.plain(node.input[0])
    b = ctx.float_const(node.input[1], "the weight matrix (second MatMul input)")
    if b.ndim != 2:
        raise Unsupported(f"MatMul weights must be a 2-D matrix to become Dense, got {b.shape}")
    if sym.rank not in (2, 3):
        raise Unsupported(
            f"MatMul on data of shape {sym.onnx_shape}: Dense takes (batch, features) or "
            "(batch, steps, features)"
        )
    if b.shape[0] != sym.onnx_shape[-1]:
        raise Unsupported(f"MatMul weights {b.shape} do not fit {sym.onnx_shape[-1]} features")
    units = b.shape[1]
    out_shape = (*sym.onnx_shape[1:-1], units)
    ctx.set(
        node.output[0],
        PendingLayer(
            "Dense", ctx.node_label(node), sym, {"units": units}, b, None, out_shape, view
        ),
    )

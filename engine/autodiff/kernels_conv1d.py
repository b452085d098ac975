"""1-D convolution on sequences ``(N, T, F)`` (steps, then features: Keras's layout for
``Conv1D``), forward beside its VJP.

The kernel is ``(filters, F / groups, k)`` (the ONNX/PyTorch layout). With one group the
work stays in the sequence layout, with no transpose of the data: the column matrix
``(N*To, k*F)`` is filled by ``k`` strided slice copies of the (zero-padded) input - one per
kernel tap, each ``(N, To, F)`` - and multiplied by the kernel seen as ``(k*F, filters)``,
which gives the output ``(N*To, filters)`` directly in ``(N, To, filters)`` order. The VJP is
two GEMMs and ``k`` slice additions. Grouped 1-D convolution goes through the grouped 2-D
kernel on a ``(N, F, 1, T)`` view (one transpose each way).

Padding is ``(before, after)`` zeros along time: ``valid`` is ``(0, 0)``, ``same`` is
TensorFlow's (odd element after), ``causal`` is ``((k - 1) * dilation, 0)`` so step ``t``
sees only steps ``<= t``.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff import kernels_conv, ops
from engine.autodiff.kernels_conv_groups import conv2d_grouped
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["conv1d", "resolve_padding_1d"]


def resolve_padding_1d(padding: str, steps: int, k: int, stride: int, dilation: int):
    """``"valid"``, ``"same"`` or ``"causal"`` -> ``(before, after)`` zero steps."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return (k - 1) * dilation, 0
    return kernels_conv.same_padding(steps, k, stride, dilation)


def _taps(k: int, count: int, stride: int, dilation: int):
    for i in range(k):
        yield i, slice(i * dilation, i * dilation + stride * (count - 1) + 1, stride)


def conv1d(
    x,
    kernel,
    bias=None,
    stride: int = 1,
    pads: tuple[int, int] = (0, 0),
    dilation: int = 1,
    groups: int = 1,
    relu: bool = False,
) -> Tensor:
    """``x (N, T, F)`` convolved with ``kernel (filters, F / groups, k)`` plus ``bias``;
    returns ``(N, To, filters)``. Differentiable in all three."""
    x, w = as_tensor(x), as_tensor(kernel)
    b = None if bias is None else as_tensor(bias)
    if x.ndim != 3:
        raise ValueError(f"conv1d expects a batch of sequences (N, T, F), got {x.shape}")
    n, t, f = x.shape
    filters, fg, k = w.shape
    if groups != 1:
        image = ops.reshape(ops.transpose(x, (0, 2, 1)), (n, f, 1, t))
        kernel4 = ops.reshape(w, (filters, fg, 1, k))
        y = conv2d_grouped(
            image, kernel4, b, (1, stride), ((0, 0), tuple(pads)), (1, dilation), groups, relu
        )
        return ops.transpose(ops.reshape(y, (n, filters, y.shape[3])), (0, 2, 1))
    if fg != f:
        raise ValueError(f"conv1d: the input has {f} features but the kernel expects {fg}")
    xp = backend.xp
    before, after = pads
    to = kernels_conv.output_length(t, k, stride, before, after, dilation)
    if to < 1:
        raise ValueError(f"conv1d: kernel {k} does not fit in {t} steps")
    padded = x.data
    if before or after:
        padded = xp.zeros((n, t + before + after, f), dtype=x.dtype)
        padded[:, before : before + t, :] = x.data
    cols = xp.empty((n, to, k, f), dtype=x.dtype)
    for i, index in _taps(k, to, stride, dilation):
        cols[:, :, i, :] = padded[:, index, :]
    cols = xp.reshape(cols, (n * to, k * f))
    # (filters, F, k) -> (k, F, filters) -> (k*F, filters): small, copied once per call.
    w2 = xp.reshape(backend.permute_dims(w.data, (2, 1, 0)), (k * f, filters))
    out = xp.matmul(cols, w2)
    if b is not None:
        out = out + b.data
    if relu:
        out = xp.maximum(out, 0.0)

    def vjp(g):
        g2 = xp.reshape(g, (n * to, filters))
        if relu:
            g2 = g2 * xp.astype(out > 0, g2.dtype)
        gx = gw = gb = None
        if b is not None and b.requires_grad:
            gb = xp.sum(g2, axis=0)
        if w.requires_grad:
            gw2 = xp.matmul(backend.permute_dims(cols, (1, 0)), g2)  # (k*F, filters)
            gw = backend.permute_dims(xp.reshape(gw2, (k, f, filters)), (2, 1, 0))
            gw = xp.asarray(gw, copy=True)
        if x.requires_grad:
            gcols = xp.reshape(xp.matmul(g2, backend.permute_dims(w2, (1, 0))), (n, to, k, f))
            gpad = xp.zeros((n, t + before + after, f), dtype=g.dtype)
            for i, index in _taps(k, to, stride, dilation):
                gpad[:, index, :] = gpad[:, index, :] + gcols[:, :, i, :]
            gx = gpad[:, before : before + t, :] if before or after else gpad
        return (gx, gw) if b is None else (gx, gw, gb)

    parents = (x, w) if b is None else (x, w, b)
    return Tensor.from_op(xp.reshape(out, (n, to, filters)), parents, vjp)

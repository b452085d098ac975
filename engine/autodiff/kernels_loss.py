"""Fused loss kernels on logits: softmax with cross-entropy, sigmoid with binary cross-entropy.

Written as one primitive each instead of ``log(softmax(z))``, they are exact and stable for
any logits (no ``log(0)``, no overflow at +-1000) and their VJPs are the textbook ones:

    d/dz  softmax_cross_entropy  = g * (softmax(z) * sum(y) - y)   (= softmax - onehot)
    d/dz  sigmoid_cross_entropy  = g * (sigmoid(z) - y)

Each returns the loss per sample (the class axis reduced for softmax, elementwise for the
sigmoid); averaging over the batch is left to :mod:`engine.losses`. Labels may be
differentiated too (soft targets): ``-log_softmax(z)`` and ``-z`` respectively. Everything
runs on ``backend.xp`` in the logits' dtype.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff.ops import sigmoid_array
from engine.autodiff.tensor import Tensor

__all__ = [
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "check_sparse_labels",
]


def _expand(g, axis: int):
    """Give a per-sample gradient its class axis back (size 1) so it broadcasts."""
    shape = list(g.shape)
    shape.insert(axis, 1)
    return backend.xp.reshape(g, tuple(shape))


def _log_softmax_parts(z, axis: int):
    """``exp(z - max)``, its sum, and ``log_softmax(z)``; never overflows."""
    xp = backend.xp
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    s = xp.sum(e, axis=axis, keepdims=True)
    return e, s, shifted - xp.log(s)


def softmax_cross_entropy(labels: Tensor, logits: Tensor, axis: int = -1) -> Tensor:
    """Per-sample ``-sum(labels * log_softmax(logits), axis)`` for probability labels.

    ``labels`` has the logits' shape (one-hot or smoothed rows); the result drops ``axis``.
    """
    xp = backend.xp
    z = logits.data
    axis %= len(z.shape)
    y = labels.data
    e, s, log_probs = _log_softmax_parts(z, axis)
    loss = -xp.sum(y * log_probs, axis=axis)

    def vjp(g):
        gk = _expand(g, axis)
        dy = -gk * log_probs if labels.requires_grad else None
        dz = None
        if logits.requires_grad:
            # softmax * sum(y) - y: equals softmax - y for rows that sum to one.
            dz = gk * ((e / s) * xp.sum(y, axis=axis, keepdims=True) - y)
        return dy, dz

    return Tensor.from_op(loss, (labels, logits), vjp)


def check_sparse_labels(labels, num_classes: int) -> None:
    """Raise ``ValueError`` naming the first label outside ``[0, num_classes)``.

    Costs one scalar device-to-host transfer; the offending value is looked up only when
    something is wrong.
    """
    xp = backend.xp
    if not bool(xp.any((labels < 0) | (labels >= num_classes))):
        return
    host = backend.to_numpy(labels).reshape(-1)
    bad = host[(host < 0) | (host >= num_classes)][0]
    raise ValueError(
        f"label {int(bad)} is out of range for {num_classes} classes: integer labels must lie "
        f"in [0, {num_classes}); give the output layer more units or check the labels"
    )


def sparse_softmax_cross_entropy(labels, logits: Tensor, axis: int = -1) -> Tensor:
    """Per-sample ``logsumexp(z) - z[label]`` for integer class labels.

    ``labels`` is an integer array of the logits' shape without ``axis``; callers check the
    range first (:func:`check_sparse_labels`). Labels are not differentiable. The label's
    logit is gathered rather than multiplied by a one-hot matrix, so the forward pass reads
    the logits three times and allocates one array of their size.
    """
    xp = backend.xp
    z = logits.data
    ndim = len(z.shape)
    axis %= ndim
    index = _expand(labels, axis)
    top = xp.max(z, axis=axis, keepdims=True)
    e = xp.exp(z - top)
    s = xp.sum(e, axis=axis, keepdims=True)
    # log(s) - (z_label - top): the difference is taken first, so it stays exact for big logits.
    picked = xp.take_along_axis(z, index, axis=axis) - top
    loss = xp.reshape(xp.log(s) - picked, tuple(labels.shape))

    def vjp(g):
        gk = _expand(g, axis)
        dz = e * (gk / s)  # softmax * g
        class_shape = [1] * ndim
        class_shape[axis] = z.shape[axis]
        classes = xp.reshape(xp.arange(z.shape[axis], dtype=labels.dtype), tuple(class_shape))
        return (xp.where(index == classes, dz - gk, dz),)

    return Tensor.from_op(loss, (logits,), vjp)


def sigmoid_cross_entropy(labels: Tensor, logits: Tensor) -> Tensor:
    """Elementwise ``-y log(sigmoid(z)) - (1 - y) log(1 - sigmoid(z))``, written stably as
    ``max(z, 0) - z * y + log(1 + exp(-|z|))``."""
    xp = backend.xp
    z = logits.data
    y = labels.data
    loss = xp.maximum(z, xp.zeros_like(z)) - z * y + xp.log1p(xp.exp(-xp.abs(z)))

    def vjp(g):
        dy = -g * z if labels.requires_grad else None
        dz = g * (sigmoid_array(z) - y) if logits.requires_grad else None
        return dy, dz

    return Tensor.from_op(loss, (labels, logits), vjp)

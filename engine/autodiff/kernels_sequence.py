"""Small sequence primitives shared by the wrapper and attention layers.

``reverse_time`` flips a batch-first sequence ``(N, T, ...)`` along its time axis (its VJP
is the same flip); ``masked_mean`` averages over the real steps of a padded sequence, a
boolean ``(N, T)`` mask marking them (Keras's masked ``GlobalAveragePooling1D``). Both run
on the backend namespace ``xp`` without Python loops over samples.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff import ops
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["reverse_time", "masked_mean"]


def reverse_time(x) -> Tensor:
    """``x[:, ::-1]``: the sequence read from its last step to its first."""
    x = as_tensor(x)
    xp = backend.xp
    return Tensor.from_op(xp.flip(x.data, axis=1), (x,), lambda g: (xp.flip(g, axis=1),))


def masked_mean(x, mask, keepdims: bool = False) -> Tensor:
    """Mean of ``x (N, T, F)`` over the steps where ``mask (N, T)`` is True.

    A sequence with no real step averages to zeros (Keras divides by zero there).
    """
    xp = backend.xp
    x = as_tensor(x)
    weights = xp.reshape(xp.astype(backend.asarray(mask), x.dtype), (x.shape[0], x.shape[1], 1))
    counts = xp.maximum(xp.sum(weights, axis=1, keepdims=keepdims), xp.asarray(1.0, dtype=x.dtype))
    return ops.sum_(x * weights, axis=1, keepdims=keepdims) / counts

"""Eager tensors with reverse-mode automatic differentiation.

``Tensor`` wraps an array of the current backend and remembers, when gradients are wanted,
the primitive that made it and that primitive's vector-Jacobian product (VJP). ``backward``
and ``GradientTape.gradient`` walk that record in reverse topological order. Primitives live
in :mod:`engine.autodiff.ops` (elementwise, linear algebra, reductions, shapes) and in the
fused kernel modules (convolution, pooling, normalisation, recurrent steps, softmax with
cross-entropy); each defines its forward and its VJP side by side.
"""

from engine.autodiff.tensor import (
    GradientTape,
    Tensor,
    Variable,
    constant,
    grad,
    is_grad_enabled,
    no_grad,
)

__all__ = [
    "GradientTape",
    "Tensor",
    "Variable",
    "constant",
    "grad",
    "is_grad_enabled",
    "no_grad",
]

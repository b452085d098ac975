"""``a @ b^T`` for the weight gradients of convolutions: two operands that share a long
reduction axis (every output position) and give a small result.

Measured with OpenBLAS on this project's 2-core CPU, such a product is up to 4x faster when
the result's longer side comes first: ``(64, P) @ (P, 288)`` took ~140 ms where ``((288, P)
@ (P, 64))^T`` took ~35 ms, and the other way round for ``(32, P) @ (P, 9)``. So the product
is formed in whichever orientation puts the longer side first, and transposed back (one
small copy) when needed.
"""

from __future__ import annotations

from engine import backend

__all__ = ["matmul_nt"]


def matmul_nt(a, b):
    """``a @ b^T`` for ``a (..., M, P)`` and ``b (..., N, P)``: a fresh ``(..., M, N)``
    array in C order."""
    xp = backend.xp
    rank = a.ndim
    swap = (*range(rank - 2), rank - 1, rank - 2)
    if a.shape[-2] >= b.shape[-2]:
        return xp.matmul(a, backend.permute_dims(b, swap))
    flipped = xp.matmul(b, backend.permute_dims(a, swap))  # (..., N, M)
    out = xp.empty((*flipped.shape[:-2], flipped.shape[-1], flipped.shape[-2]), dtype=a.dtype)
    out[...] = backend.permute_dims(flipped, swap)
    return out

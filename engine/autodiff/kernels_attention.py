"""Fused scaled dot-product attention: ``softmax(q k^T + bias) v`` as one recorded primitive.

``q (N, H, Tq, d)``, ``k (N, H, Tv, d)``, ``v (N, H, Tv, dv)``; ``allowed`` is an optional
boolean array broadcastable to the scores ``(N, H, Tq, Tv)`` (False: that key is hidden
from that query, as Keras's ``attention_mask`` / ``use_causal_mask``), ``keep`` an optional
inverted-dropout multiplier of the same broadcast shape applied to the probabilities (as
Keras's ``MultiHeadAttention(dropout=...)`` does). The caller scales ``q`` beforehand.

Forward is two batched matmuls and a softmax; the VJP is written by hand:
``dv = P^T g``, ``dP = g v^T``, ``dS = A * (dP - sum(dP * A))`` (``A`` the probabilities
before dropout, ``P`` after), ``dq = dS k``, ``dk = dS^T q``. Everything runs on the
backend namespace ``xp`` (CuPy-ready), batched over samples and heads. A query row whose
keys are all hidden gets uniform weights over them, as Keras's additive ``-1e9`` does.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff.elementwise import in_place
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["scaled_dot_attention", "HIDDEN_SCORE"]

# Keras adds this to the scores of hidden keys (``_large_negative_number`` for float32).
HIDDEN_SCORE = -1e9


def _swap(x):
    axes = list(range(len(x.shape)))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return backend.permute_dims(x, axes)


def scaled_dot_attention(q, k, v, allowed=None, keep=None) -> Tensor:
    """Attention output ``(N, H, Tq, dv)`` of already-scaled queries (see module doc)."""
    q, k, v = as_tensor(q), as_tensor(k), as_tensor(v)
    xp = backend.xp
    scores = xp.matmul(q.data, _swap(k.data))
    if allowed is not None:
        scores = xp.where(allowed, scores, xp.asarray(HIDDEN_SCORE, dtype=scores.dtype))
    # In place on the fresh score array (the matmul's or where's own): no further
    # (N, H, Tq, Tv) arrays until the probabilities.
    scores -= xp.max(scores, axis=-1, keepdims=True)
    probs = in_place(xp.exp, scores, out=scores)
    probs /= xp.sum(probs, axis=-1, keepdims=True)
    used = probs if keep is None else probs * keep
    out = xp.matmul(used, v.data)

    def vjp(g):
        dv = xp.matmul(_swap(used), g) if v.requires_grad else None
        if not (q.requires_grad or k.requires_grad):
            return None, None, dv
        d_scores = xp.matmul(g, _swap(v.data))  # d_used, then d_probs, then d_scores in place
        if keep is not None:
            d_scores *= keep
        d_scores -= xp.sum(d_scores * probs, axis=-1, keepdims=True)
        d_scores *= probs
        dq = xp.matmul(d_scores, k.data) if q.requires_grad else None
        dk = xp.matmul(_swap(d_scores), q.data) if k.requires_grad else None
        return dq, dk, dv

    return Tensor.from_op(out, (q, k, v), vjp)

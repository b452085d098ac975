"""Layout plumbing shared by the fused recurrent kernels.

Inside the kernels everything is *feature-major*: a step's state is ``(U, N)`` and its gate
pre-activations ``(k*U, N)``, so each gate is a contiguous block. These helpers move data
between that layout and the callers' batch-major ``(N, T, F)``, reorder and scale gate
blocks, run the one input-projection GEMM before the time loop and the weight-gradient
GEMMs after it.
"""

from __future__ import annotations

from collections.abc import Callable

from engine import backend
from engine.autodiff.kernels_rnn_workspace import _Scratch
from engine.autodiff.tensor import Tensor


def _check_shapes(kind: str, x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, k: int) -> int:
    """Validate ranks and widths early (a wrong shape inside the loop is hard to read)."""
    if x.ndim != 3:
        raise ValueError(f"{kind} expects a batch of sequences (N, T, F), got shape {x.shape}")
    units = recurrent_kernel.shape[0]
    if recurrent_kernel.shape != (units, k * units):
        raise ValueError(
            f"{kind} recurrent_kernel must be (units, {k}*units), got {recurrent_kernel.shape}"
        )
    if kernel.shape != (x.shape[2], k * units):
        raise ValueError(
            f"{kind} kernel must be ({x.shape[2]}, {k * units}) for {x.shape[2]} features "
            f"and {units} units, got {kernel.shape}"
        )
    return units


def _contiguous(a):
    """A C-ordered copy of a strided view (reshape copies exactly when it must)."""
    xp = backend.xp
    return xp.reshape(xp.reshape(a, (-1,)), tuple(a.shape))


def _t(a):
    return backend.permute_dims(a, (1, 0))


def _features_major(x, ones_row: bool, scratch: _Scratch):
    """(N, T, F) -> (F, T*N): column ``t*N + n`` is sample n at step t.

    With ``ones_row`` a row of ones is appended, so the bias rides along in the projection
    GEMM (and its gradient comes out of the kernel-gradient GEMM as one more row) instead of
    costing a pass over all ``k*U*T*N`` pre-activations each way.
    """
    n, t, f = x.shape
    rows = f + 1 if ones_row else f
    buf = scratch.empty((rows, t, n), x.dtype)
    buf[:f, :, :] = backend.permute_dims(x, (2, 1, 0))
    if ones_row:
        buf[f, :, :] = 1.0
    return backend.xp.reshape(buf, (rows, t * n))


def _column(v):
    """A bias vector as a column that broadcasts over the batch."""
    return backend.xp.reshape(v, (v.shape[0], 1))


def _blocks(a, order, units: int, scales=None):
    """Rearrange (and optionally scale) the gate blocks along the last axis."""
    parts = []
    for slot, k in enumerate(order):
        part = a[..., k * units : (k + 1) * units]
        if scales is not None and scales[slot] != 1.0:
            part = part * scales[slot]
        parts.append(part)
    return backend.concat(parts, axis=-1)


def _project_inputs(xf, w, bias_vec, t: int, n: int, scratch: _Scratch):
    """All timesteps' input pre-activations in ONE GEMM: (k*U, F[+1]) @ (F[+1], T*N).

    ``bias_vec`` (or None) becomes the kernel's extra row, matching ``xf``'s row of ones.
    Returns (k*U, T, N).
    """
    xp = backend.xp
    if bias_vec is not None:
        w = backend.concat([w, xp.reshape(bias_vec, (1, bias_vec.shape[0]))], axis=0)
    z_in = scratch.empty((w.shape[1], t * n), xf.dtype)
    _matmul_into(z_in, _t(w), xf)
    return xp.reshape(z_in, (w.shape[1], t, n))


def _project_steps(xf, w, bias_vec, t: int, n: int, out) -> None:
    """All timesteps' input pre-activations, written step-major into ``out (T, k*U, N)``.

    One batched GEMM ``(k*U, F[+1]) @ (T, F[+1], N)`` over a strided view of ``xf`` (no
    copy): each step's block is then contiguous, so the time loop adds it to the recurrent
    product in one contiguous pass (the feature-major ``(k*U, T, N)`` layout made that add
    a strided read, ~2.5x slower), and the same buffer then holds the gates in place.
    """
    xp = backend.xp
    if bias_vec is not None:
        w = backend.concat([w, xp.reshape(bias_vec, (1, bias_vec.shape[0]))], axis=0)
    steps = backend.permute_dims(xp.reshape(xf, (xf.shape[0], t, n)), (1, 0, 2))
    _matmul_into(out, _t(w), steps)


def _matmul_into(out, a, b) -> None:
    """``out[...] = a @ b``, without a temporary where the namespace takes ``out=``."""
    xp = backend.xp
    if xp.__name__ in ("numpy", "cupy"):
        xp.matmul(a, b, out=out)
    else:
        out[...] = xp.matmul(a, b)


def _outputs(hs, return_sequences: bool):
    """Step-major states (T+1, U, N), h0 first -> a fresh (N, T, U) or last state (N, U).

    Always a copy: ``hs`` is workspace memory that a later call will overwrite.
    """
    view = backend.permute_dims(hs[1:, ...], (2, 0, 1)) if return_sequences else _t(hs[-1, ...])
    out = backend.xp.empty(tuple(view.shape), dtype=hs.dtype)
    out[...] = view
    return out


def _incoming(g, return_sequences: bool):
    """The output gradient as per-step (T, U, N) slices (or None) and the last step's dh."""
    if return_sequences:
        per_step = _contiguous(backend.permute_dims(g, (1, 2, 0)))
        return per_step, per_step[-1, ...]
    return None, _contiguous(_t(g))


def _states_flat(states):
    """Step-major (T, U, N) -> (U, T*N), the left factor of a weight-gradient GEMM."""
    t, u, n = states.shape
    return backend.xp.reshape(backend.permute_dims(states, (1, 0, 2)), (u, t * n))


def _input_grads(x: Tensor, kernel: Tensor, bias_wanted: bool, w, xf, dz):
    """dx, d kernel and d bias (the bias folded into the projection) from the gate
    gradients ``dz`` (k*U, T*N): one GEMM for dx, one for the kernel and bias together.

    ``w`` is the kernel as the forward used it, before any pre-scaling.
    """
    xp = backend.xp
    n, t, f = x.shape
    dkernel = dbias = None
    if kernel.requires_grad or bias_wanted:
        dw = xp.matmul(xf, _t(dz))  # (F[+1], k*U); the last row is the bias's when folded
        dkernel = dw[:f, :] if kernel.requires_grad else None
        dbias = dw[f, :] if bias_wanted else None
    dx = None
    if x.requires_grad:
        dx = backend.permute_dims(xp.reshape(xp.matmul(w, dz), (f, t, n)), (2, 1, 0))
    return dx, dkernel, dbias


def _in_place() -> bool:
    """Whether the namespace's functions take ``out=`` (numpy and CuPy do)."""
    return backend.xp.__name__ in ("numpy", "cupy")


def _matmul_to(out, a, b):
    """``a @ b``, written into ``out`` (and returned) where the namespace takes ``out=``;
    elsewhere a fresh array."""
    xp = backend.xp
    if _in_place():
        return xp.matmul(a, b, out=out)
    return xp.matmul(a, b)


def _storer() -> Callable:
    """``store(buffer, index, ufunc, *args)``: ``buffer[index] = ufunc(*args)``.

    numpy and CuPy write the result straight into the buffer (``out=``), saving a temporary
    and a copy per call in the time loops; other namespaces assign the result.
    """
    if backend.xp.__name__ in ("numpy", "cupy"):

        def store(buffer, index, ufunc, *args) -> None:
            ufunc(*args, out=buffer[index])

    else:

        def store(buffer, index, ufunc, *args) -> None:
            buffer[index] = ufunc(*args)

    return store


def _wants(tensor: Tensor | None) -> bool:
    return tensor is not None and tensor.requires_grad


def _parents(x, kernel, recurrent_kernel, bias):
    return (x, kernel, recurrent_kernel) if bias is None else (x, kernel, recurrent_kernel, bias)

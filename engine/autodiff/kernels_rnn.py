"""Fused recurrent kernels: a whole SimpleRNN / LSTM / GRU sequence as one recorded primitive.

Building a recurrence out of per-step primitives would record ~15 tape nodes per timestep
and walk them back one by one; instead each function here runs the full sequence forward,
keeps what backpropagation-through-time needs in preallocated buffers, and records a single
:meth:`Tensor.from_op` (parents ``x, kernel, recurrent_kernel[, bias]``) whose VJP is
written by hand.

Weights use Keras's layout (documented on the layers in :mod:`engine.layers.recurrent`):
``kernel (F, k*U)``, ``recurrent_kernel (U, k*U)``; gates LSTM ``i, f, c, o``, GRU ``z, r, h``.
Sequences are batch-major ``(N, T, F)``; the initial state is zero.

How the work is arranged (measured on the 2-core CPU this project targets; see
``benchmarks/bench_rnn_kernels.py``):

- Inside the kernels everything is *feature-major*: a step's state is ``(U, N)`` and its
  gate pre-activations ``(k*U, N)`` (the LSTM's viewed as ``(4, U, N)``), so each gate is a
  contiguous block and every elementwise operation runs on contiguous memory (the
  batch-major ``(N, k*U)`` layout makes each gate a strided column block and was ~1.4x
  slower per step).
- The input projection for all timesteps is ONE GEMM before the loop,
  ``W^T (k*U, F+1) @ X (F+1, T*N)``, the bias riding along as a row of ones in ``X`` (its
  gradient then comes out of the kernel-gradient GEMM as an extra row, saving a pass over
  all pre-activations each way). Each step then does one recurrent GEMM
  ``R^T (k*U, U) @ h (U, N)`` plus the gate arithmetic.
- When ``recurrent_activation`` is sigmoid, the sigmoid gates' columns of ``W``, ``R`` and
  the bias are pre-scaled by 1/2 so that ``sigmoid(a) = 0.5 * tanh(a / 2) + 0.5`` costs one
  ``tanh`` and an in-place affine map (no overflow either, unlike ``1 / (1 + exp(-a))``).
  The LSTM's gates are held internally in the order ``o, i, f, c``: the three sigmoid
  gates are one contiguous block, and with the default tanh a single ``tanh`` covers all
  four. The order is undone on the gradients, so callers only ever see Keras's order.
- Backward first computes, vectorised over all timesteps, every factor that does not
  depend on the incoming gradient (gate derivatives times their partners), so the serial
  loop is a handful of multiplies plus one GEMM ``R @ dZ_t`` per step. The gate gradients
  go into a ``(k*U, T, N)`` buffer and the weight and input gradients are then one GEMM
  each: ``X @ dZ^T``, ``H_prev @ dZ^T`` and ``W @ dZ``.
- The big buffers come from a small workspace and are reused from call to call (freshly
  allocated, their page faults were ~40% of the LSTM's CPU time); under numpy and CuPy the
  LSTM's loops write results straight into them with ``out=``.

At the benchmark shapes (batch 128, 28 steps x 28 features, 128 units) the GEMMs are about
two thirds of the LSTM's time; with OpenBLAS limited to its AVX2 (Haswell) kernels, as on
this project's machines, they run at about half the speed of PyTorch's.

Activations are looked up in :data:`RNN_ACTIVATIONS`; each is paired with its derivative
written in terms of the activation's *output*, so backward needs only stored gate values.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable

from engine import backend
from engine.autodiff.tensor import Tensor

__all__ = ["RNN_ACTIVATIONS", "simple_rnn", "lstm", "gru"]


# -- activations with output-form derivatives --------------------------------------------------


def _tanh(a):
    return backend.xp.tanh(a)


def _d_tanh(y):
    return 1.0 - y * y


def _sigmoid(a):
    return 0.5 * backend.xp.tanh(0.5 * a) + 0.5


def _sigmoid_of_double(a):
    """sigmoid(2a): the sigmoid of a pre-activation whose weights were halved."""
    return 0.5 * backend.xp.tanh(a) + 0.5


def _d_sigmoid(y):
    return y * (1.0 - y)


def _relu(a):
    xp = backend.xp
    return xp.where(a > 0, a, xp.zeros_like(a))


def _d_relu(y):
    return backend.xp.astype(y > 0, y.dtype)


def _linear(a):
    return a


def _d_linear(y):
    return backend.xp.ones_like(y)


def _elu(a):
    xp = backend.xp
    return xp.where(a > 0, a, xp.expm1(xp.minimum(a, xp.zeros_like(a))))


def _d_elu(y):
    # For a <= 0, elu(a) = e^a - 1, whose derivative e^a equals y + 1.
    xp = backend.xp
    return xp.where(y > 0, xp.ones_like(y), y + 1.0)


_LEAKY_SLOPE = 0.2  # Keras's LeakyReLU default, as in engine.activations


def _leaky_relu(a):
    return backend.xp.where(a > 0, a, _LEAKY_SLOPE * a)


def _d_leaky_relu(y):
    xp = backend.xp
    return xp.where(y > 0, xp.ones_like(y), xp.full_like(y, _LEAKY_SLOPE))


def _softplus(a):
    xp = backend.xp
    return xp.log1p(xp.exp(-xp.abs(a))) + xp.where(a > 0, a, xp.zeros_like(a))


def _d_softplus(y):
    # softplus'(a) = sigmoid(a) = 1 - exp(-softplus(a)).
    return -backend.xp.expm1(-y)


Activation = tuple[Callable, Callable]

RNN_ACTIVATIONS: dict[str, Activation] = {
    "tanh": (_tanh, _d_tanh),
    "sigmoid": (_sigmoid, _d_sigmoid),
    "relu": (_relu, _d_relu),
    "linear": (_linear, _d_linear),
    "elu": (_elu, _d_elu),
    "leaky_relu": (_leaky_relu, _d_leaky_relu),
    "softplus": (_softplus, _d_softplus),
}


def _activation(name: str) -> Activation:
    try:
        return RNN_ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unsupported recurrent activation {name!r}; choose one of {', '.join(RNN_ACTIVATIONS)}"
        ) from None


def _gate_activation(name: str) -> tuple[Callable, Callable, float]:
    """The gates' forward function, derivative, and the factor their weights are scaled by."""
    if name == "sigmoid":
        return _sigmoid_of_double, _d_sigmoid, 0.5
    forward, derivative = _activation(name)
    return forward, derivative, 1.0


# -- reusable scratch memory -------------------------------------------------------------------


class _Workspace:
    """Large scratch arrays handed from one kernel call to the next.

    A time loop keeps ~8 buffers of ``T*N*k*U`` values. Allocated fresh on every call, they
    cost a page fault per 4 KiB touched (glibc gives big freed blocks back to the OS), which
    measured ~40% of the LSTM's CPU time at the benchmark shapes. Buffers return here when
    the output tensor whose VJP reads them is garbage-collected, or at once when nothing was
    recorded; at most ``max_bytes`` are kept.
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._free: dict[tuple, list] = {}
        self._bytes = 0
        self._lock = threading.Lock()  # training and inference may run in different threads

    def take(self, key: tuple):
        with self._lock:
            stack = self._free.get(key)
            if stack:
                self._bytes -= _nbytes(key)
                return stack.pop()
        return backend.xp.empty(key[1], dtype=key[2])

    def give_back(self, items) -> None:
        with self._lock:
            for key, array in items:
                if self._bytes + _nbytes(key) > self.max_bytes:
                    self._free.clear()
                    self._bytes = 0
                self._free.setdefault(key, []).append(array)
                self._bytes += _nbytes(key)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._bytes = 0


def _nbytes(key: tuple) -> int:
    return key[3]


_WORKSPACE = _Workspace()


class _Scratch:
    """The workspace buffers one kernel call (or one VJP call) uses, given back together."""

    def __init__(self):
        self._items: list[tuple] = []

    def empty(self, shape: tuple[int, ...], dtype):
        # The namespace is part of the key: a numpy buffer must never reach CuPy code.
        size = math.prod(shape) * backend.xp.finfo(dtype).bits // 8
        key = (backend.xp.__name__, tuple(shape), dtype, size)
        array = _WORKSPACE.take(key)
        self._items.append((key, array))
        return array

    def give_back(self) -> None:
        items, self._items = self._items, []
        _WORKSPACE.give_back(items)


def _record(out, parents, vjp, scratch: _Scratch) -> Tensor:
    """``Tensor.from_op`` whose forward buffers go back to the workspace when it is done."""
    result = Tensor.from_op(out, parents, vjp)
    if result._vjp is None:
        scratch.give_back()  # nothing recorded: no VJP will read them
    else:
        weakref.finalize(result, scratch.give_back).atexit = False
    return result


# -- layout plumbing ---------------------------------------------------------------------------


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


# -- SimpleRNN ---------------------------------------------------------------------------------


def simple_rnn(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None = None,
    activation: str = "tanh",
    return_sequences: bool = False,
) -> Tensor:
    """``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` over a whole sequence.

    ``x`` is ``(N, T, F)``; the result is ``(N, U)`` (last state) or ``(N, T, U)``.
    """
    xp = backend.xp
    act, d_act = _activation(activation)
    u = _check_shapes("SimpleRNN", x, kernel, recurrent_kernel, 1)
    n, t, _ = x.shape
    dtype = x.data.dtype
    scratch, local = _Scratch(), _Scratch()
    xf = _features_major(x.data, bias is not None, scratch)
    b = None if bias is None else bias.data
    z_in = _project_inputs(xf, kernel.data, b, t, n, local)
    r = recurrent_kernel.data
    r_t = _t(r)
    hs = scratch.empty((t + 1, u, n), dtype)
    hs[0, ...] = 0.0
    for s in range(t):
        z = xp.matmul(r_t, hs[s, ...])
        z += z_in[:, s, :]
        hs[s + 1, ...] = act(z)
    local.give_back()

    def vjp(g):
        per_step, dh = _incoming(g, return_sequences)
        slope = d_act(hs[1:, ...])
        work = _Scratch()
        dz = work.empty((u, t, n), dtype)
        for s in range(t - 1, -1, -1):
            if per_step is not None and s < t - 1:
                dh = dh + per_step[s, ...]
            dz_s = dh * slope[s, ...]
            dz[:, s, :] = dz_s
            if s > 0:
                dh = xp.matmul(r, dz_s)
        dz = xp.reshape(dz, (u, t * n))
        dx, dkernel, dbias = _input_grads(x, kernel, _wants(bias), kernel.data, xf, dz)
        drec = None
        if recurrent_kernel.requires_grad:
            drec = xp.matmul(_states_flat(hs[:-1, ...]), _t(dz))
        work.give_back()
        grads = (dx, dkernel, drec)
        return grads if bias is None else grads + (dbias,)

    out = _outputs(hs, return_sequences)
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)


# -- LSTM --------------------------------------------------------------------------------------

# Internal gate order o, i, f, c as indices into Keras's i, f, c, o (and back again): the
# sigmoid gates o, i, f are one block, and the gates multiplied by dc (i, f, c) another.
_LSTM_ORDER = (3, 0, 1, 2)
_LSTM_UNORDER = (1, 2, 3, 0)


def lstm(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None = None,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    return_sequences: bool = False,
) -> Tensor:
    """Keras's LSTM over a whole sequence (gates ``i, f, c, o``; zero initial state)::

        i, f, o = rec_act(x W_i + h U_i + b_i), ... ;  c~ = act(x W_c + h U_c + b_c)
        c_t = f * c_{t-1} + i * c~ ;  h_t = o * act(c_t)

    ``x`` is ``(N, T, F)``; the result is ``(N, U)`` (last ``h``) or ``(N, T, U)``.
    """
    xp = backend.xp
    act, d_act = _activation(activation)
    rec, d_rec, scale = _gate_activation(recurrent_activation)
    u = _check_shapes("LSTM", x, kernel, recurrent_kernel, 4)
    n, t, _ = x.shape
    dtype = x.data.dtype
    one_tanh = scale != 1.0 and activation == "tanh"
    scales = (scale, scale, scale, 1.0)
    w = _blocks(kernel.data, _LSTM_ORDER, u)  # unscaled, for dx
    r = _blocks(recurrent_kernel.data, _LSTM_ORDER, u)  # unscaled, for dh
    r_fwd = _t(_blocks(recurrent_kernel.data, _LSTM_ORDER, u, scales))
    b_fwd = None if bias is None else _blocks(bias.data, _LSTM_ORDER, u, scales)
    scratch, local = _Scratch(), _Scratch()
    xf = _features_major(x.data, bias is not None, scratch)
    w_fwd = _blocks(kernel.data, _LSTM_ORDER, u, scales)
    z_in = xp.reshape(_project_inputs(xf, w_fwd, b_fwd, t, n, local), (4, u, t, n))
    store = _storer()

    gates = scratch.empty((t, 4, u, n), dtype)  # o, i, f, c~ after activation
    cs = scratch.empty((t + 1, u, n), dtype)
    act_cs = scratch.empty((t, u, n), dtype)
    hs = scratch.empty((t + 1, u, n), dtype)
    cs[0, ...] = 0.0
    hs[0, ...] = 0.0
    for s in range(t):
        z = xp.reshape(xp.matmul(r_fwd, hs[s, ...]), (4, u, n))
        z += z_in[:, :, s, :]
        if one_tanh:
            store(gates, (s, ...), xp.tanh, z)
            sigmoids = (s, slice(0, 3), ...)
            store(gates, sigmoids, xp.multiply, gates[sigmoids], 0.5)
            store(gates, sigmoids, xp.add, gates[sigmoids], 0.5)
        else:
            gates[s, :3, ...] = rec(z[:3, ...])
            gates[s, 3, ...] = act(z[3, ...])
        o, i, f, cand = (gates[s, k, ...] for k in range(4))
        store(cs, (s + 1, ...), xp.multiply, f, cs[s, ...])
        store(cs, (s + 1, ...), xp.add, cs[s + 1, ...], i * cand)
        if act is _tanh:
            store(act_cs, (s, ...), xp.tanh, cs[s + 1, ...])
        else:
            act_cs[s, ...] = act(cs[s + 1, ...])
        store(hs, (s + 1, ...), xp.multiply, o, act_cs[s, ...])
    local.give_back()

    def vjp(grad_out):
        per_step, dh = _incoming(grad_out, return_sequences)
        # Everything that does not depend on the incoming gradient, for all steps at once:
        # dZ_o = dh * p_o, dZ_{i,f,c} = dc * p_{i,f,c}, and dc gains dh * q.
        d_gates = d_rec(gates[:, :3, ...])
        o, i, f, cand = (gates[:, k, ...] for k in range(4))
        work = _Scratch()
        p = work.empty((t, 4, u, n), dtype)
        every = slice(None)
        store(p, (every, 0, ...), xp.multiply, act_cs, d_gates[:, 0, ...])
        store(p, (every, 1, ...), xp.multiply, cand, d_gates[:, 1, ...])
        store(p, (every, 2, ...), xp.multiply, cs[:-1, ...], d_gates[:, 2, ...])
        store(p, (every, 3, ...), xp.multiply, i, d_act(cand))
        q = o * d_act(act_cs)
        dz = work.empty((4, u, t, n), dtype)  # (4U, T*N) once reshaped, for the GEMMs
        dc = None
        for s in range(t - 1, -1, -1):
            if per_step is not None and s < t - 1:
                dh = dh + per_step[s, ...]
            dc = dh * q[s, ...] if dc is None else dc + dh * q[s, ...]
            store(dz, (0, every, s, every), xp.multiply, dh, p[s, 0, ...])
            store(dz, (slice(1, 4), every, s, every), xp.multiply, p[s, 1:, ...], dc)
            if s > 0:
                dc = dc * f[s, ...]
                dh = xp.matmul(r, xp.reshape(dz[:, :, s, :], (4 * u, n)))
        dz = xp.reshape(dz, (4 * u, t * n))
        dx, dkernel, dbias = _input_grads(x, kernel, _wants(bias), w, xf, dz)
        if dkernel is not None:
            dkernel = _blocks(dkernel, _LSTM_UNORDER, u)
        drec = None
        if recurrent_kernel.requires_grad:
            drec = _blocks(xp.matmul(_states_flat(hs[:-1, ...]), _t(dz)), _LSTM_UNORDER, u)
        work.give_back()
        grads = (dx, dkernel, drec)
        if bias is None:
            return grads
        return grads + (None if dbias is None else _blocks(dbias, _LSTM_UNORDER, u),)

    out = _outputs(hs, return_sequences)
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)


# -- GRU ---------------------------------------------------------------------------------------


def gru(
    x: Tensor,
    kernel: Tensor,
    recurrent_kernel: Tensor,
    bias: Tensor | None = None,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    return_sequences: bool = False,
    reset_after: bool = True,
) -> Tensor:
    """Keras's GRU over a whole sequence (gates ``z, r, h``; zero initial state)::

        z = rec_act(x W_z + h U_z + b_z) ;  r = rec_act(x W_r + h U_r + b_r)
        reset_after=True :  h~ = act(x W_h + b_xh + r * (h U_h + b_hh))
        reset_after=False:  h~ = act(x W_h + (r * h) U_h + b_h)
        h_t = z * h_{t-1} + (1 - z) * h~

    With ``reset_after=True`` the bias is ``(2, 3U)`` (input row, recurrent row), otherwise
    ``(3U,)``. ``x`` is ``(N, T, F)``; the result is ``(N, U)`` or ``(N, T, U)``.
    """
    units = _check_shapes("GRU", x, kernel, recurrent_kernel, 3)
    if bias is not None:
        expected = (2, 3 * units) if reset_after else (3 * units,)
        if bias.shape != expected:
            raise ValueError(
                f"GRU bias must be {expected} (reset_after={reset_after}), got {bias.shape}"
            )
    run = _gru_reset_after if reset_after else _gru_reset_before
    return run(
        x, kernel, recurrent_kernel, bias, activation, recurrent_activation, return_sequences
    )


def _gru_reset_after(x, kernel, recurrent_kernel, bias, activation, recurrent_activation, seqs):
    xp = backend.xp
    act, d_act = _activation(activation)
    rec, d_rec, scale = _gate_activation(recurrent_activation)
    n, t, _ = x.shape
    u = recurrent_kernel.shape[0]
    u2 = 2 * u
    dtype = x.data.dtype
    order, scales = (0, 1, 2), (scale, scale, 1.0)
    r = recurrent_kernel.data
    r_fwd = _t(_blocks(r, order, u, scales))
    b_in = b_rec = None
    if bias is not None:
        b_in = _blocks(bias.data[0, ...], order, u, scales)
        b_rec = _column(_blocks(bias.data[1, ...], order, u, scales))
    scratch, local = _Scratch(), _Scratch()
    xf = _features_major(x.data, bias is not None, scratch)
    z_in = _project_inputs(xf, _blocks(kernel.data, order, u, scales), b_in, t, n, local)

    zr = scratch.empty((t, u2, n), dtype)  # update and reset gates
    cands = scratch.empty((t, u, n), dtype)  # h~
    inner_h = scratch.empty((t, u, n), dtype)  # h U_h + b_hh, which r multiplies
    hs = scratch.empty((t + 1, u, n), dtype)
    hs[0, ...] = 0.0
    for s in range(t):
        h_prev = hs[s, ...]
        inner = xp.matmul(r_fwd, h_prev)
        if b_rec is not None:
            inner += b_rec
        gate = rec(inner[:u2, :] + z_in[:u2, s, :])
        zr[s, ...] = gate
        inner_h[s, ...] = inner[u2:, :]
        cand = act(z_in[u2:, s, :] + gate[u:, :] * inner[u2:, :])
        cands[s, ...] = cand
        hs[s + 1, ...] = cand + gate[:u, :] * (h_prev - cand)
    local.give_back()

    def vjp(grad_out):
        per_step, dh = _incoming(grad_out, seqs)
        # Every gate gradient is dh times a factor known before the loop.
        d_gate = d_rec(zr)
        z, r_gate = zr[:, :u, :], zr[:, u:, :]
        d_pre_h = (1.0 - z) * d_act(cands)
        work = _Scratch()
        px = work.empty((t, 3 * u, n), dtype)
        px[:, :u, :] = (hs[:-1, ...] - cands) * d_gate[:, :u, :]
        px[:, u:u2, :] = d_pre_h * inner_h * d_gate[:, u:, :]
        px[:, u2:, :] = d_pre_h
        ph = d_pre_h * r_gate
        dz_x = work.empty((3 * u, t, n), dtype)  # w.r.t. x W + b_x
        dz_h = work.empty((3 * u, t, n), dtype)  # w.r.t. h U + b_h
        for s in range(t - 1, -1, -1):
            if per_step is not None and s < t - 1:
                dh = dh + per_step[s, ...]
            dzx_s = xp.reshape(xp.reshape(px[s, ...], (3, u, n)) * dh, (3 * u, n))
            dz_x[:, s, :] = dzx_s
            dz_h[:u2, s, :] = dzx_s[:u2, :]
            dz_h[u2:, s, :] = dh * ph[s, ...]
            if s > 0:
                dh = dh * z[s, ...] + xp.matmul(r, dz_h[:, s, :])
        dz_x = xp.reshape(dz_x, (3 * u, t * n))
        dz_h = xp.reshape(dz_h, (3 * u, t * n))
        dx, dkernel, db_in = _input_grads(x, kernel, _wants(bias), kernel.data, xf, dz_x)
        drec = None
        if recurrent_kernel.requires_grad:
            drec = xp.matmul(_states_flat(hs[:-1, ...]), _t(dz_h))
        dbias = None
        if db_in is not None:
            dbias = xp.stack([db_in, xp.sum(dz_h, axis=1)])
        work.give_back()
        grads = (dx, dkernel, drec)
        return grads if bias is None else grads + (dbias,)

    out = _outputs(hs, seqs)
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)


def _gru_reset_before(x, kernel, recurrent_kernel, bias, activation, recurrent_activation, seqs):
    xp = backend.xp
    act, d_act = _activation(activation)
    rec, d_rec, scale = _gate_activation(recurrent_activation)
    n, t, _ = x.shape
    u = recurrent_kernel.shape[0]
    u2 = 2 * u
    dtype = x.data.dtype
    order, scales = (0, 1, 2), (scale, scale, 1.0)
    r_zr = recurrent_kernel.data[:, :u2]
    r_h = recurrent_kernel.data[:, u2:]
    r_zr_fwd = _t(r_zr * scale) if scale != 1.0 else _t(r_zr)
    r_h_fwd = _t(r_h)
    b_fwd = None if bias is None else _blocks(bias.data, order, u, scales)
    scratch, local = _Scratch(), _Scratch()
    xf = _features_major(x.data, bias is not None, scratch)
    z_in = _project_inputs(xf, _blocks(kernel.data, order, u, scales), b_fwd, t, n, local)

    zr = scratch.empty((t, u2, n), dtype)
    cands = scratch.empty((t, u, n), dtype)
    reset_hs = scratch.empty((t, u, n), dtype)  # r * h_{t-1}, the input of U_h
    hs = scratch.empty((t + 1, u, n), dtype)
    hs[0, ...] = 0.0
    for s in range(t):
        h_prev = hs[s, ...]
        pre = xp.matmul(r_zr_fwd, h_prev)
        pre += z_in[:u2, s, :]
        gate = rec(pre)
        zr[s, ...] = gate
        rh = gate[u:, :] * h_prev
        reset_hs[s, ...] = rh
        pre_h = xp.matmul(r_h_fwd, rh)
        pre_h += z_in[u2:, s, :]
        cand = act(pre_h)
        cands[s, ...] = cand
        hs[s + 1, ...] = cand + gate[:u, :] * (h_prev - cand)
    local.give_back()

    def vjp(grad_out):
        per_step, dh = _incoming(grad_out, seqs)
        d_gate = d_rec(zr)
        z, r_gate = zr[:, :u, :], zr[:, u:, :]
        d_pre_h = (1.0 - z) * d_act(cands)
        p_z = (hs[:-1, ...] - cands) * d_gate[:, :u, :]
        p_r = hs[:-1, ...] * d_gate[:, u:, :]
        work = _Scratch()
        dz = work.empty((3 * u, t, n), dtype)
        for s in range(t - 1, -1, -1):
            if per_step is not None and s < t - 1:
                dh = dh + per_step[s, ...]
            dz_cand = dh * d_pre_h[s, ...]
            d_rh = xp.matmul(r_h, dz_cand)
            dz[:u, s, :] = dh * p_z[s, ...]
            dz[u:u2, s, :] = d_rh * p_r[s, ...]
            dz[u2:, s, :] = dz_cand
            if s > 0:
                dh = dh * z[s, ...] + d_rh * r_gate[s, ...] + xp.matmul(r_zr, dz[:u2, s, :])
        dz = xp.reshape(dz, (3 * u, t * n))
        dx, dkernel, dbias = _input_grads(x, kernel, _wants(bias), kernel.data, xf, dz)
        drec = None
        if recurrent_kernel.requires_grad:
            drec = backend.concat(
                [
                    xp.matmul(_states_flat(hs[:-1, ...]), _t(dz[:u2, :])),
                    xp.matmul(_states_flat(reset_hs), _t(dz[u2:, :])),
                ],
                axis=1,
            )
        work.give_back()
        grads = (dx, dkernel, drec)
        return grads if bias is None else grads + (dbias,)

    out = _outputs(hs, seqs)
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)

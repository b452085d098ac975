"""The fused LSTM kernel (Keras's gates ``i, f, c, o``) over a whole sequence, one recorded
primitive whose VJP runs backpropagation through time by hand."""

from __future__ import annotations

from engine import backend
from engine.autodiff.kernels_rnn_activations import (
    _activation,
    _derivative_into,
    _gate_activation,
    _tanh,
)
from engine.autodiff.kernels_rnn_layout import (
    _blocks,
    _check_shapes,
    _column,
    _in_place,
    _incoming,
    _matmul_to,
    _outputs,
    _parents,
    _storer,
    _t,
    _wants,
)
from engine.autodiff.kernels_rnn_threads import loop_threads
from engine.autodiff.kernels_rnn_workspace import _record, _Scratch
from engine.autodiff.tensor import Tensor, is_grad_enabled

__all__ = ["lstm"]

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
    n, t, f_in = x.shape
    dtype = x.data.dtype
    one_tanh = scale != 1.0 and activation == "tanh"
    scales = (scale, scale, scale, 1.0)
    parents = _parents(x, kernel, recurrent_kernel, bias)
    recording = is_grad_enabled() and any(p.requires_grad for p in parents)
    # One GEMM per step, [R^T | W^T | b] (4U, U+F+1) @ [h_{t-1}; x_t; 1] (U+F+1, N), makes
    # the step's gate pre-activations straight in the gate buffer (no separate projection
    # and no add pass): ~8% faster than the projection up front. ``hx`` holds every step's
    # right-hand operand; the loop writes each new state into the next one's top rows, and
    # backward reads the rows [H_prev; X] back as the left factor of the weight gradients.
    rows = u + f_in + (0 if bias is None else 1)
    weights = [_t(_blocks(recurrent_kernel.data, _LSTM_ORDER, u, scales))]
    weights.append(_t(_blocks(kernel.data, _LSTM_ORDER, u, scales)))
    if bias is not None:
        weights.append(_column(_blocks(bias.data, _LSTM_ORDER, u, scales)))
    stacked_weights = backend.concat(weights, axis=1)  # (4U, U+F[+1])
    scratch, local = _Scratch(), _Scratch()
    store = _storer()
    hx = scratch.empty((t + 1, rows, n), dtype)
    hx[:t, u : u + f_in, :] = backend.permute_dims(x.data, (1, 2, 0))
    if bias is not None:
        hx[:, rows - 1, :] = 1.0
    hx[0, :u, :] = 0.0
    # Inference keeps one step of gates and two cells (they stay in cache); training
    # keeps every step for backward.
    kept = t if recording else 1
    gates = (scratch if recording else local).empty((kept, 4, u, n), dtype)
    cs = (scratch if recording else local).empty((kept + 1, u, n), dtype)
    act_cs = (scratch if recording else local).empty((kept, u, n), dtype)
    product = local.empty((u, n), dtype)
    cs[0, ...] = 0.0
    with loop_threads(4 * u * u * n):
        for s in range(t):
            g = s if recording else 0
            c_prev, c_new = (s, s + 1) if recording else (s % 2, (s + 1) % 2)
            if s == 0:  # h_0 = 0: only the input and bias rows count
                _gemm_into(gates, g, stacked_weights[:, u:], hx[0, u:, :], u)
            else:
                _gemm_into(gates, g, stacked_weights, hx[s, ...], u)
            if one_tanh:
                store(gates, (g, ...), xp.tanh, gates[g, ...])
                sigmoids = (g, slice(0, 3), ...)
                store(gates, sigmoids, xp.multiply, gates[sigmoids], 0.5)
                store(gates, sigmoids, xp.add, gates[sigmoids], 0.5)
            else:
                gates[g, :3, ...] = rec(gates[g, :3, ...])
                gates[g, 3, ...] = act(gates[g, 3, ...])
            o, i, f, cand = (gates[g, k, ...] for k in range(4))
            store(cs, (c_new, ...), xp.multiply, f, cs[c_prev, ...])
            store(product, (...), xp.multiply, i, cand)
            store(cs, (c_new, ...), xp.add, cs[c_new, ...], product)
            if act is _tanh:
                store(act_cs, (g, ...), xp.tanh, cs[c_new, ...])
            else:
                act_cs[g, ...] = act(cs[c_new, ...])
            store(hx, (s + 1, slice(0, u), ...), xp.multiply, o, act_cs[g, ...])
    local.give_back()
    hs = hx[:, :u, :]  # (T+1, U, N): h_0 = 0, then every step's state

    def vjp(grad_out):
        per_step, dh_last = _incoming(grad_out, return_sequences)
        inplace = _in_place()
        # The unscaled weights in the internal gate order, for dh and dx.
        r = _blocks(recurrent_data, _LSTM_ORDER, u)
        w = _blocks(kernel_data, _LSTM_ORDER, u) if x.requires_grad else None
        work = _Scratch()
        # Everything that does not depend on the incoming gradient, for all steps at once
        # and straight into workspace buffers: dZ_o = dh * p_o, dZ_{i,f,c} = dc * p_{i,f,c},
        # and dc gains dh * q.
        every = slice(None)
        o, i, f, cand = (gates[:, k, ...] for k in range(4))
        p = work.empty((t, 4, u, n), dtype)
        _derivative_into(p, (every, slice(0, 3), ...), d_rec, gates[:, :3, ...], inplace)
        store(p, (every, 0, ...), xp.multiply, p[:, 0, ...], act_cs)
        store(p, (every, 1, ...), xp.multiply, p[:, 1, ...], cand)
        store(p, (every, 2, ...), xp.multiply, p[:, 2, ...], cs[:-1, ...])
        _derivative_into(p, (every, 3, ...), d_act, cand, inplace)
        store(p, (every, 3, ...), xp.multiply, p[:, 3, ...], i)
        q = work.empty((t, u, n), dtype)
        _derivative_into(q, (...), d_act, act_cs, inplace)
        store(q, (...), xp.multiply, q, o)

        dz = work.empty((4, u, t, n), dtype)  # (4U, T*N) once reshaped, for the GEMMs
        dh, dc, product = (work.empty((u, n), dtype) for _ in range(3))
        dh[...] = dh_last
        with loop_threads(4 * u * u * n):
            for s in range(t - 1, -1, -1):
                if per_step is not None and s < t - 1:
                    store(dh, (...), xp.add, dh, per_step[s, ...])
                if s == t - 1:
                    store(dc, (...), xp.multiply, dh, q[s, ...])
                else:
                    store(product, (...), xp.multiply, dh, q[s, ...])
                    store(dc, (...), xp.add, dc, product)
                store(dz, (0, every, s, every), xp.multiply, dh, p[s, 0, ...])
                store(dz, (slice(1, 4), every, s, every), xp.multiply, p[s, 1:, ...], dc)
                if s > 0:
                    store(dc, (...), xp.multiply, dc, f[s, ...])
                    dh = _matmul_to(dh, r, xp.reshape(dz[:, :, s, :], (4 * u, n)))
        dz = xp.reshape(dz, (4 * u, t * n))
        dx, dkernel, dbias, drec = _weight_grads(x, kernel, recurrent_kernel, bias, w, hx, dz, work)
        if dkernel is not None:
            dkernel = _blocks(dkernel, _LSTM_UNORDER, u)
        if drec is not None:
            drec = _blocks(drec, _LSTM_UNORDER, u)
        work.give_back()
        grads = (dx, dkernel, drec)
        if bias is None:
            return grads
        return grads + (None if dbias is None else _blocks(dbias, _LSTM_UNORDER, u),)

    kernel_data, recurrent_data = kernel.data, recurrent_kernel.data  # as this forward saw them
    out = _outputs(hs, return_sequences)
    return _record(out, parents, vjp, scratch)


def _gemm_into(gates, index: int, a, b, units: int) -> None:
    """``gates[index] = (a @ b)`` viewed as ``(4, U, N)``, straight into the buffer where
    the namespace takes ``out=``."""
    xp = backend.xp
    if _in_place():
        xp.matmul(a, b, out=xp.reshape(gates[index, ...], (4 * units, b.shape[1])))
    else:
        gates[index, ...] = xp.reshape(xp.matmul(a, b), (4, units, b.shape[1]))


def _weight_grads(x, kernel, recurrent_kernel, bias, w, hx, dz, scratch):
    """dx, d kernel, d bias and d recurrent_kernel from the gate gradients ``dz (4U, T*N)``.

    The kernel's and the recurrent kernel's gradients are one GEMM, ``[H_prev; X; 1] @
    dZ^T``, whose left factor is the forward's step operands ``hx`` read back feature-major
    (one copy): the two products share their long operand ``dZ``, and the thin
    ``X @ dZ^T`` alone ran at ~40% of GEMM speed (~12% less time for the pair).
    """
    xp = backend.xp
    n, t, f = x.shape
    u = recurrent_kernel.shape[0]
    want_rec, want_bias = recurrent_kernel.requires_grad, _wants(bias)
    want_in = kernel.requires_grad or want_bias
    dkernel = dbias = drec = dx = None
    if want_rec or want_in:
        first = 0 if want_rec else u
        last = hx.shape[1] if want_in else u
        left = scratch.empty((last - first, t, n), dz.dtype)
        left[...] = backend.permute_dims(hx[:t, first:last, :], (1, 0, 2))
        both = xp.matmul(xp.reshape(left, (last - first, t * n)), _t(dz))
        if want_rec:
            drec = both[:u, :]
        if kernel.requires_grad:
            dkernel = both[u - first : u - first + f, :]
        if want_bias:
            dbias = both[u - first + f, :]
    if x.requires_grad:
        dx = backend.permute_dims(xp.reshape(xp.matmul(w, dz), (f, t, n)), (2, 1, 0))
    return dx, dkernel, dbias, drec

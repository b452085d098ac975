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
    _all_grads,
    _blocks,
    _check_shapes,
    _features_major,
    _in_place,
    _incoming,
    _matmul_to,
    _outputs,
    _parents,
    _project_steps,
    _storer,
    _t,
    _wants,
)
from engine.autodiff.kernels_rnn_threads import loop_threads
from engine.autodiff.kernels_rnn_workspace import _record, _Scratch
from engine.autodiff.tensor import Tensor

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
    n, t, _ = x.shape
    dtype = x.data.dtype
    one_tanh = scale != 1.0 and activation == "tanh"
    scales = (scale, scale, scale, 1.0)
    r_fwd = _t(_blocks(recurrent_kernel.data, _LSTM_ORDER, u, scales))
    b_fwd = None if bias is None else _blocks(bias.data, _LSTM_ORDER, u, scales)
    w_fwd = _blocks(kernel.data, _LSTM_ORDER, u, scales)
    scratch, local = _Scratch(), _Scratch()
    xf = _features_major(x.data, bias is not None, scratch)
    store = _storer()

    # The input projection lands step-major in the gate buffer, which then holds each
    # step's pre-activations and, in place, its gates o, i, f, c~ after activation.
    projected = scratch.empty((t, 4 * u, n), dtype)
    _project_steps(xf, w_fwd, b_fwd, t, n, projected)
    gates = xp.reshape(projected, (t, 4, u, n))
    cs = scratch.empty((t + 1, u, n), dtype)
    act_cs = scratch.empty((t, u, n), dtype)
    hs = scratch.empty((t + 1, u, n), dtype)
    recurrent = local.empty((4 * u, n), dtype)
    product = local.empty((u, n), dtype)
    cs[0, ...] = 0.0
    hs[0, ...] = 0.0
    with loop_threads(4 * u * u * n):
        for s in range(t):
            if s > 0:  # h_0 = 0: the first step has no recurrent product
                z = xp.reshape(_matmul_to(recurrent, r_fwd, hs[s, ...]), (4, u, n))
                store(gates, (s, ...), xp.add, gates[s, ...], z)
            if one_tanh:
                store(gates, (s, ...), xp.tanh, gates[s, ...])
                sigmoids = (s, slice(0, 3), ...)
                store(gates, sigmoids, xp.multiply, gates[sigmoids], 0.5)
                store(gates, sigmoids, xp.add, gates[sigmoids], 0.5)
            else:
                gates[s, :3, ...] = rec(gates[s, :3, ...])
                gates[s, 3, ...] = act(gates[s, 3, ...])
            o, i, f, cand = (gates[s, k, ...] for k in range(4))
            store(cs, (s + 1, ...), xp.multiply, f, cs[s, ...])
            store(product, (...), xp.multiply, i, cand)
            store(cs, (s + 1, ...), xp.add, cs[s + 1, ...], product)
            if act is _tanh:
                store(act_cs, (s, ...), xp.tanh, cs[s + 1, ...])
            else:
                act_cs[s, ...] = act(cs[s + 1, ...])
            store(hs, (s + 1, ...), xp.multiply, o, act_cs[s, ...])
    local.give_back()

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
        states = hs[:-1, ...] if recurrent_kernel.requires_grad else None
        dx, dkernel, dbias, drec = _all_grads(x, kernel, _wants(bias), w, xf, dz, states, work)
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
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)

"""The fused LSTM kernel (Keras's gates ``i, f, c, o``) over a whole sequence, one recorded
primitive whose VJP runs backpropagation through time by hand."""

from __future__ import annotations

from engine import backend
from engine.autodiff.kernels_rnn_activations import _activation, _gate_activation, _tanh
from engine.autodiff.kernels_rnn_layout import (
    _blocks,
    _check_shapes,
    _features_major,
    _incoming,
    _input_grads,
    _outputs,
    _parents,
    _project_inputs,
    _states_flat,
    _storer,
    _t,
    _wants,
)
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

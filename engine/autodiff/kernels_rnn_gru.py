"""The fused GRU kernels (Keras's gates ``z, r, h``, ``reset_after`` either way) over a whole
sequence, each one recorded primitive whose VJP runs backpropagation through time by hand."""

from __future__ import annotations

from engine import backend
from engine.autodiff.kernels_rnn_activations import _activation, _gate_activation
from engine.autodiff.kernels_rnn_layout import (
    _blocks,
    _check_shapes,
    _column,
    _features_major,
    _incoming,
    _input_grads,
    _outputs,
    _parents,
    _project_inputs,
    _states_flat,
    _t,
    _wants,
)
from engine.autodiff.kernels_rnn_workspace import _record, _Scratch
from engine.autodiff.tensor import Tensor

__all__ = ["gru"]


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

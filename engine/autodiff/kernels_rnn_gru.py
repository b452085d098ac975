"""The fused GRU kernels (Keras's gates ``z, r, h``, ``reset_after`` either way) over a whole
sequence, each one recorded primitive whose VJP runs backpropagation through time by hand."""

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
    _features_major,
    _in_place,
    _incoming,
    _input_grads,
    _matmul_to,
    _outputs,
    _parents,
    _project_inputs,
    _project_steps,
    _states_flat,
    _storer,
    _t,
    _wants,
)
from engine.autodiff.kernels_rnn_threads import loop_threads
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
    store = _storer()
    inplace = _in_place()

    # The input projection lands step-major in ``zrh``, which then holds, in place, each
    # step's gates z, r and candidate h~ after activation.
    zrh = scratch.empty((t, 3 * u, n), dtype)
    _project_steps(xf, _blocks(kernel.data, order, u, scales), b_in, t, n, zrh)
    inners = scratch.empty((t, 3 * u, n), dtype)  # h U + b_h; r multiplies its h block
    hs = scratch.empty((t + 1, u, n), dtype)
    product = local.empty((u, n), dtype)
    hs[0, ...] = 0.0
    with loop_threads(3 * u * u * n):
        for s in range(t):
            h_prev = hs[s, ...]
            if s > 0:
                inner = _matmul_to(inners[s, ...], r_fwd, h_prev)
                if b_rec is not None:
                    store(inners, (s, ...), xp.add, inner, b_rec)
            else:  # h_0 = 0: the recurrent product is the bias alone
                inners[s, ...] = 0.0 if b_rec is None else b_rec
            inner = inners[s, ...]
            gates = (s, slice(0, u2), ...)
            store(zrh, gates, xp.add, zrh[gates], inner[:u2, :])
            _activate_into(zrh, gates, rec, scale != 1.0, inplace, store)
            store(product, (...), xp.multiply, zrh[s, u:u2, :], inner[u2:, :])
            cand = (s, slice(u2, None), ...)
            store(zrh, cand, xp.add, zrh[cand], product)
            _activate_into(zrh, cand, act, False, inplace, store)
            # h_t = h~ + z * (h_{t-1} - h~)
            store(hs, (s + 1, ...), xp.subtract, h_prev, zrh[cand])
            store(hs, (s + 1, ...), xp.multiply, hs[s + 1, ...], zrh[s, :u, :])
            store(hs, (s + 1, ...), xp.add, hs[s + 1, ...], zrh[cand])
    local.give_back()
    zr, cands, inner_h = zrh[:, :u2, :], zrh[:, u2:, :], inners[:, u2:, :]

    def vjp(grad_out):
        per_step, dh_last = _incoming(grad_out, seqs)
        # Every gate gradient is dh times a factor known before the loop, computed for all
        # steps at once into workspace buffers: px (w.r.t. x W + b_x) and ph (h U_h + b_hh).
        every = slice(None)
        z, r_gate = zr[:, :u, :], zr[:, u:, :]
        work = _Scratch()
        px = work.empty((t, 3 * u, n), dtype)
        ph = work.empty((t, u, n), dtype)
        _derivative_into(px, (every, slice(0, u2), every), d_rec, zr, inplace)
        store(ph, (...), xp.subtract, hs[:-1, ...], cands)
        store(px, (every, slice(0, u), every), xp.multiply, px[:, :u, :], ph)
        candidate = (every, slice(u2, None), every)
        _derivative_into(px, candidate, d_act, cands, inplace)
        store(ph, (...), xp.subtract, 1.0, z)
        store(px, candidate, xp.multiply, px[candidate], ph)  # d pre-activation of h~
        reset = (every, slice(u, u2), every)
        store(px, reset, xp.multiply, px[reset], px[candidate])
        store(px, reset, xp.multiply, px[reset], inner_h)
        store(ph, (...), xp.multiply, px[candidate], r_gate)
        px3 = xp.reshape(px, (t, 3, u, n))

        dz_x = work.empty((3, u, t, n), dtype)  # w.r.t. x W + b_x
        dz_h = work.empty((3 * u, t, n), dtype)  # w.r.t. h U + b_h
        dh, back = work.empty((u, n), dtype), work.empty((u, n), dtype)
        dh[...] = dh_last
        with loop_threads(3 * u * u * n):
            for s in range(t - 1, -1, -1):
                if per_step is not None and s < t - 1:
                    store(dh, (...), xp.add, dh, per_step[s, ...])
                store(dz_x, (every, every, s, every), xp.multiply, px3[s, ...], dh)
                dz_h[:u2, s, :] = xp.reshape(dz_x[:2, :, s, :], (u2, n))
                store(dz_h, (slice(u2, None), s, every), xp.multiply, dh, ph[s, ...])
                if s > 0:
                    back = _matmul_to(back, r, dz_h[:, s, :])
                    store(dh, (...), xp.multiply, dh, z[s, ...])
                    store(dh, (...), xp.add, dh, back)
        dz_x = xp.reshape(dz_x, (3 * u, t * n))
        dz_h = xp.reshape(dz_h, (3 * u, t * n))
        dx, dkernel, db_in = _input_grads(x, kernel, _wants(bias), kernel_data, xf, dz_x)
        drec = None
        if recurrent_kernel.requires_grad:
            drec = xp.matmul(_states_flat(hs[:-1, ...]), _t(dz_h))
        dbias = None
        if db_in is not None:
            dbias = xp.stack([db_in, xp.sum(dz_h, axis=1)])
        work.give_back()
        grads = (dx, dkernel, drec)
        return grads if bias is None else grads + (dbias,)

    kernel_data = kernel.data
    out = _outputs(hs, seqs)
    return _record(out, _parents(x, kernel, recurrent_kernel, bias), vjp, scratch)


def _activate_into(buffer, index, fn, halved_sigmoid: bool, inplace: bool, store) -> None:
    """``buffer[index] = fn(buffer[index])``; tanh and the halved-weight sigmoid
    (``0.5 * tanh(a) + 0.5``) in place, where the namespace takes ``out=``."""
    xp = backend.xp
    if inplace and (halved_sigmoid or fn is _tanh):
        store(buffer, index, xp.tanh, buffer[index])
        if halved_sigmoid:
            store(buffer, index, xp.multiply, buffer[index], 0.5)
            store(buffer, index, xp.add, buffer[index], 0.5)
    else:
        buffer[index] = fn(buffer[index])


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
    with loop_threads(3 * u * u * n):
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
        with loop_threads(3 * u * u * n):
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

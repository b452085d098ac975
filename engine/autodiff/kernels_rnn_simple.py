"""The fused SimpleRNN kernel: ``h_t = act(x_t W + h_{t-1} R + b)`` over a whole sequence,
one recorded primitive whose VJP runs backpropagation through time by hand."""

from __future__ import annotations

from engine import backend
from engine.autodiff.kernels_rnn_activations import _activation
from engine.autodiff.kernels_rnn_layout import (
    _check_shapes,
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
from engine.autodiff.kernels_rnn_threads import loop_threads
from engine.autodiff.kernels_rnn_workspace import _record, _Scratch
from engine.autodiff.tensor import Tensor

__all__ = ["simple_rnn"]


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
    with loop_threads(u * u * n):
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
        with loop_threads(u * u * n):
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

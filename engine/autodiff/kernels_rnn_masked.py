"""SimpleRNN / LSTM / GRU over a padded sequence with a mask, as Keras runs them.

At a step whose mask is False the state (and an LSTM's cell) is carried over unchanged, so
that step's output repeats the previous one (zeros before the first real step; zeros at
every masked step with ``zero_output_for_mask``) and the last state is the one after the
last real step. This is Keras's masked ``rnn`` loop, and
it is not what the fused kernels of :mod:`engine.autodiff.kernels_rnn` compute, so masked
sequences take this path: the input projection of all steps is one matmul, then each step
is a handful of engine primitives (whose VJPs give backpropagation through time),
``where(mask_t, new, old)`` choosing per sample. Everything is batched over samples and
runs on the backend namespace ``xp``; only the loop over timesteps is in Python. Weights
are in Keras's layout and gate order (:mod:`engine.layers.recurrent`).
"""

from __future__ import annotations

from engine import activations, backend
from engine.autodiff import ops
from engine.autodiff.tensor import Tensor

__all__ = ["masked_recurrence"]


def _block(z, index: int, units: int):
    return ops.getitem(z, (slice(None), slice(index * units, (index + 1) * units)))


def masked_recurrence(
    kind: str,
    x,
    kernel,
    recurrent_kernel,
    bias,
    mask,
    activation: str = "tanh",
    recurrent_activation: str = "sigmoid",
    return_sequences: bool = False,
    reset_after: bool = True,
    zero_output_for_mask: bool = False,
) -> Tensor:
    """``kind`` (``SimpleRNN`` / ``LSTM`` / ``GRU``) over ``x (N, T, F)`` where ``mask
    (N, T)`` (boolean) marks the real steps; returns ``(N, T, U)`` or the last state.

    ``zero_output_for_mask`` (Keras's RNN argument, forced on by ``Bidirectional`` with
    ``return_sequences``) outputs zeros at masked steps instead of the carried state."""
    xp = backend.xp
    n, steps = x.shape[0], x.shape[1]
    units = recurrent_kernel.shape[0]
    act = activations.get(activation)
    gate = activations.get(recurrent_activation)
    recurrent_bias = None
    projected = ops.matmul(x, kernel)
    if bias is not None:
        if kind == "GRU" and reset_after:
            projected = projected + ops.getitem(bias, 0)
            recurrent_bias = ops.getitem(bias, 1)
        else:
            projected = projected + bias
    projected = ops.transpose(projected, (1, 0, 2))  # (T, N, k*U): one step a row
    keep = xp.reshape(xp.astype(backend.asarray(mask), xp.bool), (n, steps, 1))
    h = Tensor(xp.zeros((n, units), dtype=projected.dtype))
    c = h
    outputs = []
    for t in range(steps):
        z = ops.getitem(projected, t)
        m = keep[:, t]
        if kind == "SimpleRNN":
            new_h = act(z + ops.matmul(h, recurrent_kernel))
        elif kind == "LSTM":
            z = z + ops.matmul(h, recurrent_kernel)
            i, f = gate(_block(z, 0, units)), gate(_block(z, 1, units))
            g, o = act(_block(z, 2, units)), gate(_block(z, 3, units))
            new_c = f * c + i * g
            new_h = o * act(new_c)
            c = ops.where(m, new_c, c)
        elif reset_after:  # GRU, reset gate applied after the recurrent product
            hr = ops.matmul(h, recurrent_kernel)
            if recurrent_bias is not None:
                hr = hr + recurrent_bias
            update = gate(_block(z, 0, units) + _block(hr, 0, units))
            reset = gate(_block(z, 1, units) + _block(hr, 1, units))
            candidate = act(_block(z, 2, units) + reset * _block(hr, 2, units))
            new_h = update * h + (1.0 - update) * candidate
        else:  # GRU, reset gate applied to the state before the product
            gates = ops.matmul(h, ops.getitem(recurrent_kernel, (slice(None), slice(0, 2 * units))))
            update = gate(_block(z, 0, units) + _block(gates, 0, units))
            reset = gate(_block(z, 1, units) + _block(gates, 1, units))
            candidate_kernel = ops.getitem(recurrent_kernel, (slice(None), slice(2 * units, None)))
            candidate = act(_block(z, 2, units) + ops.matmul(reset * h, candidate_kernel))
            new_h = update * h + (1.0 - update) * candidate
        h = ops.where(m, new_h, h)
        if return_sequences:
            step_out = ops.where(m, h, xp.zeros((), dtype=h.dtype)) if zero_output_for_mask else h
            outputs.append(ops.reshape(step_out, (n, 1, units)))
    if return_sequences:
        return ops.concat(outputs, axis=1)
    return h

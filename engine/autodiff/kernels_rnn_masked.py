"""SimpleRNN / LSTM / GRU over a padded sequence with a mask, as Keras runs them.

At a step whose mask is False Keras carries the state (and an LSTM's cell) over unchanged,
so that step's output repeats the previous one (zeros before the first real step; zeros at
every masked step with ``zero_output_for_mask``) and the last state is the one after the
last real step. A masked step is thus a step skipped, which gives an exact way to reuse
the fused kernels of :mod:`engine.autodiff.kernels_rnn`:

1. move each sequence's real steps to its front, in order (a per-sample permutation of
   the steps, whose VJP is the inverse permutation);
2. run the fused kernel over the whole compacted sequence, every step's state kept: up to
   step ``count - 1`` it is exactly Keras's state after the real steps seen so far (what
   follows, over the padding moved to the back, is never read);
3. read every output step back at ``cumsum(mask) - 1`` (the last state: at ``count - 1``)
   with a batched one-hot matmul, whose VJP adds the gradients of repeated reads.

This is the same compaction the ONNX export uses with ``sequence_lens``
(:mod:`engine.onnx.masks`). It costs the unmasked kernel plus two gathers, runs on the
backend namespace ``xp`` and has no Python loop over samples or steps.
"""

from __future__ import annotations

from engine import backend
from engine.autodiff import kernels_rnn, ops
from engine.autodiff.ops import as_tensor
from engine.autodiff.tensor import Tensor

__all__ = ["masked_recurrence", "permute_steps", "select_steps"]


def permute_steps(x, order) -> Tensor:
    """``x[n, order[n, t]]`` for a per-sample permutation ``order (N, T)`` of the steps."""
    x = as_tensor(x)
    xp = backend.xp
    tail = (1,) * (x.ndim - 2)
    index = xp.reshape(order, (*order.shape, *tail))
    inverse = xp.reshape(xp.argsort(order, axis=1), (*order.shape, *tail))
    return Tensor.from_op(
        xp.take_along_axis(x.data, index, axis=1),
        (x,),
        lambda g: (xp.take_along_axis(g, inverse, axis=1),),
    )


def select_steps(x, index) -> Tensor:
    """``x[n, index[n, s]]`` for ``x (N, T, U)`` and ``index (N, S)`` (repeats allowed),
    as a batched matmul by one-hot rows so that repeated reads add their gradients."""
    x = as_tensor(x)
    xp = backend.xp
    steps = xp.reshape(xp.arange(x.shape[1], dtype=index.dtype), (1, 1, x.shape[1]))
    one_hot = xp.astype(xp.reshape(index, (*index.shape, 1)) == steps, x.dtype)
    return ops.matmul(Tensor(one_hot), x)


def _cumulative_sum(a, axis: int):
    xp = backend.xp
    fn = getattr(xp, "cumulative_sum", None) or xp.cumsum
    return fn(a, axis=axis)


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
    x = as_tensor(x)
    steps = x.shape[1]
    real = xp.astype(backend.asarray(mask), xp.bool)
    positions = xp.reshape(xp.arange(steps, dtype=xp.int64), (1, steps))
    # Real steps first, each group in time order: sort by (padding?, t).
    late = xp.where(real, xp.zeros_like(positions), xp.full_like(positions, steps))
    order = xp.argsort(late + positions, axis=1)
    compact = permute_steps(x, order)
    if kind == "SimpleRNN":
        states = kernels_rnn.simple_rnn(
            compact, kernel, recurrent_kernel, bias, activation, return_sequences=True
        )
    elif kind == "LSTM":
        states = kernels_rnn.lstm(
            compact,
            kernel,
            recurrent_kernel,
            bias,
            activation,
            recurrent_activation,
            return_sequences=True,
        )
    else:
        states = kernels_rnn.gru(
            compact,
            kernel,
            recurrent_kernel,
            bias,
            activation,
            recurrent_activation,
            return_sequences=True,
            reset_after=reset_after,
        )
    seen = _cumulative_sum(xp.astype(real, xp.int64), axis=1)  # real steps up to t
    zero = xp.zeros((), dtype=states.dtype)
    if not return_sequences:
        count = seen[:, -1:]
        last = select_steps(states, xp.maximum(count - 1, xp.zeros_like(count)))
        last = ops.reshape(last, (last.shape[0], last.shape[2]))
        return ops.where(count > 0, last, zero)
    read = select_steps(states, xp.maximum(seen - 1, xp.zeros_like(seen)))
    keep = real if zero_output_for_mask else seen > 0
    return ops.where(xp.reshape(keep, (*keep.shape, 1)), read, zero)

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
- The input projection for all timesteps is ONE (batched) GEMM before the loop,
  ``W^T (k*U, F+1) @ X (F+1, T*N)``, the bias riding along as a row of ones in ``X`` (its
  gradient then comes out of the kernel-gradient GEMM as an extra row, saving a pass over
  all pre-activations each way). The LSTM and the GRU write it step-major ``(T, k*U, N)``
  into the gate buffer itself, so each step adds its recurrent GEMM ``R^T (k*U, U) @ h (U,
  N)`` to a contiguous block and activates the gates there in place. Step 0 has no
  recurrent GEMM (``h_0 = 0``).
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
  each: ``X @ dZ^T``, ``H_prev @ dZ^T`` and ``W @ dZ`` (the LSTM stacks the first two into
  ``[H_prev; X] @ dZ^T``: they share the long ``dZ``, and the thin ``X`` alone ran at ~40%
  of GEMM speed).
- The big buffers come from a small workspace and are reused from call to call (freshly
  allocated, their page faults were ~40% of the LSTM's CPU time); under numpy and CuPy the
  LSTM's and GRU's loops and backward factors write straight into them with ``out=``
  (other namespaces, such as ``array_api_strict`` in the tests, assign the results).

At the LSTM benchmark's shapes (batch 128, 28 steps x 28 features, 128 units) the GEMMs
are about 60% of the time and run as fast as PyTorch's (OpenBLAS SkylakeX kernels, one
thread); the rest is the elementwise gate arithmetic, ~10 ufunc passes per step that
PyTorch fuses. Time loops with a small per-step GEMM run on one BLAS thread
(:mod:`~engine.autodiff.kernels_rnn_threads`). Profile: ``benchmarks/bench_rnn_kernels.py``.

Where each part lives (this module only gathers them, so every import keeps working):

- :mod:`~engine.autodiff.kernels_rnn_simple`, :mod:`~engine.autodiff.kernels_rnn_lstm`,
  :mod:`~engine.autodiff.kernels_rnn_gru`: one cell kind each, forward and VJP side by side;
- :mod:`~engine.autodiff.kernels_rnn_activations`: :data:`RNN_ACTIVATIONS`, each paired with
  its derivative written in terms of the activation's *output* (backward needs only stored
  gate values);
- :mod:`~engine.autodiff.kernels_rnn_layout`: the feature-major layout, gate-block
  reordering, and the GEMMs before and after the time loop;
- :mod:`~engine.autodiff.kernels_rnn_workspace`: the reused scratch memory (the convolution
  kernels use it too);
- :mod:`~engine.autodiff.kernels_rnn_threads`: one BLAS thread inside small-step loops;
- :mod:`~engine.autodiff.kernels_rnn_masked`: masked sequences, on top of these kernels.
"""

from __future__ import annotations

from engine.autodiff.kernels_rnn_activations import RNN_ACTIVATIONS
from engine.autodiff.kernels_rnn_gru import gru
from engine.autodiff.kernels_rnn_lstm import lstm
from engine.autodiff.kernels_rnn_simple import simple_rnn
from engine.autodiff.kernels_rnn_workspace import _WORKSPACE, _record, _Scratch

__all__ = ["RNN_ACTIVATIONS", "simple_rnn", "lstm", "gru", "_WORKSPACE", "_Scratch", "_record"]

"""Speed of the fused recurrent kernels on the reference LSTM's shapes (batch 128).

The reference model reads 28 steps of 28 features (an MNIST image row by row): LSTM 128 ->
last state -> Dense 10 -> softmax cross-entropy, trained with Adam at batch 128. This prints
the median (of ``--repeats`` rounds, each the mean of ``--inner`` calls) time of

- the LSTM kernel's forward alone and forward + backward (input not differentiated, as for
  a first layer), and the same for GRU and SimpleRNN;
- one whole training step of the reference model (forward, loss, backward, Adam update),
  and the epoch it implies (60,000 samples), which is what the project's target is stated
  in (issue 11: our epoch <= 1.0x PyTorch's CPU time at the same thread count);

and, when PyTorch is installed (``pip install torch==2.13.0``; never a test dependency),
``torch.nn.LSTM`` / ``GRU`` / ``RNN`` on the same shapes with the same number of threads.
Engine and PyTorch runs alternate round by round, so a busy machine slows both alike.

Run: ``python -m benchmarks.bench_rnn_kernels`` (``--repeats 5 --inner 10 --threads 2
--no-torch``). OpenBLAS reads ``OPENBLAS_CORETYPE`` at start-up; the BLAS line of the report
says which kernel numpy's GEMMs use, since that decides most of the engine's time.

Where the time goes (cProfile with a CPU-time clock, one BLAS thread, one engine epoch of
``benchmarks.bench_training``'s rows, shared 2-core x86 machine at load 3-5, OpenBLAS 0.3.31
SkylakeX kernels; after the fixes below):

- LSTM 28x28, 128 units, batch 128: the per-step GEMMs ~36% (forward ``[R^T | W^T | b]
  (512, 157) @ (157, 128)`` ~20%, backward ``R (128, 512) @ dZ_t`` ~16%; both run as fast
  as ``torch.mm``, ~100 GFLOP/s on one core); the weight-gradient GEMM
  ``[H_prev; X; 1] @ dZ^T`` ~22%; the elementwise gate arithmetic of the two time loops
  ~16% (~10 ufunc passes over 16-64k values per step); Python in the loops ~6%; the
  backward's all-steps derivative factors ~3%; Dense, loss, Adam (~1.5%) and the fit loop
  the rest. Against one-thread PyTorch the GEMMs are level; the gap left is the elementwise
  passes, which PyTorch fuses into one kernel per step.
- 2-layer bidirectional GRU, 64 units, 100 steps, batch 64: the GRU backward ~48% (its
  dx + kernel-gradient GEMMs alone ~20%), the GRU forward ~32%; per step the GEMM is tiny
  (``(192, 64) @ (64, 64)``, ~15 us) and the ~12 ufunc calls around it cost more (~16% of
  the epoch in elementwise calls, mostly call overhead at 4k values each); the input
  projections ~8%, the (N, T, F) -> (F, T*N) transposes ~5%; the Embedding's gradient ~7%
  (most of it zeroing and first-touching the 20k x 128 table); Adam ~5%. Already ~0.85x
  of one-thread PyTorch's epoch.
- BLAS threads decide more than any kernel: with numpy's default two threads on this loaded
  machine the same epochs took 2-4x longer and swung 3x from epoch to epoch (a GEMM that
  took 0.45 ms on one thread took 6 ms on two: one thread waits on the other, descheduled).

Fixes this led to (each a commit with its before/after in one process): for the GRU, the
input projection written step-major into the gate buffer (contiguous per-step add, gates
activated in place); no recurrent GEMM at step 0; the backward's derivative factors
computed in place into workspace buffers; one stacked weight-gradient GEMM for the LSTM;
the Embedding's gradient by a sorted segment sum (``kernels_sequence.token_lookup``);
one BLAS thread inside time loops whose step GEMM is small (``kernels_rnn_threads``);
for the LSTM, one GEMM per step over ``[h; x_t; 1]`` instead of a projection up front plus
an add, and, without a tape, one step of gates kept instead of all.

Measured CPU time (one BLAS thread, one PyTorch thread, load 5-6), alternating in one
process, the original kernels against these: LSTM kernel forward 0.77x and forward +
backward 0.88x of before; GRU kernel forward 0.98x, forward + backward 0.97x; the Embedding
gradient at 64 x 100 tokens 10.0 -> 6.3 ms; whole epochs of ``bench_training``'s rows:
LSTM 1.21x -> 1.08x of PyTorch's, its forward-only inference 1.50x -> 1.15x; GRU 0.79x
(unchanged within noise).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import backend  # noqa: E402
from engine.autodiff import kernels_rnn, ops  # noqa: E402
from engine.autodiff.tensor import Tensor, Variable, grad, no_grad  # noqa: E402
from engine.layers import LSTM, Dense  # noqa: E402

try:  # optional reference, benchmark only
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

try:  # optional: pins numpy's BLAS threads to --threads
    import threadpoolctl
except ImportError:  # pragma: no cover
    threadpoolctl = None

EPOCH_SAMPLES = 60_000


def interleaved_timings(
    fns: dict[str, Callable[[], object]], repeats: int, inner: int, clock=time.perf_counter
) -> dict[str, tuple[float, float]]:
    """(median, best) over rounds of the mean time per call, in ms; the functions alternate
    round by round. On a shared machine the best round is the one least disturbed."""
    for fn in fns.values():
        fn()  # warm up (allocator, BLAS threads, PyTorch's kernels)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            for _ in range(inner):
                fn()
            times[name].append((clock() - start) / inner)
    return {name: (statistics.median(ts) * 1e3, min(ts) * 1e3) for name, ts in times.items()}


# -- kernel timings -----------------------------------------------------------------------------


def engine_kernel(kind: str, batch: int, steps: int, features: int, units: int, backward: bool):
    rng = np.random.default_rng(0)
    k = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[kind]
    x = Tensor(rng.standard_normal((batch, steps, features)).astype(np.float32))
    kernel = Variable(rng.uniform(-0.1, 0.1, (features, k * units)).astype(np.float32))
    recurrent = Variable(rng.uniform(-0.1, 0.1, (units, k * units)).astype(np.float32))
    bias_shape = (2, k * units) if kind == "GRU" else (k * units,)
    bias = Variable(np.zeros(bias_shape, np.float32))
    fn = {"LSTM": kernels_rnn.lstm, "GRU": kernels_rnn.gru, "SimpleRNN": kernels_rnn.simple_rnn}
    seed = backend.asarray(np.ones((batch, units), np.float32))
    weights = [kernel, recurrent, bias]

    def forward():
        with no_grad():
            return fn[kind](x, kernel, recurrent, bias)

    def forward_backward():
        return grad(fn[kind](x, kernel, recurrent, bias), weights, grad_output=seed)

    return forward_backward if backward else forward


def torch_kernel(kind: str, batch: int, steps: int, features: int, units: int, backward: bool):
    cls = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}[kind]
    module = cls(features, units, batch_first=True)
    x = torch.randn(batch, steps, features)

    def forward():
        with torch.no_grad():
            return module(x)

    def forward_backward():
        module.zero_grad(set_to_none=True)
        _, state = module(x)
        last = state[0] if kind == "LSTM" else state  # h_n, as the engine's last state
        last[-1].sum().backward()

    return forward_backward if backward else forward


# -- a whole training step of the reference model ----------------------------------------------


def engine_train_step(batch: int, steps: int, features: int, units: int):
    """LSTM -> Dense 10 -> softmax cross-entropy -> Adam, on the engine's layers and ops."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, steps, features)).astype(np.float32))
    one_hot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    target = Tensor(backend.asarray(one_hot))
    lstm, dense = LSTM(units), Dense(10)

    def loss():
        logits = dense(lstm(x))
        return ops.neg(ops.mean(ops.sum_(ops.log_softmax(logits) * target, axis=-1)))

    loss()  # builds the layers
    params = lstm.trainable_weights + dense.trainable_weights
    moments = [[backend.xp.zeros_like(p.data), backend.xp.zeros_like(p.data)] for p in params]
    count = [0]

    def step():
        # Adam (Kingma & Ba) written out: the optimizers module is benchmarked elsewhere.
        grads = grad(loss(), params)
        count[0] += 1
        t = count[0]
        scale = 1e-3 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for p, g, (m, v) in zip(params, grads, moments, strict=True):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p.data = p.data - scale * m / (backend.xp.sqrt(v) + 1e-7)

    return step


def torch_train_step(batch: int, steps: int, features: int, units: int):
    lstm = torch.nn.LSTM(features, units, batch_first=True)
    dense = torch.nn.Linear(units, 10)
    optimizer = torch.optim.Adam([*lstm.parameters(), *dense.parameters()], lr=1e-3)
    x = torch.randn(batch, steps, features)
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        _, (h, _) = lstm(x)
        torch_f.cross_entropy(dense(h[-1]), y).backward()
        optimizer.step()

    return step


# -- a real epoch through Model.fit ------------------------------------------------------------


def engine_fit_epoch(samples: int, batch: int, steps: int, features: int, units: int):
    """One ``fit`` epoch of the reference model (the engine's own loop, loss and Adam)."""
    import engine  # noqa: PLC0415 - the models package is only needed here

    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, steps, features)).astype(np.float32)
    y = rng.integers(0, 10, samples)
    model = engine.Sequential(
        [engine.Input((steps, features)), LSTM(units), Dense(10, activation="softmax")]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


def torch_fit_epoch(samples: int, batch: int, steps: int, features: int, units: int):
    step = torch_train_step(batch, steps, features, units)
    x = torch.randn(samples, steps, features)

    def epoch():
        for start in range(0, samples, batch):
            x[start : start + batch]  # the slicing a data loader does
            step()

    return epoch


# -- report -------------------------------------------------------------------------------------


def blas_line() -> str:
    coretype = os.environ.get("OPENBLAS_CORETYPE", "auto")
    if threadpoolctl is None:
        return f"numpy BLAS: unknown (OPENBLAS_CORETYPE={coretype})"
    infos = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    described = ", ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
        f"{i.get('num_threads')} threads"
        for i in infos
    )
    return f"numpy BLAS: {described} (OPENBLAS_CORETYPE={coretype})"


def row(name: str, ours: tuple[float, float], theirs: tuple[float, float] | None) -> str:
    """Median columns, then the same for the best rounds."""
    text = f"{name:<38} {ours[0]:8.2f}"
    if theirs is not None:
        text += f" {theirs[0]:8.2f} {ours[0] / theirs[0]:6.2f}x"
    text += f"   | best {ours[1]:7.2f}"
    if theirs is not None:
        text += f" {theirs[1]:7.2f} {ours[1] / theirs[1]:6.2f}x"
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--features", type=int, default=28)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--inner", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument(
        "--fit-samples",
        type=int,
        default=0,
        help="also time one Model.fit epoch on this many samples (60000 = MNIST)",
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="measure process CPU time instead of wall time: steadier on a shared machine, "
        "and comparable only with --threads 1 (idle BLAS threads spin)",
    )
    args = parser.parse_args(argv)
    use_torch = torch is not None and not args.no_torch
    if threadpoolctl is not None:
        threadpoolctl.threadpool_limits(args.threads, user_api="blas")
    if use_torch:
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)

    shapes = (args.batch, args.steps, args.features, args.units)
    print(
        f"batch {args.batch}, {args.steps} steps x {args.features} features, "
        f"{args.units} units; median of {args.repeats} rounds x {args.inner} calls, "
        f"{'CPU' if args.cpu_time else 'wall'} time"
    )
    clock = time.process_time if args.cpu_time else time.perf_counter
    print(blas_line())
    if use_torch:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    columns = f"{'engine':>8} {'torch':>8} {'ratio':>7}" if use_torch else f"{'engine':>8}"
    print(f"{'ms per call (median of rounds)':<38} {columns}   | best round")

    for kind in ("LSTM", "GRU", "SimpleRNN"):
        for backward, label in ((False, "forward"), (True, "forward+backward")):
            fns = {"engine": engine_kernel(kind, *shapes, backward)}
            if use_torch:
                fns["torch"] = torch_kernel(kind, *shapes, backward)
            got = interleaved_timings(fns, args.repeats, args.inner, clock)
            print(row(f"{kind} kernel {label}", got["engine"], got.get("torch")))

    fns = {"engine": engine_train_step(*shapes)}
    if use_torch:
        fns["torch"] = torch_train_step(*shapes)
    got = interleaved_timings(fns, args.repeats, args.inner, clock)
    print(row("train step LSTM->Dense 10, Adam", got["engine"], got.get("torch")))
    batches = math.ceil(EPOCH_SAMPLES / args.batch)
    epoch = {name: ms[0] * batches / 1e3 for name, ms in got.items()}
    line = f"epoch estimate ({EPOCH_SAMPLES} samples, {batches} steps, median step): "
    line += f"{epoch['engine']:.2f} s"
    if use_torch:
        line += f" vs torch {epoch['torch']:.2f} s = {epoch['engine'] / epoch['torch']:.2f}x"
    print(line)

    if args.fit_samples:
        fns = {"engine": engine_fit_epoch(args.fit_samples, *shapes)}
        if use_torch:
            fns["torch"] = torch_fit_epoch(args.fit_samples, *shapes)
        got = interleaved_timings(fns, max(1, args.repeats // 2), 1, clock)
        print(row(f"Model.fit epoch, {args.fit_samples} samples", got["engine"], got.get("torch")))


if __name__ == "__main__":
    main()

"""Speed of depthwise convolution (``DepthwiseConv2D``'s kernel) against PyTorch CPU.

For each shape this times one training step of the kernel alone (forward, then the
gradients of the input, kernel and bias for an upstream gradient of ones) three ways,
alternating inside one process: the direct formulation
(:mod:`engine.autodiff.kernels_depthwise`), the im2col + batched GEMM formulation
(:mod:`engine.autodiff.kernels_conv_groups`), and ``torch.nn.functional.conv2d`` with
``groups=C`` at the same thread count. It prints the median and the minimum of
``--repeats`` steps (the minimum is the figure to trust on a loaded machine), the ratios
of each formulation to PyTorch, and the one :func:`kernels_conv_groups.depthwise_formulation`
picks. ``--profile`` adds the direct formulation's time per phase. Then whole
``DepthwiseConv2D`` / ``SeparableConv2D`` layer steps at ``bench_layers_a``'s shape: as
they run, forced onto im2col (the path before the direct kernel), and PyTorch.

Profile (cProfile and per-phase timings of one step at (64, 32, 28, 28), 3x3 "same",
float32, on the project's shared 2-core AMD EPYC with numpy 2.4 + OpenBLAS; the machine was
loaded by other jobs throughout, so read the shares, not the milliseconds):

- im2col (the old and only path), ~31 ms a step when the machine was quietest: col2im's 9
  strided slice additions ~24 % of the step, the depth-multiplier broadcast products of the
  column gradient ~21 %, building the column matrix (9 slice copies of the input, 7.2 M
  values) ~20 %, the batched GEMV over channels and the layout transposes ~11 %, col2im's
  own copies ~9 %, the kernel gradient's batched product ~7 %. Every pass moves 9x the
  input for 9 multiply-adds per output value: the step is data movement, not arithmetic.
- direct, first version (whole-batch multiply-adds per tap): forward ~20 ms, since each
  tap's product and sum over 6.4 MB arrays went to main memory; blocked over the batch so
  that a block of each operand stays in L2, ~10 ms. Blocks of many channels' short runs
  (rows a plane apart) were still 1.6x slower than one channel's long run across the whole
  batch, hence the channel-major phase layout.
- direct, numpy blocks (~15 ms a step at 1 thread against ~31 ms for the old im2col): the
  blocked multiply-adds (forward and input gradient, 9 taps x 2 passes each) ~55 % of the
  step at ~7.5 G values/s per pass, the kernel gradient's 9 batched dot products and the
  bias sum ~14 %, the layout copies (phases in, output and input gradient out, the output
  gradient onto the phase grid) ~5 % each.
- direct, now: runs of 4K values or more go to BLAS ``axpy`` (``y += a * x`` in one pass),
  forward multiply-adds 4.2 -> 1.5 ms and input gradient 4.9 -> 1.5 ms; a step ~12 ms, of
  which the two ``axpy`` sweeps are ~40 %, the layout copies between (N, C) and the
  channels-first phases ~30 % (split, output, output gradient, merge: ~1.2 ms each), the
  kernel gradient ~14 %.
- The input gradient's sum over a depth multiplier M is one batched GEMV per tap
  (``(C, 1, M) @ (C, M, run)``) instead of M multiply-adds: M=8 at 28x28 went from 1.3x
  im2col's time to a tie.
- Where im2col still wins (the choice in ``depthwise_formulation``): a depth multiplier of
  4 or more at unit strides, since the grouped path became chunked (columns built and used
  in cache; see ``kernels_conv_groups._grouped_blocked``): 22 against 28 ms at M=4, 47
  against 116 at M=8 (28x28).

Grouped ``Conv2D`` 32->64 3x3 "same", groups=4, on (64, 32, 28, 28) (one thread, same
machine and load): ~68 ms a step against PyTorch's ~33 ms (2.1x) in the quietest run. It
was already one batched GEMM over the groups; cProfile put the GEMMs at ~60 % of the step
(16 filters per group run ``(4, 16, 72) @ (4, 72, 50176)`` at 22-31 GFLOP/s on OpenBLAS;
other GEMM orientations measured within 15 %, a dense block-diagonal kernel with 4x the
FLOPs 2x slower) and the whole-batch im2col and col2im over a 58 MB column matrix at ~30 %.
Chunked over samples so the columns stay in cache (``_grouped_blocked``), alternating old
and new in one process with the allocator's thresholds fixed (load ~2.2): 56 -> 38 ms
(PyTorch 22.5, 1.7x), groups=8 on (128, 64, 16, 16) 68 -> 34 ms (PyTorch 17, 2.0x),
groups=2 on (32, 64, 56, 56) 241 -> 188 ms (PyTorch 121, 1.6x). At stride 2 the chunked
path is slower on one quiet BLAS thread (18 against 15 ms; PyTorch 7.8) but far steadier
with two threads under load (medians 40 against 140 ms), so it is used at every stride.

``Conv2DTranspose`` 64->32 3x3 stride 2 is ~1.0x one-thread PyTorch at
``bench_layers_a``'s shape (27 against 27 ms), 1.7x with a 4x4 kernel on 16x16 and 1.8x at
stride 1; moving its buffers to the workspace changed nothing measurable, so it is
unchanged.

Measured with the allocator's thresholds fixed (``steady_malloc``; without it PyTorch's
time for one case swung 3x with the run order, which earlier figures here showed as
PyTorch being slower than it is), ``--threads 1`` and ``OPENBLAS_NUM_THREADS=1``, minima
of 7, load ~2 on 2 cores; direct / im2col (chunked) / PyTorch in ms: 28x28 3x3 s1 13.5 /
24.1 / 7.2 (1.9x); s2 10.7 / 24.4 / 7.6 (1.4x); MobileNetV2's 96 x 56x56 108 / 121 / 50
(2.2x); 144 x 28x28 s2 22 / 35 / 12 (1.8x); 5x5 29 / 71 / 39 (0.73x); multiplier 4 23.5 /
20.6 / 27.3 (im2col picked, 0.76x); 64 x 8x8 6.4 / 9.7 / 2.2 (2.9x); 256 x 7x7 12.5 / 17.1
/ 4.5 (2.8x); 112x112 25 / 42 / 14 (1.8x). Whole layers at (64, 32, 28, 28), as picked /
forced onto im2col / PyTorch: DepthwiseConv2D 11.9 / 23.4 / 6.8 (1.76x); stride 2 7.0 /
15.7 / 4.6 (1.5x); SeparableConv2D 32->64 25.1 / 36.3 / 20.3 (1.23x). Before this work the
layer took 33-44 ms on the whole-batch im2col path. The rest of the gap to PyTorch's
direct C kernel is the layout copies and numpy's separate passes.

Compiled loops (``engine.autodiff.jit_depthwise``, C built at first use; the column
"compiled", and what the layers run wherever the library is built): each (sample, channel)
plane in a padded copy in L1, stored as its stride phases, every tap summed in registers
(fused loops for 9 and 25 taps). One session's run (engine on the elementwise pool's two
threads, PyTorch on one, load ~1; minima, ms, compiled / numpy direct / PyTorch): 28x28 3x3
s1 4.4 / 8.6 / 5.8 (0.77x); s2 3.0 / 4.1 / 3.2 (0.92x); MobileNetV2's 96 x 56x56 15.4 / 74
/ 36 (0.43x); 144 x 28x28 s2 11.8 / 14.8 / 8.1 (1.46x); 5x5 5.3 / 16.7 / 30.6 (0.17x);
multiplier 4 7.5 / 13.8 (im2col 16.9) / 20.3 (0.37x); 64 x 8x8 3.2 / 4.8 / 1.9 (1.67x); 256
x 7x7 4.9 / 8.6 / 2.7 (1.82x: per-plane overhead on 49-value planes); 112x112 4.3 / 14.8 /
11.1 (0.39x). The whole DepthwiseConv2D layer step at ``bench_layers_a``'s shape on one
thread each: 0.94-1.06x PyTorch (1.54x on the numpy path).

Run: ``python -m benchmarks.bench_depthwise`` (``--repeats 7 --threads 2 --profile
--no-layers --only-layers``).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import statistics
import sys
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.autodiff import jit, kernels_conv_groups, kernels_depthwise  # noqa: E402
from engine.autodiff.tensor import Tensor, grad  # noqa: E402

try:  # optional reference, benchmark only
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

# (input shape N, C, H, W; kernel size; stride; depth multiplier)
CASES = [
    ((64, 32, 28, 28), 3, 1, 1),  # bench_layers_a's DepthwiseConv2D
    ((64, 32, 28, 28), 3, 2, 1),
    ((32, 96, 56, 56), 3, 1, 1),  # MobileNetV2's early blocks (batch 32)
    ((32, 144, 28, 28), 3, 2, 1),
    ((64, 32, 28, 28), 5, 1, 1),
    ((64, 16, 28, 28), 3, 1, 4),
    ((128, 64, 8, 8), 3, 1, 1),  # small feature maps
    ((64, 256, 7, 7), 3, 1, 1),
    ((8, 32, 112, 112), 3, 1, 1),  # a large image
]


def _engine_step(formulation: str, x, kernel, bias, stride: int, compiled: bool = False):
    """One step of ``formulation``; "direct" runs the numpy kernel unless ``compiled`` (the C
    loops of :mod:`engine.autodiff.jit_depthwise`)."""
    ones = None

    def step():
        nonlocal ones
        tensors = [Tensor(a, requires_grad=True) for a in (x, kernel, bias)]
        with contextlib.nullcontext() if compiled else jit.disabled():
            out = kernels_conv_groups.depthwise_conv2d(
                *tensors, strides=stride, padding="same", formulation=formulation
            )
            if ones is None:
                ones = np.ones(out.shape, np.float32)
            grad(out, tensors, grad_output=ones)

    return step


def _torch_step(x, kernel, bias, stride: int):
    c, m, k = kernel.shape[0], kernel.shape[1], kernel.shape[2]
    tx = torch.tensor(x)
    tk = torch.tensor(kernel.reshape(c * m, 1, k, k), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)

    def step():
        t = tx.clone().requires_grad_(True)
        out = torch_f.conv2d(t, tk, tb, stride=stride, padding=k // 2, groups=c)
        out.backward(torch.ones_like(out))

    return step


def _layer_cases():
    """(name, engine layer, torch module) for whole-layer steps at bench_layers_a's shape."""
    from torch import nn  # noqa: PLC0415

    import engine.layers as L  # noqa: N812, PLC0415 - only this part needs the layers

    return [
        (
            "DepthwiseConv2D 3x3 same (32 ch)",
            lambda: L.DepthwiseConv2D(3, padding="same"),
            lambda: nn.Conv2d(32, 32, 3, padding=1, groups=32),
        ),
        (
            "DepthwiseConv2D 3x3 s2 same (32 ch)",
            lambda: L.DepthwiseConv2D(3, strides=2, padding="same"),
            lambda: nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=32),
        ),
        (
            "SeparableConv2D 32->64 3x3 same",
            lambda: L.SeparableConv2D(64, 3, padding="same"),
            lambda: nn.Sequential(
                nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.Conv2d(32, 64, 1)
            ),
        ),
    ]


def _layer_rows(repeats: int, rng) -> None:
    """Whole-layer training steps: the layer as it runs (the compiled loops where they are
    built), the same layer on the numpy formulations, and PyTorch."""
    x = rng.standard_normal((64, 32, 28, 28)).astype(np.float32)
    print(
        f"\n{'layer (one training step, (64, 32, 28, 28))':44} {'as run':>13} {'numpy':>13} "
        f"{'torch':>13}  ratios (min) as run/numpy vs torch"
    )
    for name, mine, theirs in _layer_cases():
        layer = mine()
        module = theirs()
        tx = torch.tensor(x)

        def ours(layer=layer):
            tensor = Tensor(x, requires_grad=True)
            out = layer(tensor, training=True)
            grad(
                out, [tensor, *layer.trainable_weights], grad_output=np.ones(out.shape, np.float32)
            )

        def forced(ours=ours):
            with jit.disabled():  # the numpy formulations, picked per shape
                ours()

        def reference(module=module, tx=tx):
            tensor = tx.clone().requires_grad_(True)
            out = module(tensor)
            out.backward(torch.ones_like(out))

        steps = {"picked": ours, "im2col": forced, "torch": reference}
        times = {key: [] for key in steps}
        for fn in steps.values():
            fn()
        for _ in range(repeats):
            for key, fn in steps.items():
                times[key].append(_timed(fn))
        cells = {k: f"{statistics.median(v):6.1f}/{min(v):5.1f}" for k, v in times.items()}
        ref = min(times["torch"])
        print(
            f"{name:44} {cells['picked']:>13} {cells['im2col']:>13} {cells['torch']:>13}  "
            f"{min(times['picked']) / ref:5.2f} / {min(times['im2col']) / ref:5.2f}",
            flush=True,
        )


def steady_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds (Linux only; False elsewhere).

    glibc serves large blocks with ``mmap`` and raises that threshold to the size of the
    largest block freed so far, so how often a step's temporaries page-fault depends on
    what ran before in the process: PyTorch's depthwise step on (64, 32, 28, 28) took 21 ms
    when run first and 7 ms after a larger case (the same with ``MALLOC_MMAP_THRESHOLD_``
    set). Fixed thresholds give every case, ours and PyTorch's, the warm allocator.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's mallopt parameter numbers
        return bool(libc.mallopt(m_mmap_threshold, 256 * 2**20)) and bool(
            libc.mallopt(m_trim_threshold, 2**30)
        )
    except (OSError, AttributeError):
        return False


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _profile(x, kernel, bias, stride: int, repeats: int) -> str:
    """Minimum ms of the direct formulation's forward and its whole VJP."""
    tensors = [Tensor(a, requires_grad=True) for a in (x, kernel, bias)]
    forward, backward = [], []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        out = kernels_depthwise.depthwise_conv2d_direct(*tensors, strides=stride, padding="same")
        middle = time.perf_counter()
        grad(out, tensors, grad_output=np.ones(out.shape, np.float32))
        forward.append(middle - start)
        backward.append(time.perf_counter() - middle)
    return f"forward {min(forward[1:]) * 1e3:.1f} ms, backward {min(backward[1:]) * 1e3:.1f} ms"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2, help="PyTorch's thread count")
    parser.add_argument("--profile", action="store_true", help="direct path per phase")
    parser.add_argument("--no-layers", action="store_true", help="skip the whole-layer rows")
    parser.add_argument("--only-layers", action="store_true", help="only the whole-layer rows")
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(args.threads)
    if not steady_malloc():
        print("(could not fix the allocator's thresholds: times depend on run order)")
    rng = np.random.default_rng(0)
    print(
        f"{'shape, kernel, stride, multiplier':36} {'compiled':>13} {'direct':>13} "
        f"{'im2col':>13} {'torch':>13}  ratios (min) compiled/direct/im2col vs torch, "
        "numpy's pick"
    )
    for shape, k, stride, m in [] if args.only_layers else CASES:
        c = shape[1]
        x = rng.standard_normal(shape).astype(np.float32)
        kernel = (rng.standard_normal((c, m, k, k)) * 0.1).astype(np.float32)
        bias = np.zeros(c * m, np.float32)
        steps = {
            "compiled": _engine_step("direct", x, kernel, bias, stride, compiled=True),
            "direct": _engine_step("direct", x, kernel, bias, stride),
            "im2col": _engine_step("im2col", x, kernel, bias, stride),
        }
        if torch is not None:
            steps["torch"] = _torch_step(x, kernel, bias, stride)
        times = {name: [] for name in steps}
        for fn in steps.values():
            fn()  # warm up
        for _ in range(args.repeats):  # alternate, so that load hits all alike
            for name, fn in steps.items():
                times[name].append(_timed(fn))
        cells = {name: f"{statistics.median(ts):6.1f}/{min(ts):5.1f}" for name, ts in times.items()}
        picked = kernels_conv_groups.depthwise_formulation(shape, (c, m, k, k), (stride, stride))
        ratio = ""
        if torch is not None:
            ref = min(times["torch"])
            ratio = " / ".join(
                f"{min(times[key]) / ref:5.2f}" for key in ("compiled", "direct", "im2col")
            )
        label = f"{shape} {k}x{k} s{stride} m{m}"
        print(
            f"{label:36} {cells['compiled']:>13} {cells['direct']:>13} {cells['im2col']:>13} "
            f"{cells.get('torch', '-'):>13}  {ratio}  {picked}",
            flush=True,
        )
        if args.profile:
            print(f"{'':36} direct: {_profile(x, kernel, bias, stride, args.repeats)}")
    if torch is not None and not args.no_layers:
        _layer_rows(args.repeats, rng)


if __name__ == "__main__":
    main()

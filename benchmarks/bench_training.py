"""Training speed and memory of the engine beside PyTorch CPU: the issue-11 table.

Rows (sizes in :mod:`benchmarks.training.workloads`, models in ``engine_models`` and
``torch_models``): MLP, MNIST CNN, LSTM, CIFAR-shaped CNN with BatchNormalization,
ResNet-style with residual Adds, 2-layer bidirectional GRU over an Embedding, transformer
encoder (MultiHeadAttention, LayerNormalization, FFN), and the digits CNN trained from the
app's window against the same run headless.

Both frameworks see the same data and hyperparameters and run alternately in one process
(epoch of ours, epoch of theirs, ...), with PyTorch given numpy's BLAS thread count, so
machine noise hits both alike; each figure is the median of ``--repeats`` epochs. Peak memory
is the largest resident set of a fresh subprocess that trains one epoch of one framework.

    python -m benchmarks.bench_training                    # the whole table, 3 epochs each
    python -m benchmarks.bench_training --workload cnn --repeats 5
    python -m benchmarks.bench_training --scale 0.25       # quarter-size epochs (quick look)
    python -m benchmarks.bench_training --gpu              # CuPy against PyTorch CUDA
    python -m benchmarks.bench_training --json out.json
    BENCH_TORCH_THREADS=1 python -m benchmarks.bench_training   # PyTorch on one thread

Where the time goes (cProfile of one engine epoch per row, share of the step time, measured
on a shared 2-core x86 machine, OpenBLAS 0.3 with 2 threads, load 6-9, before this file's
fixes below; the GEMM calls are inside the named kernels):

- mlp: the three GEMMs per Dense (``ops.matmul`` forward and its VJP) ~75%; the optimizer,
  loss and per-step Python overhead share the rest.
- cnn: Conv2D backward (``kernels_conv`` VJP: weight GEMM, input GEMM, col2im) ~40%, Conv2D
  forward (im2col + GEMM) ~22%, the 3136->128 Dense ~20%, max-pooling ~10%.
- lstm: the fused LSTM's per-step loop: backward ~70%, forward ~25% (128x512 GEMMs per step).
  After the recurrent-kernel work the per-op profile is in ``bench_rnn_kernels.py``'s
  docstring (per-step GEMMs ~36%, the weight-gradient GEMM ~22%, gate arithmetic ~16%).
- cifar: Conv2D forward and backward ~55%, BatchNormalization forward and backward ~20%,
  pooling ~5%. After the blocked convolution below (one BLAS thread, load 4): Conv2D
  backward ~36% and forward ~20% (GEMMs ~25%, in-cache im2col ~10%), the 2x2 max-pooling
  VJP ~18% (strided views; a two-pass boolean version was slower and was dropped),
  BatchNormalization ~15%. Peak RSS 480 -> ~320 MiB (PyTorch ~570).
- resnet: Conv2D backward ~40% (its col2im scatter-add alone 7%), BatchNormalization ~26%,
  im2col ~11%, layout copies ~4%. A re-profile (cProfile, 5 steps, load 4-6) put the
  convolutions at ~70% (VJP 45%, forward 26%: im2col 12%, the (F, N*Ho*Wo) -> NCHW copy 9%)
  and showed why so much of the rest was slow: each convolution kept its column matrix
  (C*9 x N*H*W floats, 75 MB at 16 channels x 32x32 x 128) until the backward pass, ~600 MB
  per step, more than the workspace keeps, so every step allocated them afresh and page
  faults showed up in every op (ReLU's VJP 1.6 s of 22 s). Peak RSS 1334 MiB (PyTorch 683).
  After (1 BLAS thread, 10 steps, load 5): convolutions ~80% (backward GEMMs ~35%, forward
  GEMMs ~18%, im2col ~20%: memory-bound copies, now in cache), BatchNormalization ~12%,
  ReLU/Add/GlobalAveragePooling ~5%. A single 16->16 3x3 layer at 32x32, batch 128, forward
  and backward, takes ~1.0-1.3x PyTorch's one-thread time; the 16-filter GEMMs run at ~45
  GFLOP/s against ~90 at 32 and 64 filters (too few rows to fill OpenBLAS's kernel).
- BLAS threads (all conv rows): with OpenBLAS's 2 threads under load, a CIFAR step took
  1.4-2.4 s against 0.2 s on one thread (threads spin on each other for every small GEMM),
  and ``engine.models.blas_threads`` re-probes 2 threads every 16+ steps, so one probe
  cost as much as ten steps.
- bigru: the GRU backward ~85% (per-step recurrent GEMMs and the input-gradient GEMM), its
  forward ~10%, the Embedding's scatter-add ~2% (now a sorted segment sum; the GRU's per-op
  profile is in ``bench_rnn_kernels.py``'s docstring).
- transformer: ``ops.matmul`` of (batch, steps, d) by a 2-D kernel (every projection and the
  FFN) ~92%: numpy runs that stacked product as one small GEMM per sample (~8x slower than one
  folded GEMM); the attention kernel ~3%, LayerNormalization ~1.5%. With the product folded,
  its kernel-gradient GEMM still took 20-50 ms in training against ~1 ms alone: glibc gave the
  freed few-MB arrays back to the kernel every step and page-faulted them in again, and the
  thread chooser probed two BLAS threads (a 2-thread step took 3.7-4.9 s under load against
  0.35-1.2 s). Fixed: fit keeps freed memory (``mallopt``) and starts on one thread.
- app: under load, OpenBLAS's 2 threads made the digits CNN's tiny GEMMs ~15x slower than 1
  thread (the threads wait on each other while other processes hold the cores). With that
  fixed, the app still trains the digits CNN ~5-7x slower than headless (3 epochs: 11.2 s
  against 1.5 s): its UI thread spends ~65% of the run repainting the pyqtgraph curves (~49 ms
  per paint of the plot view, most of it drawing the axes, 150 paints in 3 epochs) and holds
  the GIL the training thread needs. Fixed since: the worker takes BLAS control for its run
  (threadpoolctl 3.8 left it with 2 threads under load); the plots cache their axes, fix the
  epoch axis while a run trains, move y ranges only when needed, paint once per 3-5 Hz redraw
  and reuse the last run's curves; run recording writes on its own thread. What is left for a
  one-epoch run is the per-run fixed cost (+34 % of a 0.2 s run; a 5-epoch run is within noise).

Fixes this led to (each a separate commit with its before/after ratio): BLAS threads per
training step measured and chosen (``engine.models.blas_threads``), leading axes folded into
one GEMM for N-D @ 2-D products (``ops.matmul``), batch norm with two reductions and in-place
buffers (``kernels_norm``). For the conv rows (``kernels_conv``, ``kernels_conv_blocked``):
no column matrix kept for the backward pass; im2col + GEMM a few samples at a time so the
columns stay in cache, with the GEMMs writing straight into the NCHW output; both stride-1
gradients from one im2col of the gradient (the input gradient as a flipped-kernel
correlation, no col2im); those small GEMMs on one BLAS thread each, the chunks spread over
as many Python threads as the step's BLAS count. Full-size epochs, 5 repeats, one-thread
PyTorch, load 2.1-2.6, same machine and session: ResNet row 4.81x (17.4 s / 3.6 s) -> 1.59x
(5.1 s / 3.2 s), peak RSS 1341 -> 682 MiB (PyTorch 674-702); CIFAR row 1.58x -> 1.28x, peak
RSS 495 -> 369 MiB (PyTorch 589-617).

Re-profiled 2026-12-05 with OPENBLAS_CORETYPE unset (the SkylakeX kernel: float32 GEMM ~257
GFLOP/s on one core against ~137 for the Haswell kernel some machines pin; PyTorch's oneDNN
convolutions run near 240 GFLOP/s either way, so a pinned Haswell makes the conv rows read
~1.5x worse). One BLAS thread, quarter-size epochs: resnet - conv GEMMs 53 %, im2col 20 %,
BatchNormalization 15 % (numpy's seven passes each way), ReLU ~5 %; cnn - conv GEMMs 46 %,
im2col 14 %, the 2x2 max-pools 18 % forward + backward. numpy's ``maximum(x, 0)`` against a
scalar is not vectorised (0.48 ms on a (64, 32, 28, 28) map against 0.14 for a two-bound
``clip``): ReLU's forward and the convolutions' fused ReLU use ``clip`` now. Batch norm, ReLU's
backward and the conv's fused-ReLU mask run as compiled C loops (``engine.autodiff.jit``):
BN 3x faster each way. Quarter-size ratios before -> after: cnn 1.14 -> 0.94-1.05, cifar
1.17 -> 0.72-0.95, resnet 1.38 -> 1.01-1.5 (an epoch of three steps mostly measures the
thread chooser); full size: cnn 1.14, cifar 1.03, resnet 1.08. What is left in the conv rows
is GEMM efficiency: the MNIST CNN's 32->64 layer on 14x14 maps runs at ~160 GFLOP/s forward
and ~136 backward through im2col (the GEMMs alone reach 170-220 at the chunk shapes; the
gradient's 576-row columns cost the rest), against oneDNN's ~240 direct convolution.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.training import app_overhead, gpu, measure
from benchmarks.training.workloads import WORKLOADS

APP_TARGET = 0.05  # the app's overhead over the same run headless


def _row(r: dict) -> str:
    ok = "ok" if r["ratio_engine_to_torch"] <= r["target"] else "OVER"
    line = (
        f"{r['workload']:11s} {r['engine_s_per_epoch']:8.2f} {r['torch_s_per_epoch']:8.2f} "
        f"{r['ratio_engine_to_torch']:6.2f} {r['target']:7.2f} {ok:4s}"
    )
    if "engine_peak_mib" in r:
        line += f" {r['engine_peak_mib']:8.0f} {r['torch_peak_mib']:8.0f}"
    if "inference_ratio" in r:
        line += f"  inference ratio {r['inference_ratio']:.2f}"
    if "engine_gflops" in r:
        line += (
            f"  {r['engine_gflops']:.0f} GFLOP/s = "
            f"{100 * r['engine_gflops'] / r['numpy_gemm_peak_gflops']:.0f}% of GEMM peak"
        )
    return line


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=[*WORKLOADS, "app", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each epoch")
    parser.add_argument("--smoke", action="store_true", help="two tiny batches per row")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probes")
    parser.add_argument("--gpu", action="store_true", help="CuPy against PyTorch CUDA")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--memory-probe", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.memory_probe:
        framework, name = args.memory_probe
        workload = WORKLOADS[name]
        workload = workload.smoke() if args.smoke else workload.scaled(args.scale)
        print(measure.memory_probe(framework, workload))
        return
    if args.gpu:
        sys.exit(gpu.main(args))
    names = list(WORKLOADS) + ["app"] if args.workload == "all" else [args.workload]
    print(measure.blas_description(), flush=True)
    print(
        f"{'workload':11s} {'ours s':>8s} {'torch s':>8s} {'ratio':>6s} {'target':>7s} "
        f"{'':4s} {'ours MiB':>8s} {'torch MiB':>8s}",
        flush=True,
    )
    results = []
    for name in names:
        if name == "app":
            epochs = 1 if args.smoke else max(1, round(5 * args.scale))
            r = app_overhead.measure_in_subprocess(epochs, 1 if args.smoke else args.repeats)
            ok = "ok" if r["overhead"] <= APP_TARGET else "OVER"
            print(
                f"{'app':11s} {r['app_s']:8.2f} {r['headless_s']:8.2f}  "
                f"app overhead {100 * r['overhead']:+.1f}% (target <= {100 * APP_TARGET:.0f}%) "
                f"{ok}",
                flush=True,
            )
        else:
            workload = WORKLOADS[name]
            workload = workload.smoke() if args.smoke else workload.scaled(args.scale)
            r = measure.run(
                workload,
                1 if args.smoke else args.repeats,
                memory=not args.no_memory,
                inference=name == "lstm",
                smoke=args.smoke,
                scale=args.scale,
            )
            print(_row(r), flush=True)
        results.append(r)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()

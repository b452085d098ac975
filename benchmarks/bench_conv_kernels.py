"""Speed of the convolution and pooling kernels on the reference CNN's shapes (batch 64).

The reference CNN is 1x28x28 -> Conv2D 32 3x3 same -> ReLU -> MaxPool 2 -> Conv2D 64 3x3
same -> ReLU -> MaxPool 2 -> Flatten -> Dense 128 -> Dense 10. For each of its convolution
and pooling kernels this prints the median (of ``--repeats``) forward and backward times,
and, when PyTorch is installed (``pip install torch==2.13.0``; never a test dependency),
PyTorch's times on the same shapes. It then times one whole training step of the CNN
(forward, cross-entropy, backward, SGD update) built from the engine's primitives against
the same step in PyTorch, and the ratio the project's target is stated in (<= 1.5x).

Run: ``python -m benchmarks.bench_conv_kernels`` (``--repeats 5 --batch 64 --no-torch``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import backend  # noqa: E402
from engine.autodiff import kernels_conv, ops  # noqa: E402
from engine.autodiff.tensor import Tensor, grad  # noqa: E402

try:  # optional reference, benchmark only
    import torch
    import torch.nn.functional as torch_f
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm up (allocator, BLAS threads)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


# -- per-kernel timings -----------------------------------------------------------------------


def kernel_cases(batch: int):
    """(name, engine fn, torch fn, input shapes) for each kernel of the reference CNN."""
    return [
        (
            "conv1 1->32 3x3 same, 28x28",
            lambda x, w, b: kernels_conv.conv2d(x, w, b, padding="same"),
            lambda x, w, b: torch_f.conv2d(x, w, b, padding=1),
            [(batch, 1, 28, 28), (32, 1, 3, 3), (32,)],
        ),
        (
            "conv1 + fused relu",
            lambda x, w, b: kernels_conv.conv2d(x, w, b, padding="same", relu=True),
            lambda x, w, b: torch.relu(torch_f.conv2d(x, w, b, padding=1)),
            [(batch, 1, 28, 28), (32, 1, 3, 3), (32,)],
        ),
        (
            "pool1 max 2x2, 32x28x28",
            lambda x: kernels_conv.max_pool2d(x, (2, 2)),
            lambda x: torch_f.max_pool2d(x, 2),
            [(batch, 32, 28, 28)],
        ),
        (
            "conv2 32->64 3x3 same, 14x14",
            lambda x, w, b: kernels_conv.conv2d(x, w, b, padding="same"),
            lambda x, w, b: torch_f.conv2d(x, w, b, padding=1),
            [(batch, 32, 14, 14), (64, 32, 3, 3), (64,)],
        ),
        (
            "pool2 max 2x2, 64x14x14",
            lambda x: kernels_conv.max_pool2d(x, (2, 2)),
            lambda x: torch_f.max_pool2d(x, 2),
            [(batch, 64, 14, 14)],
        ),
        (
            "avg pool 2x2, 32x28x28",
            lambda x: kernels_conv.avg_pool2d(x, (2, 2)),
            lambda x: torch_f.avg_pool2d(x, 2),
            [(batch, 32, 28, 28)],
        ),
        (
            "global avg pool, 64x7x7",
            kernels_conv.global_avg_pool2d,
            lambda x: x.mean(dim=(2, 3)),
            [(batch, 64, 7, 7)],
        ),
    ]


def time_engine_kernel(fn, shapes, repeats: int, rng) -> tuple[float, float]:
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    inputs = [Tensor(backend.asarray(a), requires_grad=True) for a in arrays]
    out = fn(*inputs)
    g = backend.asarray(rng.standard_normal(out.shape).astype(np.float32))
    forward = median_ms(lambda: fn(*inputs), repeats)
    backward = median_ms(lambda: out._vjp(g), repeats)
    return forward, backward


def time_torch_kernel(fn, shapes, repeats: int, rng) -> tuple[float, float]:
    inputs = [torch.tensor(rng.standard_normal(s), dtype=torch.float32) for s in shapes]
    for t in inputs:
        t.requires_grad_(True)
    g = torch.tensor(rng.standard_normal(fn(*inputs).shape), dtype=torch.float32)

    def backward_only():
        out = fn(*inputs)
        start = time.perf_counter()
        torch.autograd.grad(out, inputs, g)
        return time.perf_counter() - start

    with torch.no_grad():
        forward = median_ms(lambda: fn(*inputs), repeats)
    backward_only()
    backward = statistics.median(backward_only() for _ in range(repeats)) * 1e3
    return forward, backward


# -- a whole training step of the reference CNN ------------------------------------------------


def cnn_weights(rng) -> list[np.ndarray]:
    def uniform(shape, fan_in):
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, size=shape).astype(np.float32)

    return [
        uniform((32, 1, 3, 3), 9),
        np.zeros(32, np.float32),
        uniform((64, 32, 3, 3), 288),
        np.zeros(64, np.float32),
        uniform((64 * 7 * 7, 128), 64 * 7 * 7),
        np.zeros(128, np.float32),
        uniform((128, 10), 128),
        np.zeros(10, np.float32),
    ]


def engine_step(params, x, one_hot, lr=0.01):
    k1, b1, k2, b2, w3, b3, w4, b4 = params
    # Conv2D(activation="relu") runs the ReLU inside the convolution kernel.
    h = kernels_conv.max_pool2d(kernels_conv.conv2d(x, k1, b1, padding="same", relu=True))
    h = kernels_conv.max_pool2d(kernels_conv.conv2d(h, k2, b2, padding="same", relu=True))
    h = ops.reshape(h, (h.shape[0], -1))
    h = ops.relu(ops.matmul(h, w3) + b3)
    logits = ops.matmul(h, w4) + b4
    loss = ops.neg(ops.mean(ops.sum_(ops.log_softmax(logits) * one_hot, axis=1)))
    grads = grad(loss, params)
    for p, g in zip(params, grads, strict=True):
        p.data = p.data - lr * g
    return loss


def torch_step(params, x, labels, lr=0.01):
    k1, b1, k2, b2, w3, b3, w4, b4 = params
    h = torch_f.max_pool2d(torch.relu(torch_f.conv2d(x, k1, b1, padding=1)), 2)
    h = torch_f.max_pool2d(torch.relu(torch_f.conv2d(h, k2, b2, padding=1)), 2)
    h = torch.relu(h.flatten(1) @ w3 + b3)
    loss = torch_f.cross_entropy(h @ w4 + b4, labels)
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            p -= lr * g
    return loss


def time_cnn_step(batch: int, repeats: int, framework: str) -> float:
    """Median time of one training step of the reference CNN in ``framework``."""
    rng = np.random.default_rng(1)
    weights = cnn_weights(rng)
    x_host = rng.random((batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, size=batch)
    if framework == "engine":
        one_hot = np.eye(10, dtype=np.float32)[labels]
        params = [Tensor(backend.asarray(w), requires_grad=True) for w in weights]
        x, y = Tensor(backend.asarray(x_host)), Tensor(backend.asarray(one_hot))
        return median_ms(lambda: engine_step(params, x, y), repeats)
    t_params = [torch.tensor(w, requires_grad=True) for w in weights]
    t_x, t_y = torch.from_numpy(x_host), torch.from_numpy(labels)
    return median_ms(lambda: torch_step(t_params, t_x, t_y), repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    args = parser.parse_args(argv)
    global torch
    if args.no_torch:
        torch = None
    rng = np.random.default_rng(0)
    backend.set_device("cpu")

    threads = f", torch threads {torch.get_num_threads()}" if torch is not None else ""
    print(f"batch {args.batch}, median of {args.repeats}, times in ms{threads}")
    header = f"{'kernel':32} {'fwd':>7} {'bwd':>7} {'total':>7}"
    if torch is not None:
        header += f" {'torch fwd':>9} {'bwd':>7} {'total':>7} {'ratio':>6}"
    print(header)
    # All engine timings first, then PyTorch's: its OpenMP threads keep spinning for a while
    # after each call and would steal the cores OpenBLAS is about to use.
    cases = kernel_cases(args.batch)
    ours = [time_engine_kernel(fn, shapes, args.repeats, rng) for _, fn, _, shapes in cases]
    our_step = time_cnn_step(args.batch, args.repeats, "engine")
    theirs = [None] * len(cases)
    their_step = None
    if torch is not None:
        theirs = [time_torch_kernel(fn, shapes, args.repeats, rng) for _, _, fn, shapes in cases]
        their_step = time_cnn_step(args.batch, args.repeats, "torch")

    for (name, *_), (fwd, bwd), reference in zip(cases, ours, theirs, strict=True):
        line = f"{name:32} {fwd:7.2f} {bwd:7.2f} {fwd + bwd:7.2f}"
        if reference is not None:
            t_fwd, t_bwd = reference
            ratio = (fwd + bwd) / (t_fwd + t_bwd)
            line += f" {t_fwd:9.2f} {t_bwd:7.2f} {t_fwd + t_bwd:7.2f} {ratio:6.2f}"
        print(line)

    steps = -(-60000 // args.batch)
    print(
        f"\nCNN training step (fwd + loss + bwd + SGD): {our_step:.2f} ms, "
        f"~{our_step * steps / 1e3:.1f} s per 60000-sample epoch"
    )
    if their_step is not None:
        print(
            f"PyTorch same step: {their_step:.2f} ms, ~{their_step * steps / 1e3:.1f} s per "
            f"epoch; ratio {our_step / their_step:.2f}x (target <= 1.5x)"
        )


if __name__ == "__main__":
    main()

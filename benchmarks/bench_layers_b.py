"""Speed of one training step of each LAYERS-B layer type against PyTorch on the CPU.

A step is the layer's forward pass in training mode plus the backward pass to its inputs
and weights (upstream gradient of ones), in float32, on a representative shape: the
activations on a conv feature map (64, 32, 28, 28), the merges on (64, 512) vectors, Dot on
(64, 16, 32) sequences, GroupNormalization on (64, 32, 14, 14). Each prints the median of
``--repeats`` runs for the engine and for PyTorch (``torch.nn`` modules), run alternately
(default threads; ``--threads N`` puts both on N), and their ratio;
the project's target is <= 1.5x.

Run: ``python -m benchmarks.bench_layers_b`` (``--repeats 7 --only GELU``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine.layers as L  # noqa: E402, N812
from benchmarks.layer_timing import alternating_ms, set_threads  # noqa: E402
from engine.autodiff.tensor import Tensor, grad  # noqa: E402
from engine.models.blas_threads import keep_freed_memory  # noqa: E402

try:  # optional reference, benchmark only
    import torch
    import torch.nn.functional as F  # noqa: N812
    from torch import nn
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

IMAGE = (64, 32, 28, 28)
VECTOR = (64, 512)


def _torch_cases():
    """(name, engine layer factory, torch module factory, input shapes)."""

    class Merge(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, *xs):
            return self.fn(*xs)

    def einsum(equation, normalize=False):
        def fn(x, y):
            if normalize:
                x, y = F.normalize(x, dim=2, eps=1e-7), F.normalize(y, dim=2, eps=1e-7)
            return torch.einsum(equation, x, y)

        return Merge(fn)

    act = [
        ("relu6", nn.ReLU6),
        ("silu", nn.SiLU),
        ("hard_sigmoid", nn.Hardsigmoid),
        ("hard_silu", nn.Hardswish),
        ("mish", nn.Mish),
        ("selu", nn.SELU),
        ("softsign", nn.Softsign),
        ("gelu", nn.GELU),
    ]
    cases = [
        (f"Activation({name!r})", lambda n=name: L.Activation(n), module, [IMAGE])
        for name, module in act
    ]
    cases += [
        (
            "GELU(approximate)",
            lambda: L.GELU(approximate=True),
            lambda: nn.GELU(approximate="tanh"),
            [IMAGE],
        ),
        ("ReLU(max_value=6)", lambda: L.ReLU(max_value=6.0), nn.ReLU6, [IMAGE]),
        (
            "ReLU(slope, threshold, max)",
            lambda: L.ReLU(negative_slope=0.1, threshold=0.5, max_value=4.0),
            lambda: Merge(
                lambda x: torch.clamp(torch.where(x >= 0.5, x, 0.1 * (x - 0.5)), max=4.0)
            ),
            [IMAGE],
        ),
        (
            "PReLU(shared_axes=[2, 3])",
            lambda: L.PReLU(shared_axes=[2, 3]),
            lambda: nn.PReLU(32),
            [IMAGE],
        ),
        ("Average x3", L.Average, lambda: Merge(lambda a, b, c: (a + b + c) / 3), [VECTOR] * 3),
        (
            "Maximum x3",
            L.Maximum,
            lambda: Merge(lambda a, b, c: torch.maximum(torch.maximum(a, b), c)),
            [VECTOR] * 3,
        ),
        (
            "Minimum x3",
            L.Minimum,
            lambda: Merge(lambda a, b, c: torch.minimum(torch.minimum(a, b), c)),
            [VECTOR] * 3,
        ),
        ("Dot(axes=2)", lambda: L.Dot(axes=2), lambda: einsum("bik,bjk->bij"), [(64, 16, 32)] * 2),
        (
            "Dot(axes=2, normalize)",
            lambda: L.Dot(axes=2, normalize=True),
            lambda: einsum("bik,bjk->bij", normalize=True),
            [(64, 16, 32)] * 2,
        ),
        (
            "GroupNormalization(8)",
            lambda: L.GroupNormalization(groups=8, epsilon=1e-5),
            lambda: nn.GroupNorm(8, 32, eps=1e-5),
            [(64, 32, 14, 14)],
        ),
        (
            "SpatialDropout2D(0.3)",
            lambda: L.SpatialDropout2D(0.3),
            lambda: nn.Dropout2d(0.3),
            [(64, 32, 14, 14)],
        ),
        (
            "GaussianNoise(0.1)",
            lambda: L.GaussianNoise(0.1),
            lambda: Merge(lambda x: x + 0.1 * torch.randn_like(x)),
            [VECTOR],
        ),
        (
            "GaussianDropout(0.2)",
            lambda: L.GaussianDropout(0.2),
            lambda: Merge(lambda x: x * (1 + 0.5 * torch.randn_like(x))),
            [VECTOR],
        ),
    ]
    return cases


def engine_step(factory, shapes, rng):
    layer = factory()
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    multi = len(arrays) > 1

    def step():
        tensors = [Tensor(a, requires_grad=True) for a in arrays]
        out = layer(tensors if multi else tensors[0], training=True)
        grad(out, tensors + layer.trainable_weights, grad_output=np.ones(out.shape, np.float32))

    return step


def torch_step(factory, shapes, rng):
    module = factory()
    module.train()
    arrays = [torch.tensor(rng.standard_normal(s).astype(np.float32)) for s in shapes]

    def step():
        tensors = [a.clone().requires_grad_(True) for a in arrays]
        out = module(*tensors)
        out.backward(torch.ones_like(out))

    return step


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument(
        "--threads", type=int, default=0, help="run both sides on this many threads"
    )
    args = parser.parse_args(argv)
    if torch is None:  # make bench goes on with the other benchmarks
        print("bench_layers_b: PyTorch is needed for the reference timings (pip install torch)")
        return
    keep_freed_memory()  # as fit does: both sides reuse freed memory
    if args.threads:
        set_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{'layer (one training step)':34} {'engine ms':>10} {'torch ms':>10} {'ratio':>7}")
    for name, mine, theirs, shapes in _torch_cases():
        if args.only not in name:
            continue
        ours, reference = alternating_ms(
            engine_step(mine, shapes, rng), torch_step(theirs, shapes, rng), args.repeats
        )
        print(f"{name:34} {ours:10.2f} {reference:10.2f} {ours / reference:6.2f}x")


if __name__ == "__main__":
    main()

"""Speed of one training step of each LAYERS-A layer type against PyTorch on the CPU.

A step is the layer's forward pass plus the backward pass to its input and weights (upstream
gradient of ones), in float32, on a representative shape: CNN feature maps (64, 32, 28, 28)
for the 2-D layers, (64, 64, 14, 14) into Conv2DTranspose (a decoder's upsampling), text
sequences (64, 100, 128) - batch, steps, features - for the 1-D layers, (64, 256) vectors
for RepeatVector. PyTorch gets the same work in its own layout (``x.transpose(1, 2)`` around
its 1-D modules). Each line prints the median of ``--repeats`` runs for the engine and for
PyTorch, run alternately (default threads; ``--threads N`` puts both on N), and their ratio;
the project's target is <= 1.5x.

Run: ``python -m benchmarks.bench_layers_a`` (``--repeats 7 --only Conv1D``).
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
SEQUENCE = (64, 100, 128)


def _cases():
    """(name, engine layer factory, torch module factory, input shape)."""

    class Fn(nn.Module):
        def __init__(self, fn, *modules):
            super().__init__()
            self.fn = fn
            self.inner = nn.ModuleList(modules)

        def forward(self, x):
            return self.fn(x, *self.inner)

    def steps_last(module):  # PyTorch's 1-D modules take (N, C, L)
        return Fn(lambda x, m: m(x.transpose(1, 2)).transpose(1, 2), module)

    return [
        (
            "Conv2D 32->64 3x3 stride 2 padding=1",
            lambda: L.Conv2D(64, 3, strides=2, padding=1),
            lambda: nn.Conv2d(32, 64, 3, stride=2, padding=1),
            IMAGE,
        ),
        (
            "Conv2D 32->64 3x3 same groups=4",
            lambda: L.Conv2D(64, 3, padding="same", groups=4),
            lambda: nn.Conv2d(32, 64, 3, padding=1, groups=4),
            IMAGE,
        ),
        (
            "MaxPooling2D(3, 2, padding=1)",
            lambda: L.MaxPooling2D(3, strides=2, padding=1),
            lambda: nn.MaxPool2d(3, 2, padding=1),
            IMAGE,
        ),
        (
            "AveragePooling2D(3, 2, padding=1)",
            lambda: L.AveragePooling2D(3, strides=2, padding=1),
            lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False),
            IMAGE,
        ),
        ("ZeroPadding2D(2)", lambda: L.ZeroPadding2D(2), lambda: nn.ZeroPad2d(2), IMAGE),
        (
            "Cropping2D(2)",
            lambda: L.Cropping2D(2),
            lambda: Fn(lambda x: x[:, :, 2:-2, 2:-2]),
            IMAGE,
        ),
        (
            "UpSampling2D(2) nearest",
            lambda: L.UpSampling2D(2),
            lambda: nn.Upsample(scale_factor=2, mode="nearest"),
            (64, 32, 14, 14),
        ),
        (
            "UpSampling2D(2) bilinear",
            lambda: L.UpSampling2D(2, interpolation="bilinear"),
            lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            (64, 32, 14, 14),
        ),
        (
            "Permute((2, 3, 1))",
            lambda: L.Permute((2, 3, 1)),
            lambda: Fn(lambda x: x.permute(0, 2, 3, 1)),
            IMAGE,
        ),
        (
            "RepeatVector(32)",
            lambda: L.RepeatVector(32),
            lambda: Fn(lambda x: x.unsqueeze(1).repeat(1, 32, 1)),
            (64, 256),
        ),
        (
            "MaxPooling1D(2)",
            lambda: L.MaxPooling1D(2),
            lambda: steps_last(nn.MaxPool1d(2)),
            SEQUENCE,
        ),
        (
            "AveragePooling1D(2)",
            lambda: L.AveragePooling1D(2),
            lambda: steps_last(nn.AvgPool1d(2)),
            SEQUENCE,
        ),
        (
            "GlobalAveragePooling1D",
            L.GlobalAveragePooling1D,
            lambda: Fn(lambda x: x.mean(dim=1)),
            SEQUENCE,
        ),
        (
            "GlobalMaxPooling1D",
            L.GlobalMaxPooling1D,
            lambda: Fn(lambda x: x.amax(dim=1)),
            SEQUENCE,
        ),
        (
            "Conv1D 128->128 k5 same",
            lambda: L.Conv1D(128, 5, padding="same"),
            lambda: steps_last(nn.Conv1d(128, 128, 5, padding=2)),
            SEQUENCE,
        ),
        (
            "Conv1D 128->64 k3 causal dilation 2",
            lambda: L.Conv1D(64, 3, padding="causal", dilation_rate=2),
            lambda: Fn(
                lambda x, m: m(F.pad(x.transpose(1, 2), (4, 0))).transpose(1, 2),
                nn.Conv1d(128, 64, 3, dilation=2),
            ),
            SEQUENCE,
        ),
        (
            "Conv2DTranspose 64->32 3x3 s2 same",
            lambda: L.Conv2DTranspose(32, 3, strides=2, padding="same"),
            lambda: nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
            (64, 64, 14, 14),
        ),
        (
            "DepthwiseConv2D 3x3 same (32 ch)",
            lambda: L.DepthwiseConv2D(3, padding="same"),
            lambda: nn.Conv2d(32, 32, 3, padding=1, groups=32),
            IMAGE,
        ),
        (
            "SeparableConv2D 32->64 3x3 same",
            lambda: L.SeparableConv2D(64, 3, padding="same"),
            lambda: nn.Sequential(
                nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.Conv2d(32, 64, 1)
            ),
            IMAGE,
        ),
    ]


def engine_step(factory, shape, rng):
    layer = factory()
    x = rng.standard_normal(shape).astype(np.float32)

    def step():
        tensor = Tensor(x, requires_grad=True)
        out = layer(tensor, training=True)
        grad(out, [tensor, *layer.trainable_weights], grad_output=np.ones(out.shape, np.float32))

    return step


def torch_step(factory, shape, rng):
    module = factory()
    module.train()
    x = torch.tensor(rng.standard_normal(shape).astype(np.float32))

    def step():
        tensor = x.clone().requires_grad_(True)
        out = module(tensor)
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
    if torch is None:
        sys.exit("PyTorch is needed for the reference timings (pip install torch)")
    keep_freed_memory()  # as fit does: both sides reuse freed memory
    if args.threads:
        set_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{'layer (one training step)':38} {'engine ms':>10} {'torch ms':>10} {'ratio':>7}")
    for name, mine, theirs, shape in _cases():
        if args.only not in name:
            continue
        ours, reference = alternating_ms(
            engine_step(mine, shape, rng), torch_step(theirs, shape, rng), args.repeats
        )
        print(f"{name:38} {ours:10.2f} {reference:10.2f} {ours / reference:6.2f}x", flush=True)


if __name__ == "__main__":
    main()

"""The training workloads of the benchmark table: their sizes, their data, and their targets.

Each workload is one row of the table in the issue and the README. ``samples`` is sized so an
epoch takes a few seconds on a 2-core CPU (enough batches for a stable median); ``smoke``
shrinks every row to two batches so ``make test`` runs each workload end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    samples: int
    batch: int
    shape: tuple[int, ...]
    target: float  # the ceiling for our epoch time over PyTorch's
    tokens: int = 0  # > 0: the inputs are token ids below this (an Embedding's vocabulary)
    classes: int = 10

    def smoke(self) -> Workload:
        """Two batches of four samples through the same model: every code path, in well
        under a second per workload."""
        return replace(self, samples=8, batch=4)

    def scaled(self, factor: float) -> Workload:
        """The same workload over ``factor`` times the samples (at least two batches)."""
        return replace(self, samples=max(2 * self.batch, int(self.samples * factor)))


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("mlp", "MLP 784-512-512-10, SGD momentum, batch 128", 60_000, 128, (784,), 0.9),
        Workload(
            "cnn",
            "CNN 1x28x28, 2x (Conv 3x3 + ReLU + MaxPool), Dense, Adam, batch 64",
            10_000,
            64,
            (1, 28, 28),
            1.0,
        ),
        Workload("lstm", "LSTM 28x28, hidden 128, Adam, batch 128", 10_000, 128, (28, 28), 1.0),
        Workload(
            "cifar",
            "CIFAR-shaped CNN 3x32x32, conv 32-64-128 with BN, Adam, batch 128",
            2_560,
            128,
            (3, 32, 32),
            1.1,
        ),
        Workload(
            "resnet",
            "ResNet-style 3x32x32, 3 stages of 2 basic blocks, 16-32-64 ch, SGD, batch 128",
            1_280,
            128,
            (3, 32, 32),
            1.2,
        ),
        Workload(
            "bigru",
            "2-layer bidirectional GRU 64 over 100 steps, Embedding 20k x 128, Adam, batch 64",
            1_024,
            64,
            (100,),
            1.2,
            tokens=20_000,
            classes=2,
        ),
        Workload(
            "transformer",
            "Transformer encoder, 4 layers, d=128, 4 heads, FFN 256, seq 64, Adam, batch 64",
            1_024,
            64,
            (64, 128),
            1.3,
        ),
    )
}


def make_data(workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic inputs of the workload's shape and integer labels, seeded: the same arrays
    for both frameworks, so both do exactly the same arithmetic per epoch."""
    rng = np.random.default_rng(0)
    shape = (workload.samples, *workload.shape)
    if workload.tokens:
        x = rng.integers(1, workload.tokens, size=shape).astype(np.int64)
    else:
        x = rng.random(shape, dtype=np.float32)
    y = rng.integers(0, workload.classes, size=workload.samples).astype(np.int64)
    return x, y
